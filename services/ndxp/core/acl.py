"""Who may do what on the broker in secured mode: Kafka ACLs derived from the registry.

Pure: a :class:`~ndxp.core.registry.Registry` in, a sorted list of :class:`AclEntry` out
(applied by :mod:`ndxp.kafka_acl`). Every entry allows; anything not allowed is refused
(the broker runs with ``allow.everyone.if.no.acl.found=false``). Least privilege:

- a **connected member** (SCRAM user = its member code, e.g. ``000.00.00.H41``) may write to
  and describe its own ingress topic ``ndxp.in.<code>`` only, read its own egress topic
  ``ndxp.out.<code>`` only, and use only consumer groups named ``<code>.<anything>``;
- the **router** (``ndxp-router``) reads every ingress topic (prefix ``ndxp.in.``) and the
  registry topic, writes every egress topic (prefix ``ndxp.out.``) and ``ndxp.rejected``,
  reads and writes its two quota topics, uses its consumer group, and may create exactly the
  topics it creates at start and on a registry change;
- the **ledger** (``ndxp-ledger``) reads every egress topic and ``ndxp.rejected``, and uses its
  consumer group;
- the **X-Road REST gateway** (``ndxp-gateway``) writes every ingress topic (a call goes to its
  client's member's, after mutual TLS proved the caller is that member or above it) and reads
  every egress topic (the answers), by partition, without a consumer group. It is trusted to
  write as the member it authenticated, as a security server is in X-Road; the router's
  NOT_SENDER check still ties each request's client to the ingress topic it came on;
- ``ndxp-admin`` (operators: users, ACLs, topics, registry publish), ``ndxp-broker`` and
  ``ndxp-controller`` are super users in the broker's configuration, not ACLs.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from ndxp.core import wire
from ndxp.core.errors import NdxpError
from ndxp.core.identifiers import MemberId
from ndxp.core.registry import Registry
from ndxp.core.topology import (
    doc_events_topic,
    doc_state_topic,
    quota_changelog_topic,
    seal_topic,
)

ROUTER_USER = "ndxp-router"
LEDGER_USER = "ndxp-ledger"
GATEWAY_USER = "ndxp-gateway"
ADMIN_USER = "ndxp-admin"
SUPER_USERS = (ADMIN_USER, "ndxp-broker", "ndxp-controller")


class Operation(enum.StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    DESCRIBE = "DESCRIBE"
    CREATE = "CREATE"


class ResourceType(enum.StrEnum):
    TOPIC = "TOPIC"
    GROUP = "GROUP"


class PatternType(enum.StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


# Kafka's implied operations: READ or WRITE on a resource also allows DESCRIBE on it.
_IMPLIED = {Operation.DESCRIBE: (Operation.READ, Operation.WRITE)}


@dataclass(frozen=True, order=True, slots=True)
class AclEntry:
    """ALLOW ``operation`` on a resource to ``principal`` (``User:<name>``), from any host."""

    principal: str
    resource_type: ResourceType
    pattern_type: PatternType
    resource_name: str
    operation: Operation

    @property
    def user(self) -> str:
        return self.principal.removeprefix("User:")

    def matches(self, resource_type: ResourceType, name: str) -> bool:
        """Does this entry's resource pattern cover the resource ``name``?"""
        if resource_type != self.resource_type:
            return False
        if self.pattern_type == PatternType.PREFIXED:
            return name.startswith(self.resource_name)
        return name == self.resource_name

    def __str__(self) -> str:
        pattern = " (prefix)" if self.pattern_type == PatternType.PREFIXED else ""
        return (
            f"{self.principal} ALLOW {self.operation.value} "
            f"{self.resource_type.value} {self.resource_name}{pattern}"
        )


@dataclass(frozen=True, slots=True)
class ServicePrincipals:
    """The names the router, the ledger and the gateway run under, and what they own."""

    router_user: str = ROUTER_USER
    router_group: str = "ndxp-router"
    ledger_user: str = LEDGER_USER
    ledger_group: str = "ndxp-ledger"
    gateway_user: str = GATEWAY_USER
    registry_topic: str = "ndxp.registry"


class AclError(NdxpError):
    pass


def principal(user: str) -> str:
    return f"User:{user}"


def member_user(member: MemberId) -> str:
    """A connected member's SCRAM user name: its member code (the suffix of its topics)."""
    return str(member.code)


def member_group_prefix(member: MemberId) -> str:
    """The consumer groups a member may use are named ``<code>.<anything>``."""
    return f"{member.code}."


def users(registry: Registry, services: ServicePrincipals = ServicePrincipals()) -> list[str]:
    """Every user secured mode needs besides the super users: one per connected member (in
    code order), then the router, the ledger and the gateway."""
    members = sorted(member_user(m.id) for m in registry.connected)
    return [*members, services.router_user, services.ledger_user, services.gateway_user]


