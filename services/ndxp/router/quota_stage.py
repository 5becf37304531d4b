"""The router's quota stage: a request under a limit, decided against its client's state.

The state is a Faust table (memory store) co-partitioned with the stream that carries the
client's requests, written to a compacted changelog before every commit
(:class:`ndxp.router.quota_changelog.QuotaChangelog`). The decision itself is the pure core's
(:func:`ndxp.core.quota.decide`); this module reads the table, records the change, and routes
or refuses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ndxp.core import wire
from ndxp.core.budget import copy_bytes
from ndxp.core.errors import RejectionCode
from ndxp.core.quota import Limit, QuotaDecision, QuotaState, counted_as, decide
from ndxp.core.routing import Decision, FannedOut, Rejected, Routed, Router, quota_cost
from ndxp.core.topology import quota_changelog_topic
from ndxp.router.fan_out import fan_out
from ndxp.router.forwarding import Staged, quota_headers, routed
from ndxp.router.quota_changelog import QuotaChangelog, keyed_table
from ndxp.router.refusal import Output, reject
from ndxp.router.status_stage import StatusStage
from ndxp.settings import RouterSettings

log = logging.getLogger("ndxp.router.quota")


class QuotaStage:
    def __init__(
        self,
        app: Any,
        settings: RouterSettings,
        router: Router,
        output: Output,
        statuses: StatusStage,
        on_fatal: Callable[[], None],
    ) -> None:
        self.router, self.output, self.statuses = router, output, statuses
        changelog = quota_changelog_topic(settings.group)
        self.table = keyed_table(app, "quota", changelog, settings.partitions)
        self.changelog = QuotaChangelog(app, self.table, changelog, on_fatal)
        self.changelog.install()

    async def enforce(
        self,
        client_key: bytes,
        partition: int,
        staged: Staged,
        value: bytes | None,
        decided: Routed | FannedOut | None = None,
        limits: tuple[Limit, ...] = (),
    ) -> None:
        """Decide a request under a limit, on the partition where its client is counted.
        ``decided``: the routing decision just made for it here, against this registry, and
        ``limits`` the limits it was found under then; none for a home copy read back, which
        is decided again (the registry may have changed)."""
        assert decided is None or limits, "a decision made here comes with its limits"
        document: Decision | None = None
        if decided is None:
            registry = self.router.registry
            client = registry.subsystems.get(client_key.decode("utf-8", "replace"))
            kind = wire.header(staged.headers, wire.H_KIND) or ""
            service = counted_as(kind, wire.header(staged.headers, wire.H_SERVICE))
            if kind == wire.KIND_DOCUMENT:
                document = self._fanned_out(staged, value)
            limits = registry.limits_for(client, service) if client is not None else ()
        elif isinstance(decided, FannedOut):
            document = decided
        state = QuotaState(self.table.data.get(client_key) or {})
        source = staged.source
        now_ms = source.received_ms  # the platform's time of receipt, never the sender's
        cost = 1 if document is None else quota_cost(document)
        size = 0
        for limit in limits:
            if limit.bytes_rate is not None:  # bytes are counted where a limit counts them
                size = cost * copy_bytes(staged.key, value, staged.headers)
                break
        where = f"{source.topic}:{source.partition}"
        verdict = decide(state, limits, where, source.offset, now_ms, cost, size)
        if not verdict.replay:
            self.changelog.changed(client_key, partition, state.data)
        if verdict.refused:
            await self._refuse(staged, value, verdict, state, now_ms)
            return
        if document is not None:
            await self._fan_out(staged, value, document)
            return
        self.output.stats.on_routed(source.topic, source.received_ms)
        topic = wire.egress_topic(staged.route)
        routed_ms = int(time.time() * 1000)
        ticket = self._ticket(staged, decided)
        await self.output.emit(
            routed(
                topic, staged.key, value, staged.headers, staged.route, source, routed_ms, ticket
            )
        )

    def _ticket(self, staged: Staged, decided: Routed | FannedOut | None) -> bytes | None:
        """A request's ticket: from the decision made here, or, for a home copy read back
        (decided where it arrived), from its sender's headers (3 µs against 0.9: most
        requests are under a limit, and most arrive at home)."""
        if isinstance(decided, Routed):
            return self.router.ticket(decided.envelope)
        tickets = self.router.tickets
        return None if tickets is None else tickets.for_headers(staged.headers)

    def _fanned_out(self, staged: Staged, value: bytes | None) -> Decision:
        """A document decided again here, where it is counted (perhaps from a home copy)."""
        source = staged.source
        return self.router.decide(
            source.topic,
            staged.headers,
            0 if value is None else len(value),
            0 if staged.key is None else len(staged.key),
        )

    async def _fan_out(self, staged: Staged, value: bytes | None, decision: Decision) -> None:
        """A document within its sender's limits: a copy for each receiver."""
        source = staged.source
        if isinstance(decision, Rejected):  # the registry changed since it was first decided
            await reject(self.output, decision, source, staged.key, value, staged.headers)
        elif isinstance(decision, FannedOut):
            sender = self.router.registry.ingress.get(source.topic)
            await fan_out(
                self.output,
                self.statuses,
                decision,
                sender,
                source,
                staged.key,
                value,
                staged.headers,
            )

    async def _refuse(
        self,
        staged: Staged,
        value: bytes | None,
        verdict: QuotaDecision,
        state: QuotaState,
        now_ms: int,
    ) -> None:
        hit = verdict.hit
        extra: list[tuple[str, bytes | None]] = []
        if hit is not None:
            detail = hit.detail
            extra = quota_headers(hit, state.remaining(hit.limit, now_ms))
        else:
            detail = "over a limit when first decided (redelivered after a restart)"
        decision = Rejected(
            RejectionCode.QUOTA_EXCEEDED,
            detail,
            wire.header(staged.headers, wire.H_ID) or None,
            self.router.registry.ingress.get(staged.source.topic),
        )
        limit = None if hit is None else hit.limit.id
        await reject(
            self.output, decision, staged.source, staged.key, value, staged.headers, extra, limit
        )
