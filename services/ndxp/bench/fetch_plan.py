"""The plan of a consumer's next fetch over the router's ingress partitions, timed: aiokafka
0.14's ``Fetcher._get_actions_per_node`` against ndxp's one pass (:mod:`ndxp.kafka.fetch_plan`),
on aiokafka's own subscription state for every ingress partition of the sample registry (297:
what the router reads), in one process, interleaved. A consumer plans once per fetch answer,
so on a quiet platform once per record: this is what each record pays for it.

``python -m ndxp.bench.fetch_plan [--plans 2000] [--rounds 3]`` (no broker needed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from types import MethodType, SimpleNamespace
from typing import Any

from aiokafka.cluster import ClusterMetadata
from aiokafka.consumer import fetcher as aiokafka_fetcher
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.structs import TopicPartition

from ndxp.core import wire
from ndxp.kafka import fetch_plan
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

PARTITIONS = 3  # each member's ingress topic (NDXP_PARTITIONS' default)


def ingress() -> list[TopicPartition]:
    registry = load_registry(DEFAULT_REGISTRY)
    topics = sorted({wire.ingress_topic(m.id) for m in registry.connected})
    return [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]


def consumer_state(
    tps: list[TopicPartition], leaders: dict[TopicPartition, int | None] | None = None
) -> tuple[Any, Any]:
    """A fetcher as the planners read it (nothing buffered or in flight: a quiet consumer
    just after an answer was taken; each partition led by ``leaders[tp]``, broker 1 when not
    given, unknown to the metadata when ``None``) and its assignment."""

    async def assignment() -> Any:
        subscription = SubscriptionState()
        subscription.assign_from_user(set(tps))
        a = subscription.subscription.assignment
        for n, tp in enumerate(tps):
            a.state_value(tp).reset_to(1_000_000 + n)
        return a

    loop = asyncio.new_event_loop()
    try:
        a = loop.run_until_complete(assignment())
    finally:
        loop.close()
    cluster = ClusterMetadata()
    cluster._partitions = {}
    for tp in tps:
        leader = 1 if leaders is None else leaders[tp]
        if leader is not None:
            cluster._partitions.setdefault(tp.topic, {})[tp.partition] = SimpleNamespace(
                leader=leader
            )
    f = SimpleNamespace(
        _preferred_read_replica={},
        _records={},
        _in_flight=set(),
        _client=SimpleNamespace(cluster=cluster),
        _max_partition_fetch_bytes=256 * 1024,
        _fetch_max_wait_ms=20,
        _fetch_min_bytes=1,
        _fetch_max_bytes=8 * 1024 * 1024,
        _isolation_level=0,
        _client_rack=None,
        _fetcher_timeout=0.2,
    )
    f._select_read_replica = MethodType(aiokafka_fetcher.Fetcher._select_read_replica, f)
    return f, a


PLANNERS: dict[str, Callable[[Any, Any], Any]] = {
    "aiokafka 0.14's plan": fetch_plan.ORIGINAL,
    "ndxp's one pass (the default)": fetch_plan.actions,
}


def measure(plans: int, rounds: int) -> dict[str, Any]:
    tps = ingress()
    f, a = consumer_state(tps)
    by_planner: dict[str, list[float]] = {name: [] for name in PLANNERS}
    for _ in range(rounds):
        for name, planner in PLANNERS.items():
            started = time.perf_counter()
            for _ in range(plans):
                planner(f, a)
            by_planner[name].append((time.perf_counter() - started) / plans * 1e6)
    return {"partitions": len(tps), "plans": plans, "us_per_plan": by_planner}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plans", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    result = measure(args.plans, args.rounds)
    print(f"python -m ndxp.bench.fetch_plan --plans {args.plans} --rounds {args.rounds}")
    print(f"one plan over {result['partitions']} ingress partitions, µs (each round's mean):")
    for name, us in result["us_per_plan"].items():
        print(f"  {name:32} {' / '.join(f'{u:,.0f}' for u in us)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
