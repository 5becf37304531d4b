"""Poison messages through the real broker: records as large as the ingress topic accepts,
made of headers, of value or of key, thousands of headers, and binary junk in every header.
Each is refused with its code and kept whole in ``ndxp.rejected``, and the partition goes on:
the ordinary request behind them on the same partition is routed. (A ~4 MiB key used to make
the router exit on its routed copy, and again after every restart.)"""

from __future__ import annotations

import uuid

import pytest

from .conftest import Broker
from .kafka_tools import RouterProcess, Tap, hdr, producer, request, send

pytestmark = pytest.mark.integration

SENDER = "000.00.00.H36"  # used by this test only
CLIENT = f"VN:GOV:{SENDER}:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
MiB = 1024 * 1024


def test_poison_messages_are_kept_with_their_code_and_the_partition_goes_on(
    kafka: Broker, router: RouterProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    bulky = [(f"x-bulk-{i}", b"h" * (60 * 1024)) for i in range(60)]  # 3.5 MiB of headers
    many = [(f"x-{i}", b"v") for i in range(5000)]  # thousands of small headers: 45 KB
    junk = [
        ("ndxp-id", b"\xff\xfe"),
        ("ndxp-kind", b"\x00"),
        ("ndxp-client", b"\xc3\x28"),
        ("ndxp-service", bytes(range(256))),
    ]
    huge_key = b"K" * (4 * MiB - 4096)  # finding 1: the router exited on its routed copy
    cases: list[tuple[str, list[tuple[str, bytes]], bytes, str | None, bytes]] = [
        ("headers", request(f"{run}-headers", CLIENT, POP) + bulky, b"{}", "TOO_LARGE", b"k"),
        ("value", request(f"{run}-value", CLIENT, POP), b"v" * (4 * MiB - 4096), "TOO_LARGE", b"k"),
        ("key", request(f"{run}-key", CLIENT, POP), b"{}", "TOO_LARGE", huge_key),
        ("key-at-limit", request(f"{run}-key-at-limit", CLIENT, POP), b"{}", None, b"k" * 4096),
        ("many", request(f"{run}-many", CLIENT, POP) + many, b"{}", None, b"k"),  # routed
        ("junk", [*junk, ("x-tag", f"{run}-junk".encode())], b"{}", "MALFORMED", b"k"),
        ("after", request(f"{run}-after", CLIENT, POP), b"{}", None, b"k"),  # routed
    ]
    tap = Tap(kafka.bootstrap, ["ndxp.rejected", "ndxp.out.000.00.01.G01"])
    p = producer(kafka.bootstrap)
    try:
        for _, headers, value, _, key in cases:  # one partition, in this order
            send(p, f"ndxp.in.{SENDER}", headers, value=value, key=key, partition=0)
            p.flush(30)

        def tag(m: object) -> str | None:
            return hdr(m, "x-tag") or hdr(m, "ndxp-id")  # type: ignore[arg-type]

        want = {f"{run}-{name}" for name, *_ in cases}
        got = tap.collect(lambda ms: want <= {tag(m) for m in ms}, timeout=60)
    finally:
        tap.close()
    by_tag = {tag(m): m for m in got if tag(m) in want}
    assert set(by_tag) == want, f"missing: {want - set(by_tag)}"
    for name, headers, value, code, key in cases:
        m = by_tag[f"{run}-{name}"]
        if code is None:
            assert m.topic() == "ndxp.out.000.00.01.G01", name
        else:
            assert (m.topic(), hdr(m, "ndxp-error")) == ("ndxp.rejected", code), name
        # kept whole: the same key and value, and the sender's headers first, in order
        assert (m.key(), m.value()) == (key, value), name
        assert (m.headers() or [])[: len(headers)] == headers, name
    assert hdr(by_tag[f"{run}-key"], "ndxp-error-detail") == (
        f"key is {len(huge_key)} bytes, the limit is 4096"
    )
    assert router.proc is not None and router.proc.poll() is None  # alive all along
