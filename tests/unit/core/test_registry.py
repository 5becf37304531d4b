import copy
import json
from collections import Counter

import pytest

from ndxp.core.identifiers import MemberId
from ndxp.core.registry import Registry, RegistryError
from ndxp.core.registry_doc import MemberKind
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry, parse_registry

from .conftest import small_document


def test_lookup_tables(registry: Registry) -> None:
    assert registry.version == "test-1"
    assert len(registry.connected) == 5
    assert "ndxp.in.000.00.00.H41" in registry.ingress
    assert "ndxp.in.0100109106" in registry.ingress
    assert "ndxp.in.000.00.00.K01" not in registry.ingress
    svc = registry.services["VN:GOV:000.00.01.G01:dancu:tra-cuu:v2"]
    assert str(svc.route) == "VN:GOV:000.00.01.G01"
    assert svc.authorities == {"VN:GOV:000.00.01.G01", "VN:GOV:000.00.00.G01"}


@pytest.mark.parametrize(
    ("member", "route"),
    [
        ("VN:GOV:000.00.00.H41", "VN:GOV:000.00.00.H41"),  # level 1, connected
        ("VN:GOV:000.00.01.H41", "VN:GOV:000.00.00.H41"),  # level 2 below a province
        ("VN:GOV:000.01.01.H41", "VN:GOV:000.00.00.H41"),  # level 3
        ("VN:GOV:001.01.01.H41", "VN:GOV:000.00.00.H41"),  # level 4
        ("VN:GOV:000.00.01.G01", "VN:GOV:000.00.01.G01"),  # connected level 2 itself
        ("VN:GOV:000.05.01.G01", "VN:GOV:000.00.01.G01"),  # level 3 below it, not the ministry
        ("VN:GOV:000.00.07.H42", "VN:GOV:000.00.00.H42"),  # unregistered unit still routes up
        ("VN:GOV:000.00.00.K01", None),  # not connected, nothing above
        ("VN:COM:0100109106-002", "VN:COM:0100109106"),  # enterprise branch
    ],
)
def test_nearest_connected_ancestor(registry: Registry, member: str, route: str | None) -> None:
    found = registry.route_for(MemberId.parse(member))
    assert (None if found is None else str(found)) == route


def test_every_semantic_error_is_listed() -> None:
    doc = small_document()
    doc["members"].append(copy.deepcopy(doc["members"][0]))  # duplicate member
    doc["members"].append({"id": "VN:GOV:001.00.01.H41", "name": "x", "kind": "unit"})
    doc["members"].append({"id": "EE:GOV:000.00.00.H43", "name": "x", "kind": "unit"})
    doc["members"][3]["subsystems"].append({"code": "dancu"})  # duplicate subsystem
    doc["members"][3]["subsystems"][0]["services"].append({"code": "tra-cuu", "version": "v1"})
    with pytest.raises(RegistryError) as info:
        Registry.from_document(doc)
    text = "\n".join(info.value.errors)
    assert len(info.value.errors) == 5, text
    assert "duplicate member id" in text
    assert "level-4 group is non-zero below a zero level-3 group" in text
    assert "instance 'EE' is not 'VN'" in text
    assert "duplicate subsystem VN:GOV:000.00.01.G01:dancu" in text
    assert "duplicate service VN:GOV:000.00.01.G01:dancu:tra-cuu:v1" in text


def test_schema_errors_are_all_listed_with_paths() -> None:
    doc = small_document()
    doc["members"][0]["kind"] = "province"
    doc["members"][1]["id"] = "VN:GOV:000.00.00.h42"
    doc["members"][2]["colour"] = "red"
    del doc["version"]
    with pytest.raises(RegistryError) as info:
        parse_registry(json.dumps(doc))
    errors = info.value.errors
    assert len(errors) == 4, errors
    assert any(e.startswith("$:") and "'version' is a required property" in e for e in errors)
    assert any(e.startswith("$.members[0].kind:") for e in errors)
    assert any(e.startswith("$.members[1].id:") for e in errors)
    assert any(e.startswith("$.members[2]:") and "colour" in e for e in errors)


def test_not_json_and_missing_file() -> None:
    with pytest.raises(RegistryError, match="not JSON"):
        parse_registry("{")
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry("/nonexistent/registry.json")


def test_sample_registry_has_the_national_shape() -> None:
    registry = load_registry(DEFAULT_REGISTRY)
    kinds = Counter(m.kind for m in registry.members.values())
    assert kinds[MemberKind.MINISTRY_PLATFORM] == 22
    assert kinds[MemberKind.PROVINCE_PLATFORM] == 63
    assert kinds[MemberKind.NATIONAL_DATABASE] >= 6
    platforms = [
        m
        for m in registry.members.values()
        if m.kind in (MemberKind.MINISTRY_PLATFORM, MemberKind.PROVINCE_PLATFORM)
    ]
    assert all(m.connected and m.id.code.level == 1 for m in platforms)  # type: ignore[union-attr]
    assert {str(m.id.code)[-3:] for m in platforms if str(m.id.code)[-3] == "G"} == {
        f"G{n:02d}" for n in range(1, 23)
    }
    real = {str(m.id.code) for m in registry.members.values() if not m.synthetic}
    assert {"000.00.00.G22", "000.00.00.G12", "000.00.00.H41", "000.00.18.G12"} <= real
    levels = Counter(m.id.code.level for m in registry.members.values())
    assert levels[2] and levels[3] and levels[4]
    assert any(registry.route_for(m.id) is None for m in registry.members.values())


def test_a_service_may_declare_its_http_timeout_and_openapi_description() -> None:
    doc = small_document()
    service = doc["members"][3]["subsystems"][0]["services"][0]
    service["timeout_s"] = 5
    service["openapi"] = {"openapi": "3.0.3", "info": {"title": "t", "version": "v1"}}
    registry = Registry.from_document(doc)
    [(text, described)] = registry.described.items()
    assert text == "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"
    assert described.timeout_s == 5 and described.openapi is not None
    service["timeout_s"] = 0
    service["openapi"] = {"swagger": "2.0"}
    with pytest.raises(RegistryError) as info:
        Registry.from_document(doc)
    assert len(info.value.errors) == 2
    assert "timeout_s must be in (0, 300]" in info.value.errors[0]
    assert "openapi must be an OpenAPI 3 document" in info.value.errors[1]
