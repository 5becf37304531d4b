"""What the router's producing relies on in Faust's producer and aiokafka's accumulator
(``router/outbox.py``, ``quota_changelog.py``, ``faust_fixes.idempotent_producer``)."""

from __future__ import annotations

from ndxp.internals.kinds import Assigned, Attribute, Calls, Expectation, Method
from ndxp.internals.targets import ACCUMULATOR, BATCH, CONSUMER, FIXES, OUTBOX, PRODUCER

EXPECTED: tuple[Expectation, ...] = (
    # faust_fixes.idempotent_producer
    Method(
        f"{PRODUCER}._settings_extra",
        "def(self)",
        f"{FIXES} replaces it: acks=all and idempotence outside transactions",
    ),
    Calls(
        f"{PRODUCER}._new_producer",
        "**self._settings_extra()",
        f"{FIXES}: the producer must be built with the replaced _settings_extra",
    ),
    # outbox.Outbox: records appended to the producer's open batches
    Method(f"{PRODUCER}._ensure_producer", "def(self)", f"{OUTBOX} calls it"),
    Assigned(
        "aiokafka.producer.producer:AIOKafkaProducer.__init__",
        "_message_accumulator",
        f"{OUTBOX} appends records to its batches",
    ),
    Assigned(
        "aiokafka.producer.producer:AIOKafkaProducer.__init__",
        "_request_timeout_ms",
        f"{OUTBOX} reads it (how long to wait for room in a batch)",
    ),
    Assigned(
        "aiokafka.producer.producer:AIOKafkaProducer.__init__",
        "client",
        f"{OUTBOX} reads its cluster metadata",
    ),
    Assigned(
        f"{ACCUMULATOR}.__init__",
        "_batches",
        f"{OUTBOX} appends to the last open batch of a partition",
        "collections.defaultdict(collections.deque)",
    ),
    Assigned(f"{ACCUMULATOR}.__init__", "_exception", f"{OUTBOX} raises it"),
    Method(f"{ACCUMULATOR}._append_batch", "def(self, builder, tp)", f"{OUTBOX} opens batches"),
    Method(
        f"{ACCUMULATOR}.create_builder",
        "def(self, key_serializer=, value_serializer=)",
        f"{OUTBOX} opens batches",
    ),
    Calls(
        f"{ACCUMULATOR}.create_builder",
        "BatchBuilder(self._batch_size, self._compression_type,",
        f"{OUTBOX}: the batches it opens are compressed as the producer's own "
        "(NDXP_ROUTER_COMPRESSION; ndxp.core.budget counts the codec in)",
    ),
    Attribute(
        "aiokafka.record._crecords.default_records:zstd_encode",
        "kafka/zstd_level.py replaces it: the C batch builder's zstd at level 1",
    ),
    Attribute(
        "aiokafka.record.default_records:zstd_encode",
        "kafka/zstd_level.py replaces it: the Python batch builder's zstd at level 1",
    ),
    Calls(
        f"{ACCUMULATOR}.add_message",
        "batch = self._append_batch(builder, tp)",
        f"{OUTBOX} opens batches as aiokafka's send() does",
    ),
    Assigned(f"{BATCH}.__init__", "_builder", f"{OUTBOX} appends records to it"),
    Assigned(f"{BATCH}.__init__", "_drain_waiter", f"{OUTBOX} reads it"),
    Assigned(f"{BATCH}.__init__", "future", f"{OUTBOX} watches it for the broker's answer"),
    Method(f"{BATCH}.wait_drain", "async def(self, timeout=)", f"{OUTBOX} calls it"),
    Method(
        "aiokafka.producer.message_accumulator:BatchBuilder.append",
        "def(self, *, timestamp, key, value, headers=)",
        f"{OUTBOX} appends each record with it",
    ),
    Method(
        "aiokafka.client:AIOKafkaClient._wait_on_metadata",
        "async def(self, topic)",
        f"{OUTBOX} calls it",
    ),
    Method(
        "aiokafka.cluster:ClusterMetadata.partitions_for_topic",
        "def(self, topic)",
        f"{OUTBOX} calls it",
    ),
    Method(
        "aiokafka.cluster:ClusterMetadata.available_partitions_for_topic",
        "def(self, topic)",
        f"{OUTBOX} calls it",
    ),
    # quota_changelog.QuotaChangelog: the table's state written before every commit
    Method(
        f"{PRODUCER}.flush",
        "async def(self)",
        "router/quota_changelog.py wraps it: the changelog is written before each commit",
    ),
    Calls(
        f"{CONSUMER}._commit_offsets",
        "await self.app.producer.flush()",
        f"router/quota_changelog.py and {OUTBOX}: Faust flushes the producer before a commit",
    ),
    Method(
        f"{PRODUCER}.send",
        "async def(self, topic, key, value, partition, timestamp, headers, *, transactional_id=)",
        "router/quota_changelog.py calls it, 6 arguments by position",
    ),
    Attribute("faust.tables.table:Table.data", "router/quota_changelog.py writes to it"),
)
