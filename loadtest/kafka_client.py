"""A Kafka client for Locust that never blocks a greenlet (see ../shared/STACK.md).

One per Locust process, created after fork (librdkafka does not survive it): a confluent-kafka
producer, and consumers that read every member's egress topic between them, each at most 40
partitions (:func:`answer_consumers`). Each consumer waits for answers in a thread of gevent's
pool (librdkafka lets go of the GIL while it waits), so a greenlet is woken by an answer's
arrival; the producer's delivery reports are served by ``poll(0)`` from a greenlet that yields
with ``gevent.sleep``. ``flush()`` is never called while the load runs.

A request's response time is its true round trip: produced → routed → the provider simulator
→ response routed → back on the requester's egress topic. Responses and error notices are
matched to requests by ``ndxp-correlation-id`` and reported to Locust through
``events.request``; a refusal is a failure named by its rejection code, a request with no
answer after ``timeout_s`` a ``TIMEOUT`` failure.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import gevent
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from ndxp.core.wire import (
    H_CORRELATION_ID,
    H_DOC_RECEIVER,
    H_ERROR,
    H_ID,
    H_KIND,
    KIND_DOCUMENT,
    header,
)

RECEIVE_WAIT_S = 0.1  # the longest a wait for answers lasts (how soon close() is served)
# the most egress partitions one answers' consumer reads (see ``answer_consumers``)
PARTITIONS_PER_CONSUMER = 40
DELIVERY_POLL_S = 0.005  # how often delivery reports are served (they only count)


def _produced(headers: list[tuple[str, bytes]]) -> list[tuple[str, str | bytes | None]]:
    """``headers`` as confluent-kafka's ``produce`` is annotated to take them (it only reads
    them; a list is invariant in its item type)."""
    return cast("list[tuple[str, str | bytes | None]]", headers)


class Refused(Exception):
    """An error notice from the router: the request was refused with this code."""


class Timeout(Exception):
    """No response or error notice within the timeout."""


@dataclass
class Pending:
    started: float  # perf_counter when produced
    name: str  # Locust's request name: the service
    receivers: int = 0  # a document: how many receivers must have it
    got: set[str] = field(default_factory=set)  # a document: the receivers that have it


@dataclass
class Counts:
    sent: int = 0  # produce() accepted
    delivered: int = 0  # acknowledged by the broker
    send_failed: int = 0
    answered: int = 0
    refused: int = 0
    timed_out: int = 0
    late: int = 0  # an answer after its request had timed out
    by_code: dict[str, int] = field(default_factory=dict)
    # one-way notices (nothing answers them): not in Locust's statistics, which are round trips
    notices_sent: int = 0
    notices_delivered: int = 0
    notices_failed: int = 0
    # documents: delivered (acknowledged) ones and the receivers they name; copies seen
    documents_delivered: int = 0
    deliveries_expected: int = 0
    copies_seen: int = 0


def producer_config(bootstrap: str) -> dict[str, Any]:
    """The requests' producer. ``linger.ms`` 0: each request is a clerk waiting for an answer,
    and librdkafka's linger held every one of them. Measured on the 2-core box
    (``python -m ndxp.bench.roundtrip``, the many-agency mix, 20 req/s): produce → broker ack
    p50 6.1-6.5 ms with 5 ms, 0.8 ms with 0 in isolation; in the round trip, the caller's ack
    p50 8.9-10.1 → 2.8-3.4 ms and the request's way to the router p50 14.6-17.6 → 8.9-10.3
    ms. At 1,000 tx/s batches still form while a request is in flight: ack p50 11.5-17.5 →
    5.9-6.1 ms, no loss of rate."""
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 0,
        # keys are client ids, hashed as Kafka's Java client does: every request of a client
        # lands on its partition (the router's inline quota stage needs it)
        "partitioner": "murmur2_random",
        "queue.buffering.max.messages": 500_000,
    }


def consumer_config(bootstrap: str) -> dict[str, Any]:
    """The answers' consumer: librdkafka's own fetch wait (500 ms). librdkafka keeps one fetch
    in flight to a broker and puts every partition in it, so the broker answers as soon as any
    of them has a record: a long wait delays nothing, and a short one (10 ms before) only sent
    the broker a fetch of every egress partition (~300) a hundred times a second when nothing
    came. Measured with the receiving thread below, the many-agency mix, 20 req/s (two
    interleaved runs of ``python -m ndxp.bench.roundtrip``, 2026-12-03): round trip p50
    40.6 / 28.3 ms with 10 ms, 31.1 / 24.8 ms with 500."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": f"ndxp-loadtest-{os.getpid()}",  # required; no offsets committed
        "enable.auto.commit": False,
    }


