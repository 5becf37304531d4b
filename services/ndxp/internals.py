"""The internals of faust-streaming, mode-streaming and aiokafka that ndxp replaces, wraps,
calls or reads, and the exact releases they were verified with: one entry per internal, naming
the ndxp module that relies on it. :mod:`ndxp.versions` checks them at start."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Distribution:
    """A distribution as pip knows it, the exact version verified, and its import name (an
    expectation belongs to the package whose module defines its target)."""

    name: str
    version: str
    package: str


@dataclass(frozen=True)
class Method:
    """A function or method with this shape: ``def(self, tp)``, ``async def(self)``,
    ``async generator(self, timeout)``; ``=`` marks a parameter with a default, a lone ``*``
    the start of keyword-only parameters."""

    target: str  # "module:Class.method" (or "module:function")
    shape: str
    user: str  # who relies on it, and how: "router/outbox.py calls it ..."


@dataclass(frozen=True)
class Attribute:
    """A class attribute, property or method that must exist."""

    target: str  # "module:Class.name"
    user: str


@dataclass(frozen=True)
class Assigned:
    """An instance attribute, set by a method (``__init__`` mostly): its source must contain
    ``self.<name> =`` (or ``self.<name> = <value>``, when ndxp relies on the value's type)."""

    target: str  # "module:Class.__init__"
    name: str
    user: str
    value: str = ""


@dataclass(frozen=True)
class Calls:
    """A call site that ndxp relies on: the function's source must contain ``code``
    (whitespace is ignored)."""

    target: str
    code: str
    user: str


Expectation = Method | Attribute | Assigned | Calls

DISTRIBUTIONS = (
    Distribution("faust-streaming", "0.15.3", "faust"),
    Distribution("mode-streaming", "0.7.1", "mode"),
    Distribution("aiokafka", "0.14.0", "aiokafka"),
)

_CONSUMER = "faust.transport.drivers.aiokafka:Consumer"  # the class of ``app.consumer``
_BASE_CONSUMER = "faust.transport.consumer:Consumer"  # where Faust's consumer logic lives
_THREAD = "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread"  # ``consumer._thread``
_PRODUCER = "faust.transport.drivers.aiokafka:Producer"  # the class of ``app.producer``
_ACCUMULATOR = "aiokafka.producer.message_accumulator:MessageAccumulator"
_BATCH = "aiokafka.producer.message_accumulator:MessageBatch"
_RECORDS = "kafka/records.py"
_SESSIONS = "kafka/fetch_session.py"
_BUFFER = "kafka/fetch_buffer.py"
_PLAN = "kafka/fetch_plan.py"
# aiokafka's own plan: once fetch_session is installed the class holds ndxp's, whose
# __wrapped__ is aiokafka's (inspect.getsource reads that one)
_AIOKAFKA_PLAN = "aiokafka.consumer.fetcher:Fetcher._get_actions_per_node"
_FETCHER = "aiokafka.consumer.fetcher:Fetcher"
_SUBSCRIPTION = "aiokafka.consumer.subscription_state"
_FIXES = "router/faust_fixes.py"
_IN_ORDER = "router/in_order.py"
_RUNS = "router/runs.py"
_OUTBOX = "router/outbox.py"
_WATCH = "router/recovery_watch.py"
_STATE = "kafka/fetch_state.py"
_AIOKAFKA_CONSUMER = "aiokafka.consumer.consumer:AIOKafkaConsumer"
_RECOVERY = "faust.tables.recovery:Recovery"

EXPECTED: tuple[Expectation, ...] = (
    # in_order.deliver_in_order: the partitions a commit considers come from the guard too
    Method(
        f"{_BASE_CONSUMER}._filter_tps_with_pending_acks",
        "def(self, topics=)",
        f"{_IN_ORDER} wraps it: an event of runs is acked for its first partition only",
    ),
    Calls(
        f"{_BASE_CONSUMER}.force_commit",
        "commit_tps = list(self._filter_tps_with_pending_acks(topics))",
        f"{_IN_ORDER}: Faust must look it up on the instance, where ndxp put its own",
    ),
    # router/app.py: a worker whose fetcher crashed exits (Faust would leave it up and idle)
    Attribute("faust.app.base:App._fetcher", "router/app.py reads its .crashed"),
    Attribute("mode.services:Service.crashed", "router/app.py reads it on Faust's fetcher"),
    # faust_fixes.fetch_as_asked: the consumer thread gets a copy of the partitions asked for
    Method(
        "faust.transport.consumer:ThreadDelegateConsumer._getmany",
        "async def(self, active_partitions, timeout)",
        f"{_FIXES} replaces it on the instance",
    ),
    Calls(
        f"{_BASE_CONSUMER}._wait_next_records",
        "records = await self._getmany(active_partitions=active_partitions, timeout=timeout,)",
        f"{_FIXES}: Faust must look it up on the instance, where ndxp put its own",
    ),
    Method(
        f"{_THREAD}.getmany",
        "async def(self, active_partitions, timeout)",
        f"{_FIXES} calls it with a copy of the partitions",
    ),
    # router/recovery_watch.py: a worker whose aiokafka fetch routine ended, or whose table
    # recovery stalled, exits; kafka/fetch_state.py reads where the consumer stands
    Attribute("faust.app.base:App._consumer", f"{_WATCH} reads it (app.consumer would create one)"),
    Attribute(f"{_THREAD}._consumer", f"{_WATCH} reads the aiokafka consumer from it"),
    Assigned(f"{_AIOKAFKA_CONSUMER}.start", "_fetcher", f"{_STATE} reads it"),
    Assigned(f"{_AIOKAFKA_CONSUMER}.__init__", "_subscription", f"{_STATE} reads it"),
    Attribute(f"{_SUBSCRIPTION}:SubscriptionState.subscription", f"{_STATE} reads it"),
    Attribute(f"{_SUBSCRIPTION}:Subscription.assignment", f"{_STATE} reads it"),
    *(
        Assigned(f"{_FETCHER}.__init__", name, f"{_STATE} reads it")
        for name in ("_fetch_task", "_closed", "_fetch_waiters")
    ),
    Assigned(f"{_SUBSCRIPTION}:TopicPartitionState.__init__", "highwater", f"{_STATE} reads it"),
    Attribute("faust.tables.manager:TableManager.recovery", f"{_WATCH} reads it"),
    *(
        Attribute(f"{_RECOVERY}.{name}", f"{_WATCH} reads it")
        for name in ("in_recovery", "_recovery_started_at")
    ),
    *(
        Assigned(f"{_RECOVERY}.__init__", name, f"{_WATCH} reads it")
        for name in ("_active_events_received_at", "active_offsets")
    ),
    Calls(
        f"{_FETCHER}.seek_to",
        "if tp in self._records: del self._records[tp]",
        f"{_WATCH}: a partition sought again is fetched again, not read from the buffer",
    ),
    Method(f"{_RECOVERY}.active_remaining", "def(self)", f"{_WATCH} calls it"),
    # kafka/records.py install(): every consumer of the process (the router's through Faust, the
    # ledger's) reads fetched partitions through ndxp's record batches
    Attribute(
        "aiokafka.consumer.fetcher:MemoryRecords",
        f"{_RECORDS} replaces it, so records with non-UTF-8 header names are read",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._proc_fetch_request",
        "records = MemoryRecords(part_data[-1])",
        f"{_RECORDS}: the fetcher must look the name up at each fetch, where ndxp put its own",
    ),
    # kafka/fetch_session.py install(): every consumer of the process fetches with sessions
    Method(
        "aiokafka.consumer.fetcher:Fetcher._get_actions_per_node",
        "def(self, assignment)",
        f"{_SESSIONS} replaces it: it wraps the fetch requests it returns (first item)",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._fetch_requests_routine",
        "self._get_actions_per_node(assignment)",
        f"{_SESSIONS}: the fetch loop must build its requests through the replaced method",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._proc_fetch_request",
        "response = await self._client.send(node_id, request)",
        f"{_SESSIONS}: the answer must come through the fetcher's client, which ndxp wraps",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._proc_fetch_request",
        "for topic, partitions in request.topics:",
        f"{_SESSIONS}: offsets are checked against what the request wanted, not what it sent",
    ),
    Assigned("aiokafka.consumer.fetcher:Fetcher.__init__", "_client", f"{_SESSIONS} wraps it"),
    Assigned(
        "aiokafka.consumer.fetcher:Fetcher.__init__",
        "_fetch_waiters",
        f"{_SESSIONS}: a done waiter in it means a consumer is taking records (plan after it)",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._create_fetch_waiter",
        "fut.add_done_callback(lambda f, waiters=self._fetch_waiters: waiters.remove(f))",
        f"{_SESSIONS}: a done waiter leaves the set at the loop's next turn (else no fetch)",
    ),
    Assigned(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start",
        "_fetcher",
        f"{_SESSIONS}: short_polls marks a started consumer's fetcher",
    ),
    # kafka/fetch_plan.py: aiokafka's plan in one pass, reading the state it reads
    *(
        Calls(_AIOKAFKA_PLAN, code, f"{_PLAN} decides each partition as this does")
        for code in (
            "node_id = self._select_read_replica(tp)",
            "if tp in self._records:",
            "backoff = record.calculate_backoff()",
            "elif node_id in self._in_flight:",
            "elif node_id is None or node_id == -1:",
            "elif not tp_state.has_valid_position:",
            "elif tp_state.paused: resume_futures.append(tp_state.resume_fut)",
            "position = tp_state.position",
            "fetchable[node_id].append((tp, position))",
            "if node_id in backoff_by_nodes:",
            "if node_id in awaiting_reset:",
            "backoff = min(map(max, backoff_by_nodes.values()))",
            "backoff = self._fetcher_timeout",
        )
    ),
    Method(
        f"{_FETCHER}.fetched_records",
        "async def(self, partitions, timeout=, max_records=)",
        f"{_PLAN} wraps it to remember the partitions a consumer asks for",
    ),
    Calls(
        f"{_FETCHER}.fetched_records",
        "if partitions and tp not in partitions:",
        f"{_PLAN}: none asked for is all of them",
    ),
    Calls(
        f"{_THREAD}._fetch_records",
        "return await fetcher.fetched_records(active_partitions,",
        f"{_PLAN}: Faust asks for its active partitions only (not the changelogs it recovered)",
    ),
    Calls(
        f"{_FETCHER}._select_read_replica",
        "cached = self._preferred_read_replica.get(tp)",
        f"{_PLAN}: with no preferred replica a partition is read from its leader",
    ),
    Calls(
        f"{_FETCHER}._select_read_replica",
        "return self._client.cluster.leader_for_partition(tp)",
        f"{_PLAN} reads the leader as this does",
    ),
    Calls(
        "aiokafka.cluster:ClusterMetadata.leader_for_partition",
        "return partitions[partition.partition].leader",
        f"{_PLAN} reads _partitions[topic][partition].leader",
    ),
    Assigned("aiokafka.cluster:ClusterMetadata.__init__", "_partitions", f"{_PLAN} reads it"),
    *(
        Assigned(f"{_FETCHER}.__init__", name, f"{_PLAN} reads it")
        for name in (
            "_preferred_read_replica",
            "_in_flight",
            "_max_partition_fetch_bytes",
            "_fetch_max_wait_ms",
            "_fetch_min_bytes",
            "_fetch_max_bytes",
            "_isolation_level",
            "_client_rack",
            "_fetcher_timeout",
        )
    ),
    *(
        Calls(f"{_SUBSCRIPTION}:{target}", code, f"{_PLAN} reads the attribute directly")
        for target, code in (
            ("Assignment.state_value", "return self._tp_state.get(tp)"),
            ("Assignment.tps", "return self._topic_partitions"),
            ("TopicPartitionState.has_valid_position", "return self._position is not None"),
            ("TopicPartitionState.position", "return self._position"),
            ("TopicPartitionState.paused", "return self._paused"),
        )
    ),
    Attribute(f"{_SUBSCRIPTION}:TopicPartitionState.resume_fut", f"{_PLAN} reads it"),
    # kafka/fetch_buffer.py: the bytes a fetcher holds, fetched and not yet drained
    Assigned(
        "aiokafka.consumer.fetcher:Fetcher.__init__",
        "_records",
        f"{_BUFFER} sums what it holds (partition -> FetchResult)",
    ),
    Assigned(
        "aiokafka.consumer.fetcher:FetchResult.__init__",
        "_partition_records",
        f"{_BUFFER} reads it (None once drained)",
    ),
    Assigned(
        "aiokafka.consumer.fetcher:PartitionRecords.__init__",
        "_records",
        f"{_BUFFER} reads its size_in_bytes() (the partition's fetched bytes)",
    ),
    Method(
        "aiokafka.protocol.fetch:FetchRequest.__init__",
        "def(self, max_wait_time, min_bytes, max_bytes, isolation_level, topics, rack_id=)",
        f"{_SESSIONS} builds its request from aiokafka's",
    ),
    Method(
        "aiokafka.protocol.fetch:FetchRequest.build",
        "def(self, request_struct_class)",
        f"{_SESSIONS} overrides it for v7 and later",
    ),
    *(
        Assigned("aiokafka.protocol.fetch:FetchRequest.__init__", name, f"{_SESSIONS} reads it")
        for name in ("_max_wait_ms", "_min_bytes", "_max_bytes", "_isolation_level", "_rack_id")
    ),
    Attribute(
        "aiokafka.protocol.fetch:FetchRequest_v11.SCHEMA",
        f"{_SESSIONS} encodes v7-v11 requests with session id, epoch and forgotten partitions",
    ),
    # in_order.deliver_in_order: read offsets off, commits from the in-order guard
    Assigned(
        f"{_BASE_CONSUMER}.__init__",
        "_read_offset",
        f"{_IN_ORDER} replaces it with NoReadOffsets, so Faust drops no fetched message",
    ),
    Calls(
        f"{_BASE_CONSUMER}._drain_messages",
        "get_read_offset = self._read_offset.__getitem__",
        f"{_IN_ORDER}: the read offsets Faust drops messages below are the ones it replaces",
    ),
    Assigned(
        f"{_BASE_CONSUMER}.__init__",
        "_committed_offset",
        f"{_IN_ORDER} reads and updates it (perform_seek, _new_offset)",
        "defaultdict(lambda: None)",
    ),
    Assigned(
        f"{_BASE_CONSUMER}.__init__",
        "_acked",
        f"{_IN_ORDER} clears it per partition in _new_offset",
        "defaultdict(list)",
    ),
    Assigned(
        f"{_BASE_CONSUMER}.__init__",
        "_acked_index",
        f"{_IN_ORDER} clears it per partition in _new_offset",
        "defaultdict(set)",
    ),
    Method(
        f"{_CONSUMER}._new_offset",
        "def(self, tp)",
        f"{_IN_ORDER} replaces it: commit only what the agent processed in order",
    ),
    Calls(
        f"{_CONSUMER}._filter_committable_offsets",
        "offset = self._new_offset(tp)",
        f"{_IN_ORDER}: Faust must take commit offsets from the replaced _new_offset",
    ),
    Method(
        f"{_CONSUMER}.perform_seek",
        "async def(self)",
        f"{_IN_ORDER} replaces it: start at the committed or the first offset",
    ),
    Method(f"{_CONSUMER}.seek_to_committed", "async def(self)", f"{_IN_ORDER} calls it"),
    Method(
        f"{_CONSUMER}.earliest_offsets", "async def(self, *partitions)", f"{_IN_ORDER} calls it"
    ),
    Method(f"{_CONSUMER}.seek", "async def(self, partition, offset)", f"{_IN_ORDER} calls it"),
    Method(f"{_CONSUMER}.highwater", "def(self, tp)", f"{_IN_ORDER} and {_RUNS} call it"),
    Method(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.position",
        "async def(self, partition)",
        f"{_IN_ORDER} calls it on the consumer thread (InOrder.sweep: fetched past next offset?)",
    ),
    Method(f"{_CONSUMER}.assignment", "def(self)", f"{_IN_ORDER} calls it"),
    Method(
        f"{_CONSUMER}.on_partitions_assigned",
        "async def(self, assigned, generation_id=)",
        f"{_IN_ORDER} wraps it to know this worker's partitions",
    ),
    Calls(
        f"{_CONSUMER}.threadsafe_partitions_assigned",
        "self.on_partitions_assigned,",
        f"{_IN_ORDER}: rebalances must call the wrapped on_partitions_assigned",
    ),
    Method(
        f"{_CONSUMER}.on_partitions_revoked",
        "async def(self, revoked)",
        f"{_IN_ORDER} wraps it to stop processing revoked partitions at once",
    ),
    Calls(
        f"{_CONSUMER}.threadsafe_partitions_revoked",
        "self.on_partitions_revoked,",
        f"{_IN_ORDER}: rebalances must call the wrapped on_partitions_revoked",
    ),
    Assigned(
        "faust.transport.consumer:ThreadDelegateConsumer.__init__",
        "_thread",
        f"{_IN_ORDER} reaches the aiokafka consumer through it",
    ),
    Method(f"{_THREAD}._ensure_consumer", "def(self)", f"{_IN_ORDER} calls it (InOrder._start)"),
    Method(
        f"{_THREAD}.call_thread",
        "async def(self, fun, *args, **kwargs)",
        f"{_IN_ORDER} calls it (InOrder._start)",
    ),
    # faust_fixes.fetch_limits: a short fetch wait instead of Faust's 1,500 ms, a fetch size bound
    Method(
        f"{_THREAD}._create_worker_consumer",
        "def(self, transport)",
        f"{_FIXES} wraps it to set the consumer's fetch wait",
    ),
    Calls(
        f"{_THREAD}._create_consumer",
        "self._create_worker_consumer(transport)",
        f"{_FIXES}: Faust must create its consumer through the wrapped method",
    ),
    Assigned(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__",
        "_fetch_max_wait_ms",
        f"{_FIXES} overwrites it before start()",
    ),
    Calls(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start",
        "fetch_max_wait_ms=self._fetch_max_wait_ms",
        f"{_FIXES}: start() must read the overwritten fetch wait",
    ),
    Assigned(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__",
        "_fetch_max_bytes",
        f"{_FIXES} overwrites it before start()",
    ),
    Calls(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start",
        "fetch_max_bytes=self._fetch_max_bytes",
        f"{_FIXES}: start() must read the overwritten fetch size",
    ),
    # faust_fixes.commit_once: Faust's commit with the assignment read once
    Method(
        f"{_THREAD}._commit",
        "async def(self, offsets)",
        f"{_FIXES} replaces it on the consumer thread (a copy reading the assignment once)",
    ),
    Calls(
        f"{_THREAD}._commit",
        "tp: offset for tp, offset in offsets.items() if tp in self.assignment()",
        f"{_FIXES}: its copy is of this version's commit, which read the assignment per offset",
    ),
    Calls(
        f"{_THREAD}.commit",
        "return await self.call_thread(self._commit, offsets)",
        f"{_FIXES}: Faust must commit through the replaced _commit",
    ),
    Assigned(
        f"{_THREAD}.__post_init__",
        "tp_last_committed_at",
        f"{_FIXES}: the copied commit updates it as Faust's does",
    ),
    Calls(
        f"{_BASE_CONSUMER}._commit_offsets",
        "table = terminal.logtable(",
        f"{_FIXES}: the module's terminal is replaced (no table of offsets at each commit)",
    ),
    # faust_fixes.idempotent_producer
    Method(
        f"{_PRODUCER}._settings_extra",
        "def(self)",
        f"{_FIXES} replaces it: acks=all and idempotence outside transactions",
    ),
    Calls(
        f"{_PRODUCER}._new_producer",
        "**self._settings_extra()",
        f"{_FIXES}: the producer must be built with the replaced _settings_extra",
    ),
    # faust_fixes.direct_delivery
    Method(
        f"{_CONSUMER}.wait_first",
        "async def(self, *coros, timeout=)",
        f"{_FIXES} replaces it on the consumer (direct delivery)",
    ),
    Calls(
        f"{_CONSUMER}._drain_messages",
        "await self.wait_first(callback(message), self.suspend_flow.wait())",
        f"{_FIXES}: direct delivery recognises this call by its two coroutines",
    ),
    Assigned(
        f"{_BASE_CONSUMER}.__init__",
        "suspend_flow",
        f"{_FIXES} reads it (direct delivery)",
        "Event()",
    ),
    # runs.deliver_runs: one event per fetched run of a partition
    Method(
        f"{_CONSUMER}.getmany",
        "async generator(self, timeout)",
        f"{_RUNS} replaces it: one message per partition and fetch",
    ),
    Calls(
        f"{_CONSUMER}._drain_messages",
        "getmany = self.getmany",
        f"{_RUNS}: Faust's fetcher must drain the replaced getmany",
    ),
    Calls(
        f"{_CONSUMER}._drain_messages",
        "getmany(timeout=",
        f"{_RUNS}: its getmany takes the timeout by this name",
    ),
    Method(
        f"{_CONSUMER}._wait_next_records",
        "async def(self, timeout)",
        f"{_RUNS} calls it for (records, active partitions)",
    ),
    Method(f"{_CONSUMER}._to_message", "def(self, tp, record)", f"{_RUNS} calls it"),
    Assigned(f"{_BASE_CONSUMER}.__init__", "_buffered_partitions", f"{_RUNS} reads it", "set()"),
    Attribute(f"{_CONSUMER}.flow_active", f"{_RUNS} reads it"),
    Attribute(f"{_CONSUMER}.should_stop", f"{_RUNS} reads it"),
    Assigned("mode.services:ServiceBase.__init__", "log", f"{_RUNS} logs through it"),
    Attribute("faust.app.base:App.consumer_generation_id", f"{_RUNS} reads it"),
    Method(
        "faust.sensors.monitor:Monitor.track_tp_end_offset",
        "def(self, tp, offset)",
        f"{_RUNS} calls it",
    ),
    Method(
        "faust.types.tuples:ConsumerMessage.__init__",
        "def(self, topic, partition, offset, timestamp, timestamp_type, headers, key, value, "
        "checksum, serialized_key_size=, serialized_value_size=, tp=, time_in=, time_out=, "
        "time_total=, generation_id=)",
        f"{_RUNS} builds one per run, 12 arguments by position",
    ),
    Method(
        "faust.serializers.schemas:Schema.loads_key",
        "def(self, app, message, *, loads=, serializer=)",
        f"{_RUNS} overrides it (RunSchema)",
    ),
    Method(
        "faust.serializers.schemas:Schema.loads_value",
        "def(self, app, message, *, loads=, serializer=)",
        f"{_RUNS} overrides it (RunSchema)",
    ),
    # outbox.Outbox: records appended to the producer's open batches
    Method(f"{_PRODUCER}._ensure_producer", "def(self)", f"{_OUTBOX} calls it"),
    Assigned(
        "aiokafka.producer.producer:AIOKafkaProducer.__init__",
        "_message_accumulator",
        f"{_OUTBOX} appends records to its batches",
    ),
    Assigned(
        "aiokafka.producer.producer:AIOKafkaProducer.__init__",
        "_request_timeout_ms",
        f"{_OUTBOX} reads it (how long to wait for room in a batch)",
    ),
    Assigned(
        "aiokafka.producer.producer:AIOKafkaProducer.__init__",
        "client",
        f"{_OUTBOX} reads its cluster metadata",
    ),
    Assigned(
        f"{_ACCUMULATOR}.__init__",
        "_batches",
        f"{_OUTBOX} appends to the last open batch of a partition",
        "collections.defaultdict(collections.deque)",
    ),
    Assigned(f"{_ACCUMULATOR}.__init__", "_exception", f"{_OUTBOX} raises it"),
    Method(f"{_ACCUMULATOR}._append_batch", "def(self, builder, tp)", f"{_OUTBOX} opens batches"),
    Method(
        f"{_ACCUMULATOR}.create_builder",
        "def(self, key_serializer=, value_serializer=)",
        f"{_OUTBOX} opens batches",
    ),
    Calls(
        f"{_ACCUMULATOR}.add_message",
        "batch = self._append_batch(builder, tp)",
        f"{_OUTBOX} opens batches as aiokafka's send() does",
    ),
    Assigned(f"{_BATCH}.__init__", "_builder", f"{_OUTBOX} appends records to it"),
    Assigned(f"{_BATCH}.__init__", "_drain_waiter", f"{_OUTBOX} reads it"),
    Assigned(f"{_BATCH}.__init__", "future", f"{_OUTBOX} watches it for the broker's answer"),
    Method(f"{_BATCH}.wait_drain", "async def(self, timeout=)", f"{_OUTBOX} calls it"),
    Method(
        "aiokafka.producer.message_accumulator:BatchBuilder.append",
        "def(self, *, timestamp, key, value, headers=)",
        f"{_OUTBOX} appends each record with it",
    ),
    Method(
        "aiokafka.client:AIOKafkaClient._wait_on_metadata",
        "async def(self, topic)",
        f"{_OUTBOX} calls it",
    ),
    Method(
        "aiokafka.cluster:ClusterMetadata.partitions_for_topic",
        "def(self, topic)",
        f"{_OUTBOX} calls it",
    ),
    Method(
        "aiokafka.cluster:ClusterMetadata.available_partitions_for_topic",
        "def(self, topic)",
        f"{_OUTBOX} calls it",
    ),
    Method("aiokafka.partitioner:murmur2", "def(data)", f"{_OUTBOX} partitions keys with it"),
    # quota_changelog.QuotaChangelog: the table's state written before every commit
    Method(
        f"{_PRODUCER}.flush",
        "async def(self)",
        "router/quota_changelog.py wraps it: the changelog is written before each commit",
    ),
    Calls(
        f"{_CONSUMER}._commit_offsets",
        "await self.app.producer.flush()",
        f"router/quota_changelog.py and {_OUTBOX}: Faust flushes the producer before a commit",
    ),
    Method(
        f"{_PRODUCER}.send",
        "async def(self, topic, key, value, partition, timestamp, headers, *, transactional_id=)",
        "router/quota_changelog.py calls it, 6 arguments by position",
    ),
    Attribute("faust.tables.table:Table.data", "router/quota_changelog.py writes to it"),
    # app.create_app: new ingress topics subscribed at once
    Calls(
        "faust.topics:Topic._clone_args",
        '"topics": self.topics',
        "router/app.py: the agent's channel shares the ingress topic list it extends",
    ),
    Attribute(
        "faust.transport.conductor:Conductor._resubscribe_sleep_lock_seconds",
        "router/app.py lowers it to resubscribe within a second",
    ),
    Calls(
        "faust.transport.conductor:Conductor._subscriber.fun",  # a @Service.task
        "await self.sleep(self._resubscribe_sleep_lock_seconds)",
        "router/app.py: the conductor must read the lowered wait from the instance",
    ),
    Method(
        "faust.transport.conductor:Conductor._flag_changes",
        "def(self)",
        "router/app.py calls it to resubscribe",
    ),
    # kafka/io.py consumer_at_end (client tools)
    Assigned(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__",
        "_client",
        "kafka/io.py forces a metadata update through it",
    ),
    Method(
        "aiokafka.client:AIOKafkaClient.force_metadata_update",
        "def(self)",
        "kafka/io.py calls it",
    ),
    Method(
        "aiokafka.client:AIOKafkaClient.add_topic",
        "def(self, topic)",
        "kafka/io.py partitions_of: the gateway's reply consumer adds a topic's metadata",
    ),
)
