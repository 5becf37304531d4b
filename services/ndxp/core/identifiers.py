"""X-Road-style identifiers on the wire.

- member:    ``<instance>:<class>:<member code>``, e.g. ``VN:GOV:000.00.00.G22``
- subsystem: ``<member>:<subsystem code>``, e.g. ``VN:GOV:000.00.00.G22:vpcpdvcprovider``
- service:   ``<subsystem>:<service code>[:<version>]``,
  e.g. ``VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1``

The member code rule is kept per member class: ``GOV`` members carry an agency code
(Decision 20/2020/QĐ-TTg, :class:`AgencyCode`), ``COM`` members a Vietnamese tax code
(:class:`TaxCode`). Formatting a parsed identifier gives back the exact text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ndxp.core.agency import AgencyCode
from ndxp.core.errors import InvalidIdentifier, clip

_INSTANCE = re.compile(r"[A-Z][A-Z0-9-]{0,31}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_TAX = re.compile(r"[0-9]{10}(-[0-9]{3})?")


@dataclass(frozen=True, slots=True, order=True)
class TaxCode:
    """A Vietnamese enterprise tax code: 10 digits, or 10 digits ``-`` 3 digits for a branch."""

    main: str
    branch: str | None = None

    @classmethod
    def parse(cls, text: str) -> TaxCode:
        if not isinstance(text, str) or _TAX.fullmatch(text) is None:
            raise InvalidIdentifier(
                "tax code", str(text), "expected 10 digits, optionally followed by -NNN"
            )
        main, _, branch = text.partition("-")
        return cls(main, branch or None)

    def __str__(self) -> str:
        return self.main if self.branch is None else f"{self.main}-{self.branch}"

    @property
    def level(self) -> int:
        return 1 if self.branch is None else 2

    @property
    def parent(self) -> TaxCode | None:
        return None if self.branch is None else TaxCode(self.main)

    def self_and_ancestors(self) -> Iterator[TaxCode]:
        yield self
        if self.branch is not None:
            yield TaxCode(self.main)

    def is_self_or_descendant_of(self, other: TaxCode) -> bool:
        return other in self.self_and_ancestors()


MemberCode = AgencyCode | TaxCode

# Member class -> how its member codes are parsed.
MEMBER_CLASSES: dict[str, Callable[[str], MemberCode]] = {
    "GOV": AgencyCode.parse,
    "COM": TaxCode.parse,
}


@dataclass(frozen=True, slots=True, order=True)
class MemberId:
    """A member of the exchange: instance, member class and member code."""

    instance: str
    member_class: str
    code: MemberCode
    _text: str = field(init=False, repr=False, compare=False)  # str(), made once: per message

    def __post_init__(self) -> None:
        object.__setattr__(self, "_text", f"{self.instance}:{self.member_class}:{self.code}")

    @classmethod
    def parse(cls, text: str) -> MemberId:
        parts = _split(text, "member id", 3, 3)
        return cls._from_parts(text, "member id", parts)

    @classmethod
    def _from_parts(cls, text: str, kind: str, parts: list[str]) -> MemberId:
        instance, member_class, code = parts[0], parts[1], parts[2]
        if _INSTANCE.fullmatch(instance) is None:
            raise InvalidIdentifier(
                kind, text, f"instance {clip(instance)!r} must be capitals, digits or '-' (e.g. VN)"
            )
        parse_code = MEMBER_CLASSES.get(member_class)
        if parse_code is None:
            raise InvalidIdentifier(
                kind,
                text,
                f"member class {clip(member_class)!r} must be one of {', '.join(MEMBER_CLASSES)}",
            )
        try:
            member_code = parse_code(code)
        except InvalidIdentifier as exc:
            raise InvalidIdentifier(kind, text, f"member code: {exc.reason}") from None
        return cls(instance, member_class, member_code)

    def __str__(self) -> str:
        return self._text

    def with_code(self, code: MemberCode) -> MemberId:
        return MemberId(self.instance, self.member_class, code)

    def self_and_ancestors(self) -> Iterator[MemberId]:
        for code in self.code.self_and_ancestors():
            yield self.with_code(code)

    def is_self_or_descendant_of(self, other: MemberId) -> bool:
        return other in self.self_and_ancestors()


@dataclass(frozen=True, slots=True, order=True)
class SubsystemId:
    """A member's information system that sends requests or provides services."""

    member: MemberId
    code: str

    @classmethod
    def parse(cls, text: str) -> SubsystemId:
        parts = _split(text, "subsystem id", 4, 4)
        member = MemberId._from_parts(text, "subsystem id", parts)
        _check(text, "subsystem id", "subsystem code", parts[3], _CODE)
        return cls(member, parts[3])

    def __str__(self) -> str:
        return f"{self.member}:{self.code}"


@dataclass(frozen=True, slots=True, order=True)
class ServiceId:
    """A service offered by a provider subsystem, optionally versioned."""

    subsystem: SubsystemId
    code: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> ServiceId:
        parts = _split(text, "service id", 5, 6)
        member = MemberId._from_parts(text, "service id", parts)
        _check(text, "service id", "subsystem code", parts[3], _CODE)
        _check(text, "service id", "service code", parts[4], _CODE)
        version = parts[5] if len(parts) == 6 else None
        if version is not None:
            _check(text, "service id", "version", version, _VERSION)
        return cls(SubsystemId(member, parts[3]), parts[4], version)

    def __str__(self) -> str:
        base = f"{self.subsystem}:{self.code}"
        return base if self.version is None else f"{base}:{self.version}"

    @property
    def member(self) -> MemberId:
        return self.subsystem.member


def _split(text: str, kind: str, least: int, most: int) -> list[str]:
    if not isinstance(text, str):
        raise InvalidIdentifier(kind, repr(text), "not a string")
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidIdentifier(kind, text, "contains whitespace")
    parts = text.split(":")
    if not least <= len(parts) <= most:
        want = str(least) if least == most else f"{least} or {most}"
        raise InvalidIdentifier(
            kind, text, f"expected {want} ':'-separated parts, got {len(parts)}"
        )
    for index, part in enumerate(parts):
        if not part:
            raise InvalidIdentifier(kind, text, f"part {index + 1} is empty")
    return parts


def _check(text: str, kind: str, what: str, value: str, pattern: re.Pattern[str]) -> None:
    if pattern.fullmatch(value) is None:
        raise InvalidIdentifier(
            kind,
            text,
            f"{what} {clip(value)!r} must start with a letter or digit and use only "
            f"letters, digits, '_', '.', '-' (max {64 if pattern is _CODE else 32})",
        )
