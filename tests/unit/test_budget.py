"""The size budget: sizes counted as the broker counts them, and every copy the router builds
of a record within the budget fits the topic it goes to — at the limits, by construction.

A copy over its topic's ``max.message.bytes`` would be refused by the broker and stall the
partition it came from (the finding: a 4 MiB key made the router exit on its routed copy, again
after every restart)."""

from __future__ import annotations

import importlib
import random

import pytest
from aiokafka import codec
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from hypothesis import given, settings
from hypothesis import strategies as st

from ndxp.core import budget, wire
from ndxp.core.budget import SizeBudget, headers_size, record_size
from ndxp.core.errors import Rejection, RejectionCode
from ndxp.core.identifiers import MemberId
from ndxp.core.routing import Rejected
from ndxp.core.topology import DEAD_LETTER_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MAX_VALUE_LIMIT
from ndxp.kafka import zstd_level
from ndxp.router.forwarding import Outgoing, Source, rejection_records, routed, to_home

MEMBER = MemberId.parse("VN:GOV:999.99.99.H99")
# the longest names the router writes: a 64-character subsystem and service code
CLIENT = f"VN:GOV:999.99.99.H99:{'s' * 64}"
INGRESS = wire.ingress_topic(MEMBER)
SOURCE = Source(INGRESS, 2**31 - 1, 2**63 - 1, 10**13)
DETAIL = "đ" * 5000  # clipped to 1,000 characters of 2 bytes (3 with the worst letters)


def batch_bytes(out: Outgoing, compression: int = 0) -> int:
    """What the broker measures: the copy alone in a batch, built by aiokafka itself
    (``compression``: Kafka's codec id, 4 for zstd)."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=compression,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=2**30,
    )
    meta = builder.append(
        0, timestamp=out.timestamp_ms, key=out.key, value=out.value, headers=list(out.headers)
    )
    assert meta is not None
    return len(builder.build())


def size_of(out: Outgoing) -> int:
    key = None if out.key is None else len(out.key)
    value = None if out.value is None else len(out.value)
    return record_size(key, value, headers_size(out.headers), len(out.headers))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.none(), st.binary(max_size=300)),
    st.one_of(st.none(), st.binary(max_size=20_000)),
    st.lists(
        st.tuples(st.text(max_size=30), st.one_of(st.none(), st.binary(max_size=200))),
        max_size=60,
    ),
)
def test_record_size_is_what_aiokafka_builds(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]
) -> None:
    out = Outgoing("t", key, value, headers, 0)
    assert size_of(out) == batch_bytes(out)


def test_the_parts_are_checked_value_key_headers_with_their_sizes() -> None:
    b = SizeBudget(1000)
    b.check(4096, 1000, 65536)  # at every limit: fine
    for args, part in (
        ((4096, 1001, 65536), "value is 1001 bytes, the limit is 1000"),
        ((4097, 1000, 65536), "key is 4097 bytes, the limit is 4096"),
        ((4096, 1000, 65537), "headers are 65537 bytes (names, values and lengths)"),
        ((10**7, 10**7, 10**7), "value is 10000000 bytes"),
    ):
        try:
            b.check(*args)
        except Rejection as r:
            assert r.code is RejectionCode.TOO_LARGE and r.detail.startswith(part), r.detail
        else:
            raise AssertionError(args)


def test_the_highest_value_limit_is_the_largest_whose_copies_fit() -> None:
    assert SizeBudget(MAX_VALUE_LIMIT).largest_copy() <= MAX_MESSAGE_BYTES
    assert SizeBudget(MAX_VALUE_LIMIT + 1).largest_copy() > MAX_MESSAGE_BYTES
    assert (
        budget.compressed_batch(MAX_MESSAGE_BYTES + budget.ROUTER_HEADROOM)
        <= DEAD_LETTER_MAX_MESSAGE_BYTES
    )


@pytest.mark.parametrize("encoder", ["aiokafka's", "the router's"])
@pytest.mark.parametrize("size", [0, 1, 100, 4096, 128 << 10, 1 << 20, MAX_VALUE_LIMIT])
def test_a_copy_of_incompressible_bytes_compressed_takes_no_more_than_the_budget_counts(
    size: int, encoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka keeps a zstd batch even when it came out larger than its records (it does not
    fall back to an uncompressed batch): the budget counts the codec's bound in. With the zstd
    encoder aiokafka ships (cramjam) and with the one the router installs
    (:mod:`ndxp.kafka.zstd_level`), set here whichever ran before."""
    encode = zstd_level.ENCODE if encoder == "the router's" else codec.zstd_encode
    for name in zstd_level.BUILDERS:
        monkeypatch.setattr(importlib.import_module(name), "zstd_encode", encode)
    rng = random.Random(size)
    key, value, header = rng.randbytes(wire.MAX_KEY_BYTES), rng.randbytes(size), rng.randbytes(999)
    out = Outgoing("t", key, value, [("h", header)], 0)
    plain = batch_bytes(out)
    assert plain == size_of(out)
    compressed = batch_bytes(out, compression=4)
    assert compressed > plain  # incompressible: zstd only adds (to show what is bounded)
    assert compressed <= budget.compressed_batch(plain)


