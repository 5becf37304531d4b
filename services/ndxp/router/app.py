"""The router: a Faust app whose agents are thin adapters over the pure core.

1. **route** (ingress topics): :mod:`ndxp.core.routing` decides. Responses, rejections and
   requests with no limit go straight to their topics.
2. **quota** (:mod:`ndxp.router.quota_stage`): a request under a limit is decided by
   :mod:`ndxp.core.quota` against its client's state in a Faust table backed by a compacted
   changelog (:mod:`ndxp.router.quota_changelog`: each dirty client's state is written and
   acknowledged before every commit). All of one client's requests are counted on its home
   partition of its member's ingress topic, in that log's order, the table co-partitioned with
   the ingress topics (``settings.quota_stage``, :mod:`ndxp.router.route_stage`): ``home``
   writes a request that arrived elsewhere again on the home partition (a sealed home copy);
   ``inline`` refuses it ``MISPARTITIONED``.

   A decision depends only on the state and the request's time of receipt (the broker's, in
   the log), so a restart that re-reads requests decides them exactly as before; one the state
   already covers gets its first decision back and is not charged twice. Counts stay exact
   across crashes.

Delivery: each agent event carries the runs of one fetch, a run per partition
(:mod:`ndxp.router.runs`; ``NDXP_ROUTER_DELIVERY=events`` restores Faust's one event per
record), so Faust's per-event cost is paid once per fetch. :mod:`ndxp.router.in_order` makes
each agent process every offset of its partitions once and in order, and commit only what it
processed, working around message-loss races in faust-streaming. Agents produce through
:class:`ndxp.router.outbox.Outbox` (into aiokafka's open batches directly); Faust flushes that
producer (acks=all) before it commits offsets, so every record produced for a message is on
the broker before its offset is committed. Agent concurrency stays 1 (faust-streaming#606).
An unexpected error (the broker refusing a write after retries) is fatal: the worker exits
non-zero and redelivery after restart loses nothing.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from typing import Any

import faust
from faust.types.enums import ProcessingGuarantee

from ndxp.core.refusal_allowance import RefusalAllowance
from ndxp.core.registry import Registry
from ndxp.core.routing import Router
from ndxp.core.ticket import Tickets, ticket_key
from ndxp.core.topology import (
    DEAD_LETTER_MAX_MESSAGE_BYTES,
    internal_topics,
    topics_for,
)
from ndxp.kafka import fair_drain, fetch_plan, records
from ndxp.kafka.admin import ensure_topics
from ndxp.metrics import CONTENT_TYPE
from ndxp.router import recovery_watch, route_stage, status_stage
from ndxp.router.faust_fixes import (
    commit_once,
    direct_delivery,
    fetch_as_asked,
    fetch_limits,
    idempotent_producer,
)
from ndxp.router.in_order import deliver_in_order
from ndxp.router.outbox import Outbox
from ndxp.router.quota_stage import QuotaStage
from ndxp.router.refusal import Output
from ndxp.router.registry_feed import follow
from ndxp.router.registry_watch import RegistryWatch
from ndxp.router.runs import RunSchema, after_run, deliver_runs
from ndxp.router.runs import agent as runs_agent
from ndxp.router.stats import RouterStats, member_of
from ndxp.router.web_pages import built_in_views_off
from ndxp.settings import DeliveryMode, QuotaStageMode, RouterSettings

log = logging.getLogger("ndxp.router")
EXIT_FATAL = 70


def create_app(settings: RouterSettings, registry: Registry, seal_key: bytes = b"") -> faust.App:
    """The router's Faust app. ``seal_key``: the group's key sealing home copies
    (:mod:`ndxp.kafka.seal`; required when quotas are on)."""
    runs = settings.delivery is DeliveryMode.RUNS
    app = faust.App(
        settings.group,
        broker=f"kafka://{settings.bootstrap}",
        broker_credentials=settings.auth.faust_credentials(),
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_disable_leader=True,
        topic_allow_declare=False,
        topic_partitions=settings.partitions,
        web_host="127.0.0.1",
        web_bind="127.0.0.1",  # Faust binds 0.0.0.0 unless told: health and metrics stay local
        web_port=settings.web_port,
        web_in_thread=False,
        producer_acks=-1,
        producer_linger=settings.producer_linger_s,
        producer_max_batch_size=settings.producer_max_batch_size,
        # every copy, home copy and changelog record (ndxp.core.budget counts the codec in)
        producer_compression_type=None if settings.compression == "none" else settings.compression,
        producer_max_request_size=DEAD_LETTER_MAX_MESSAGE_BYTES + 64 * 1024,
        broker_max_poll_records=settings.max_poll_records,
        consumer_max_fetch_size=settings.max_fetch_bytes,
        # a run is one event: a few runs buffered are thousands of records
        stream_buffer_maxsize=settings.run_buffer if runs else settings.stream_buffer_maxsize,
        broker_commit_interval=settings.commit_interval_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        # No standby copies of the tables: a worker that took over a partition it held as a
        # standby hung in Faust's recovery ("No event received for active tp … since recovery
        # start", seen in tests/integration/test_quota.py's dying-worker test), the changelog
        # record it had read as a standby never read again as active. The tables' changelogs
        # are compacted and small (a record per client, per delivery): read whole on takeover.
        table_standby_replicas=0,
        datadir=str(settings.var / "faust" / settings.group),
        **built_in_views_off(),  # Faust's table, graph and debug pages: off
    )
    # a transactional sender's commit and abort markers reach the in-order guard as
    # placeholders, so they never leave a gap it would seek back over for ever (Faust reads
    # committed only for exactly-once processing, which the router does not use)
    guarantee: Any = app.conf.processing_guarantee  # typed as the enum's class by Faust
    if guarantee == ProcessingGuarantee.EXACTLY_ONCE:
        raise RuntimeError("the router reads uncommitted: exactly-once processing is not built")
    records.pass_markers()
    tickets = Tickets(ticket_key(seal_key)) if settings.tickets else None
    if tickets is None:
        log.warning("NDXP_ROUTER_TICKETS=off: responses are routed without their request's ticket")
    router = Router(registry, settings.max_value_bytes, tickets)
    stats = RouterStats()
    watch = RegistryWatch(settings.registry_path, registry)
    ingress = app.topic(*sorted(registry.ingress), schema=RunSchema())
    subscribed: list[str] = list(ingress.topics)
    ingress.topics = subscribed  # a list the agent's channel shares: see reload
    inline = settings.quota_stage is QuotaStageMode.INLINE
    refusals_rate = settings.refusals_rate
    if refusals_rate and not fetch_plan.shares_fairly():
        log.warning(
            "NDXP_FETCH_FAIR=off: no member is held for its refusals (the fair drain holds)"
        )
        refusals_rate = 0
    allowance = RefusalAllowance(refusals_rate, settings.refusals_burst)
    output = Output(Outbox(app, exit_fatal).put, stats, allowance=allowance)
    statuses = status_stage.create(app, settings, seal_key, exit_fatal)
    subscribed.append(statuses.topic)  # read with the ingress topics: the same delivery
    quota = (
        QuotaStage(app, settings, router, output, statuses, exit_fatal) if settings.quotas else None
    )
    ingress_stage = route_stage.Ingress(
        router, output, quota, statuses, inline, settings.partitions, seal_key
    )

    route_one = functools.partial(route_stage.route, ingress_stage)

    order = deliver_in_order(  # see ndxp.router.in_order: message-loss races in Faust
        app, lambda tp: tp.topic in ingress.topics
    )

    fetch_limits(app, settings.fetch_max_wait_ms, settings.max_fetch_total_bytes)
    fetch_as_asked(app)  # what Faust asked for, not what its set holds later
    # the tables' changelogs are read at takeover only: afterwards their records, which
    # aiokafka keeps fetched, must not keep the consumer off its long poll (kafka/fetch_plan.py)
    fetch_plan.read_for_recovery(
        table.changelog_topic.get_topic_name() for table in app.tables.values()
    )
    idempotent_producer(app)
    if settings.commit_once:
        commit_once(app)
    if settings.direct_delivery:
        direct_delivery(app)
    if runs:
        deliver_runs(app, order, lambda tp: "ingress", settings.queued_records, settings.run_buffer)

    on_run = functools.partial(
        after_run,
        stats.on_run,
        "route",
        settings.switch_interval_ms,
        settings.busy_switch_interval_ms,
    )
    app.agent(ingress, concurrency=1, name="ndxp.router.route")(
        runs_agent(route_one, order, runs, settings.batch, on_run, exit_fatal)
    )

    async def apply_registry(new: Registry) -> None:
        """Put a new registry version in force: topics first, then routing, then the
        subscription (a newly connected member can send and receive at once)."""
        if new.version == router.registry.version:
            return  # e.g. the topic's latest record is the file it was started with
        await ensure_topics(
            settings.bootstrap,
            [
                *topics_for(new, settings.partitions, settings.topic_config),
                *internal_topics(settings.group, settings.partitions),
            ],
            settings.auth,
            settings.replication,
        )
        router.registry = new
        log.info("registry version %s in force", new.version)
        added = sorted(set(new.ingress) - set(ingress.topics))
        if added:
            # Faust shares this list with the agent's channel; the conductor resubscribes.
            subscribed.extend(added)
            app.topics._resubscribe_sleep_lock_seconds = 1.0  # type: ignore[attr-defined]
            app.topics._flag_changes()  # type: ignore[attr-defined]
            log.info("subscribing to %d new ingress topic(s): %s", len(added), ", ".join(added))

    @app.timer(interval=1.0)
    async def seek_back_dropped() -> None:
        await order.sweep()

    @app.timer(interval=1.0)
    async def exit_if_fetching_ended() -> None:
        """A fetcher that ended leaves a worker up, its health answering, and nothing routed
        (a hostile run saw Faust's hang in "Wait for streams..." with /health ready): exit,
        so a supervisor starts it again; nothing uncommitted is lost."""
        try:
            recovery_watch.check_fetching(app, exit_fatal)
        except Exception:  # a watch must never be what stops a worker
            log.exception("the fetch watch failed")

    nudged = recovery_watch.Nudged()

    @app.timer(interval=settings.recovery_check_s)
    async def watch_table_recovery() -> None:
        try:
            await recovery_watch.check_recovery(
                app, settings.recovery_stall_s, settings.recovery_give_up_s, exit_fatal, nudged
            )
        except Exception:
            log.exception("the table recovery watch failed")

    @app.timer(interval=settings.doc_sweep_s)
    async def forget_finished_deliveries() -> None:
        """Deliveries finished more than ``doc_keep_days`` ago, and open ones with nothing
        said for ``doc_open_days``, leave the document state."""
        assigned = app.consumer.assignment() if app.consumer else set()
        mine = {tp.partition for tp in assigned if tp.topic == statuses.topic}
        now = time.time()
        cutoff = int((now - settings.doc_keep_days * 86_400) * 1000)
        open_cutoff = int((now - settings.doc_open_days * 86_400) * 1000)
        dropped = await status_stage.sweep(statuses, mine, cutoff, open_cutoff)
        if dropped:
            # now, not at the next commit (which waits for traffic); a state written ahead
            # of the commits is what the changelog allows
            await statuses.changelog.check(await statuses.changelog.write())
            log.info("%d finished or idle deliveries left the document state", dropped)

    @app.timer(interval=settings.registry_reload_s)
    async def reload_registry_file() -> None:
        new = watch.poll()
        if new is not None:
            await apply_registry(new)

    @app.task
    async def follow_registry_topic() -> None:
        await follow(settings.bootstrap, settings.registry_topic, apply_registry, settings.auth)

    stats.watch(
        order.lag,
        lambda: router.registry.version,
        lambda: order.holes,
        lambda: 0 if quota is None else quota.changelog.records,
    )

    @app.page("/metrics")
    async def metrics(self: Any, request: Any) -> Any:
        return self.bytes(stats.exposition(), headers={"Content-Type": CONTENT_TYPE})

    @app.page("/health")
    async def health(self: Any, request: Any) -> Any:
        """Up, ready (partitions assigned) and caught up (lag under a threshold)."""
        assigned = len(app.consumer.assignment()) if app.consumer else 0
        behind = int(sum(v for _, v in order.lag()))
        now = time.monotonic()
        body = {
            "status": "ok",
            "ready": assigned > 0,
            "caught_up": assigned > 0 and behind <= settings.caught_up_lag,
            "lag": behind,
            "assigned_partitions": assigned,
            "registry_version": router.registry.version,
            "ingress_topics": len(router.registry.ingress),
            "quotas": settings.quotas,
            "quota_stage": settings.quota_stage,
            "quota_clients": 0 if quota is None else len(quota.table),
            "delivery_holes": order.holes,
            # members whose records wait on the broker, their refusals' allowance spent: the
            # seconds until they are read again (core/refusal_allowance.py), rounded up to a
            # tenth, so a member still held never reads 0.0
            "held": {
                member_of(topic): math.ceil((until - now) * 10) / 10
                for topic, until in fair_drain.holds(now).items()
            },
            "quota_changelog_records": 0 if quota is None else quota.changelog.records,
            **stats.snapshot(),
        }
        return self.json(body, status=200 if assigned > 0 else 503)

    return app


def exit_fatal() -> None:
    """Exit at once, non-zero, without committing: redelivery after a restart loses nothing."""
    logging.shutdown()
    os._exit(EXIT_FATAL)
