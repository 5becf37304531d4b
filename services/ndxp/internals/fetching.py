"""What ndxp's fetching reads or replaces in aiokafka's consumer (``kafka/``): record batches,
incremental fetch sessions, the one-pass plan, the buffer bound, the client tools' metadata."""

from __future__ import annotations

from ndxp.internals.kinds import Assigned, Attribute, Calls, Expectation, Method
from ndxp.internals.targets import (
    AIOKAFKA_PLAN,
    BUFFER,
    FAIR,
    FETCHER,
    PLAN,
    RECORDS,
    SESSIONS,
    SUBSCRIPTION,
    THREAD,
)

EXPECTED: tuple[Expectation, ...] = (
    # kafka/records.py install(): every consumer of the process (the router's through Faust, the
    # ledger's) reads fetched partitions through ndxp's record batches
    Attribute(
        "aiokafka.consumer.fetcher:MemoryRecords",
        f"{RECORDS} replaces it, so records with non-UTF-8 header names are read",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._proc_fetch_request",
        "records = MemoryRecords(part_data[-1])",
        f"{RECORDS}: the fetcher must look the name up at each fetch, where ndxp put its own",
    ),
    # kafka/fetch_session.py install(): every consumer of the process fetches with sessions
    Method(
        "aiokafka.consumer.fetcher:Fetcher._get_actions_per_node",
        "def(self, assignment)",
        f"{SESSIONS} replaces it: it wraps the fetch requests it returns (first item)",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._fetch_requests_routine",
        "self._get_actions_per_node(assignment)",
        f"{SESSIONS}: the fetch loop must build its requests through the replaced method",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._proc_fetch_request",
        "response = await self._client.send(node_id, request)",
        f"{SESSIONS}: the answer must come through the fetcher's client, which ndxp wraps",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._proc_fetch_request",
        "for topic, partitions in request.topics:",
        f"{SESSIONS}: offsets are checked against what the request wanted, not what it sent",
    ),
    Assigned("aiokafka.consumer.fetcher:Fetcher.__init__", "_client", f"{SESSIONS} wraps it"),
    Assigned(
        "aiokafka.consumer.fetcher:Fetcher.__init__",
        "_fetch_waiters",
        f"{SESSIONS}: a done waiter in it means a consumer is taking records (plan after it)",
    ),
    Calls(
        "aiokafka.consumer.fetcher:Fetcher._create_fetch_waiter",
        "fut.add_done_callback(lambda f, waiters=self._fetch_waiters: waiters.remove(f))",
        f"{SESSIONS}: a done waiter leaves the set at the loop's next turn (else no fetch)",
    ),
    Assigned(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start",
        "_fetcher",
        f"{SESSIONS}: short_polls marks a started consumer's fetcher",
    ),
    # kafka/fetch_plan.py: aiokafka's plan in one pass, reading the state it reads
    *(
        Calls(AIOKAFKA_PLAN, code, f"{PLAN} decides each partition as this does")
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
        f"{FETCHER}.fetched_records",
        "async def(self, partitions, timeout=, max_records=)",
        f"{PLAN} wraps it to remember the partitions a consumer asks for",
    ),
    Calls(
        f"{FETCHER}.fetched_records",
        "if partitions and tp not in partitions:",
        f"{PLAN}: none asked for is all of them",
    ),
    # kafka/fair_drain.py: aiokafka's fetched_records with a fair walk, every other step as it
    *(
        Calls(f"{FETCHER}.fetched_records", code, f"{FAIR} does the same")
        for code in (
            "if self._subscriptions.reassignment_in_progress:",
            "await self._subscriptions.wait_for_assignment()",
            "for tp in list(self._records.keys()):",
            "if not self._subscriptions.is_assigned(tp):",
            "if type(res_or_error) is FetchResult:",
            "records = res_or_error.getall(max_records)",
            "if not res_or_error.has_more():",
            "self._notify(self._wait_consume_future)",
            "res_or_error.check_raise()",
            "waiter = self._create_fetch_waiter()",
            "done, pending = await asyncio.wait([waiter], timeout=timeout)",
            "if not done or self._closed:",
            "waiter.result()  # Check for authorization errors",
        )
    ),
    Method(
        "aiokafka.consumer.fetcher:FetchResult.getall",
        "def(self, max_records=)",
        f"{FAIR} takes a partition's share with it",
    ),
    Method("aiokafka.consumer.fetcher:FetchResult.has_more", "def(self)", f"{FAIR} calls it"),
    Calls(
        f"{THREAD}._fetch_records",
        "return await fetcher.fetched_records(active_partitions,",
        f"{PLAN}: Faust asks for its active partitions only (not the changelogs it recovered)",
    ),
    Calls(
        f"{FETCHER}._select_read_replica",
        "cached = self._preferred_read_replica.get(tp)",
        f"{PLAN}: with no preferred replica a partition is read from its leader",
    ),
    Calls(
        f"{FETCHER}._select_read_replica",
        "return self._client.cluster.leader_for_partition(tp)",
        f"{PLAN} reads the leader as this does",
    ),
    Calls(
        "aiokafka.cluster:ClusterMetadata.leader_for_partition",
        "return partitions[partition.partition].leader",
        f"{PLAN} reads _partitions[topic][partition].leader",
    ),
    Assigned("aiokafka.cluster:ClusterMetadata.__init__", "_partitions", f"{PLAN} reads it"),
    *(
        Assigned(f"{FETCHER}.__init__", name, f"{PLAN} reads it")
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
        Calls(f"{SUBSCRIPTION}:{target}", code, f"{PLAN} reads the attribute directly")
        for target, code in (
            ("Assignment.state_value", "return self._tp_state.get(tp)"),
            ("Assignment.tps", "return self._topic_partitions"),
            ("TopicPartitionState.has_valid_position", "return self._position is not None"),
            ("TopicPartitionState.position", "return self._position"),
            ("TopicPartitionState.paused", "return self._paused"),
        )
    ),
    Attribute(f"{SUBSCRIPTION}:TopicPartitionState.resume_fut", f"{PLAN} reads it"),
    # kafka/fetch_buffer.py: the bytes a fetcher holds, fetched and not yet drained
    Assigned(
        "aiokafka.consumer.fetcher:Fetcher.__init__",
        "_records",
        f"{BUFFER} sums what it holds (partition -> FetchResult)",
    ),
    Assigned(
        "aiokafka.consumer.fetcher:FetchResult.__init__",
        "_partition_records",
        f"{BUFFER} reads it (None once drained)",
    ),
    Assigned(
        "aiokafka.consumer.fetcher:PartitionRecords.__init__",
        "_records",
        f"{BUFFER} reads its size_in_bytes() (the partition's fetched bytes)",
    ),
    Method(
        "aiokafka.protocol.fetch:FetchRequest.__init__",
        "def(self, max_wait_time, min_bytes, max_bytes, isolation_level, topics, rack_id=)",
        f"{SESSIONS} builds its request from aiokafka's",
    ),
    Method(
        "aiokafka.protocol.fetch:FetchRequest.build",
        "def(self, request_struct_class)",
        f"{SESSIONS} overrides it for v7 and later",
    ),
    *(
        Assigned("aiokafka.protocol.fetch:FetchRequest.__init__", name, f"{SESSIONS} reads it")
        for name in ("_max_wait_ms", "_min_bytes", "_max_bytes", "_isolation_level", "_rack_id")
    ),
    Attribute(
        "aiokafka.protocol.fetch:FetchRequest_v11.SCHEMA",
        f"{SESSIONS} encodes v7-v11 requests with session id, epoch and forgotten partitions",
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
