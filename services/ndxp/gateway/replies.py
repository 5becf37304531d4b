"""The answers to the gateway's calls: one consumer on the egress topics of the members the
gateway serves, and the calls waiting for an answer, by request id."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer

from ndxp.core import wire
from ndxp.core.xroad import XRoadError
from ndxp.kafka.io import consumer_at_end
from ndxp.settings import GatewaySettings

log = logging.getLogger("ndxp.gateway")


@dataclass(frozen=True)
class Answer:
    """A response or an error notice for a call: its headers and value, as routed."""

    headers: list[tuple[str, bytes]]
    value: bytes

    @property
    def kind(self) -> str | None:
        return wire.header(self.headers, wire.H_KIND)


class Replies:
    """Calls waiting for their answer (by the request's ``ndxp-id``) and the consumer that
    brings answers. Started before the gateway takes calls: it reads from the end of each
    egress partition as it was then, so no answer to a call made later is missed."""

    def __init__(self, settings: GatewaySettings, topics: list[str]) -> None:
        self.settings = settings
        self.topics = topics
        self.waiting: dict[str, asyncio.Future[Answer]] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.late = 0  # answers for calls no longer waiting (timed out, or another gateway's)

    async def start(self) -> None:
        consumer = await consumer_at_end(self.settings.bootstrap, self.topics, self.settings.auth)
        self.consumer = consumer
        self.task = asyncio.create_task(self._read(consumer), name="ndxp-gateway-replies")
        log.info("reading answers on %d egress topics", len(self.topics))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()
        for future in self.waiting.values():
            future.cancel()

    def expect(self, request_id: str) -> asyncio.Future[Answer]:
        """A future for the answer to ``request_id``; refuses an id already waiting here."""
        if request_id in self.waiting:
            raise XRoadError(
                409, "Client.DuplicateId", f"a call with X-Road-Id {request_id} is in progress"
            )
        if len(self.waiting) >= self.settings.max_pending:
            raise XRoadError(
                503, "Server.ClientProxy.ServiceUnavailable", "too many calls in progress"
            )
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = future
        return future

    def forget(self, request_id: str) -> None:
        self.waiting.pop(request_id, None)

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self.on_record(record)

    def on_record(self, record: Any) -> None:
        headers = list(record.headers or ())
        if wire.header(headers, wire.H_KIND) not in (wire.KIND_RESPONSE, wire.KIND_ERROR):
            return  # a request to this member as a provider: not an answer
        correlation = wire.header(headers, wire.H_CORRELATION_ID)
        future = self.waiting.pop(correlation, None) if correlation else None
        if future is None:
            self.late += 1
            return
        if not future.done():
            future.set_result(Answer(headers, bytes(record.value or b"")))