def worst_headers(total: int, count_bias: int) -> list[tuple[str, bytes | None]]:
    """Headers taking exactly ``total`` bytes on the wire: many tiny ones, then one big one."""
    tiny = [("", b"")] * count_bias  # 2 bytes each
    rest = total - 2 * count_bias
    # one header "x" whose value fills the rest (its length varint included)
    for n in range(rest, 0, -1):
        big = [("x", b"v" * n)]
        if headers_size(big) <= rest:
            padding = rest - headers_size(big)
            return [*tiny, *[("", b"")] * (padding // 2), *big, *[("", None)] * (padding % 2)]
    return tiny


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 32_000),
    st.integers(0, 4096),
    st.sampled_from([1, 1000, MAX_VALUE_LIMIT]),
)
def test_every_copy_of_a_record_within_the_budget_fits_its_topic(
    tiny: int,
    key_len: int,
    limit: int,
) -> None:
    b = SizeBudget(limit)
    headers = worst_headers(budget.MAX_HEADER_BYTES, tiny)
    assert headers_size(headers) == budget.MAX_HEADER_BYTES
    key, value = b"k" * key_len, b"v" * limit
    b.check(len(key), len(value), headers_size(headers))  # within the budget
    source = SOURCE
    copies = {
        "routed": routed(
            wire.egress_topic(MEMBER), key, value, headers, "999.99.99.H99", source, 10**13
        ),
        "home copy": to_home(CLIENT, 2, "999.99.99.H99", source, key, value, headers, b"k" * 64),
    }
    refusal = Rejected(RejectionCode.QUOTA_EXCEEDED, DETAIL, "i" * 128, MEMBER)
    quota = [
        (wire.H_QUOTA_LIMIT, b"l" * 200),
        (wire.H_QUOTA_POLICY, b"rate=1e+06/s;burst=1000000;daily=1000000000"),
        (wire.H_RETRY_AFTER, b"86400.000"),
        (wire.H_QUOTA_REMAINING, b"1000000000"),
    ]
    dead, notice = rejection_records(refusal, source, key, value, headers, 10**13, quota)
    copies["notice"] = notice
    for name, out in copies.items():
        assert size_of(out) <= b.largest_copy() <= MAX_MESSAGE_BYTES, name
    assert size_of(dead) <= DEAD_LETTER_MAX_MESSAGE_BYTES
    assert size_of(notice) < 16 * 1024  # the notice never carries the payload


def test_every_copy_the_router_writes_is_read_back_whole() -> None:
    """ndxp's consumers keep the first READ_HEADERS headers of a record (ndxp.kafka.records):
    every copy the router writes of a record within the bound (MAX_HEADERS), and the
    dead-letter copy of one over it (as a consumer hands it over, clipped), holds fewer, the
    router's own headers included, so no reader ever clips a copy of the router's."""
    from ndxp.core.budget import clip_headers

    within = [(f"x-{i}", b"") for i in range(wire.MAX_HEADERS)]
    over = clip_headers([(f"x-{i}", b"") for i in range(21_000)])
    quota = [
        (wire.H_QUOTA_LIMIT, b"l"),
        (wire.H_QUOTA_POLICY, b"rate=1/s"),
        (wire.H_RETRY_AFTER, b"1.000"),
        (wire.H_QUOTA_REMAINING, b"0"),
    ]
    copies = [
        routed(wire.egress_topic(MEMBER), b"k", b"v", within, "999.99.99.H99", SOURCE, 10**13),
        to_home(CLIENT, 2, "999.99.99.H99", SOURCE, b"k", b"v", within, b"k" * 64),
    ]
    for headers in (within, over):
        refusal = Rejected(RejectionCode.TOO_LARGE, DETAIL, "i" * 128, MEMBER)
        copies += rejection_records(refusal, SOURCE, b"k", b"v", headers, 10**13, quota)
    for out in copies:
        assert len(out.headers) <= wire.READ_HEADERS, (out.topic, len(out.headers))
    dead_over = copies[-2]
    assert list(dead_over.headers[: wire.MAX_HEADERS]) == over[: wire.MAX_HEADERS]
    assert dead_over.headers[wire.MAX_HEADERS][0] == wire.H_ERROR  # the router's come next