class KafkaClient:
    def __init__(
        self,
        bootstrap: str,
        egress_topics: Iterable[str],
        request_event: Any,
        timeout_s: float = 30.0,
    ) -> None:
        self.request_event = request_event
        self.timeout_s = timeout_s
        self.counts = Counts()
        self.pending: dict[str, Pending] = {}
        self.timed_out: set[str] = set()
        self.producer = Producer(producer_config(bootstrap))
        self.consumers = answer_consumers(bootstrap, sorted(set(egress_topics)))
        hub = gevent.get_hub()  # a pool thread waits for each consumer, and others need some
        hub.threadpool.maxsize = max(hub.threadpool.maxsize, len(self.consumers) + 4)
        self._stopping = False
        self._greenlets = [
            *(gevent.spawn(self._receive_loop, c) for c in self.consumers),
            gevent.spawn(self._deliver_loop),
            gevent.spawn(self._expire_loop),
        ]

    # -- sending -----------------------------------------------------------------------
    def request(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]], name: str
    ) -> None:
        message_id = header(headers, H_ID) or ""
        self.pending[message_id] = Pending(time.perf_counter(), name)
        while True:
            try:
                self.producer.produce(
                    topic, value, key=key, headers=_produced(headers), on_delivery=self._delivered
                )
                break
            except BufferError:  # the local queue is full: let librdkafka drain, yield
                self.producer.poll(0)
                gevent.sleep(0.005)
        self.counts.sent += 1

    def document(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        receivers: int,
        name: str,
    ) -> None:
        """A document to ``receivers`` agencies: its response time is sent → every receiver
        has its copy (seen on the receivers' egress topics); a receiver refused is a failure
        named by its code."""
        message_id = header(headers, H_ID) or ""
        self.pending[message_id] = Pending(time.perf_counter(), name, receivers)
        on_delivery = functools.partial(self._document_delivered, message_id, receivers)
        while True:
            try:
                self.producer.produce(
                    topic, value, key=key, headers=_produced(headers), on_delivery=on_delivery
                )
                break
            except BufferError:
                self.producer.poll(0)
                gevent.sleep(0.005)
        self.counts.sent += 1

    def _document_delivered(self, message_id: str, receivers: int, err: Any, msg: Any) -> None:
        if err is None:
            self.counts.delivered += 1
            self.counts.documents_delivered += 1
            self.counts.deliveries_expected += receivers
            return
        self.counts.send_failed += 1
        pending = self.pending.pop(message_id, None)
        if pending is not None:
            self._fire(pending, 0, KafkaException(err))

    def notify(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        """A one-way notice: produced, and counted once the broker acknowledges it. Nothing
        answers it, so it is not reported to Locust: its statistics stay round trips."""
        while True:
            try:
                self.producer.produce(
                    topic,
                    value,
                    key=key,
                    headers=_produced(headers),
                    on_delivery=self._notice_delivered,
                )
                break
            except BufferError:
                self.producer.poll(0)
                gevent.sleep(0.005)
        self.counts.notices_sent += 1

    def _notice_delivered(self, err: Any, msg: Any) -> None:
        if err is None:
            self.counts.notices_delivered += 1
        else:
            self.counts.notices_failed += 1

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is None:
            self.counts.delivered += 1
            return
        self.counts.send_failed += 1
        message_id = header(msg.headers() or [], H_ID) or ""
        pending = self.pending.pop(message_id, None)
        if pending is not None:
            self._fire(pending, 0, KafkaException(err))

    # -- receiving ---------------------------------------------------------------------
    def _receive_loop(self, consumer: Any) -> None:
        """Answers as they arrive: the wait is a thread's (gevent's pool), the matching this
        greenlet's. A greenlet that polled (``consume(timeout=0)``, then a 2 ms sleep when
        nothing came) found an answer up to its sleep late and woke 500 times a second when
        nothing came. Measured (the fetch wait at 10 ms in both, two interleaved runs of
        ``python -m ndxp.bench.roundtrip``, 2026-12-03): p50 at 1,000 tx/s 296 ms polling
        against 122 ms (the first pair, the broker still warming up: 1,624 against 264), and
        28.3 ms in both at 20 req/s."""
        pool = gevent.get_hub().threadpool
        while not self._stopping:
            for m in pool.apply(next_batch, (consumer,)):
                if m.error() is None:
                    self._answer(m)

    def _deliver_loop(self) -> None:
        while not self._stopping:
            self.producer.poll(0)
            gevent.sleep(DELIVERY_POLL_S)

    def _answer(self, m: Any) -> None:
        headers = m.headers() or []
        if header(headers, H_KIND) == KIND_DOCUMENT:
            self._copy(m, headers)
            return
        message_id = header(headers, H_CORRELATION_ID)
        if message_id is None:
            return
        pending = self.pending.pop(message_id, None)
        if pending is None:
            if message_id in self.timed_out:
                self.counts.late += 1
            return  # another process's request, or a duplicate
        kind = header(headers, H_KIND) or ""
        elapsed_ms = (time.perf_counter() - pending.started) * 1000
        if kind == "error":
            code = header(headers, H_ERROR) or "ERROR"
            self.counts.refused += 1
            self.counts.by_code[code] = self.counts.by_code.get(code, 0) + 1
            self._fire(pending, elapsed_ms, Refused(code), len(m.value() or b""))
        else:
            self.counts.answered += 1
            self._fire(pending, elapsed_ms, None, len(m.value() or b""))

    def _copy(self, m: Any, headers: list[tuple[str, bytes]]) -> None:
        """A document's copy on a receiver's egress topic: done once every receiver has one
        (a copy written again after a router crash is not counted twice)."""
        pending = self.pending.get(header(headers, H_ID) or "")
        if pending is None:
            return
        self.counts.copies_seen += 1
        pending.got.add(header(headers, H_DOC_RECEIVER) or "")
        if len(pending.got) >= pending.receivers:
            del self.pending[header(headers, H_ID) or ""]
            self.counts.answered += 1
            self._fire(pending, (time.perf_counter() - pending.started) * 1000, None)

    def _expire_loop(self) -> None:
        while not self._stopping:
            gevent.sleep(1.0)
            self.expire()

    def expire(self) -> None:
        limit = time.perf_counter() - self.timeout_s
        late = [i for i, p in self.pending.items() if p.started < limit]
        for message_id in late:
            pending = self.pending.pop(message_id)
            self.timed_out.add(message_id)
            self.counts.timed_out += 1
            self._fire(pending, self.timeout_s * 1000, Timeout(f"no answer in {self.timeout_s:g}s"))

    def _fire(self, p: Pending, ms: float, exc: Exception | None, length: int = 0) -> None:
        self.request_event.fire(
            request_type="kafka",
            name=p.name,
            response_time=ms,
            response_length=length,
            exception=exc,
            context={},
        )

    # -- the end -----------------------------------------------------------------------
    def drain(self, wait_s: float) -> None:
        """After the load: deliver what is queued, then wait for the answers still due."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and (len(self.producer) or self.pending):
            gevent.sleep(0.05)
        self.expire_all()

    def expire_all(self) -> None:
        self.timeout_s = 0.0
        self.expire()

    def close(self) -> None:
        self._stopping = True
        gevent.joinall(self._greenlets, timeout=2)
        self.producer.flush(10)
        for consumer in self.consumers:
            consumer.close()


def answer_consumers(bootstrap: str, topics: list[str]) -> list[Any]:
    """The answers' consumers, each reading at most ``PARTITIONS_PER_CONSUMER`` of the egress
    partitions from now on (no consumer group, no rebalance). Not one for all: librdkafka
    does not use Kafka's incremental fetch sessions (KIP-227), so each of its fetches names
    every partition its consumer reads (296.8 of 297 on average in Kafka's request log, against
    1.6 for the router's fetches), and the broker reads and answers for each. This process
    plays every member, where a member's own client reads its own few partitions: with one
    consumer, each answer's arrival cost the broker a fetch of ~300. Round trips, four
    interleaved pairs (``python -m ndxp.bench.roundtrip --broker-port 19394 --rate 20 --rate
    200 --rate 1000 --seconds 15``, 2026-12-03), p50 with eight consumers of 40 against one:
    18.8-22.5 against 22.5-26.3 ms at 20 req/s, 34.3-245 against 39.9-954 at 200, 94-187
    against 140-214 at 1,000 (shorter in 10 of the 12 pairs, one tie)."""
    probe = Consumer(consumer_config(bootstrap))
    try:
        metadata = probe.list_topics(timeout=30)
    finally:
        probe.close()
    wanted = [
        TopicPartition(t, p)
        for t in topics
        if t in metadata.topics
        for p in sorted(metadata.topics[t].partitions)
    ]
    consumers = []
    for start in range(0, len(wanted), PARTITIONS_PER_CONSUMER):
        consumer = Consumer(consumer_config(bootstrap))
        assign_from_now(consumer, wanted[start : start + PARTITIONS_PER_CONSUMER])
        consumers.append(consumer)
    return consumers


LEADERS_WAIT_S = 30.0  # a topic made just now: its partitions' leaders may not be known yet
_NO_LEADER_YET = frozenset(
    (
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    )
)


def assign_from_now(consumer: Any, partitions: list[Any]) -> None:
    """Read ``partitions`` from now on. A topic created a moment ago may have no leader the
    broker knows of yet (``NOT_LEADER_FOR_PARTITION``; it failed a test run once): asked again
    for up to :data:`LEADERS_WAIT_S`."""
    now_ms = int(time.time() * 1000)
    wanted = [TopicPartition(tp.topic, tp.partition, now_ms) for tp in partitions]
    deadline = time.monotonic() + LEADERS_WAIT_S
    while True:
        try:
            resolved = consumer.offsets_for_times(wanted, timeout=30)
            break
        except KafkaException as exc:
            code = exc.args[0].code() if exc.args else None
            if code not in _NO_LEADER_YET or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    for tp in resolved:
        if tp.offset < 0:  # nothing at or after now: start at the end
            tp.offset = consumer.get_watermark_offsets(tp, timeout=30)[1]
    consumer.assign(resolved)


def next_batch(consumer: Any) -> list[Any]:
    """In the pool's thread: the first answer within ``RECEIVE_WAIT_S`` and whatever else
    librdkafka holds. ``poll`` returns with the first; ``consume`` with a timeout waited
    for all it asked for or the whole timeout before confluent-kafka 2.13
    (confluent-kafka-python#407, #2205)."""
    first = consumer.poll(RECEIVE_WAIT_S)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=999, timeout=0)]
