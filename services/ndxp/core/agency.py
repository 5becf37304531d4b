"""Electronic agency codes per Decision 20/2020/QĐ-TTg.

A code is four dot-separated groups, most specific first: ``DDD.DD.DD.LDD``.
The last group names the level-1 agency (a capital letter and two digits, e.g.
``G12`` Ministry of Finance, ``H41`` Nghệ An province); the groups to its left
name units below it. Reading right to left, the first non-zero group after the
level-1 group is level 2, the next level 3, the leftmost level 4. A unit's
parent is the same code with its most specific non-zero group set to zeros.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ndxp.core.errors import InvalidIdentifier, clip

# Widths of the groups, left to right: level 4, level 3, level 2, level 1.
_WIDTHS = (3, 2, 2, 3)
_NAMES = ("level-4 group", "level-3 group", "level-2 group", "level-1 group")


@dataclass(frozen=True, slots=True, order=True)
class AgencyCode:
    """A valid agency code. Build with :meth:`parse`; ``str()`` gives it back."""

    level4: int
    level3: int
    level2: int
    level1: str  # e.g. "G12"
    _text: str = field(init=False, repr=False, compare=False)  # str(), made once: per message

    def __post_init__(self) -> None:
        text = f"{self.level4:03d}.{self.level3:02d}.{self.level2:02d}.{self.level1}"
        object.__setattr__(self, "_text", text)

    @classmethod
    def parse(cls, text: str) -> AgencyCode:
        """Parse ``DDD.DD.DD.LDD`` or raise :class:`InvalidIdentifier` with the reason."""
        if not isinstance(text, str):
            raise InvalidIdentifier("agency code", repr(text), "not a string")
        if text != text.strip():
            raise InvalidIdentifier("agency code", text, "leading or trailing whitespace")
        groups = text.split(".")
        if len(groups) != 4:
            raise InvalidIdentifier(
                "agency code", text, f"expected 4 dot-separated groups, got {len(groups)}"
            )
        for name, width, group in zip(_NAMES, _WIDTHS, groups, strict=True):
            if len(group) != width:
                raise InvalidIdentifier(
                    "agency code", text, f"{name} {clip(group)!r} must have {width} characters"
                )
        for name, group in zip(_NAMES[:3], groups[:3], strict=True):
            if not _ascii_digits(group):
                raise InvalidIdentifier("agency code", text, f"{name} {group!r} must be digits")
        head, number = groups[3][0], groups[3][1:]
        if not ("A" <= head <= "Z"):
            raise InvalidIdentifier(
                "agency code",
                text,
                f"level-1 group {groups[3]!r} must start with a capital letter A-Z",
            )
        if not _ascii_digits(number):
            raise InvalidIdentifier(
                "agency code", text, f"level-1 group {groups[3]!r} must end with two digits"
            )
        if number == "00":
            raise InvalidIdentifier(
                "agency code", text, f"level-1 group {groups[3]!r} must not be numbered 00"
            )
        l4, l3, l2 = (int(g) for g in groups[:3])
        if l3 and not l2:
            raise InvalidIdentifier(
                "agency code", text, "level-3 group is non-zero below a zero level-2 group"
            )
        if l4 and not l3:
            raise InvalidIdentifier(
                "agency code", text, "level-4 group is non-zero below a zero level-3 group"
            )
        return cls(l4, l3, l2, groups[3])

    @classmethod
    def is_valid(cls, text: str) -> bool:
        try:
            cls.parse(text)
        except InvalidIdentifier:
            return False
        return True

    def __str__(self) -> str:
        return self._text

    @property
    def level(self) -> int:
        """1 for a level-1 agency (``000.00.00.G12``) up to 4."""
        if self.level4:
            return 4
        if self.level3:
            return 3
        if self.level2:
            return 2
        return 1

    @property
    def parent(self) -> AgencyCode | None:
        """The agency directly above, or ``None`` for a level-1 agency."""
        if self.level4:
            return AgencyCode(0, self.level3, self.level2, self.level1)
        if self.level3:
            return AgencyCode(0, 0, self.level2, self.level1)
        if self.level2:
            return AgencyCode(0, 0, 0, self.level1)
        return None

    @property
    def root(self) -> AgencyCode:
        """The level-1 agency this code belongs to."""
        return AgencyCode(0, 0, 0, self.level1)

    def ancestors(self) -> Iterator[AgencyCode]:
        """Parent, grandparent, … up to the level-1 agency (self excluded)."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def self_and_ancestors(self) -> Iterator[AgencyCode]:
        yield self
        yield from self.ancestors()

    def is_descendant_of(self, other: AgencyCode) -> bool:
        """True when ``other`` is strictly above this code."""
        return other in self.ancestors()

    def is_self_or_descendant_of(self, other: AgencyCode) -> bool:
        return self == other or self.is_descendant_of(other)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
