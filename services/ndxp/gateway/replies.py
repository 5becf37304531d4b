"""The answers to the gateway's calls: one consumer for the whole gateway process, and the calls
waiting for an answer, by request id.

The consumer reads a member's egress topic from the first call whose answer lands there (the
client's route), not every egress topic from the start: each fetch costs the broker a read of
every partition the consumer holds (Kafka's incremental fetch context walks them all), so a
gateway whose callers are one province's systems reads that province's three partitions, not
the platform's three hundred. A call is written only after its topic is read from its end as
it was then, so no answer is missed.

Finding a topic's partitions and end offsets takes a second consumer that never fetches: the
broker answers a connection's requests in order, so on the reply consumer's connection they
would wait behind its long poll (up to ``REPLY_FETCH_MAX_WAIT_MS``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from ndxp.core import wire
from ndxp.core.identifiers import MemberId
from ndxp.core.xroad import XRoadError
from ndxp.kafka import fetch_session
from ndxp.kafka.io import partitions_of
from ndxp.settings import GatewaySettings

log = logging.getLogger("ndxp.gateway")
# The reply consumer's long poll. The first answer on a topic just added waits for about two
# of them (the fetch in flight, without the topic, and the next): 20 ms gave first calls of
# 43-47 ms, 100 ms gave 203-213 ms, 500 ms (aiokafka's default) over a second. A poll costs
# the broker a read of every partition held; at idle, 20 polls a second.
REPLY_FETCH_MAX_WAIT_MS = 50


@dataclass(frozen=True)
class Answer:
    """A response or an error notice for a call: its headers and value, as routed."""

    headers: list[tuple[str, bytes]]
    value: bytes

    @property
    def kind(self) -> str | None:
        return wire.header(self.headers, wire.H_KIND)


Written = tuple[str, int, int]  # where a call was written: ingress topic, partition, offset
EARLY_NOTICES = 8  # error notices a call keeps while its own write is not acknowledged yet


@dataclass
class Waiting:
    """A call waiting for its answer: who made it, to which service, the future, and where
    the call was written once the broker said so (an error notice must be about that record)."""

    client: str
    service: str
    future: asyncio.Future[Answer]
    written: Written | None = None
    early: list[Answer] = field(default_factory=list)  # notices read before ``written``


class Replies:
    """Calls waiting for their answer, and the consumer that brings answers from the egress
    topics watched so far. A call is found by the egress topic its answer comes on (its
    client's member's) and its ``ndxp-id``; a response must also name the call's client and
    service, an error notice the record the call was written as. Ids are the callers'
    (``X-Road-Id``): another member's call with the same id, another provider's response
    carrying it, or the refusal of another unit's record with that id never gets this call's
    answer."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.waiting: dict[tuple[str, str], Waiting] = {}  # (egress topic, ndxp-id) -> call
        self.by_client: dict[str, int] = {}  # calls waiting, per client subsystem
        self.consumer: AIOKafkaConsumer | None = None
        self.lookup: AIOKafkaConsumer | None = None  # partitions and end offsets, never fetches
        self.task: asyncio.Task[None] | None = None
        self.late = 0  # answers for calls no longer waiting (timed out, or another gateway's)
        self.watched: set[str] = set()  # egress topics read
        self.positions: dict[TopicPartition, int] = {}  # the next offset to read, each
        self._adding = asyncio.Lock()
        self._assigned = asyncio.Event()

    async def start(self) -> None:
        auth = self.settings.auth.aiokafka()
        bootstrap = self.settings.bootstrap
        self.lookup = AIOKafkaConsumer(bootstrap_servers=bootstrap, **auth)
        await self.lookup.start()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=REPLY_FETCH_MAX_WAIT_MS,
            **auth,
        )
        await consumer.start()
        fetch_session.short_polls(consumer)  # its assignment grows: no long poll to wait behind
        self.consumer = consumer
        self.task = asyncio.create_task(self._read(consumer), name="ndxp-gateway-replies")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for c in (self.consumer, self.lookup):
            if c is not None:
                await c.stop()
        for call in self.waiting.values():
            call.future.cancel()

    async def watch(self, route: MemberId) -> None:
        """Read ``route``'s egress topic (where its clients' answers land) from now on, if not
        already: returns once it is positioned at its end."""
        topic = wire.egress_topic(route)
        if topic in self.watched:
            return
        async with self._adding:
            if topic not in self.watched:
                await self._add(topic)

    async def _add(self, topic: str) -> None:
        consumer, lookup = self.consumer, self.lookup
        assert consumer is not None and lookup is not None
        new = await partitions_of(lookup, topic)
        if not new:
            raise XRoadError(
                503, "Server.ClientProxy.ServiceUnavailable", f"cannot read answers on {topic}"
            )
        ends = await lookup.end_offsets(new)
        # a new assignment forgets every position: all are set again before anything else runs
        # (what was fetched and not yet handed over is fetched again)
        positions = {**self.positions, **ends}
        consumer.assign(list(positions))
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        self.positions = positions
        self.watched.add(topic)
        self._assigned.set()
        log.info("reading answers on %s (%d egress topics)", topic, len(self.watched))

    def expect(
        self, route: MemberId, request_id: str, client: str, service: str
    ) -> asyncio.Future[Answer]:
        """A future for the answer to the call ``request_id`` of ``client`` (whose nearest
        connected member is ``route``) to ``service``; refuses an id the same member has in
        progress here (its answers would be told apart by nothing but the id)."""
        key = (wire.egress_topic(route), request_id)
        if key in self.waiting:
            raise XRoadError(
                409,
                "Client.DuplicateId",
                f"a call of {route} with X-Road-Id {request_id} is in progress",
            )
        if len(self.waiting) >= self.settings.max_pending:
            raise XRoadError(
                503, "Server.ClientProxy.ServiceUnavailable", "too many calls in progress"
            )
        mine = self.by_client.get(client, 0)
        if mine >= self.settings.max_pending_per_client:
            raise XRoadError(
                429,
                "Server.ClientProxy.QuotaExceeded",
                f"{client} has {mine} calls in progress here: wait for their answers",
                retry_after="1",
            )
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.waiting[key] = Waiting(client, service, future)
        self.by_client[client] = mine + 1
        return future

    def written(
        self, route: MemberId, request_id: str, where: Written, future: asyncio.Future[Answer]
    ) -> None:
        """The call ``request_id`` (the one :meth:`expect` gave ``future``) was written at
        ``where``: an error notice read before it was known is its answer if it is about that
        record."""
        key = (wire.egress_topic(route), request_id)
        call = self.waiting.get(key)
        if call is None or call.future is not future:
            return
        call.written = where
        early, call.early = call.early, []
        for answer in early:
            if about(where, answer.headers):
                self._answer(key, call, answer)
                return
            self.late += 1

    def forget(self, route: MemberId, request_id: str, future: asyncio.Future[Answer]) -> None:
        """The call :meth:`expect` gave ``future`` no longer waits: answered, timed out or
        failed. Only that call: once it was answered, a newer call with the same id (a retry,
        or another unit of the member) may wait under its key, and is left waiting."""
        key = (wire.egress_topic(route), request_id)
        call = self.waiting.get(key)
        if call is not None and call.future is future:
            self._drop(key)

    def _drop(self, key: tuple[str, str]) -> Waiting | None:
        """The call no longer waits (answered, timed out, failed): its client's place is free."""
        gone = self.waiting.pop(key, None)
        if gone is not None:
            left = self.by_client[gone.client] - 1
            if left:
                self.by_client[gone.client] = left
            else:
                del self.by_client[gone.client]
        return gone

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        await self._assigned.wait()
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    self.on_record(record)
                if records:
                    self.positions[tp] = records[-1].offset + 1

    def on_record(self, record: Any) -> None:
        headers = list(record.headers or ())
        if wire.header(headers, wire.H_KIND) not in (wire.KIND_RESPONSE, wire.KIND_ERROR):
            return  # a request to this member as a provider: not an answer
        correlation = wire.header(headers, wire.H_CORRELATION_ID)
        key = (record.topic, correlation or "")
        call = self.waiting.get(key) if correlation else None
        if call is None:
            self.late += 1  # no call waits for it here: timed out, or another gateway's
            return
        answer = Answer(headers, bytes(record.value or b""))
        if wire.header(headers, wire.H_KIND) == wire.KIND_ERROR:
            if call.written is None:  # read before the call's own write was acknowledged
                if len(call.early) < EARLY_NOTICES:
                    call.early.append(answer)
                return
            if not about(call.written, headers):
                self.late += 1  # about another record with the same id: not this call's
                return
        elif not answers(call, headers):
            self.late += 1  # another provider's response carrying the id
            return
        self._answer(key, call, answer)

    def _answer(self, key: tuple[str, str], call: Waiting, answer: Answer) -> None:
        self._drop(key)
        if not call.future.done():
            call.future.set_result(answer)


def answers(call: Waiting, headers: list[tuple[str, bytes]]) -> bool:
    """Whether a response with the call's id on its member's egress topic is its answer: it
    names the call's client and service (the router let only that service's provider send
    it)."""
    return (
        wire.header(headers, wire.H_CLIENT) == call.client
        and wire.header(headers, wire.H_SERVICE) == call.service
    )


def about(where: Written, headers: list[tuple[str, bytes]]) -> bool:
    """Whether an error notice is about the record written at ``where``: the router stamps
    every notice with the ingress coordinates of the record it refused, and no sender can set
    them. Ids are the callers': a record of another unit of the same member, refused with the
    same id, is not this call's refusal."""
    topic, partition, offset = where
    return (
        wire.header(headers, wire.H_SOURCE_TOPIC) == topic
        and wire.header(headers, wire.H_SOURCE_PARTITION) == str(partition)
        and wire.header(headers, wire.H_SOURCE_OFFSET) == str(offset)
    )
