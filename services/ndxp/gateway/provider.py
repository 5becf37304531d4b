"""The provider side of the HTTP gateway (``ndxp provide``): requests routed to a subsystem whose
registry entry declares an HTTP endpoint become HTTP calls to it — method, path, query,
end-to-end headers and body rebuilt from the Kafka request — and the HTTP answer (status,
headers, body) goes back as the ndxp response, on the provider's ingress topic.

Per endpoint: at most ``concurrency`` calls in flight and ``timeout_s`` each; a call that
fails to connect or times out is tried again (``retries``) only when its method is idempotent.
A provider's own error answers pass through as they are; an unreachable provider, a timeout,
or an answer over the value limit is answered for it in X-Road's form (502/504 with
``ndxp-http-error``). One call is :mod:`ndxp.gateway.provider_call`; this module reads the
requests, publishes the answers and commits.

Each request is worked on by itself, so a provider that hangs holds its own calls only, never
another provider's. A partition's offset is committed (every ``commit_interval_s``) only up to
its first request whose response the broker has not acknowledged (:mod:`ndxp.core.pending`):
at least once, as a restart may call a provider again for the same request."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from ndxp import heap
from ndxp.core import answer as answers
from ndxp.core import wire, xroad
from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import ServiceId
from ndxp.core.pending import Pending
from ndxp.core.registry import Registry
from ndxp.gateway.provider_call import Provided, call, error_answer
from ndxp.kafka.io import producer
from ndxp.settings import ProviderSettings

log = logging.getLogger("ndxp.provide")


def topics(registry: Registry) -> list[str]:
    """The egress topics where requests to the HTTP subsystems arrive."""
    routes = {registry.subsystems[s].route for s in registry.endpoints}
    return sorted(wire.egress_topic(r) for r in routes if r is not None)


def subsystem_of(registry: Registry, service: str | None) -> str | None:
    """The HTTP subsystem a request is for, or ``None`` (not one of ours)."""
    if not service or not registry.endpoints:
        return None
    try:
        sub = subsystem_of_service(service)
    except InvalidIdentifier:
        return None
    return sub if sub in registry.endpoints else None


@functools.lru_cache(maxsize=xroad.PARSED_CACHE)
def subsystem_of_service(service: str) -> str:
    """The subsystem a service id (as text) belongs to. Cached, bounded: the adapter asks it
    of every request it reads, and a few hundred services are ever named (parsing and naming
    the identifiers of a call was ~35 µs of its ~340 µs; under 1 now). Only what parses is
    kept: a refusal is raised, never remembered, so a sender's garbage (a header up to
    64 KiB) never fills it."""
    return str(ServiceId.parse(service).subsystem)


async def serve(settings: ProviderSettings, registry: Registry) -> None:
    """Run until cancelled."""
    wanted = topics(registry)
    if not wanted:
        log.warning("no subsystem in the registry declares an HTTP endpoint: nothing to do")
        await asyncio.Event().wait()
    provided = Provided(settings, registry)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        group_id=settings.group,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        **settings.auth.aiokafka(),
    )
    p = producer(settings.bootstrap, settings.auth, linger_ms=0)
    await p.start()
    await consumer.start()
    pending = Pending()
    consumer.subscribe(wanted, listener=Anchor(consumer, pending))
    connector = aiohttp.TCPConnector(limit=0)  # limits are per endpoint (the semaphores)
    # the answer's bytes pass as the provider sent them, with their Content-Encoding: nothing
    # is asked for compressed that the caller did not ask for (its Accept-Encoding crosses),
    # and nothing is decompressed (aiohttp's defaults did both, and a gzip answer reached its
    # caller decompressed but still labelled gzip)
    provided.session = aiohttp.ClientSession(
        connector=connector, auto_decompress=False, skip_auto_headers=("Accept-Encoding",)
    )
    room = asyncio.Semaphore(settings.max_in_flight)
    working: set[asyncio.Task[None]] = set()
    heap.settle()  # before it says it serves: no call waits on the collection
    log.info("calling %d HTTP subsystem(s) for requests on %s", len(registry.endpoints), wanted)
    try:
        next_commit = time.monotonic() + settings.commit_interval_s
        while True:
            timeout_ms = max(1, int((next_commit - time.monotonic()) * 1000))
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=1000)
            for tp, records in batches.items():
                for record in records:
                    await room.acquire()  # a full house waits here: no more is fetched
                    pending.take(tp, record.offset)
                    task = asyncio.create_task(work(provided, p, pending, tp, record))
                    working.add(task)
                    task.add_done_callback(working.discard)
                    task.add_done_callback(lambda _t: room.release())
            if time.monotonic() >= next_commit:
                await commit(consumer, pending)
                next_commit = time.monotonic() + settings.commit_interval_s
    finally:
        for task in working:
            task.cancel()
        await asyncio.gather(*working, return_exceptions=True)
        await provided.session.close()
        await consumer.stop()
        await p.stop()


class Anchor(ConsumerRebalanceListener):  # type: ignore[misc]
    """A partition the group has never committed starts at its end ("latest"), and that end
    is committed at once: an adapter killed before its first commit would otherwise leave the
    next one to start at the end again, past the requests it had taken and not answered. A
    partition revoked is forgotten (its unanswered requests are the next owner's)."""

    def __init__(self, consumer: AIOKafkaConsumer, pending: Pending) -> None:
        self.consumer = consumer
        self.pending = pending

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            self.pending.drop(tp)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        starts = {}
        for tp in assigned:
            if await self.consumer.committed(tp) is None:
                starts[tp] = await self.consumer.position(tp)
        if starts:
            await self.consumer.commit(starts)
        # what whoever started it waits for: requests routed from now on are answered
        log.info("answering requests on %d partition(s)", len(assigned))


async def commit(consumer: AIOKafkaConsumer, pending: Pending) -> None:
    """Commit what every partition has answered up to; forget revoked partitions."""
    assigned = consumer.assignment()
    for tp in pending.partitions():
        if tp not in assigned:
            pending.drop(tp)  # its unanswered requests are the next owner's
    offsets = {tp: o for tp, o in pending.committable().items() if tp in assigned}
    if not offsets:
        return
    try:
        await consumer.commit(offsets)
    except KafkaError as exc:  # a rebalance: the next owner answers them again (at least once)
        log.warning("commit refused (%s): %s", type(exc).__name__, exc)


async def work(provided: Provided, p: Any, pending: Pending, tp: Any, record: Any) -> None:
    """Answer one record, then mark it finished once the broker has its response. An answer
    the broker refuses (too large with its headers, say) is replaced by an X-Road error, and
    so is any failure to call for a request (a bug, or a request the HTTP client refuses to
    send); if even that cannot be published, the record is finished all the same: one record
    never holds its partition's commits (its caller's gateway answers it 504)."""
    try:
        delivery = await answer(provided, p, record)
        if delivery is not None:
            await delivery  # acknowledged by the broker (acks=all)
    except KafkaError as exc:
        log.error("the answer to a request on %s was not published: %s", tp, exc)
        await answer_failure(
            p, record, f"the provider's answer could not be published: {type(exc).__name__}"
        )
    except Exception as exc:
        provided.failed += 1
        log.error("a request on %s@%d could not be called: %r", tp, record.offset, exc)
        await answer_failure(p, record, f"the call could not be made: {type(exc).__name__}")
    pending.finish(tp, record.offset)


async def answer_failure(p: Any, record: Any, message: str) -> None:
    """Answer a call request for its provider with a 502 ``ServiceFailed`` (nothing for a
    one-way notice); a failure to publish it is logged."""
    request = list(record.headers or ())
    if wire.header(request, wire.H_KIND) != wire.KIND_REQUEST:
        return
    headers, body = error_answer(request, 502, "Server.ServerProxy.ServiceFailed", message)
    try:
        await (await p.send(answers.topic(record.topic), body, key=record.key, headers=headers))
    except KafkaError as again:
        log.error("nor its error answer: %s", again)


async def answer(provided: Provided, p: Any, record: Any) -> Any:
    """The response to ``record`` handed to the producer (its delivery future), or ``None``
    for a record that is not a request this adapter answers. A one-way notice is delivered
    as the same HTTP call, and what the provider answers goes nowhere."""
    request = list(record.headers or ())
    kind = wire.header(request, wire.H_KIND)
    if kind not in wire.CALL_KINDS:
        return None
    subsystem = subsystem_of(provided.registry, wire.header(request, wire.H_SERVICE))
    if subsystem is None:
        return None  # a service this adapter does not call (a Kafka client answers it)
    headers, body = await call(provided, provided.registry.endpoints[subsystem], subsystem, record)
    if kind == wire.KIND_NOTICE:
        return None
    return await p.send(answers.topic(record.topic), body, key=record.key, headers=headers)
