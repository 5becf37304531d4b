"""The hostile generator itself (pure, no broker): seeded, covering the issue's list, sizes
exact to the byte as the platform counts them, and every expectation the one the router's
pure core gives — so a failure of the live suite is the platform's, not the generator's."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from ndxp.bench.seal import TICKETS
from ndxp.core.budget import headers_size
from ndxp.core.routing import Rejected, Router
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

from . import catalog
from .catalog import INGRESS_BATCH_LIMIT, REFUSED, ROUTED, Hostile, Path
from .sizes import batch_size
from .world import World, world_of

REGISTRY = load_registry(DEFAULT_REGISTRY)


@pytest.fixture(scope="module")
def world() -> World:
    return world_of(REGISTRY)


@pytest.fixture(scope="module")
def records(world: World) -> list[Hostile]:
    return list(catalog.plan(world, 7, 30_000))


def test_a_seed_gives_the_same_records(world: World) -> None:
    first = list(itertools.islice(catalog.plan(world, 3, 3000), 3000))
    again = list(itertools.islice(catalog.plan(world, 3, 3000), 3000))
    other = list(itertools.islice(catalog.plan(world, 4, 3000), 3000))
    assert first == again
    assert first != other


def test_every_category_of_the_issue_is_there(records: list[Hostile]) -> None:
    cases = Counter(h.case for h in records)
    wanted = [
        "random.key", "random.value", "random.header-names", "random.header-values",
        "size.key-4096", "size.key-4097", "size.value-limit-1", "size.value-limit",
        "size.value-limit+1", "size.headers-65535", "size.headers-65536", "size.headers-65537",
        "size.batch-4MiB-1", "size.batch-4MiB", "size.batch-4MiB+1", "utf8.raw-name",
        "utf8.invalid-sender-value", "duplicated.sender-header", "forged.each-router-header",
        "forged.identity", "time.back-dated", "time.future-dated", "time.epoch-0", "time.1970",
        "time.2001", "time.+59min", "time.+2h", "tombstone", "size.empty-key-and-value",
        "size.key-1MiB", "id.reused-own", "id.reused-other", "id.colliding", "id.128", "id.129",
        "not-sender.response", "kind.error", "correlation.others", "size.tiny-headers-5000",
        "count.headers-256", "count.headers-257",
        "valid.request", "valid.response", "flood.quota",
    ]  # fmt: skip
    assert [c for c in wanted if not cases[c]] == []
    assert {*catalog.EDGES, *catalog.MIX} <= set(cases)
    # ordinary traffic from many members is most of it
    valid = [h for h in records if h.case.startswith("valid.")]
    assert len(valid) > len(records) / 3
    assert len({h.topic for h in valid}) >= 80


def test_sizes_are_exact_as_the_platform_counts_them(records: list[Hostile]) -> None:
    by_case = {h.case: h for h in records}
    for n in (65535, 65536, 65537):
        assert headers_size(by_case[f"size.headers-{n}"].headers) == n  # type: ignore[arg-type]
    for name, size in [
        ("size.batch-4MiB-1", INGRESS_BATCH_LIMIT - 1),
        ("size.batch-4MiB", INGRESS_BATCH_LIMIT),
        ("size.batch-4MiB+1", INGRESS_BATCH_LIMIT + 1),
        ("size.batch-4MiB-headers", INGRESS_BATCH_LIMIT),
    ]:
        h = by_case[name]
        assert batch_size(h.key, h.value, h.headers) == size, name  # type: ignore[arg-type]
    assert len(by_case["size.key-4097"].key or b"") == 4097
    assert len(by_case["size.value-limit+1"].value or b"") == 1024 * 1024 + 1


def test_each_case_has_one_expectation(records: list[Hostile]) -> None:
    seen: dict[str, frozenset[str] | None] = {}
    for h in records:
        assert seen.setdefault(h.case, h.expect.outcomes) == h.expect.outcomes, h.case


def test_the_routers_core_agrees_with_every_expectation(records: list[Hostile]) -> None:
    """Every record a client can write, decided by :meth:`Router.decide` (no quotas: the flood's
    QUOTA_EXCEEDED is the quota stage's): its outcome and detail are the expected ones."""
    router = Router(REGISTRY, tickets=TICKETS)  # the key of the suite's router
    wrong: Counter[tuple[str, str]] = Counter()
    for h in records:
        if h.expect.outcomes is None or h.path is Path.RAW or REFUSED in h.expect.outcomes:
            continue
        names = [(str(n), v) for n, v in h.headers]
        d = router.decide(h.topic, names, len(h.value or b""), len(h.key or b""))  # type: ignore[arg-type]
        got = d.code.value if isinstance(d, Rejected) else ROUTED
        if got not in h.expect.outcomes:
            wrong[(h.case, got)] += 1
        elif isinstance(d, Rejected) and h.expect.detail and h.expect.detail not in d.detail:
            wrong[(h.case, d.detail)] += 1
    assert wrong == Counter()
