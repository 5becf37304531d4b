import copy

import pytest

from ndxp.core.errors import RejectionCode
from ndxp.core.registry import Registry, RegistryError
from ndxp.core.routing import Rejected, Routed, Router

from .conftest import small_document
from .test_routing import H41, request, response

V2 = "VN:GOV:000.00.01.G01:dancu:tra-cuu:v2"
CITY = "VN:GOV:000.01.01.H41:motcua:chung-thuc"


@pytest.fixture
def router(registry: Registry) -> Router:
    return Router(registry)


@pytest.mark.parametrize(
    ("topic", "client", "service", "allowed"),
    [
        (H41, "VN:GOV:000.00.00.H41:motcua", V2, True),  # group provinces
        (H41, "VN:GOV:001.01.01.H41:motcua", V2, True),  # group with descendants
        ("ndxp.in.000.00.00.G01", "VN:GOV:000.00.00.G01:lgsp", V2, False),  # not a province
        ("ndxp.in.0100109106", "VN:COM:0100109106:xacthuc", V2, True),  # that subsystem
        (H41, "VN:GOV:000.00.00.H41:motcua", CITY, True),  # the member itself
        (H41, "VN:GOV:000.01.01.H41:motcua", CITY, False),  # not its units
        (
            "ndxp.in.000.00.00.G01",
            "VN:GOV:000.00.00.G01:lgsp",
            "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1",
            True,
        ),  # no grants + default allow
    ],
)
def test_grants(router: Router, topic: str, client: str, service: str, allowed: bool) -> None:
    d = router.decide(topic, request(client=client, service=service), 1)
    if allowed:
        assert isinstance(d, Routed), d
    else:
        assert isinstance(d, Rejected) and d.code is RejectionCode.FORBIDDEN, d
        assert client in d.detail and service in d.detail


def test_default_deny_closes_services_without_grants() -> None:
    doc = small_document()
    doc["default_access"] = "deny"
    router = Router(Registry.from_document(doc))
    d = router.decide(H41, request(service="VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"), 1)
    assert isinstance(d, Rejected) and d.code is RejectionCode.FORBIDDEN
    assert isinstance(router.decide(H41, request(service=V2), 1), Routed)


def test_an_answer_goes_only_to_a_client_granted_the_service(router: Router) -> None:
    """A provider's response to a client that may not call the service answers nothing it
    was asked: refused (responses used to pass without a grant, so any provider could write
    them to any member's egress topic, uncounted by quotas)."""
    d = router.decide("ndxp.in.000.00.01.G01", response("VN:GOV:000.00.00.G01:lgsp", V2), 1)
    assert isinstance(d, Rejected) and d.code is RejectionCode.FORBIDDEN
    assert "VN:GOV:000.00.00.G01:lgsp" in d.detail and V2 in d.detail
    d = router.decide("ndxp.in.000.00.01.G01", response("VN:GOV:000.00.00.H41:motcua", V2), 1)
    assert isinstance(d, Routed)


def test_forbidden_comes_after_unknown_and_before_no_route() -> None:
    doc = small_document()
    doc["default_access"] = "deny"
    router = Router(Registry.from_document(doc))
    d = router.decide(H41, request(service="VN:GOV:000.00.00.K01:ht:tra-cuu"), 1)
    assert isinstance(d, Rejected) and d.code is RejectionCode.FORBIDDEN
    d = router.decide(H41, request(service="VN:GOV:000.00.00.K01:ht:nope"), 1)
    assert isinstance(d, Rejected) and d.code is RejectionCode.UNKNOWN_SERVICE


def test_registry_check_lists_every_access_and_limit_error() -> None:
    doc = copy.deepcopy(small_document())
    doc["groups"].append({"name": "provinces", "kinds": ["province_platform"]})  # duplicate
    doc["groups"].append({"name": "ghosts", "members": ["VN:GOV:000.00.00.H77"]})  # dangling
    doc["access"] += [
        {"service": "VN:GOV:000.00.01.G01:dancu:khong-co:v1", "group": "provinces"},
        {"service": V2, "group": "no-such-group"},
        {"service": V2, "member": "VN:GOV:000.00.00.H77"},
        {"service": V2, "subsystem": "VN:GOV:000.00.00.H41:nope"},
        {"service": V2, "member": "VN:GOV:000.00.00.H41", "group": "provinces"},
    ]
    doc["limits"] = [
        {"group": "provinces", "service": "VN:GOV:000.00.01.G01:dancu:x:v1", "daily": 5},
        {"group": "provinces"},
        {"group": "provinces", "rate": 0},
        {"group": "provinces", "daily": 1, "burst": 3},
        {"name": "a", "group": "provinces", "daily": 1},
        {"name": "a", "group": "provinces", "daily": 2},
        {"group": "provinces", "bytes_rate": 0},
        {"group": "provinces", "daily": 1, "bytes_burst": 3},
    ]
    with pytest.raises(RegistryError) as info:
        Registry.from_document(doc)
    text = "\n".join(info.value.errors)
    for expected in [
        "duplicate group name",
        "unknown member VN:GOV:000.00.00.H77",
        "the group has no members",
        "grant to a service that does not exist",
        "unknown group no-such-group",
        "unknown subsystem VN:GOV:000.00.00.H41:nope",
        "name exactly one of subsystem, member, group",
        "limit on a service that does not exist",
        "give a rate (requests/s), a daily cap, a byte rate (bytes/s), or more",
        "rate must be above 0",
        "burst needs a rate",
        "byte rate must be above 0",
        "byte burst needs a byte rate",
        "duplicate limit name",
    ]:
        assert expected in text, f"{expected!r} not in:\n{text}"
