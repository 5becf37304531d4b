"""Offsets, read and set from outside: the end of every partition of a set of topics, what a
consumer group has committed, its lag, and where a group starts.

The benchmarks watch a router, the plain baseline or the ledger only through what every Kafka
consumer group leaves on the broker (committed offsets) and what it writes (its copies), never
through its own counters: the harness measures whatever the router is at the time, and the
same way for each contender. One batched admin request per question (confluent-kafka's
``AdminClient``), so watching hundreds of partitions twice a second costs the box little.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from ndxp.core.topology import TopicSpec

TP = tuple[str, int]
# what a broker just started answers while it loads its group coordinator
_COORDINATOR_WAITS = (
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
)


class Offsets:
    def __init__(self, bootstrap: str) -> None:
        from confluent_kafka.admin import AdminClient

        self.admin = AdminClient({"bootstrap.servers": bootstrap})

    def partitions(self, topics: Iterable[str]) -> list[TP]:
        """Every partition of ``topics`` that exists (missing topics are left out)."""
        metadata = self.admin.list_topics(timeout=30).topics
        return [
            (t, p) for t in sorted(set(topics)) if t in metadata for p in metadata[t].partitions
        ]

    def ends(self, tps: Iterable[TP]) -> dict[TP, int]:
        """The high watermark (the next offset to be written) of each partition."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]  # untyped in confluent-kafka
        wanted = {TopicPartition(t, p): latest for t, p in tps}
        if not wanted:
            return {}
        for attempt in range(60):  # topics just created have no leader for a moment
            try:
                futures = self.admin.list_offsets(wanted, request_timeout=30)
                return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
            except KafkaException:  # NOT_LEADER_FOR_PARTITION, flagged not retriable here
                if attempt == 59:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def committed(self, group: str, tps: Iterable[TP]) -> dict[TP, int]:
        """``group``'s committed offset of each partition (0 where it has none yet)."""
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        wanted = [TopicPartition(t, p) for t, p in tps]
        if not wanted:
            return {}
        request = [ConsumerGroupTopicPartitions(group, wanted)]
        for attempt in range(30):  # a broker just started is still loading its coordinator
            try:
                future = self.admin.list_consumer_group_offsets(request, request_timeout=30)
                result = future[group].result(timeout=60)
                break
            except KafkaException as exc:
                err = exc.args[0]
                if attempt == 29 or not (err.retriable() or err.code() in _COORDINATOR_WAITS):
                    raise
                time.sleep(1)
        return {(tp.topic, tp.partition): max(tp.offset, 0) for tp in result.topic_partitions}

    def lag(self, group: str, tps: Iterable[TP]) -> int:
        """Records in ``tps`` that ``group`` has not committed. Committed offsets are read
        before the ends: a router commits an ingress offset only after what it produced for
        it (a home copy included) is on the broker, so a lag of 0 read this way
        means everything was processed."""
        return self.progress(group, tps)[0]

    def progress(self, group: str, tps: Iterable[TP]) -> tuple[int, int]:
        """(lag, the sum of the committed offsets): the second grows while the group works."""
        tps = list(tps)
        committed = self.committed(group, tps)
        ends = self.ends(tps)
        lag = sum(max(0, ends[tp] - committed.get(tp, 0)) for tp in tps)
        return lag, sum(committed.values())

    def start_group_at(self, group: str, offsets: Mapping[TP, int]) -> None:
        """Commit ``offsets`` for ``group`` (no member may be running): a router or ledger
        started in that group begins exactly there."""
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        tps = [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
        request = [ConsumerGroupTopicPartitions(group, tps)]
        for attempt in range(12):  # a broker just started is still creating __consumer_offsets
            try:
                future = self.admin.alter_consumer_group_offsets(request, request_timeout=10)
                future[group].result(timeout=15)
                return
            except (KafkaException, TimeoutError):
                if attempt == 11:
                    raise
                time.sleep(2)

    def create_topics(self, specs: Iterable[TopicSpec]) -> None:
        """Create the topics of ``specs`` that do not exist yet, with their partitions and
        configs (what ``ndxp router`` would create at start)."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic

        existing = set(self.admin.list_topics(timeout=30).topics)
        new = [
            NewTopic(s.name, s.partitions, 1, config=dict(s.config))
            for s in specs
            if s.name not in existing
        ]
        for i in range(0, len(new), 50):
            for future in self.admin.create_topics(new[i : i + 50], request_timeout=60).values():
                try:
                    future.result()
                except KafkaException as exc:  # made a moment ago, not yet in the metadata
                    if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        raise
        if new:
            # A broker lists the newest topics a moment later (99 egress topics made at once:
            # the next listing showed 50 of them), and their leaders later still.
            names = {t.topic for t in new}
            for _ in range(120):
                if names <= set(self.admin.list_topics(timeout=30).topics):
                    break
                time.sleep(0.5)
            self.ends(self.partitions(names))

    def delete_consumed(self, group: str, tps: Iterable[TP]) -> None:
        """Delete the records of ``tps`` that ``group`` has committed (Kafka's DeleteRecords:
        the log start moves up, whole segments below it go at the broker's next retention
        check): disk stays bounded by what is not yet consumed, however slow the consumer."""
        from confluent_kafka import TopicPartition

        committed = self.committed(group, tps)
        wanted = [TopicPartition(t, p, o) for (t, p), o in committed.items() if o > 0]
        if wanted:
            for future in self.admin.delete_records(wanted, request_timeout=30).values():
                future.result(timeout=60)

    def set_topic_config(self, topics: Iterable[str], config: Mapping[str, str]) -> None:
        """Change topic configs in place (incrementally: other settings stay)."""
        from confluent_kafka.admin import (
            AlterConfigOpType,
            ConfigEntry,
            ConfigResource,
            ResourceType,
        )

        resources = [
            ConfigResource(
                ResourceType.TOPIC,
                topic,
                incremental_configs=[
                    ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                    for k, v in config.items()
                ],
            )
            for topic in topics
        ]
        for future in self.admin.incremental_alter_configs(resources).values():
            future.result()


def delta(before: Mapping[TP, int], after: Mapping[TP, int]) -> int:
    return sum(after[tp] - before.get(tp, 0) for tp in after)


def ranges(before: Mapping[TP, int], after: Mapping[TP, int]) -> dict[TP, tuple[int, int]]:
    """The partitions written between two snapshots: (first offset, end)."""
    return {tp: (before.get(tp, 0), end) for tp, end in after.items() if end > before.get(tp, 0)}


def as_json(r: Mapping[TP, Any]) -> dict[str, Any]:
    return {f"{t}[{p}]": v for (t, p), v in sorted(r.items())}
