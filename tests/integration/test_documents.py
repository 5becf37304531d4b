"""The document exchange axis through the real broker, router and ledger: one document from
the Government Office to three provinces and to an agency code nobody has."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from .conftest import Broker
from .kafka_tools import (
    NDXP,
    LedgerProcess,
    RouterProcess,
    Tap,
    document,
    hdr,
    producer,
    send,
    status,
)
from .test_ledger import wait_rows

pytestmark = pytest.mark.integration

G22 = "000.00.00.G22"
PROVINCES = ["000.00.00.H41", "000.00.00.H40", "000.00.00.H42"]
NOBODY = "000.00.00.H99"


def test_a_document_reaches_each_receiver_once_and_the_unknown_one_is_refused_to_its_sender(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    doc_id = f"{G22},2022/03/15,{int(run, 16) % 10**9}/VPCP-KSTT"
    package = b"<edXML>" + bytes(range(256)) * 400 + b"</edXML>"  # ~100 KB, not text
    headers = document(
        f"doc-{run}",
        f"VN:GOV:{G22}:lgsp",
        doc_id,
        [*PROVINCES, NOBODY],
        **{"ndxp-doc-priority": "1"},
    )
    tap = Tap(kafka.bootstrap, [f"ndxp.out.{c}" for c in [*PROVINCES, G22]])
    p = producer(kafka.bootstrap)
    send(p, f"ndxp.in.{G22}", headers, value=package, key=f"VN:GOV:{G22}:lgsp".encode())
    p.flush(10)

    def mine(ms: list) -> list:  # type: ignore[type-arg]
        return [
            m
            for m in ms
            if hdr(m, "ndxp-doc-id") == doc_id or hdr(m, "ndxp-correlation-id") == f"doc-{run}"
        ]

    got = mine(tap.collect(lambda ms: len(mine(ms)) >= 4))
    tap.close()
    copies = {m.topic(): m for m in got if hdr(m, "ndxp-kind") == "document"}
    assert sorted(copies) == sorted(f"ndxp.out.{c}" for c in PROVINCES)
    for topic, m in copies.items():
        assert hdr(m, "ndxp-doc-receiver") == topic.removeprefix("ndxp.out.")
        assert hashlib.sha256(m.value()).digest() == hashlib.sha256(package).digest()
        assert (
            hdr(m, "ndxp-doc-priority") == "1" and hdr(m, "ndxp-source-topic") == f"ndxp.in.{G22}"
        )
    [notice] = [m for m in got if hdr(m, "ndxp-kind") == "error"]
    assert notice.topic() == f"ndxp.out.{G22}"
    assert (hdr(notice, "ndxp-error"), hdr(notice, "ndxp-doc-receiver")) == (
        "UNKNOWN_RECEIVER",
        NOBODY,
    )

    # the ledger: a row per receiver, the refused one among them, each once
    rows = wait_rows(
        ledger,
        "SELECT receiver, outcome, error, kind, payload_size FROM ndxp.ledger "
        f"WHERE message_id = 'doc-{run}' ORDER BY receiver",
        4,
    )
    assert rows == sorted(
        [[c, "routed", "", "document", len(package)] for c in PROVINCES]
        + [[NOBODY, "rejected", "UNKNOWN_RECEIVER", "document", len(package)]]
    )


def test_a_document_naming_many_unknown_agencies_is_kept_once(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """Each refused receiver has its dead letter and its ledger row, but the document is
    written to ``ndxp.rejected`` once: the other dead letters carry its size and SHA-256, and
    their rows record those. Before, a 700 KiB document naming 128 unknown agencies made 87.5
    MiB of dead letters (a hostile sender's 128-fold amplifier, counted once by its quota)."""
    run = uuid.uuid4().hex[:8]
    doc_id = f"{G22},2022/03/17,{int(run, 16) % 10**9}/VPCP-KSTT"
    package = b"<edXML>" + bytes(range(256)) * 400 + b"</edXML>"  # ~100 KB
    unknown = [f"000.00.{i:02d}.H99" for i in range(1, 41)]
    headers = document(f"doc-{run}", f"VN:GOV:{G22}:lgsp", doc_id, [PROVINCES[0], *unknown])
    tap = Tap(kafka.bootstrap, ["ndxp.rejected"])
    p = producer(kafka.bootstrap)
    send(p, f"ndxp.in.{G22}", headers, value=package, key=f"VN:GOV:{G22}:lgsp".encode())
    p.flush(10)

    def mine(ms: list) -> list:  # type: ignore[type-arg]
        return [m for m in ms if hdr(m, "ndxp-doc-id") == doc_id]

    dead = mine(tap.collect(lambda ms: len(mine(ms)) >= len(unknown)))
    tap.close()
    assert sorted(hdr(m, "ndxp-doc-receiver") or "" for m in dead) == unknown
    whole = [m for m in dead if m.value()]
    assert [m.value() for m in whole] == [package]  # the first refused receiver's
    assert hdr(whole[0], "ndxp-doc-receiver") == unknown[0]
    digest = hashlib.sha256(package).hexdigest()
    for m in dead:
        if m is not whole[0]:
            assert (hdr(m, "ndxp-payload-size"), hdr(m, "ndxp-payload-sha256")) == (
                str(len(package)),
                digest,
            )
    assert sum(len(m.value() or b"") for m in dead) == len(package)

    rows = wait_rows(
        ledger,
        "SELECT receiver, outcome, error, payload_size, lower(hex(payload_sha256)) "
        f"FROM ndxp.ledger WHERE message_id = 'doc-{run}' ORDER BY receiver",
        1 + len(unknown),
    )
    assert rows == sorted(
        [[PROVINCES[0], "routed", "", len(package), digest]]
        + [[c, "rejected", "UNKNOWN_RECEIVER", len(package), digest] for c in unknown]
    )


def test_ndxp_doc_send_shows_each_receivers_copy_or_refusal(
    kafka: Broker, router: RouterProcess, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    package = tmp_path / "cv.edxml"
    package.write_bytes(b"<edXML>" + run.encode() + b"</edXML>")
    out = subprocess.run(
        [
            str(NDXP),
            "doc",
            "send",
            "--bootstrap",
            kafka.bootstrap,
            "--as",
            G22,
            "--client",
            f"VN:GOV:{G22}:lgsp",
            "--to",
            ",".join([*PROVINCES, NOBODY]),
            "--id",
            f"{G22},2022/03/16,{int(run, 16) % 10**9}/VPCP-KSTT",
            "--file",
            str(package),
            "--wait",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stdout + out.stderr  # one receiver refused
    lines = out.stdout.splitlines()
    for code in PROVINCES:
        assert f"  {code}: delivered on ndxp.out.{code}" in lines, out.stdout
    assert any(line.startswith(f"  {NOBODY}: refused UNKNOWN_RECEIVER") for line in lines)


KILL_REGISTRY = {
    "version": "documents-kill-test",
    "default_access": "allow",
    "members": [
        {
            "id": f"VN:GOV:000.00.00.{code}",
            "name": f"{code} (test)",
            "kind": "province_platform",
            "connected": True,
            "synthetic": True,
            "subsystems": [{"code": "vbdh"}],
        }
        for code in ("H75", "H86", "H88", "H79")
    ],
}
KILL_RECEIVERS = ["000.00.00.H86", "000.00.00.H88", "000.00.00.H79"]


def test_a_router_killed_mid_fan_out_leaves_each_receiver_each_document_once(
    kafka: Broker, ledger: LedgerProcess, tmp_path: Path
) -> None:
    """1,500 documents to three receivers each, kill -9 of the router a quarter of the way:
    once restarted, every receiver has every document; the copies written again are
    told apart by (document id, receiver): the ledger holds each delivery once, and
    ``ndxp doc inbox`` shows each document once, counting the copies received again."""
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(KILL_REGISTRY))
    router = RouterProcess(
        kafka.bootstrap,
        tmp_path / "router.log",
        env={"NDXP_VAR": str(tmp_path)},
        registry=path,
        group=f"ndxp-doc-kill-{uuid.uuid4().hex[:8]}",
    )
    router.start().wait_ready()
    run, total = uuid.uuid4().hex[:8], 1500
    tap = Tap(kafka.bootstrap, [f"ndxp.out.{c}" for c in KILL_RECEIVERS])
    ids = [f"{run}-{i}" for i in range(total)]

    def produce() -> None:
        p = producer(kafka.bootstrap)
        for n, mid in enumerate(ids):
            doc_id = f"000.00.00.H75,2022/03/15,{n + 1}/{run.upper()}"
            headers = document(mid, "VN:GOV:000.00.00.H75:vbdh", doc_id, KILL_RECEIVERS)
            send(p, "ndxp.in.000.00.00.H75", headers, value=b"<edXML/>", key=str(n).encode())
            if n % 100 == 0:
                p.poll(0)
                time.sleep(0.05)
        p.flush(30)

    def deliveries(ms: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
        return {(hdr(m, "ndxp-id") or "", hdr(m, "ndxp-doc-receiver") or "") for m in ms}

    want = {(mid, r) for mid in ids for r in KILL_RECEIVERS}
    writer = threading.Thread(target=produce)
    try:
        writer.start()
        tap.collect(lambda ms: len(ms) >= len(want) // 4, timeout=60)
        seen_before_kill = len(tap.messages)
        router.kill9()
        assert 0 < seen_before_kill < len(want), "the kill must land mid-stream"
        writer.join()
        router.start().wait_ready()
        got = tap.collect(lambda ms: want <= deliveries(ms), timeout=90)
    finally:
        router.stop()
        tap.close()
    assert want <= deliveries(got)
    again = len(got) - len(want)
    rows = wait_rows(
        ledger,
        "SELECT count(), uniqExact(message_id, receiver) FROM ndxp.ledger "
        f"WHERE startsWith(message_id, '{run}-') HAVING count() >= {len(want)}",
        1,
    )
    assert rows == [[len(want), len(want)]], (rows, again)
    inbox = subprocess.run(
        [str(NDXP), "doc", "inbox", "000.00.00.H86", "--bootstrap", kafka.bootstrap],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert inbox.returncode == 0, inbox.stderr
    mine = [line for line in inbox.stdout.splitlines() if f"/{run.upper()}" in line]
    assert len(mine) == total and len(set(mine)) == total
    print(f"documents kill test: {len(got)} copies for {len(want)} deliveries ({again} again)")


def test_receivers_statuses_reach_the_sender_and_the_state_topic_keeps_each_delivery(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """G22 sends a document to three provinces. H41 walks it 01 → 03 → 05 → 06; H40 refuses
    it (02); H42 reports 01 twice and 06 before accepting it, and reports for H41; G22
    recalls it from H42, which accepts the recall (15). The valid statuses reach G22 (the
    recall H42) in order; each refused one gets its giver a stable code; ``ndxp doc status``
    shows each receiver's state from the compacted state topic; the ledger holds each status
    once with its receiver."""
    run = uuid.uuid4().hex[:8]
    doc_id = f"{G22},2022/03/17,{int(run, 16) % 10**9}/VPCP-TH"
    h41, h40, h42 = PROVINCES
    tap = Tap(kafka.bootstrap, [f"ndxp.out.{c}" for c in [*PROVINCES, G22]])
    p = producer(kafka.bootstrap)
    lgsp = f"VN:GOV:{G22}:lgsp"
    send(p, f"ndxp.in.{G22}", document(f"doc-{run}", lgsp, doc_id, PROVINCES), key=lgsp.encode())
    p.flush(10)
    tap.collect(lambda ms: sum(hdr(m, "ndxp-id") == f"doc-{run}" for m in ms) >= 3)

    def report(member: str, code: str, n: int, receiver: str | None = None) -> str:
        client = f"VN:GOV:{member}:motcua"
        mid = f"st-{run}-{member}-{n}"
        headers = status(
            mid, client, doc_id, receiver or member, code, **{"ndxp-doc-reason": "lý do"}
        )
        send(p, f"ndxp.in.{member}", headers, value=b"", key=client.encode())
        return mid

    walked = [report(h41, code, n) for n, code in enumerate(["01", "03", "05", "06"])]
    refused_by_h40 = [report(h40, "01", 0), report(h40, "02", 1)]
    h42_ok = report(h42, "01", 0)
    h42_bad = {
        report(h42, "01", 1): "STATUS_REPEATED",
        report(h42, "06", 2): "STATUS_OUT_OF_ORDER",
        report(h42, "03", 3, receiver=h41): "STATUS_NOT_PARTY",
    }
    never = f"{G22},2022/03/17,1/NEVER-{run}"
    nobody = status(f"st-{run}-never", f"VN:GOV:{h42}:motcua", never, h42, "01")
    send(p, f"ndxp.in.{h42}", nobody, value=b"", key=b"x")
    h42_bad[f"st-{run}-never"] = "STATUS_NO_DOCUMENT"
    p.flush(10)

    def mine(ms: list) -> list:  # type: ignore[type-arg]
        return [m for m in ms if (hdr(m, "ndxp-id") or "").startswith(f"st-{run}")]

    def errors(ms: list) -> dict[str, str]:  # type: ignore[type-arg]
        return {
            hdr(m, "ndxp-correlation-id") or "": hdr(m, "ndxp-error") or ""
            for m in ms
            if hdr(m, "ndxp-kind") == "error"
            and (hdr(m, "ndxp-correlation-id") or "").startswith(f"st-{run}")
        }

    want = len(walked) + len(refused_by_h40) + 1
    got = tap.collect(lambda ms: len(mine(ms)) >= want and len(errors(ms)) >= len(h42_bad))
    at_g22 = [hdr(m, "ndxp-id") for m in mine(got) if m.topic() == f"ndxp.out.{G22}"]
    assert [i for i in at_g22 if h41 in (i or "")] == walked
    assert [i for i in at_g22 if h40 in (i or "")] == refused_by_h40
    assert [i for i in at_g22 if h42 in (i or "")] == [h42_ok]
    assert errors(got) == h42_bad
    [h41_status] = [m for m in mine(got) if hdr(m, "ndxp-id") == walked[-1]]
    assert hdr(h41_status, "ndxp-doc-reason") == "lý do"

    def ndxp_doc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NDXP), "doc", *args, "--bootstrap", kafka.bootstrap],
            capture_output=True,
            text=True,
            timeout=120,
        )

    recall = ndxp_doc(
        "recall", "--as", G22, "--client", lgsp, "--id", doc_id, "--to", h42, "--wait"
    )
    assert recall.returncode == 0, recall.stdout + recall.stderr
    assert f"  {h42}: routed to ndxp.out.{h42}" in recall.stdout.splitlines()
    closed = ndxp_doc(
        "recall", "--as", G22, "--client", lgsp, "--id", doc_id, "--to", h40, "--wait"
    )
    assert closed.returncode == 1 and f"  {h40}: refused STATUS_CLOSED" in closed.stdout
    answer = ndxp_doc(
        "update-status",
        "--as",
        h42,
        "--client",
        f"VN:GOV:{h42}:motcua",
        "--id",
        doc_id,
        "--status",
        "15",
        "--wait",
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    # the state topic is written at each commit, a moment behind: --follow reads it until
    # every receiver is finished (or 30 s)
    view = ndxp_doc("status", doc_id, "--group", router.group, "--follow", "--timeout", "30")
    assert view.returncode == 0, view.stderr
    lines = view.stdout.splitlines()
    assert any(line.endswith(f"  {h42}: 01 arrived, 15 withdrawn") for line in lines), view.stdout
    assert f"  {h41}: 06 done" in lines, view.stdout
    assert f"  {h40}: 02 refused" in lines
    assert f"  {h42}: 01 arrived, 15 withdrawn" in lines
    assert lines[-1].endswith("finished"), view.stdout

    expected = [
        [h40, "routed", "", 2],
        [h41, "rejected", "STATUS_NOT_PARTY", 1],
        [h41, "routed", "", 4],
        [h42, "rejected", "STATUS_NO_DOCUMENT", 1],
        [h42, "rejected", "STATUS_OUT_OF_ORDER", 1],
        [h42, "rejected", "STATUS_REPEATED", 1],
        [h42, "routed", "", 1],
    ]
    deadline = time.monotonic() + 60
    while True:
        rows = wait_rows(
            ledger,
            "SELECT receiver, outcome, error, count() FROM ndxp.ledger "
            f"WHERE kind = 'status' AND startsWith(message_id, 'st-{run}') "
            "GROUP BY receiver, outcome, error ORDER BY receiver, outcome, error",
            len(expected),
        )
        if rows == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rows == expected


def test_simulated_agencies_walk_every_document_to_its_end_across_a_kill_9(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess, tmp_path: Path
) -> None:
    """30 documents from G22 to three provinces; the provinces' simulated agencies (a day
    in under a second) walk each delivery 01 → 06 or refuse it, and are killed -9 mid-walk
    and started again: every delivery ends done or refused, and the ledger holds each of its
    statuses routed once, in the lifecycle's order."""
    run = uuid.uuid4().hex[:8]
    log = tmp_path / "agencies.log"

    def agencies() -> subprocess.Popen[bytes]:
        return simulated_agencies(kafka, router, f"agencies-{run}", log)

    first = agencies()
    time.sleep(3)  # subscribed
    tap = Tap(kafka.bootstrap, [f"ndxp.out.{G22}"])
    p = producer(kafka.bootstrap)
    lgsp = f"VN:GOV:{G22}:lgsp"
    doc_ids = [f"{G22},2022/03/18,{n + 1}/VPCP-{run.upper()}" for n in range(30)]
    for n, doc_id in enumerate(doc_ids):
        send(
            p, f"ndxp.in.{G22}", document(f"{run}-{n}", lgsp, doc_id, PROVINCES), key=lgsp.encode()
        )
    p.flush(10)

    def statuses(ms: list) -> list:  # type: ignore[type-arg]
        return [m for m in ms if (hdr(m, "ndxp-doc-id") or "").endswith(run.upper())]

    before = statuses(tap.collect(lambda ms: len(statuses(ms)) >= 60, timeout=60))
    first.kill()  # SIGKILL, mid-walk
    first.wait(10)
    tap.close()
    done_before = sum(hdr(m, "ndxp-doc-status") in ("06", "02") for m in before)
    assert len(before) >= 60 and done_before < len(doc_ids) * len(PROVINCES), done_before
    second = agencies()
    try:
        rows, ended = walked(ledger, f"VPCP-{run.upper()}", len(doc_ids) * len(PROVINCES))
    finally:
        second.terminate()
        second.wait(30)
    stuck = [r for r in rows if r not in ended]
    assert len(ended) == len(doc_ids) * len(PROVINCES), (len(rows), stuck, log.read_text()[-800:])
    for _, receiver, statuses in rows:
        assert statuses in (["01", "03", "04", "05", "06"], ["01", "02"]), (receiver, statuses)


def simulated_agencies(
    kafka: Broker, router: RouterProcess, group: str, log: Path
) -> subprocess.Popen[bytes]:
    """``ndxp simulate --documents`` for the three provinces, a day in under a second."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                str(NDXP),
                "simulate",
                "--documents",
                *PROVINCES,
                "--speed",
                "40000",
                "--seed",
                "1",
                "--group",
                group,
                "--bootstrap",
                kafka.bootstrap,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NDXP_ROUTER_GROUP": router.group},
        )


def walked(ledger: LedgerProcess, notation: str, deliveries: int) -> tuple[list, list]:  # type: ignore[type-arg]
    """Each delivery's routed statuses in the ledger (documents whose id ends with
    ``notation``), in the order they were routed, waited for until ``deliveries`` have ended
    (06 done or 02 refused) or 120 s have passed; and those that ended."""
    query = (
        "SELECT doc_id, receiver, groupArray(doc_status) FROM "
        "(SELECT doc_id, receiver, doc_status FROM ndxp.ledger "
        f"WHERE kind = 'status' AND outcome = 'routed' AND endsWith(doc_id, '{notation}') "
        "ORDER BY source_topic, source_partition, source_offset) GROUP BY doc_id, receiver"
    )
    deadline = time.monotonic() + 120
    while True:
        rows = [list(r) for r in ledger.sql(query)]
        ended = [r for r in rows if r[2] and r[2][-1] in ("06", "02")]
        if len(ended) == deliveries or time.monotonic() > deadline:
            return rows, ended
        time.sleep(1)


def test_a_ledger_killed_mid_document_traffic_records_each_delivery_and_status_once(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess, tmp_path: Path
) -> None:
    """60 documents from G22 to three provinces whose simulated agencies walk them, the
    ledger killed -9 once the first half's rows arrive, the second half sent while it is
    down, then started again: the ledger holds every delivery once and every status once,
    each delivery's in the lifecycle's order, to its end."""
    run = uuid.uuid4().hex[:8]
    agencies = simulated_agencies(kafka, router, f"agencies-{run}", tmp_path / "agencies.log")
    time.sleep(3)  # subscribed
    p = producer(kafka.bootstrap)
    lgsp = f"VN:GOV:{G22}:lgsp"
    notation = f"LK-{run.upper()}"

    def send_documents(numbers: range) -> None:
        for n in numbers:
            doc_id = f"{G22},2022/03/21,{n + 1}/{notation}"
            headers = document(f"{run}-{n}", lgsp, doc_id, PROVINCES)
            send(p, f"ndxp.in.{G22}", headers, value=os.urandom(2000), key=lgsp.encode())
        p.flush(10)

    mine = f"startsWith(message_id, '{run}-') OR endsWith(doc_id, '{notation}')"
    try:
        send_documents(range(30))
        wait_rows(ledger, f"SELECT count() FROM ndxp.ledger WHERE {mine} HAVING count() >= 40", 1)
        ledger.kill9()  # mid-traffic: statuses of the first half still arriving
        send_documents(range(30, 60))
        time.sleep(3)
        ledger.start().wait_ready()
        rows, ended = walked(ledger, notation, 60 * len(PROVINCES))
    finally:
        agencies.terminate()
        agencies.wait(30)
    assert len(ended) == 60 * len(PROVINCES), (len(rows), [r for r in rows if r not in ended])
    for _, receiver, statuses in rows:  # each status once, in order
        assert statuses in (["01", "03", "04", "05", "06"], ["01", "02"]), (receiver, statuses)
    copies = ledger.sql(
        "SELECT count(), uniqExact(message_id, receiver) FROM ndxp.ledger "
        f"WHERE kind = 'document' AND startsWith(message_id, '{run}-')"
    )
    assert copies == [[60 * len(PROVINCES), 60 * len(PROVINCES)]], copies


def test_a_20_mib_package_reaches_ten_receivers_whole(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess, tmp_path: Path
) -> None:
    """A 20 MiB package (an edXML document with its PDF attachments) from G22 to ten
    provinces: sent in parts within the value limit, each receiver's inbox puts it together
    again and its SHA-256 is the package's; the ledger has a row per part and receiver."""
    run = uuid.uuid4().hex[:8]
    package = tmp_path / "nghi-dinh.edxml"
    data = os.urandom(20 * 1024 * 1024)  # PDF attachments do not compress
    package.write_bytes(data)
    receivers = [f"000.00.00.H{n:02d}" for n in range(1, 11)]
    doc_id = f"{G22},2022/03/19,{int(run, 16) % 10**9}/ND-CP"
    sent = subprocess.run(
        [
            str(NDXP),
            "doc",
            "send",
            "--bootstrap",
            kafka.bootstrap,
            "--as",
            G22,
            "--client",
            f"VN:GOV:{G22}:lgsp",
            "--to",
            ",".join(receivers),
            "--id",
            doc_id,
            "--type",
            "ND",
            "--file",
            str(package),
            "--wait",
            "--timeout",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "in 27 parts" in sent.stdout
    for code in receivers:
        assert f"  {code}: delivered on ndxp.out.{code} (27 parts)" in sent.stdout
    digest = hashlib.sha256(data).hexdigest()[:16]
    for code in receivers[:3]:  # each inbox reads its topic whole: three are enough
        inbox = subprocess.run(
            [str(NDXP), "doc", "inbox", code, "--bootstrap", kafka.bootstrap],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert inbox.returncode == 0, inbox.stderr
        [line] = [x for x in inbox.stdout.splitlines() if x.startswith(doc_id)]
        assert f"{len(data):,} bytes  sha256 {digest}  (27 parts)" in line, line
    rows = wait_rows(
        ledger,
        f"SELECT count(), uniqExact(receiver), sum(payload_size) FROM ndxp.ledger "
        f"WHERE doc_id = '{doc_id}' HAVING count() >= 270",
        1,
        timeout=120,
    )
    assert rows == [[270, 10, 10 * len(data)]]


def sweeping_router(
    kafka: Broker, tmp_path: Path, group: str, keep: str, seconds: float
) -> RouterProcess:
    """A router on :data:`KILL_REGISTRY` (its log ``router.log``) that keeps deliveries
    ``seconds`` by the setting ``keep`` (``NDXP_DOC_KEEP_DAYS``, ``NDXP_DOC_OPEN_DAYS``) and
    sweeps every second; started and ready."""
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(KILL_REGISTRY))
    env = {"NDXP_VAR": str(tmp_path), keep: str(seconds / 86_400), "NDXP_DOC_SWEEP_S": "1"}
    router = RouterProcess(
        kafka.bootstrap, tmp_path / "router.log", env=env, registry=path, group=group
    )
    router.start().wait_ready()
    return router


def test_a_finished_delivery_leaves_the_state_topic_once_kept_long_enough(
    kafka: Broker, tmp_path: Path
) -> None:
    """A router keeping finished deliveries 1 s: H86 walks its copy to 06 and H88 stops at 03;
    a few sweeps later H86's delivery has left the state topic (a tombstone: a restarted router
    does not bring it back) and a status for it is refused STATUS_NO_DOCUMENT, while H88's
    open delivery stays."""
    group = f"ndxp-doc-keep-{uuid.uuid4().hex[:8]}"
    router = sweeping_router(kafka, tmp_path, group, "NDXP_DOC_KEEP_DAYS", 1)
    run = uuid.uuid4().hex[:8]
    doc_id = f"000.00.00.H75,2022/03/20,{int(run, 16) % 10**9}/KEEP"
    h86, h88 = "000.00.00.H86", "000.00.00.H88"
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H75"])
    p = producer(kafka.bootstrap)
    try:
        vbdh = "VN:GOV:000.00.00.H75:vbdh"
        send(p, "ndxp.in.000.00.00.H75", document(f"k-{run}", vbdh, doc_id, [h86, h88]), key=b"d")
        p.flush(10)
        time.sleep(2)  # the delivered events are decided
        steps = [(h86, "01"), (h86, "03"), (h86, "06"), (h88, "01"), (h88, "03")]
        for n, (member, code) in enumerate(steps):
            client = f"VN:GOV:{member}:vbdh"
            headers = status(f"k-{run}-{n}", client, doc_id, member, code)
            send(p, f"ndxp.in.{member}", headers, value=b"", key=client.encode())
        p.flush(10)
        tap.collect(lambda ms: len(ms) >= len(steps), timeout=60)

        def receivers() -> str:
            out = subprocess.run(
                [
                    str(NDXP),
                    "doc",
                    "status",
                    doc_id,
                    "--group",
                    group,
                    "--bootstrap",
                    kafka.bootstrap,
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            return out.stdout

        deadline = time.monotonic() + 60
        view = receivers()
        while (h86 in view or f"  {h88}: 03 accepted" not in view) and time.monotonic() < deadline:
            time.sleep(1)
            view = receivers()
        assert h86 not in view and f"  {h88}: 03 accepted" in view, view
        router.stop()
        router.start().wait_ready()  # the table read again from the topic: still gone
        notices = Tap(kafka.bootstrap, [f"ndxp.out.{h86}"])
        late = status(f"k-{run}-late", f"VN:GOV:{h86}:vbdh", doc_id, h86, "06")
        send(p, f"ndxp.in.{h86}", late, value=b"", key=b"x")
        p.flush(10)
        got = notices.collect(lambda ms: any(hdr(m, "ndxp-error") for m in ms), timeout=60)
        notices.close()
        assert [hdr(m, "ndxp-error") for m in got] == ["STATUS_NO_DOCUMENT"]
        assert f"  {h88}: 03 accepted" in receivers()
        # the open delivery was read back from the topic: its next status is routed
        nxt = status(f"k-{run}-next", f"VN:GOV:{h88}:vbdh", doc_id, h88, "04")
        send(p, f"ndxp.in.{h88}", nxt, value=b"", key=b"x")
        p.flush(10)

        def routed(ms: list) -> list:  # type: ignore[type-arg]
            return [m for m in ms if hdr(m, "ndxp-id") == f"k-{run}-next"]

        assert routed(tap.collect(lambda ms: bool(routed(ms)), timeout=60))
    finally:
        tap.close()
        router.stop()


def test_an_open_delivery_with_nothing_said_leaves_the_state_after_the_open_keep(
    kafka: Broker, tmp_path: Path
) -> None:
    """With a 6 s open keep (``NDXP_DOC_OPEN_DAYS``) and a sweep every second, a delivery
    that took a step (H86: 01 arrived, routed to the sender) and one that took none (H88)
    both leave the document state once the receiver has taken no processing step for the
    keep, and H86's next step is then refused STATUS_NO_DOCUMENT: a sender's deliveries
    nobody answers are not kept for ever. Meanwhile, every 2 s for 16 s, the sender recalls
    H86's copy and H86 refuses the recall (the first pair routed: the delivery was there):
    statuses cost no quota, and before, each accepted one kept the delivery 6 s more."""
    group = f"ndxp-doc-open-{uuid.uuid4().hex[:8]}"
    router = sweeping_router(kafka, tmp_path, group, "NDXP_DOC_OPEN_DAYS", 6)
    run = uuid.uuid4().hex[:8]
    doc_id = f"000.00.00.H75,2022/03/21,{int(run, 16) % 10**9}/OPEN"
    h86, h88 = "000.00.00.H86", "000.00.00.H88"
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H75", f"ndxp.out.{h86}"])
    p = producer(kafka.bootstrap)
    try:
        vbdh = "VN:GOV:000.00.00.H75:vbdh"
        send(p, "ndxp.in.000.00.00.H75", document(f"o-{run}", vbdh, doc_id, [h86, h88]), key=b"d")
        p.flush(10)
        tap.collect(lambda ms: any(hdr(m, "ndxp-id") == f"o-{run}" for m in ms), timeout=60)
        arrived = status(f"o-{run}-01", f"VN:GOV:{h86}:vbdh", doc_id, h86, "01")
        send(p, f"ndxp.in.{h86}", arrived, value=b"", key=b"x")
        p.flush(10)

        def of(ms: list, mid: str) -> list:  # type: ignore[type-arg]
            return [m for m in ms if hdr(m, "ndxp-id") == mid]

        got = tap.collect(lambda ms: bool(of(ms, f"o-{run}-01")), timeout=60)
        assert [m.topic() for m in of(got, f"o-{run}-01")] == ["ndxp.out.000.00.00.H75"]
        for n in range(8):  # a recall and its refusal, again and again
            recall = status(f"o-{run}-13-{n}", vbdh, doc_id, h86, "13")
            send(p, "ndxp.in.000.00.00.H75", recall, value=b"", key=b"r")
            p.flush(10)
            time.sleep(1)
            kept = status(f"o-{run}-16-{n}", f"VN:GOV:{h86}:vbdh", doc_id, h86, "16")
            send(p, f"ndxp.in.{h86}", kept, value=b"", key=b"x")
            p.flush(10)
            time.sleep(1)
        first = [f"o-{run}-13-0", f"o-{run}-16-0"]
        got = tap.collect(lambda ms: all(of(ms, mid) for mid in first), timeout=60)
        assert [[m.topic() for m in of(got, mid)] for mid in first] == [
            [f"ndxp.out.{h86}"],
            ["ndxp.out.000.00.00.H75"],
        ]
        late = status(f"o-{run}-03", f"VN:GOV:{h86}:vbdh", doc_id, h86, "03")
        send(p, f"ndxp.in.{h86}", late, value=b"", key=b"x")
        p.flush(10)

        def answers(ms: list) -> list:  # type: ignore[type-arg]
            return [m for m in ms if hdr(m, "ndxp-correlation-id") == f"o-{run}-03"]

        got = tap.collect(lambda ms: bool(answers(ms)), timeout=60)
        assert [(m.topic(), hdr(m, "ndxp-error")) for m in answers(got)] == [
            (f"ndxp.out.{h86}", "STATUS_NO_DOCUMENT")
        ]
        view = subprocess.run(
            [str(NDXP), "doc", "status", doc_id, "--group", group, "--bootstrap", kafka.bootstrap],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert view.returncode == 1 and "no deliveries known" in view.stdout, view.stdout
        assert "NDXP_DOC_OPEN_DAYS" in view.stdout
    finally:
        tap.close()
        router.stop()


def test_hostile_document_and_status_headers_get_stable_codes_and_stall_nothing(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """The worst values a member can put in the headers only documents and statuses have, sent
    through the live router: bytes that are not UTF-8, a reason over its 1,024 characters, a
    status given twice in one record, part headers out of range or with a hash in capitals, a
    part larger than its whole package. Each is refused with a stable code (an error notice
    to its sender, a dead letter, a ledger row); the valid status sent after them is routed,
    and the delivery's state is what the valid statuses made it."""
    run = uuid.uuid4().hex[:8]
    doc_id = f"{G22},2022/03/22,{int(run, 16) % 10**9}/HOSTILE"
    h41 = PROVINCES[0]
    lgsp, h41_client = f"VN:GOV:{G22}:lgsp", f"VN:GOV:{h41}:motcua"
    tap = Tap(kafka.bootstrap, [f"ndxp.out.{G22}", f"ndxp.out.{h41}", "ndxp.rejected"])
    p = producer(kafka.bootstrap)
    send(p, f"ndxp.in.{G22}", document(f"hd-{run}", lgsp, doc_id, [h41]), key=lgsp.encode())
    p.flush(10)
    tap.collect(lambda ms: any(hdr(m, "ndxp-id") == f"hd-{run}" for m in ms))

    def raw(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list:  # type: ignore[type-arg]
        return [(k, value if k == name else v) for k, v in headers]

    def st(n: str, code: str = "01", **extra: str) -> list[tuple[str, bytes]]:
        return status(f"hs-{run}-{n}", h41_client, doc_id, h41, code, **extra)

    part = {"ndxp-doc-size": "800", "ndxp-doc-sha256": "ab" * 32}

    def doc(n: str, **extra: str) -> list[tuple[str, bytes]]:
        return document(f"hs-{run}-{n}", lgsp, f"{doc_id[:-7]}{n}/HOSTILE", [h41], **extra)

    reason = st("reason-bytes", **{"ndxp-doc-reason": "x"})
    hostile: list[tuple[str, list[tuple[str, bytes]], bytes]] = [  # (sender, headers, value)
        (h41, raw(reason, "ndxp-doc-reason", b"\xff\xfe"), b""),
        (h41, st("reason-long", **{"ndxp-doc-reason": "x" * 1025}), b""),
        (h41, raw(st("code-bytes"), "ndxp-doc-status", b"\xc3"), b""),
        (h41, [*st("code-twice"), ("ndxp-doc-status", b"06")], b""),
        (h41, raw(st("receiver-bytes"), "ndxp-doc-receiver", b"\x80H41"), b""),
        (G22, doc("1", **{"ndxp-doc-part": "0/2", **part}), b"p" * 100),
        (G22, doc("2", **{"ndxp-doc-part": "1/2", **part, "ndxp-doc-sha256": "AB" * 32}), b"p"),
        (G22, doc("3", **{"ndxp-doc-part": "2/2", **part}), b"p" * 801),
        (G22, raw(doc("4"), "ndxp-doc-to", b"000.00.00.H41,\xff"), b"p"),
    ]
    for sender, headers, value in hostile:
        send(p, f"ndxp.in.{sender}", headers, value=value, key=b"k")
    valid = f"hs-{run}-valid"
    send(p, f"ndxp.in.{h41}", status(valid, h41_client, doc_id, h41, "01"), value=b"", key=b"k")
    p.flush(10)
    ids = {hdr_value(h, "ndxp-id") for _, h, _ in hostile}

    def notices(ms: list) -> dict[str, str]:  # type: ignore[type-arg]
        return {
            hdr(m, "ndxp-correlation-id") or "": hdr(m, "ndxp-error") or ""
            for m in ms
            if hdr(m, "ndxp-kind") == "error" and hdr(m, "ndxp-correlation-id") in ids
        }

    def dead(ms: list) -> dict[str, str]:  # type: ignore[type-arg]
        return {
            hdr(m, "ndxp-id") or "": hdr(m, "ndxp-error") or ""
            for m in ms
            if m.topic() == "ndxp.rejected" and hdr(m, "ndxp-id") in ids
        }

    def routed(ms: list) -> list:  # type: ignore[type-arg]
        return [m for m in ms if m.topic() == f"ndxp.out.{G22}" and hdr(m, "ndxp-id") == valid]

    got = tap.collect(
        lambda ms: len(notices(ms)) == len(ids) and len(dead(ms)) == len(ids) and routed(ms)
    )
    tap.close()
    assert notices(got) == dict.fromkeys(ids, "MALFORMED"), notices(got)
    assert dead(got) == dict.fromkeys(ids, "MALFORMED")
    [copy] = routed(got)  # the valid status after them: routed, in its place in the lifecycle
    assert hdr(copy, "ndxp-doc-status") == "01"
    rows = wait_rows(
        ledger,
        "SELECT outcome, error, count() FROM ndxp.ledger "
        f"WHERE startsWith(message_id, 'hs-{run}-') GROUP BY outcome, error ORDER BY outcome",
        2,
    )
    assert rows == [["rejected", "MALFORMED", len(ids)], ["routed", "", 1]], rows


def hdr_value(headers: list[tuple[str, bytes]], name: str) -> str:
    return next(v.decode() for k, v in headers if k == name)
