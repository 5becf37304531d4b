"""Refusing a record: the log line, the counters, the dead-letter copy and the error notice.

Shared by the route stage and the quota stage; what is produced is built by
:func:`ndxp.router.forwarding.rejection_records` (pure).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ndxp.core.routing import Headers, Rejected
from ndxp.router.forwarding import Outgoing, Source, rejection_records
from ndxp.router.stats import RouterStats

log = logging.getLogger("ndxp.router")

Emit = Callable[[Outgoing], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Output:
    """Where the stages put what they produce, and what they count it in."""

    emit: Emit
    stats: RouterStats


async def reject(
    output: Output,
    decision: Rejected,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    extra: Headers = (),
    limit: str | None = None,
) -> None:
    """Count, log (never the payload) and produce the refusal of one record."""
    output.stats.on_rejected(decision.code, source.topic, limit)
    log.info(
        "rejected %s id=%s from %s: %s",
        decision.code.value,
        decision.message_id,
        source.topic,
        decision.detail,
        extra={
            "code": decision.code.value,
            "message_id": decision.message_id,
            "source": f"{source.topic}:{source.partition}:{source.offset}",
        },
    )
    now_ms = int(time.time() * 1000)
    for out in rejection_records(decision, source, key, value, headers, now_ms, extra):
        await output.emit(out)
