"""Secured mode's ACLs, derived from the registry: least privilege, checked resource by
resource with Kafka's matching rules (literal / prefixed, READ and WRITE imply DESCRIBE)."""

from __future__ import annotations

import pytest

from ndxp.core import wire
from ndxp.core.acl import (
    AclEntry,
    AclError,
    Operation,
    PatternType,
    ResourceType,
    ServicePrincipals,
    acl_entries,
    allows,
    member_group_prefix,
    member_user,
    users,
)
from ndxp.core.registry import Registry
from ndxp.core.topology import internal_topics, registry_topic, topics_for
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

from .conftest import small_document

TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
READ, WRITE, DESCRIBE, CREATE = (
    Operation.READ,
    Operation.WRITE,
    Operation.DESCRIBE,
    Operation.CREATE,
)


@pytest.fixture(scope="module")
def sample() -> Registry:
    return load_registry(DEFAULT_REGISTRY)


@pytest.fixture(scope="module")
def small() -> Registry:
    return Registry.from_document(small_document())


def every_topic(registry: Registry, services: ServicePrincipals) -> list[str]:
    specs = [
        *topics_for(registry, 3),
        *internal_topics(services.router_group, 3),
        registry_topic(services.registry_topic),
    ]
    return [s.name for s in specs]


def test_each_member_writes_its_own_ingress_and_reads_its_own_egress_only(
    sample: Registry,
) -> None:
    services = ServicePrincipals()
    entries = acl_entries(sample, services)
    topics = every_topic(sample, services)
    for m in sample.connected:
        user = member_user(m.id)
        own_in, own_out = wire.ingress_topic(m.id), wire.egress_topic(m.id)
        for t in topics:
            assert allows(entries, user, TOPIC, t, WRITE) == (t == own_in), (user, t)
            assert allows(entries, user, TOPIC, t, READ) == (t == own_out), (user, t)
            assert allows(entries, user, TOPIC, t, DESCRIBE) == (t in (own_in, own_out))
            assert not allows(entries, user, TOPIC, t, CREATE)


def test_each_member_uses_only_groups_with_its_own_prefix(sample: Registry) -> None:
    entries = acl_entries(sample)
    members = [m.id for m in sample.connected]
    groups = [
        "ndxp-router",
        "ndxp-ledger",
        "ndxp-simulator",
        "mygroup",
        *(f"{member_group_prefix(m)}consumer" for m in members),
    ]
    for m in members:
        own = member_group_prefix(m)
        for g in groups:
            assert allows(entries, member_user(m), GROUP, g, READ) == g.startswith(own), (m, g)
        assert not allows(entries, member_user(m), GROUP, str(m.code), READ)  # no bare code


def test_per_member_entries_are_exactly_four(sample: Registry) -> None:
    entries = acl_entries(sample)
    m = next(m for m in sample.connected if str(m.id.code) == "000.00.00.H41")
    mine = [e for e in entries if e.user == "000.00.00.H41"]
    p = "User:000.00.00.H41"
    assert mine == sorted(
        [
            AclEntry(p, TOPIC, PatternType.LITERAL, "ndxp.in.000.00.00.H41", WRITE),
            AclEntry(p, TOPIC, PatternType.LITERAL, "ndxp.in.000.00.00.H41", DESCRIBE),
            AclEntry(p, TOPIC, PatternType.LITERAL, "ndxp.out.000.00.00.H41", READ),
            AclEntry(p, GROUP, PatternType.PREFIXED, "000.00.00.H41.", READ),
        ]
    )
    assert member_user(m.id) == "000.00.00.H41"
    # no member entry names a prefix of topics, or any resource not its own
    for e in entries:
        if e.user not in ("ndxp-router", "ndxp-ledger", "ndxp-gateway"):
            assert e.pattern_type == PatternType.LITERAL or e.resource_type == GROUP
            assert e.user in e.resource_name


def test_the_router_reads_and_rehomes_ingress_writes_egress_and_rejected_owns_its_topics(
    sample: Registry,
) -> None:
    services = ServicePrincipals(router_group="ndxp-router")
    entries = acl_entries(sample, services)
    r = services.router_user
    for m in sample.connected:
        i, o = wire.ingress_topic(m.id), wire.egress_topic(m.id)
        # it writes home copies on ingress topics (a request on its client's home partition)
        assert allows(entries, r, TOPIC, i, READ) and allows(entries, r, TOPIC, i, WRITE)
        assert allows(entries, r, TOPIC, o, WRITE) and not allows(entries, r, TOPIC, o, READ)
        assert allows(entries, r, TOPIC, i, CREATE) and allows(entries, r, TOPIC, o, CREATE)
    assert allows(entries, r, TOPIC, wire.REJECTED_TOPIC, WRITE)
    assert not allows(entries, r, TOPIC, wire.REJECTED_TOPIC, READ)
    assert allows(entries, r, TOPIC, "ndxp.registry", READ)
    assert not allows(entries, r, TOPIC, "ndxp.registry", WRITE)  # operators publish
    for t in ("ndxp-router-quota-changelog", "ndxp-router-seal"):
        assert all(allows(entries, r, TOPIC, t, op) for op in (READ, WRITE, CREATE))
        assert not allows(entries, "ndxp-ledger", TOPIC, t, READ)
    assert not allows(entries, r, TOPIC, "ndxp-router-quota-requests", WRITE)  # no such topic
    assert allows(entries, r, GROUP, "ndxp-router", READ)
    assert not allows(entries, r, GROUP, "ndxp-ledger", READ)
    assert not allows(entries, r, TOPIC, "ndxp-router-other", READ)  # its topics, by name
    assert not allows(entries, r, TOPIC, "__consumer_offsets", READ)
    # a new member's topics: covered by the prefixes, no new ACL needed for the router
    assert allows(entries, r, TOPIC, "ndxp.in.000.00.00.H99", READ)


