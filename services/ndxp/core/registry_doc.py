"""The registry document as it is written (``registry.json``, checked against
``schemas/registry.schema.json``): msgspec structs, decoded strictly (unknown fields refused).
:mod:`ndxp.core.registry` builds the model the router uses from them."""

from __future__ import annotations

import enum
from typing import Any

import msgspec


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
    # over HTTP (the X-Road REST gateway): how long a call waits for its answer (default: the
    # gateway's), and the service's OpenAPI 3 description (the getOpenAPI metaservice)
    timeout_s: float | None = None
    openapi: dict[str, Any] | None = None
    # takes one-way notices (ndxp-kind: notice), answers nothing: for callers and the traffic
    # mix; the router checks a notice as it checks a request, whatever the service says
    one_way: bool = False


MAX_SERVICE_TIMEOUT_S = 300.0


class HttpEndpointDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A provider subsystem reached over HTTP (``ndxp provide``): the base URL its services'
    paths are appended to, how many calls may be in flight to it, and how long one may take."""

    url: str
    concurrency: int = 32
    timeout_s: float = 10.0


class SubsystemDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    name: str = ""
    services: list[ServiceDoc] = []
    http: HttpEndpointDoc | None = None


class MemberDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    kind: MemberKind
    connected: bool = False
    synthetic: bool = False
    subsystems: list[SubsystemDoc] = []


class GroupDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    members: list[str] = []
    kinds: list[MemberKind] = []  # every member of these kinds is in the group
    descendants: bool = False
    description: str = ""


class GrantDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    service: str
    subsystem: str | None = None
    member: str | None = None
    group: str | None = None
    descendants: bool = False


class LimitDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    subsystem: str | None = None
    member: str | None = None
    group: str | None = None
    descendants: bool = False
    service: str | None = None
    documents: bool = False  # a limit on the client's documents (deliveries), not a service
    rate: float | None = None
    burst: int | None = None
    daily: int | None = None
    bytes_rate: float | None = None
    bytes_burst: int | None = None
    name: str | None = None


class RegistryDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str
    members: list[MemberDoc]
    instance: str = "VN"
    description: str = ""
    default_access: str = "deny"
    groups: list[GroupDoc] = []
    access: list[GrantDoc] = []
    limits: list[LimitDoc] = []
    schema: str | None = msgspec.field(default=None, name="$schema")
