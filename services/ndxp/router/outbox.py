"""Where the router's agents put what they produce: straight into the app's aiokafka producer.

Faust's ``event.forward`` goes through its Topic, Channel, FutureMessage and attachment
machinery before reaching the same producer; in a profile of the router that machinery cost
more than aiokafka's own send. The records are the same, and so is the guarantee: Faust
flushes this producer (acks=all) before it commits any offset, so everything produced for a
message is on the broker before its offset is committed. A record the broker refuses after
the producer's retries is fatal (``on_failure``): the worker exits without committing, and a
restart re-reads what was not committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ndxp.router.forwarding import Outgoing

log = logging.getLogger("ndxp.router")


class Outbox:
    def __init__(self, app: Any, on_failure: Callable[[], None]) -> None:
        self.app = app
        self.on_failure = on_failure
        self._producer: Any = None

    async def put(self, out: Outgoing) -> None:
        producer = self._producer
        if producer is None:
            producer = self._producer = self.app.producer._ensure_producer()
        future = await producer.send(
            out.topic,
            out.value,
            key=out.key,
            partition=out.partition,
            timestamp_ms=out.timestamp_ms,
            headers=list(out.headers),
        )
        future.add_done_callback(self._delivered)

    def _delivered(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            log.critical(
                "the broker refused a record: %r; exiting so a supervisor restarts the worker",
                None if future.cancelled() else future.exception(),
            )
            self.on_failure()
