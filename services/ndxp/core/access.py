"""Who may call which service: grants to a subsystem, a member (optionally with all its
units), or a named group of members (pure).

A grant names exactly one principal. Matching a client subsystem ``C`` of member ``M``:

- ``{"subsystem": C}`` matches that subsystem only;
- ``{"member": M}`` matches every subsystem of ``M``; with ``"descendants": true`` also
  every subsystem of every unit below ``M``;
- ``{"group": G}`` matches as if each member of ``G`` were granted, with the group's own
  ``descendants`` flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    """A resolved grantee: sets of subsystem ids, exact member ids, and member ids whose
    descendants are included (all as text)."""

    subsystems: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    subtrees: frozenset[str] = frozenset()

    def matches(self, subsystem: str, member: str, authorities: Iterable[str]) -> bool:
        """``authorities``: the client's member and all its ancestors."""
        if subsystem in self.subsystems or member in self.members:
            return True
        return not self.subtrees.isdisjoint(authorities)

    def specificity(self, subsystem: str, member: str, lineage: list[str]) -> int | None:
        """How closely this principal names the client (higher is closer), or ``None``.

        ``lineage``: the client's member first, then its ancestors up to level 1.
        subsystem > the member itself > the nearest ancestor > … > a group's members.
        """
        if subsystem in self.subsystems:
            return 1000
        if member in self.members or member in self.subtrees:
            return 900
        for depth, ancestor in enumerate(lineage[1:], start=1):
            if ancestor in self.subtrees:
                return 900 - depth * 10
        return None


@dataclass
class AccessList:
    """The grants of one service, merged into one principal for a fast check."""

    principal: Principal = field(default_factory=Principal)
    grants: int = 0

    def add(self, p: Principal) -> None:
        self.principal = Principal(
            self.principal.subsystems | p.subsystems,
            self.principal.members | p.members,
            self.principal.subtrees | p.subtrees,
        )
        self.grants += 1
