"""The registry: members, their subsystems and the services they provide.

Pure: it takes an already-loaded document (a ``dict`` from JSON) and builds
lookup tables for the router, collecting *every* error it finds. Structural
validation against ``schemas/registry.schema.json`` happens at the edge
(:mod:`ndxp.registry_file`); this module checks what a schema cannot: that
identifiers parse, are unique, and belong to the registry's instance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ndxp.core.access import AccessList, Principal
from ndxp.core.errors import InvalidIdentifier, NdxpError
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId
from ndxp.core.quota import DOCUMENTS, Limit, most_specific
from ndxp.core.registry_doc import (
    MAX_SERVICE_TIMEOUT_S,
    GrantDoc,
    HttpEndpointDoc,
    LimitDoc,
    MemberDoc,
    MemberKind,
    RegistryDoc,
    ServiceDoc,
)
from ndxp.core.wire import ingress_topic


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
    access: Mapping[str, AccessList] = field(default_factory=dict, repr=False)
    limits: tuple[Limit, ...] = ()
    default_allow: bool = False
    described: Mapping[str, ServiceDoc] = field(default_factory=dict, repr=False)  # by id
    endpoints: Mapping[str, HttpEndpointDoc] = field(default_factory=dict, repr=False)  # by id
    one_way: frozenset[str] = frozenset()  # services that take notices and answer nothing
    _limit_cache: dict[tuple[str, str], tuple[Limit, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def allowed(self, service: str, client: Party) -> bool:
        """May ``client`` (a registered subsystem) call ``service`` (registered)?"""
        grants = self.access.get(service)
        if grants is None:
            return self.default_allow
        member = str(client.member)
        return grants.principal.matches(client.text, member, client.authorities)

    def limits_for(self, client: Party, service: str) -> tuple[Limit, ...]:
        """The limits a request of ``client`` to ``service`` must pass (0, 1 or 2); a
        document's ``service`` is :data:`~ndxp.core.quota.DOCUMENTS` (``counted_as``)."""
        key = (client.text, service)
        found = self._limit_cache.get(key)
        if found is None:
            lineage = [str(m) for m in client.member.self_and_ancestors()]
            member = lineage[0]
            per_service = most_specific(
                [lim for lim in self.limits if lim.service == service], client.text, member, lineage
            )
            overall = most_specific(
                [lim for lim in self.limits if lim.service is None], client.text, member, lineage
            )
            found = tuple(lim for lim in (per_service, overall) if lim is not None)
            self._limit_cache[key] = found
        return found

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Registry:
        try:
            doc = msgspec.convert(document, RegistryDoc)
        except msgspec.ValidationError as exc:
            raise RegistryError([str(exc)]) from None
        except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800" in the JSON)
            raise RegistryError([f"a text is not valid Unicode: {exc.reason}"]) from None
        return _build(doc)

    @property
    def connected(self) -> list[Member]:
        return [m for m in self.members.values() if m.connected]

    def route_for(self, member: MemberId) -> MemberId | None:
        """The nearest connected member at or above ``member``, if any."""
        return _nearest_connected(member, self.members)


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
    described: dict[str, ServiceDoc] = {}
    endpoints: dict[str, HttpEndpointDoc] = {}
    one_way: set[str] = set()
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
            if s.http is not None:
                if not s.http.url.startswith(("http://", "https://")):
                    errors.append(f"{where}: http.url must be an http:// or https:// URL")
                if not 1 <= s.http.concurrency <= 10_000:
                    errors.append(f"{where}: http.concurrency must be 1-10000")
                if not 0 < s.http.timeout_s <= MAX_SERVICE_TIMEOUT_S:
                    errors.append(f"{where}: http.timeout_s must be in (0, 300]")
                endpoints[text] = s.http
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
                if v.timeout_s is not None and not 0 < v.timeout_s <= MAX_SERVICE_TIMEOUT_S:
                    errors.append(f"{v_where}: timeout_s must be in (0, {MAX_SERVICE_TIMEOUT_S:g}]")
                openapi = v.openapi
                if openapi is not None and not str(openapi.get("openapi", "")).startswith("3."):
                    errors.append(f"{v_where}: openapi must be an OpenAPI 3 document")
                if v.timeout_s is not None or openapi is not None:
                    described[v_text] = v
                if v.one_way:
                    one_way.add(v_text)
    if not any(m.connected for m in members.values()):
        errors.append("no member is connected: nothing could be routed")
    if doc.default_access not in ("deny", "allow"):
        errors.append(f"default_access must be 'deny' or 'allow', not {doc.default_access!r}")
    groups = _groups(doc, members, errors)
    access: dict[str, AccessList] = {}
    for index, grant in enumerate(doc.access):
        where = f"access[{index}] ({grant.service})"
        if grant.service not in services:
            errors.append(f"{where}: grant to a service that does not exist")
            continue
        principal = _principal(grant, where, members, subsystems, groups, errors)
        if principal is not None:
            access.setdefault(grant.service, AccessList()).add(principal)
    limits = _limits(doc, members, subsystems, services, groups, errors)
    if errors:
        raise RegistryError(errors)
    ingress = {ingress_topic(m): m for m, member in members.items() if member.connected}
    return Registry(
        doc.version,
        doc.instance,
        members,
        subsystems,
        services,
        ingress,
        access,
        tuple(limits),
        doc.default_access == "allow",
        described,
        endpoints,
        frozenset(one_way),
    )


