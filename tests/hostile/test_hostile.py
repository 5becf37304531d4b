"""Hostile traffic from many members at once against the live platform: no service crashes, no
partition stalls, every record sent is in the ledger exactly once by its source identity, each
case gets its outcome, and everyone else's traffic keeps flowing.

``make test``: a short run (a few thousand records); ``make faults`` (NDXP_HOSTILE=long or
NDXP_FAULTS=long): at least 1,000,000. NDXP_HOSTILE_COMPRESSED=off leaves out the compressed
phase (gzip, lz4, zstd and snappy batches and a gzip bomb)."""

from __future__ import annotations

import time

import pytest

from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

from . import catalog
from .platform import Platform, Watch
from .runner import PhaseResult, log_starts, run_phase
from .variant import (
    BOMB_MIB,
    COMPRESSED,
    COMPRESSED_DEADLINE_S,
    DEADLINE_S,
    REPEAT,
    SEED,
    TIMEOUT_S,
    TOTAL,
    VALID_AROUND,
)
from .world import world_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(TIMEOUT_S)]


@pytest.fixture(scope="module")
def hostile(platform: Platform, watch: Watch, results: list[PhaseResult]) -> PhaseResult:
    world = world_of(load_registry(DEFAULT_REGISTRY))
    records = catalog.plan(world, SEED, TOTAL, REPEAT)
    r = run_phase(platform, watch, "hostile", records, DEADLINE_S)
    results.append(r)
    return r


def test_no_service_crashed(hostile: PhaseResult) -> None:
    """(Before: the router's sweep sought partitions from the event loop's thread while the
    consumer thread drained aiokafka's fetcher — KeyError, the worker exited or hung, 21 times
    in a 1,000,000-record run.)"""
    assert hostile.restarts == 0, "\n\n".join(hostile.crashes)


def test_no_partition_stalled(hostile: PhaseResult) -> None:
    assert hostile.stalled_router == [], hostile.stalled_router
    assert hostile.stalled_ledger == [], hostile.stalled_ledger
    assert hostile.recovery_s is not None


def test_every_record_sent_is_in_the_ledger_once(hostile: PhaseResult) -> None:
    assert hostile.planned >= TOTAL
    assert hostile.sent + hostile.refused_by_broker == hostile.planned
    assert hostile.not_accounted == 0
    assert hostile.duplicated == 0
    assert hostile.in_ledger + hostile.quarantined == hostile.sent


def test_everyone_elses_traffic_flows(hostile: PhaseResult) -> None:
    """Ordinary requests and responses of every member: all routed."""
    by_case = {c.case: c for c in hostile.cases}
    for case in ("valid.request", "valid.response"):
        row = by_case[case]
        assert row.sent > 0 and row.outcomes == {catalog.ROUTED: row.sent}, row


@pytest.mark.parametrize("case", sorted({*catalog.EDGES, *catalog.MIX}))
def test_case(hostile: PhaseResult, case: str) -> None:
    by_case = {c.case: c for c in hostile.cases}
    row = by_case.get(case)
    if row is None:
        pytest.skip(f"{case}: nothing generated (the registry has no such pair)")
    assert row.unexpected == 0, f"{row.expected}; {row.examples}"
    assert row.sent + row.refused_by_broker > 0


@pytest.mark.skipif(not COMPRESSED, reason="NDXP_HOSTILE_COMPRESSED=off")
def test_gzip_batches_and_a_gzip_bomb(
    hostile: PhaseResult, platform: Platform, watch: Watch, results: list[PhaseResult]
) -> None:
    """After the hostile phase: gzip batches amid ordinary traffic, then one gzip batch of
    1 MiB records of zeros that decompresses ~1,000 times larger; traffic after it flows."""
    world = world_of(load_registry(DEFAULT_REGISTRY))
    records = catalog.plan_gzip(world, SEED, BOMB_MIB, VALID_AROUND)
    r = run_phase(platform, watch, "gzip + bomb", records, DEADLINE_S)
    results.append(r)
    assert r.failures == [], "\n".join(r.failures)


@pytest.mark.skipif(not COMPRESSED, reason="NDXP_HOSTILE_COMPRESSED=off")
def test_lz4_zstd_and_snappy_batches(
    hostile: PhaseResult, platform: Platform, watch: Watch, results: list[PhaseResult]
) -> None:
    """Batches compressed with Kafka's other codecs, amid ordinary traffic of other members,
    which must keep flowing. (Before ndxp.kafka.records read them, one such batch stopped the
    router for every member: aiokafka lacks those codecs here.)"""
    world = world_of(load_registry(DEFAULT_REGISTRY))
    records = catalog.plan_codecs(world, SEED, VALID_AROUND)
    r = run_phase(platform, watch, "lz4/zstd/snappy", records, COMPRESSED_DEADLINE_S)
    results.append(r)
    assert r.failures == [], "\n".join(r.failures)


def test_a_back_dated_record_stays_until_it_is_read(platform: Platform) -> None:
    """Last (it needs only the broker, and time since it started). The probe planted at start
    (``Platform.plant_back_dated``): an ingress-configured topic whose first record claims 2001.
    Past the broker's first retention check it must still be there. (Before ingress topics
    took the broker's time, a record dated further back than retention.ms that opened a log
    segment was deleted by time-based retention before the router could read it.)"""
    topic, config = platform.probe
    wait = platform.broker_started + 40 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    [start] = log_starts(platform, [(topic, 0)]).values()
    assert start == 0, f"deleted by retention (topic config {config})"
