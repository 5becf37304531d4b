"""The gateway bench's calls and table (the measurement itself runs in `make bench`)."""

from __future__ import annotations

from ndxp.bench.gateway import table
from ndxp.bench.http_load import mix_calls, rest_calls
from ndxp.core import xroad
from ndxp.core.identifiers import SubsystemId
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry


def _client_id(header: str) -> str:
    return str(SubsystemId.parse(header.replace("/", ":")))


def test_rest_calls_are_nghe_an_systems_calling_the_rest_apis_they_are_granted() -> None:
    registry = load_registry(DEFAULT_REGISTRY)
    calls = rest_calls(7, 400)
    assert calls == rest_calls(7, 400)  # the same calls in every run
    methods = set()
    for method, path, client, body in calls:
        call = xroad.parse_call(path)
        service = str(call.service)
        assert str(call.service.subsystem) in registry.endpoints, path
        assert registry.allowed(service, registry.subsystems[_client_id(client)]), (client, path)
        assert (method == "GET") == (body == b"")
        methods.add(method)
    assert methods == {"GET", "POST"}
    assert len({xroad.parse_call(p).service for _, p, _, _ in calls}) == 4


def test_mix_calls_are_granted_and_not_the_rest_apis() -> None:
    registry = load_registry(DEFAULT_REGISTRY)
    for method, path, client, _ in mix_calls(7, 300):
        call = xroad.parse_call(path)
        assert method == "POST" and str(call.service.subsystem) not in registry.endpoints
        assert registry.allowed(str(call.service), registry.subsystems[_client_id(client)])


def test_the_table_shows_each_path_with_the_cpu_each_process_spent() -> None:
    row = {
        "label": "64 calls in flight",
        "answered_per_s": 461.0,
        "p50_ms": 101.2,
        "p90_ms": 134.1,
        "p99_ms": 192.1,
        "max_ms": 214.3,
        "statuses": {"200": 10},
        "cpu_ms_per_call": {"gateway": 0.79, "broker": 1.32},
    }
    lines = table({"gateway": [row], "ceiling": [row], "gateway_peak_rss_mb": 92})
    text = "\n".join(lines)
    assert "REST APIs via gateway, router, adapter, 64 calls in flight" in text
    assert "ceiling: plain aiohttp proxy to the APIs, 64 calls in flight" in text
    assert "CPU ms per call: gateway 0.79, broker 1.32" in text
    assert "gateway peak RSS 92 MB" in text
    # an older result, without the mix rows or CPU figures, still prints
    old = {k: v for k, v in row.items() if k != "cpu_ms_per_call"}
    assert "CPU" not in "\n".join(table({"gateway": [old], "ceiling": [old]}))
