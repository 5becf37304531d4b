"""What the router's delivery replaces, wraps or reads in Faust's consumer and its thread
(``router/in_order.py``, ``runs.py``, ``faust_fixes.py``, ``recovery_watch.py``, ``app.py``)."""

from __future__ import annotations

from ndxp.internals.kinds import Assigned, Attribute, Calls, Expectation, Method
from ndxp.internals.targets import (
    AIOKAFKA_CONSUMER,
    BASE_CONSUMER,
    CONSUMER,
    FETCHER,
    FIXES,
    IN_ORDER,
    RECOVERY,
    RUNS,
    STATE,
    SUBSCRIPTION,
    THREAD,
    WATCH,
)

EXPECTED: tuple[Expectation, ...] = (
    # in_order.deliver_in_order: the partitions a commit considers come from the guard too
    Method(
        f"{BASE_CONSUMER}._filter_tps_with_pending_acks",
        "def(self, topics=)",
        f"{IN_ORDER} wraps it: an event of runs is acked for its first partition only",
    ),
    Calls(
        f"{BASE_CONSUMER}.force_commit",
        "commit_tps = list(self._filter_tps_with_pending_acks(topics))",
        f"{IN_ORDER}: Faust must look it up on the instance, where ndxp put its own",
    ),
    # router/app.py: a worker whose fetcher crashed exits (Faust would leave it up and idle)
    Attribute("faust.app.base:App._fetcher", "router/app.py reads its .crashed"),
    Attribute("mode.services:Service.crashed", "router/app.py reads it on Faust's fetcher"),
    # faust_fixes.fetch_as_asked: the consumer thread gets a copy of the partitions asked for
    Method(
        "faust.transport.consumer:ThreadDelegateConsumer._getmany",
        "async def(self, active_partitions, timeout)",
        f"{FIXES} replaces it on the instance",
    ),
    Calls(
        f"{BASE_CONSUMER}._wait_next_records",
        "records = await self._getmany(active_partitions=active_partitions, timeout=timeout,)",
        f"{FIXES}: Faust must look it up on the instance, where ndxp put its own",
    ),
    Method(
        f"{THREAD}.getmany",
        "async def(self, active_partitions, timeout)",
        f"{FIXES} calls it with a copy of the partitions",
    ),
    # router/recovery_watch.py: a worker whose aiokafka fetch routine ended, or whose table
    # recovery stalled, exits; kafka/fetch_state.py reads where the consumer stands
    Attribute("faust.app.base:App._consumer", f"{WATCH} reads it (app.consumer would create one)"),
    Attribute(f"{THREAD}._consumer", f"{WATCH} reads the aiokafka consumer from it"),
    Assigned(f"{AIOKAFKA_CONSUMER}.start", "_fetcher", f"{STATE} reads it"),
    Assigned(f"{AIOKAFKA_CONSUMER}.__init__", "_subscription", f"{STATE} reads it"),
    Attribute(f"{SUBSCRIPTION}:SubscriptionState.subscription", f"{STATE} reads it"),
    Attribute(f"{SUBSCRIPTION}:Subscription.assignment", f"{STATE} reads it"),
    *(
        Assigned(f"{FETCHER}.__init__", name, f"{STATE} reads it")
        for name in ("_fetch_task", "_closed", "_fetch_waiters")
    ),
    Assigned(f"{SUBSCRIPTION}:TopicPartitionState.__init__", "highwater", f"{STATE} reads it"),
    Attribute("faust.tables.manager:TableManager.recovery", f"{WATCH} reads it"),
    *(
        Attribute(f"{RECOVERY}.{name}", f"{WATCH} reads it")
        for name in ("in_recovery", "_recovery_started_at")
    ),
    *(
        Assigned(f"{RECOVERY}.__init__", name, f"{WATCH} reads it")
        for name in ("_active_events_received_at", "active_offsets")
    ),
    Calls(
        f"{FETCHER}.seek_to",
        "if tp in self._records: del self._records[tp]",
        f"{WATCH}: a partition sought again is fetched again, not read from the buffer",
    ),
    Method(f"{RECOVERY}.active_remaining", "def(self)", f"{WATCH} calls it"),
    # in_order.deliver_in_order: read offsets off, commits from the in-order guard
    Assigned(
        f"{BASE_CONSUMER}.__init__",
        "_read_offset",
        f"{IN_ORDER} replaces it with NoReadOffsets, so Faust drops no fetched message",
    ),
    Calls(
        f"{BASE_CONSUMER}._drain_messages",
        "get_read_offset = self._read_offset.__getitem__",
        f"{IN_ORDER}: the read offsets Faust drops messages below are the ones it replaces",
    ),
    Assigned(
        f"{BASE_CONSUMER}.__init__",
        "_committed_offset",
        f"{IN_ORDER} reads and updates it (perform_seek, _new_offset)",
        "defaultdict(lambda: None)",
    ),
    Assigned(
        f"{BASE_CONSUMER}.__init__",
        "_acked",
        f"{IN_ORDER} clears it per partition in _new_offset",
        "defaultdict(list)",
    ),
    Assigned(
        f"{BASE_CONSUMER}.__init__",
        "_acked_index",
        f"{IN_ORDER} clears it per partition in _new_offset",
        "defaultdict(set)",
    ),
    Method(
        f"{CONSUMER}._new_offset",
        "def(self, tp)",
        f"{IN_ORDER} replaces it: commit only what the agent processed in order",
    ),
    Calls(
        f"{CONSUMER}._filter_committable_offsets",
        "offset = self._new_offset(tp)",
        f"{IN_ORDER}: Faust must take commit offsets from the replaced _new_offset",
    ),
    Method(
        f"{CONSUMER}.perform_seek",
        "async def(self)",
        f"{IN_ORDER} replaces it: start at the committed or the first offset",
    ),
    Method(f"{CONSUMER}.seek_to_committed", "async def(self)", f"{IN_ORDER} calls it"),
    Method(f"{CONSUMER}.earliest_offsets", "async def(self, *partitions)", f"{IN_ORDER} calls it"),
    Method(f"{CONSUMER}.seek", "async def(self, partition, offset)", f"{IN_ORDER} calls it"),
    Method(f"{CONSUMER}.highwater", "def(self, tp)", f"{IN_ORDER} and {RUNS} call it"),
    Method(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.position",
        "async def(self, partition)",
        f"{IN_ORDER} calls it on the consumer thread (InOrder.sweep: fetched past next offset?)",
    ),
    Method(f"{CONSUMER}.assignment", "def(self)", f"{IN_ORDER} calls it"),
    Method(
        f"{CONSUMER}.on_partitions_assigned",
        "async def(self, assigned, generation_id=)",
        f"{IN_ORDER} wraps it to know this worker's partitions",
    ),
    Calls(
        f"{CONSUMER}.threadsafe_partitions_assigned",
        "self.on_partitions_assigned,",
        f"{IN_ORDER}: rebalances must call the wrapped on_partitions_assigned",
    ),
    Method(
        f"{CONSUMER}.on_partitions_revoked",
        "async def(self, revoked)",
        f"{IN_ORDER} wraps it to stop processing revoked partitions at once",
    ),
    Calls(
        f"{CONSUMER}.threadsafe_partitions_revoked",
        "self.on_partitions_revoked,",
        f"{IN_ORDER}: rebalances must call the wrapped on_partitions_revoked",
    ),
    Assigned(
        "faust.transport.consumer:ThreadDelegateConsumer.__init__",
        "_thread",
        f"{IN_ORDER} reaches the aiokafka consumer through it",
    ),
    Method(f"{THREAD}._ensure_consumer", "def(self)", f"{IN_ORDER} calls it (InOrder._start)"),
    Method(
        f"{THREAD}.call_thread",
        "async def(self, fun, *args, **kwargs)",
        f"{IN_ORDER} calls it (InOrder._start)",
    ),
    # faust_fixes.fetch_limits: a short fetch wait instead of Faust's 1,500 ms, a fetch size bound
    Method(
        f"{THREAD}._create_worker_consumer",
        "def(self, transport)",
        f"{FIXES} wraps it to set the consumer's fetch wait",
    ),
    Calls(
        f"{THREAD}._create_consumer",
        "self._create_worker_consumer(transport)",
        f"{FIXES}: Faust must create its consumer through the wrapped method",
    ),
    Assigned(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__",
        "_fetch_max_wait_ms",
        f"{FIXES} overwrites it before start()",
    ),
    Calls(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start",
        "fetch_max_wait_ms=self._fetch_max_wait_ms",
        f"{FIXES}: start() must read the overwritten fetch wait",
    ),
    Assigned(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__",
        "_fetch_max_bytes",
        f"{FIXES} overwrites it before start()",
    ),
    Calls(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start",
        "fetch_max_bytes=self._fetch_max_bytes",
        f"{FIXES}: start() must read the overwritten fetch size",
    ),
    # faust_fixes.commit_once: Faust's commit with the assignment read once
    Method(
        f"{THREAD}._commit",
        "async def(self, offsets)",
        f"{FIXES} replaces it on the consumer thread (a copy reading the assignment once)",
    ),
    Calls(
        f"{THREAD}._commit",
        "tp: offset for tp, offset in offsets.items() if tp in self.assignment()",
        f"{FIXES}: its copy is of this version's commit, which read the assignment per offset",
    ),
    Calls(
        f"{THREAD}.commit",
        "return await self.call_thread(self._commit, offsets)",
        f"{FIXES}: Faust must commit through the replaced _commit",
    ),
    Assigned(
        f"{THREAD}.__post_init__",
        "tp_last_committed_at",
        f"{FIXES}: the copied commit updates it as Faust's does",
    ),
    Calls(
        f"{BASE_CONSUMER}._commit_offsets",
        "table = terminal.logtable(",
        f"{FIXES}: the module's terminal is replaced (no table of offsets at each commit)",
    ),
    # faust_fixes.direct_delivery
    Method(
        f"{CONSUMER}.wait_first",
        "async def(self, *coros, timeout=)",
        f"{FIXES} replaces it on the consumer (direct delivery)",
    ),
    Calls(
        f"{CONSUMER}._drain_messages",
        "await self.wait_first(callback(message), self.suspend_flow.wait())",
        f"{FIXES}: direct delivery recognises this call by its two coroutines",
    ),
    Assigned(
        f"{BASE_CONSUMER}.__init__",
        "suspend_flow",
        f"{FIXES} reads it (direct delivery)",
        "Event()",
    ),
    # runs.deliver_runs: one event per fetched run of a partition
    Method(
        f"{CONSUMER}.getmany",
        "async generator(self, timeout)",
        f"{RUNS} replaces it: one message per partition and fetch",
    ),
    Calls(
        f"{CONSUMER}._drain_messages",
        "getmany = self.getmany",
        f"{RUNS}: Faust's fetcher must drain the replaced getmany",
    ),
    Calls(
        f"{CONSUMER}._drain_messages",
        "getmany(timeout=",
        f"{RUNS}: its getmany takes the timeout by this name",
    ),
    Method(
        f"{CONSUMER}._wait_next_records",
        "async def(self, timeout)",
        f"{RUNS} calls it for (records, active partitions)",
    ),
    Method(f"{CONSUMER}._to_message", "def(self, tp, record)", f"{RUNS} calls it"),
    Assigned(f"{BASE_CONSUMER}.__init__", "_buffered_partitions", f"{RUNS} reads it", "set()"),
    Attribute(f"{CONSUMER}.flow_active", f"{RUNS} reads it"),
    Attribute(f"{CONSUMER}.should_stop", f"{RUNS} reads it"),
    Assigned("mode.services:ServiceBase.__init__", "log", f"{RUNS} logs through it"),
    Attribute("faust.app.base:App.consumer_generation_id", f"{RUNS} reads it"),
    Method(
        "faust.sensors.monitor:Monitor.track_tp_end_offset",
        "def(self, tp, offset)",
        f"{RUNS} calls it",
    ),
    Method(
        "faust.types.tuples:ConsumerMessage.__init__",
        "def(self, topic, partition, offset, timestamp, timestamp_type, headers, key, value, "
        "checksum, serialized_key_size=, serialized_value_size=, tp=, time_in=, time_out=, "
        "time_total=, generation_id=)",
        f"{RUNS} builds one per run, 12 arguments by position",
    ),
    Method(
        "faust.serializers.schemas:Schema.loads_key",
        "def(self, app, message, *, loads=, serializer=)",
        f"{RUNS} overrides it (RunSchema)",
    ),
    Method(
        "faust.serializers.schemas:Schema.loads_value",
        "def(self, app, message, *, loads=, serializer=)",
        f"{RUNS} overrides it (RunSchema)",
    ),
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
)
