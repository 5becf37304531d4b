"""The registry: members, their subsystems and the services they provide.

Pure: it takes an already-loaded document (a ``dict`` from JSON) and builds
lookup tables for the router, collecting *every* error it finds. Structural
validation against ``schemas/registry.schema.json`` happens at the edge
(:mod:`ndxp.registry_file`); this module checks what a schema cannot: that
identifiers parse, are unique, and belong to the registry's instance.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ndxp.core.errors import InvalidIdentifier, NdxpError
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId
from ndxp.core.wire import ingress_topic


class MemberKind(enum.StrEnum):
    MINISTRY_PLATFORM = "ministry_platform"
    PROVINCE_PLATFORM = "province_platform"
    NATIONAL_DATABASE = "national_database"
    NATIONAL_SYSTEM = "national_system"
    UNIT = "unit"
    ENTERPRISE = "enterprise"


class ServiceDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    name: str = ""
    version: str | None = None


class SubsystemDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    name: str = ""
    services: list[ServiceDoc] = []


class MemberDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    kind: MemberKind
    connected: bool = False
    synthetic: bool = False
    subsystems: list[SubsystemDoc] = []


class RegistryDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str
    members: list[MemberDoc]
    instance: str = "VN"
    description: str = ""
    schema: str | None = msgspec.field(default=None, name="$schema")


class RegistryError(NdxpError):
    """A registry document that cannot be used; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        listing = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"invalid registry ({len(errors)} error(s)):\n{listing}")


@dataclass(frozen=True, slots=True)
class Member:
    id: MemberId
    name: str
    kind: MemberKind
    connected: bool
    synthetic: bool


@dataclass(frozen=True, slots=True)
class Party:
    """A subsystem or service as the router sees it: who may speak for it, where it lives.

    ``authorities`` are the member ids (as text) that may send in its name: its own
    member and every ancestor. ``route`` is the nearest connected member at or above
    it, or ``None`` when no such member exists.
    """

    text: str
    member: MemberId
    authorities: frozenset[str]
    route: MemberId | None
    name: str = ""


@dataclass(frozen=True)
class Registry:
    version: str
    instance: str
    members: Mapping[MemberId, Member]
    subsystems: Mapping[str, Party]
    services: Mapping[str, Party]
    ingress: Mapping[str, MemberId] = field(repr=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Registry:
        try:
            doc = msgspec.convert(document, RegistryDoc)
        except msgspec.ValidationError as exc:
            raise RegistryError([str(exc)]) from None
        return _build(doc)

    @property
    def connected(self) -> list[Member]:
        return [m for m in self.members.values() if m.connected]

    def route_for(self, member: MemberId) -> MemberId | None:
        """The nearest connected member at or above ``member``, if any."""
        return _nearest_connected(member, self.members)

    def member(self, text: str) -> Member:
        """Look a member up by id text (``VN:GOV:000.00.00.H41``) or bare code."""
        for member in self.members.values():
            if text in (str(member.id), str(member.id.code)):
                return member
        raise KeyError(text)


def _nearest_connected(member: MemberId, members: Mapping[MemberId, Member]) -> MemberId | None:
    for candidate in member.self_and_ancestors():
        found = members.get(candidate)
        if found is not None and found.connected:
            return candidate
    return None


def _party(text: str, member: MemberId, members: Mapping[MemberId, Member], name: str) -> Party:
    return Party(
        text=text,
        member=member,
        authorities=frozenset(str(m) for m in member.self_and_ancestors()),
        route=_nearest_connected(member, members),
        name=name,
    )


def _build(doc: RegistryDoc) -> Registry:
    errors: list[str] = []
    members: dict[MemberId, Member] = {}
    owned: list[tuple[MemberId, MemberDoc]] = []
    for index, m in enumerate(doc.members):
        where = f"members[{index}] ({m.id})"
        try:
            member_id = MemberId.parse(m.id)
        except InvalidIdentifier as exc:
            errors.append(f"{where}: {exc}")
            continue
        if member_id.instance != doc.instance:
            errors.append(f"{where}: instance {member_id.instance!r} is not {doc.instance!r}")
        if member_id in members:
            errors.append(f"{where}: duplicate member id")
            continue
        members[member_id] = Member(member_id, m.name, m.kind, m.connected, m.synthetic)
        owned.append((member_id, m))

    subsystems: dict[str, Party] = {}
    services: dict[str, Party] = {}
    for member_id, m in owned:
        for s_index, s in enumerate(m.subsystems):
            where = f"member {member_id} subsystems[{s_index}]"
            text = f"{member_id}:{s.code}"
            try:
                sub_id = SubsystemId.parse(text)
            except InvalidIdentifier as exc:
                errors.append(f"{where}: {exc}")
                continue
            if text in subsystems:
                errors.append(f"{where}: duplicate subsystem {text}")
                continue
            subsystems[text] = _party(text, member_id, members, s.name)
            for v_index, v in enumerate(s.services):
                v_where = f"{where} services[{v_index}]"
                v_text = f"{sub_id}:{v.code}" + ("" if v.version is None else f":{v.version}")
                try:
                    ServiceId.parse(v_text)
                except InvalidIdentifier as exc:
                    errors.append(f"{v_where}: {exc}")
                    continue
                if v_text in services:
                    errors.append(f"{v_where}: duplicate service {v_text}")
                    continue
                services[v_text] = _party(v_text, member_id, members, v.name)
    if not any(m.connected for m in members.values()):
        errors.append("no member is connected: nothing could be routed")
    if errors:
        raise RegistryError(errors)
    ingress = {ingress_topic(m): m for m, member in members.items() if member.connected}
    return Registry(doc.version, doc.instance, members, subsystems, services, ingress)
