"""Refusing a record: the log line, the counters, the dead-letter copy and the error notice,
and the refusal counted against its sender's allowance (a member whose refusals spent it has its
ingress topic's records held on the broker a while: :mod:`ndxp.core.refusal_allowance`).

Shared by the route stage and the quota stage; what is produced is built by
:func:`ndxp.router.forwarding.rejection_records` (pure).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ndxp.core import wire
from ndxp.core.envelope import Headers
from ndxp.core.refusal_allowance import RefusalAllowance
from ndxp.core.routing import Rejected
from ndxp.kafka import fair_drain
from ndxp.router.forwarding import Outgoing, Source, rejection_records
from ndxp.router.stats import RouterStats

log = logging.getLogger("ndxp.router")

Emit = Callable[[Outgoing], Awaitable[None]]


class LogBudget:
    """At most ``lines`` log lines per (source topic, code) in each ``window_s``: a member
    sending a million bad records must not decide how much the router writes to its log
    (a 1,000,000-record hostile run wrote 43.6 MiB of rejection lines). What is not written is
    counted, and said in one line when the next window opens; the metrics count every one."""

    def __init__(self, lines: int = 20, window_s: float = 60.0) -> None:
        self.lines = lines
        self.window_s = window_s
        self.spent: dict[tuple[str, str], list[float]] = {}  # key -> [window start, lines, held]

    def allow(self, topic: str, code: str, now: float) -> tuple[bool, int]:
        """Whether to log this one, and how many were held back in the window that ended."""
        key = (topic, code)
        state = self.spent.get(key)
        held = 0
        if state is None or now - state[0] >= self.window_s:
            if state is not None:
                held = int(state[2])
            if len(self.spent) > 10_000:  # topics are the registry's, codes a few: never
                self.spent.clear()
            state = self.spent[key] = [now, 0, 0]
        if state[1] < self.lines:
            state[1] += 1
            return True, held
        state[2] += 1
        return False, held


@dataclass(frozen=True, slots=True)
class Output:
    """Where the stages put what they produce, and what they count it in."""

    emit: Emit
    stats: RouterStats
    log_budget: LogBudget = field(default_factory=LogBudget)
    allowance: RefusalAllowance = field(default_factory=lambda: RefusalAllowance(0, 0))


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
    now = time.time()
    allowed, held = output.log_budget.allow(source.topic, decision.code.value, now)
    if held:
        log.info(
            "%d more %s rejections from %s were not logged (counted in the metrics)",
            held,
            decision.code.value,
            source.topic,
        )
    if allowed:
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
    now_ms = int(now * 1000)
    for out in rejection_records(decision, source, key, value, headers, now_ms, extra):
        await output.emit(out)
    if source.topic.startswith(wire.INGRESS_PREFIX):  # a member's (not the router's own topics)
        spend(output, source.topic)


def spend(output: Output, topic: str) -> None:
    """A refusal of a record of ``topic`` counted against its sender's allowance; when that is
    spent, the topic's records wait on the broker until it is back."""
    until = output.allowance.spend(topic, time.monotonic())
    if until is None or not fair_drain.hold(topic, until):
        return
    output.stats.on_held(topic)
    allowance = output.allowance
    if output.log_budget.allow(topic, "held", time.time())[0]:
        log.warning(
            "records of %s wait %.1f s on the broker: more than %d refusals at first and %g a "
            "second after (NDXP_ROUTER_REFUSALS_BURST, NDXP_ROUTER_REFUSALS_RATE)",
            topic,
            until - time.monotonic(),
            allowance.burst,
            allowance.rate,
        )
