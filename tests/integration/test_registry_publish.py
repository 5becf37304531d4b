"""`ndxp registry publish`: validated, then applied by every router worker without a restart."""

from __future__ import annotations

import copy
import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from .conftest import Broker
from .kafka_tools import NDXP, RouterProcess, Tap, hdr, producer, request, send
from .test_restart import REGISTRY

pytestmark = pytest.mark.integration

NEW = {
    "id": "VN:GOV:000.00.00.H94",
    "name": "onboarded by publish (test)",
    "kind": "province_platform",
    "connected": True,
    "synthetic": True,
    "subsystems": [{"code": "motcua"}],
}


def publish(kafka: Broker, topic: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(NDXP),
            "registry",
            "publish",
            str(path),
            "--bootstrap",
            kafka.bootstrap,
            "--topic",
            topic,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def versions(workers: list[RouterProcess]) -> list[str | None]:
    return [(w.health() or {}).get("registry_version") for w in workers]


def test_publish_reaches_every_worker_and_onboards_a_member(kafka: Broker, tmp_path: Path) -> None:
    topic = f"ndxp.registry.test-{uuid.uuid4().hex[:8]}"
    start = tmp_path / "registry.json"
    start.write_text(json.dumps(REGISTRY))
    group = f"ndxp-publish-{uuid.uuid4().hex[:8]}"
    env = {"NDXP_VAR": str(tmp_path), "NDXP_REGISTRY_TOPIC": topic}
    workers = [
        RouterProcess(kafka.bootstrap, tmp_path / f"w{n}.log", env=env, registry=start, group=group)
        for n in (1, 2)
    ]
    for w in workers:
        w.start()
    try:
        for w in workers:
            w.wait_ready()
        # a file that fails validation is refused, with its errors, and nothing changes
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"version": "bad", "members": [{"id": "VN:GOV:1"}]}))
        refused = publish(kafka, topic, bad)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "error" in refused.stdout and "not published" in refused.stdout
        time.sleep(2)
        assert versions(workers) == ["restart-test", "restart-test"]

        v2 = copy.deepcopy(REGISTRY)
        v2["version"] = "published-v2"
        v2["members"].append(NEW)
        good = tmp_path / "v2.json"
        good.write_text(json.dumps(v2))
        done = publish(kafka, topic, good)
        assert done.returncode == 0, done.stdout + done.stderr
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and versions(workers) != ["published-v2"] * 2:
            time.sleep(0.3)
        assert versions(workers) == ["published-v2", "published-v2"]

        tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H98"])
        p = producer(kafka.bootstrap)
        mid = f"published-{uuid.uuid4()}"
        send(
            p,
            "ndxp.in.000.00.00.H94",
            request(mid, "VN:GOV:000.00.00.H94:motcua", "VN:GOV:000.00.00.H98:dv:tra-cuu:v1"),
        )
        p.flush(10)
        got = tap.collect(lambda ms: any(hdr(m, "ndxp-id") == mid for m in ms), timeout=90)
        tap.close()
        assert [hdr(m, "ndxp-route") for m in got if hdr(m, "ndxp-id") == mid] == ["000.00.00.H98"]
    finally:
        for w in workers:
            w.stop()
