"""Members added to the registry while the router runs: topics created, ingress subscribed."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path

import pytest

from .conftest import Broker
from .kafka_tools import RouterProcess, Tap, hdr, producer, request, send
from .test_restart import REGISTRY

pytestmark = pytest.mark.integration

NEW = {
    "id": "VN:GOV:000.00.00.H96",
    "name": "onboarded later (test)",
    "kind": "province_platform",
    "connected": True,
    "synthetic": True,
    "subsystems": [{"code": "motcua"}],
}
SERVICE = "VN:GOV:000.00.00.H98:dv:tra-cuu:v1"


def wait_version(router: RouterProcess, version: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = router.health()
        if h and h.get("registry_version") == version:
            return
        time.sleep(0.3)
    raise AssertionError(f"registry {version} not in force; health {router.health()}")


def test_new_member_can_send_without_a_restart(kafka: Broker, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(REGISTRY))
    router = RouterProcess(
        kafka.bootstrap,
        tmp_path / "router.log",
        env={"NDXP_VAR": str(tmp_path), "NDXP_REGISTRY_RELOAD_S": "0.5"},
        registry=path,
        group=f"ndxp-reload-{uuid.uuid4().hex[:8]}",
    )
    router.start().wait_ready()
    try:
        # An invalid file is refused; the registry in force stays and keeps routing.
        path.write_text('{"version": "broken", "members": [{"id": "nope"}]}')
        time.sleep(2)
        assert (router.health() or {}).get("registry_version") == "restart-test"

        updated = copy.deepcopy(REGISTRY)
        updated["version"] = "with-h96"
        updated["members"].append(NEW)
        path.write_text(json.dumps(updated))
        wait_version(router, "with-h96")

        tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H98"])
        p = producer(kafka.bootstrap)
        mid = f"onboard-{uuid.uuid4()}"
        send(p, "ndxp.in.000.00.00.H96", request(mid, "VN:GOV:000.00.00.H96:motcua", SERVICE))
        p.flush(10)
        got = tap.collect(lambda ms: any(hdr(m, "ndxp-id") == mid for m in ms), timeout=90)
        tap.close()
        assert [hdr(m, "ndxp-route") for m in got if hdr(m, "ndxp-id") == mid] == ["000.00.00.H98"]
    finally:
        router.stop()