def test_the_ledger_reads_what_it_records_and_nothing_else(sample: Registry) -> None:
    entries = acl_entries(sample)
    ledger = "ndxp-ledger"
    for m in sample.connected:
        assert allows(entries, ledger, TOPIC, wire.egress_topic(m.id), READ)
        assert not allows(entries, ledger, TOPIC, wire.ingress_topic(m.id), DESCRIBE)
    assert allows(entries, ledger, TOPIC, wire.REJECTED_TOPIC, READ)
    assert allows(entries, ledger, GROUP, "ndxp-ledger", READ)
    assert not any(e.user == ledger and e.operation in (WRITE, CREATE) for e in entries)


def test_the_gateway_writes_calls_and_reads_answers_by_partition_only(sample: Registry) -> None:
    entries = acl_entries(sample)
    gateway = "ndxp-gateway"
    for m in sample.connected:
        i, o = wire.ingress_topic(m.id), wire.egress_topic(m.id)
        assert allows(entries, gateway, TOPIC, i, WRITE) and not allows(
            entries, gateway, TOPIC, i, READ
        )
        assert allows(entries, gateway, TOPIC, o, READ) and not allows(
            entries, gateway, TOPIC, o, WRITE
        )
    # no group (its reply consumer is assigned partitions), nothing else written or created
    for g in ("ndxp-gateway", "ndxp-router", "ndxp-ledger", "000.00.00.H41.x"):
        assert not allows(entries, gateway, GROUP, g, READ), g
    for t in (wire.REJECTED_TOPIC, "ndxp.registry", "ndxp-router-quota-changelog"):
        assert not allows(entries, gateway, TOPIC, t, WRITE) and not allows(
            entries, gateway, TOPIC, t, READ
        )
    assert not any(e.user == gateway and e.operation == CREATE for e in entries)


def test_group_and_topic_names_follow_the_settings(small: Registry) -> None:
    services = ServicePrincipals(
        router_group="router-b", ledger_group="ledger-b", registry_topic="ndxp.registry-b"
    )
    entries = acl_entries(small, services)
    assert allows(entries, "ndxp-router", GROUP, "router-b", READ)
    assert allows(entries, "ndxp-router", TOPIC, "router-b-quota-changelog", WRITE)
    assert allows(entries, "ndxp-router", TOPIC, "ndxp.registry-b", READ)
    assert allows(entries, "ndxp-ledger", GROUP, "ledger-b", READ)
    assert not allows(entries, "ndxp-router", GROUP, "ndxp-router", READ)


def test_deterministic_sorted_and_without_duplicates(sample: Registry) -> None:
    a, b = acl_entries(sample), acl_entries(sample)
    assert a == b == sorted(set(a))
    assert len(a) == 4 * len(sample.connected) + 22 + 3 + 2  # members, router, ledger, gateway


def test_users_are_the_connected_members_then_the_services(small: Registry) -> None:
    names = users(small)
    connected = sorted(str(m.id.code) for m in small.connected)
    assert names == [*connected, "ndxp-router", "ndxp-ledger", "ndxp-gateway"]
    not_connected = [str(m.id.code) for m in small.members.values() if not m.connected]
    assert not_connected and not set(not_connected) & set(names)


@pytest.mark.parametrize(
    ("services", "says"),
    [
        # a group a member could use would let that member join the router's group
        (ServicePrincipals(router_group="000.00.00.H41.router"), "is one a member may use"),
        (ServicePrincipals(ledger_group="000.00.00.H41.x"), "is one a member may use"),
        (ServicePrincipals(router_user="000.00.00.H41"), "also a member's user"),
        (ServicePrincipals(ledger_user="ndxp-router"), "share the user"),
        (ServicePrincipals(gateway_user="ndxp-ledger"), "the ledger and the gateway share"),
        (ServicePrincipals(gateway_user="000.00.00.H41"), "also a member's user"),
    ],
)
def test_names_that_would_mix_principals_are_refused(
    small: Registry, services: ServicePrincipals, says: str
) -> None:
    with pytest.raises(AclError, match=says):
        acl_entries(small, services)


def test_an_entry_reads_as_kafka_would_print_it() -> None:
    e = AclEntry("User:000.00.00.H41", GROUP, PatternType.PREFIXED, "000.00.00.H41.", READ)
    assert str(e) == "User:000.00.00.H41 ALLOW READ GROUP 000.00.00.H41. (prefix)"
    assert e.matches(GROUP, "000.00.00.H41.tail") and not e.matches(TOPIC, "000.00.00.H41.x")


def test_every_connected_member_and_only_members_get_a_byte_rate() -> None:
    """Kafka's producer_byte_rate per member principal (`ndxp quotas`): the connected members'
    users, each at the rate; none for ndxp's own principals or unconnected members."""
    from ndxp.core.acl import MEMBER_BYTES_PER_S, member_quotas

    registry = load_registry(DEFAULT_REGISTRY)
    quotas = member_quotas(registry)
    assert set(quotas) == {member_user(m.id) for m in registry.connected}
    assert set(quotas.values()) == {float(MEMBER_BYTES_PER_S)}
    assert set(users(registry)) - set(quotas) == {"ndxp-router", "ndxp-ledger", "ndxp-gateway"}
    unconnected = {member_user(m.id) for m in registry.members.values() if not m.connected}
    assert unconnected and not unconnected & set(quotas)
    assert set(member_quotas(registry, 1000).values()) == {1000.0}
    with pytest.raises(AclError):
        member_quotas(registry, 0)
