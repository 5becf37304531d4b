"""The benchmarks' own Kafka broker: on its own port and data folder, so a benchmark never
mixes with ``make run``'s platform, empty at every start, stopped at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ndxp.core.topology import TopicSpec
from ndxp.paths import REPO
from ndxp.settings import RouterSettings

PARTITIONS = RouterSettings.partitions  # NDXP_PARTITIONS' default


def add_broker_options(ap: Any) -> None:
    """``--bootstrap B`` (a broker with the registry's topics) or ``--broker-port P`` (an empty
    broker of its own, which ``--partitions`` other than the topics' count needs), and
    ``--partitions N``: each member topic's (the router is given the same)."""
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--bootstrap")
    where.add_argument("--broker-port", type=int, help="start an empty broker of its own here")
    ap.add_argument(
        "--partitions",
        type=int,
        default=PARTITIONS,
        help=f"each member topic's partitions (NDXP_PARTITIONS; default {PARTITIONS})",
    )


@contextmanager
def broker_of(args: Any, var: Path) -> Iterator[str]:
    """The bootstrap :func:`add_broker_options` named: ``--bootstrap``'s, or that of an empty
    broker of its own on ``--broker-port`` (data under ``var``), stopped at the end."""
    if args.bootstrap:
        yield args.bootstrap
        return
    with own_broker(args.broker_port, var / "broker") as bootstrap:
        yield bootstrap


def stop_broker(port: int, var: Path) -> None:
    """Stop the bench's broker on ``port`` if one is still running (a run killed before its
    end leaves it up; its pid file is under ``var``)."""
    env = {**os.environ, "NDXP_KAFKA_PORT": str(port), "NDXP_VAR": str(var)}
    kafka = str(REPO / "infra" / "kafka" / "kafka.sh")
    subprocess.run([kafka, "stop"], env=env, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def own_broker(port: int, var: Path, keep: bool = False) -> Iterator[str]:
    """Start an empty broker on ``port`` with its data under ``var``; yield its bootstrap."""
    env = {**os.environ, "NDXP_KAFKA_PORT": str(port), "NDXP_VAR": str(var)}
    kafka = str(REPO / "infra" / "kafka" / "kafka.sh")
    stop_broker(port, var)
    shutil.rmtree(var / f"kafka-{port}", ignore_errors=True)
    var.mkdir(parents=True, exist_ok=True)
    subprocess.run([kafka, "start"], env=env, check=True)
    try:
        warm_group_coordinator(f"127.0.0.1:{port}")
        yield f"127.0.0.1:{port}"
    finally:
        if not keep:
            subprocess.run([kafka, "stop"], env=env, check=False)


def warm_group_coordinator(bootstrap: str, timeout_s: float = 120.0) -> None:
    """Commit once for a throwaway group, until the broker takes it: on a new broker that
    creates and loads ``__consumer_offsets``. librdkafka 2.16.1's admin client crashes the
    process (SIGSEGV in ``rd_kafka_cgrp_op`` from ``rd_kafka_handle_OffsetFetch``) when it
    lists a group's offsets while the coordinator is still loading, which the benches' offset
    helpers (:mod:`ndxp.bench.offsets`) then do."""
    import time

    from confluent_kafka import Consumer, KafkaException, TopicPartition

    topic = "ndxp.bench.warm"
    create_topics(bootstrap, [TopicSpec(topic, 1)])
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "ndxp-bench-warm", "enable.auto.commit": False}
    )
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                consumer.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
                return
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        consumer.close()


def create_topics(bootstrap: str, specs: list[TopicSpec]) -> None:
    """Create ``specs`` on the benchmark's own broker (one PLAINTEXT node, one replica), and
    return once the broker lists them: :meth:`ndxp.bench.offsets.Offsets.create_topics`. The
    broker answers CreateTopics before its metadata lists the new topics (right after the
    registry's 99 ingress topics it listed 25 of them, and a backlog filled meanwhile counted
    16,745 of the 300,000 records it produced)."""
    from ndxp.bench.offsets import Offsets

    Offsets(bootstrap).create_topics(specs)