def _groups(
    doc: RegistryDoc, members: Mapping[MemberId, Member], errors: list[str]
) -> dict[str, Principal]:
    groups: dict[str, Principal] = {}
    for index, g in enumerate(doc.groups):
        where = f"groups[{index}] ({g.name})"
        if g.name in groups:
            errors.append(f"{where}: duplicate group name")
            continue
        ids: set[str] = set()
        for text in g.members:
            found = _known_member(text, members)
            if found is None:
                errors.append(f"{where}: unknown member {text}")
            else:
                ids.add(found)
        ids.update(str(m.id) for m in members.values() if m.kind in g.kinds)
        if not ids:
            errors.append(f"{where}: the group has no members")
        frozen = frozenset(ids)
        groups[g.name] = Principal(subtrees=frozen) if g.descendants else Principal(members=frozen)
    return groups


def _known_member(text: str, members: Mapping[MemberId, Member]) -> str | None:
    try:
        member_id = MemberId.parse(text)
    except InvalidIdentifier:
        return None
    return str(member_id) if member_id in members else None


def _principal(
    spec: GrantDoc | LimitDoc,
    where: str,
    members: Mapping[MemberId, Member],
    subsystems: Mapping[str, Party],
    groups: Mapping[str, Principal],
    errors: list[str],
) -> Principal | None:
    named = [k for k in ("subsystem", "member", "group") if getattr(spec, k) is not None]
    if len(named) != 1:
        errors.append(f"{where}: name exactly one of subsystem, member, group (got {named})")
        return None
    if spec.subsystem is not None:
        if spec.subsystem not in subsystems:
            errors.append(f"{where}: unknown subsystem {spec.subsystem}")
            return None
        return Principal(subsystems=frozenset({spec.subsystem}))
    if spec.member is not None:
        found = _known_member(spec.member, members)
        if found is None:
            errors.append(f"{where}: unknown member {spec.member}")
            return None
        one = frozenset({found})
        return Principal(subtrees=one) if spec.descendants else Principal(members=one)
    assert spec.group is not None
    group = groups.get(spec.group)
    if group is None:
        errors.append(f"{where}: unknown group {spec.group}")
    return group


def _limits(
    doc: RegistryDoc,
    members: Mapping[MemberId, Member],
    subsystems: Mapping[str, Party],
    services: Mapping[str, Party],
    groups: Mapping[str, Principal],
    errors: list[str],
) -> list[Limit]:
    out: list[Limit] = []
    names: set[str] = set()
    for index, spec in enumerate(doc.limits):
        lid = spec.name or f"limits[{index}]"
        where = f"limits[{index}]" + (f" ({spec.name})" if spec.name else "")
        if lid in names:
            errors.append(f"{where}: duplicate limit name")
        names.add(lid)
        if spec.service is not None and spec.service not in services:
            errors.append(f"{where}: limit on a service that does not exist: {spec.service}")
        if spec.documents and spec.service is not None:
            errors.append(f"{where}: a limit is on documents or on a service, not both")
        if spec.rate is None and spec.daily is None and spec.bytes_rate is None:
            errors.append(
                f"{where}: give a rate (requests/s), a daily cap, a byte rate (bytes/s), or more"
            )
        if spec.rate is not None and not _usable_rate(spec.rate):
            errors.append(f"{where}: rate must be above 0 (a finite number, at least 1e-300)")
        if spec.burst is not None and (spec.rate is None or spec.burst < 1):
            errors.append(f"{where}: burst needs a rate and must be at least 1")
        if spec.daily is not None and spec.daily < 0:
            errors.append(f"{where}: daily cap must not be negative")
        if spec.bytes_rate is not None and not _usable_rate(spec.bytes_rate):
            errors.append(f"{where}: byte rate must be above 0 (a finite number, at least 1e-300)")
        if spec.bytes_burst is not None and (spec.bytes_rate is None or spec.bytes_burst < 1):
            errors.append(f"{where}: byte burst needs a byte rate and must be at least 1")
        principal = _principal(spec, where, members, subsystems, groups, errors)
        if principal is not None:
            out.append(
                Limit(
                    lid,
                    principal,
                    spec.group is not None,
                    DOCUMENTS if spec.documents else spec.service,
                    spec.rate,
                    spec.burst,
                    spec.daily,
                    spec.bytes_rate,
                    spec.bytes_burst,
                )
            )
    return out


def _usable_rate(rate: float) -> bool:
    """Above 0 and finite, and not so small that the wait for a token (1/rate s, in ms)
    overflows: Python's JSON reader gives Infinity, NaN and 5e-324, and a JSON Schema's
    ``exclusiveMinimum: 0`` lets them through; each crashed the quota stage."""
    return math.isfinite(rate) and rate >= 1e-300
