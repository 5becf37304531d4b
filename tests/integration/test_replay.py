"""A sender sending an ``ndxp-id`` again (schemas/WIRE.md, "Identity and replays"): every copy
is a record of its own — decided, routed, and a row of its own in the ledger, identified by its
ingress coordinates — and another member re-using the id cannot erase the first sender's
transaction (the finding: a reused id made a member's own call vanish from the ledger, which
kept one row per sender-chosen id and day). ``ndxp report`` counts the collisions."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest

from .conftest import Broker
from .kafka_tools import NDXP, LedgerProcess, RouterProcess, Tap, hdr, producer, request, send

pytestmark = pytest.mark.integration

SENDER = "000.00.00.H35"  # used by this test only
OTHER = "000.00.00.H34"  # likewise: re-uses the first sender's id with its own request
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def test_a_reused_id_is_routed_each_time_and_each_copy_is_a_ledger_row(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01", "ndxp.rejected"])
    mid = f"replay-{uuid.uuid4().hex[:12]}"
    p = producer(kafka.bootstrap)
    sends = [(SENDER, b"{}0", b"k0"), (SENDER, b"{}1", b"k1"), (SENDER, b"{}0", b"k2")]
    sends.append((OTHER, b'{"other":"content"}', b"k3"))
    try:
        for member, value, key in sends:  # on different partitions (keys), as retries might
            client = f"VN:GOV:{member}:motcua"
            send(p, f"ndxp.in.{member}", request(mid, client, POP), value=value, key=key)
            p.flush(10)
        got = tap.collect(lambda ms: sum(hdr(m, "ndxp-id") == mid for m in ms) >= 4, timeout=60)
    finally:
        tap.close()
    copies = [m for m in got if hdr(m, "ndxp-id") == mid]
    assert [m.topic() for m in copies] == ["ndxp.out.000.00.01.G01"] * 4
    assert sorted(m.value() for m in copies) == sorted(v for _, v, _ in sends)
    identities = {
        (hdr(m, "ndxp-source-topic"), hdr(m, "ndxp-source-partition"), hdr(m, "ndxp-source-offset"))
        for m in copies
    }
    assert len(identities) == 4  # four ingress records: four identities
    where = f"WHERE message_id = '{mid}'"
    deadline = time.monotonic() + 60
    rows: list[list[object]] = []
    while time.monotonic() < deadline:
        rows = ledger.sql(f"SELECT count() FROM ndxp.ledger {where}")
        if rows and rows[0][0] == 4:
            break
        time.sleep(0.3)
    rows = ledger.sql(
        "SELECT source_topic, count(), uniqExact(payload_sha256), any(outcome) "
        f"FROM ndxp.ledger {where} GROUP BY source_topic ORDER BY source_topic"
    )
    assert rows == [[f"ndxp.in.{OTHER}", 1, 1, "routed"], [f"ndxp.in.{SENDER}", 3, 2, "routed"]]
    # the report names the members whose ids collide
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
    report = subprocess.run(
        [str(NDXP), "report", "--from", today, "--to", today, "--format", "json", "--top", "100"],
        env={**os.environ, **ledger.env, "NDXP_LEDGER_WEB_PORT": str(ledger.web_port)},
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, f"ndxp report exited {report.returncode}:\n{report.stderr}"
    collisions = {c["member"]: c for c in json.loads(report.stdout)["id_collisions"]}
    assert collisions[SENDER]["ids"] >= 1 and collisions[SENDER]["across_members"] >= 1
    assert collisions[SENDER]["other_content"] >= 1
    assert collisions[OTHER]["across_members"] >= 1