# What a connected member's principal may write a second (Kafka's producer_byte_rate, applied by
# `ndxp quotas`): the broker throttles a member over it, so no member can give the router more
# to read than this, whatever it sends. The largest member's share of a national day at 20x
# today's volume, at peak, is under 1 MB/s (the population database's answers); 4 MiB/s leaves
# room for bursts and large documents.
MEMBER_BYTES_PER_S = 4 * 1024 * 1024


def member_quotas(registry: Registry, bytes_per_s: int = MEMBER_BYTES_PER_S) -> dict[str, float]:
    """Each connected member's user and the bytes a second it may write. ndxp's own principals
    (router, ledger, gateway) have none: the router writes every member's traffic, and the
    gateway writes for members whose own limit is their rate through it."""
    if bytes_per_s <= 0:
        raise AclError(f"a member's byte rate must be positive, not {bytes_per_s}")
    return {member_user(m.id): float(bytes_per_s) for m in registry.connected}


def acl_entries(
    registry: Registry, services: ServicePrincipals = ServicePrincipals()
) -> list[AclEntry]:
    """The ACLs secured mode runs with for ``registry``, sorted, without duplicates.

    Refuses (:class:`AclError`) names that would let one principal reach another's
    resources: a service user or group that a member's name or group prefix covers.
    """
    _check(registry, services)
    out: set[AclEntry] = set()
    topic, group = ResourceType.TOPIC, ResourceType.GROUP
    literal, prefixed = PatternType.LITERAL, PatternType.PREFIXED
    read, write = Operation.READ, Operation.WRITE
    describe, create = Operation.DESCRIBE, Operation.CREATE

    def allow(
        user: str, rtype: ResourceType, pattern: PatternType, name: str, *ops: Operation
    ) -> None:
        out.update(AclEntry(principal(user), rtype, pattern, name, op) for op in ops)

    for m in registry.connected:
        user = member_user(m.id)
        allow(user, topic, literal, wire.ingress_topic(m.id), write, describe)
        allow(user, topic, literal, wire.egress_topic(m.id), read)
        allow(user, group, prefixed, member_group_prefix(m.id), read)

    router = services.router_user
    # read, and write its home copies (a request written again on its client's home partition)
    allow(router, topic, prefixed, wire.INGRESS_PREFIX, read, write, create)
    allow(router, topic, prefixed, wire.EGRESS_PREFIX, write, create)
    allow(router, topic, literal, wire.REJECTED_TOPIC, write, create)
    allow(router, topic, literal, services.registry_topic, read, create)
    for internal in (
        quota_changelog_topic(services.router_group),
        doc_events_topic(services.router_group),
        doc_state_topic(services.router_group),
        seal_topic(services.router_group),
    ):
        allow(router, topic, literal, internal, read, write, create)
    allow(router, group, literal, services.router_group, read)

    ledger = services.ledger_user
    allow(ledger, topic, prefixed, wire.EGRESS_PREFIX, read)
    allow(ledger, topic, literal, wire.REJECTED_TOPIC, read)
    allow(ledger, group, literal, services.ledger_group, read)

    gateway = services.gateway_user
    allow(gateway, topic, prefixed, wire.INGRESS_PREFIX, write)
    allow(gateway, topic, prefixed, wire.EGRESS_PREFIX, read)
    return sorted(out)


def allows(
    entries: Iterable[AclEntry],
    user: str,
    resource_type: ResourceType,
    name: str,
    operation: Operation,
) -> bool:
    """Would Kafka's authorizer let ``user`` do ``operation`` on the resource, given only
    ``entries`` (all ALLOW; super users aside)? READ or WRITE imply DESCRIBE, as in Kafka."""
    wanted = (operation, *_IMPLIED.get(operation, ()))
    who = principal(user)
    return any(
        e.principal == who and e.operation in wanted and e.matches(resource_type, name)
        for e in entries
    )


def _check(registry: Registry, services: ServicePrincipals) -> None:
    member_users = {member_user(m.id) for m in registry.connected}
    prefixes = sorted(member_group_prefix(m.id) for m in registry.connected)
    problems: list[str] = []
    own = {"router": services.router_user, "ledger": services.ledger_user}
    own["gateway"] = services.gateway_user
    for name in (*own.values(), *SUPER_USERS):
        if name in member_users:
            problems.append(f"user {name!r} is also a member's user")
    for (a, user_a), (b, user_b) in itertools.combinations(own.items(), 2):
        if user_a == user_b:
            problems.append(f"the {a} and the {b} share the user {user_a!r}")
    for group in (services.router_group, services.ledger_group):
        for prefix in prefixes:
            if group.startswith(prefix):
                problems.append(f"group {group!r} is one a member may use ({prefix}*)")
    for a, b in itertools.pairwise(prefixes):
        if b.startswith(a):
            problems.append(f"group prefix {a!r} covers another member's {b!r}")
    if problems:
        raise AclError("cannot derive ACLs: " + "; ".join(problems))