def test_the_dead_letter_copy_of_anything_the_ingress_topic_accepted_fits() -> None:
    """The largest single record an ingress topic takes (4 MiB batch), made of a 4 MiB key or
    of 4 MiB of headers: refused TOO_LARGE, and its dead-letter copy (kept whole) still fits
    ``ndxp.rejected``; the notice drops a key over the limit."""
    room = MAX_MESSAGE_BYTES - record_size(0, 2, 0, 0)
    big_key = next(n for n in range(room, 0, -1) if record_size(n, 2, 0, 0) <= MAX_MESSAGE_BYTES)
    count = next(
        n for n in range(room // 2, 0, -1) if record_size(None, 2, 2 * n, n) <= MAX_MESSAGE_BYTES
    )
    refusal = Rejected(RejectionCode.TOO_LARGE, DETAIL, "i" * 128, MEMBER)
    for key, headers in ((b"k" * big_key, []), (None, [("", b"")] * count)):
        original = Outgoing(INGRESS, key, b"{}", headers, 0)
        assert MAX_MESSAGE_BYTES - 3 <= size_of(original) <= MAX_MESSAGE_BYTES
        dead, notice = rejection_records(refusal, SOURCE, key, b"{}", headers, 10**13)
        assert size_of(dead) <= DEAD_LETTER_MAX_MESSAGE_BYTES
        assert size_of(notice) < 16 * 1024


def test_topic_limits_that_break_the_budget_are_named() -> None:
    from ndxp.core.registry import Registry
    from ndxp.core.topology import limit_faults, topics_for

    from .core.conftest import small_document

    specs = topics_for(Registry.from_document(small_document()), 3)
    ingress = next(s.name for s in specs if s.name.startswith(wire.INGRESS_PREFIX))
    egress = next(s.name for s in specs if s.name.startswith(wire.EGRESS_PREFIX))
    fine = {s.name: int(s.config["max.message.bytes"]) for s in specs}
    assert limit_faults(fine, specs) == []
    assert limit_faults({**fine, ingress: 1024}, specs) == []  # an ingress taking less: fine
    assert limit_faults({**fine, ingress: 8 * 1024 * 1024, egress: 1048588}, specs) == [
        f"{ingress} takes 8388608 bytes, more than 4194304",
        f"{egress} takes 1048588 bytes, less than 4194304",
    ]


def test_a_partition_count_other_than_the_routers_is_named() -> None:
    """Only topics the router places records in by number must have its count: ingress topics
    and its co-partitioned internal topics, not egress topics or the seal topic."""
    from ndxp.core.registry import Registry
    from ndxp.core.topology import internal_topics, partition_faults, topics_for

    from .core.conftest import small_document

    specs = [*topics_for(Registry.from_document(small_document()), 3), *internal_topics("g", 3)]
    ingress = next(s.name for s in specs if s.name.startswith(wire.INGRESS_PREFIX))
    egress = next(s.name for s in specs if s.name.startswith(wire.EGRESS_PREFIX))
    counts = {s.name: s.partitions for s in specs}
    assert partition_faults(counts, specs) == []
    assert partition_faults({}, specs) == []  # none exists yet: the router creates them
    assert partition_faults({**counts, egress: 12, "g-seal": 1}, specs) == []
    assert partition_faults({**counts, ingress: 1, "g-quota-changelog": 12}, specs) == [
        f"{ingress} has 1 partitions, not 3",
        "g-quota-changelog has 12 partitions, not 3",
    ]
