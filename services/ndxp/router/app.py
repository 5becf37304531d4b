"""The router: a Faust app whose one agent is a thin adapter over :mod:`ndxp.core.routing`.

At-least-once: Faust commits an offset only after flushing the producer, so every
record produced for the messages it covers has been acknowledged by the broker
(acks=all). Agent concurrency stays 1 (faust-streaming#606). An unexpected error
(the broker refusing a write after retries) is fatal: the worker exits non-zero
and redelivery after restart loses nothing.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import faust
from faust.types import EventT

from ndxp.core.registry import Registry
from ndxp.core.routing import Rejected, Router
from ndxp.core.topology import MAX_MESSAGE_BYTES, topics_for
from ndxp.kafka_admin import ensure_topics
from ndxp.router.forwarding import (
    Outgoing,
    Source,
    producible,
    rejection_records,
    routed_headers,
)
from ndxp.router.registry_watch import RegistryWatch
from ndxp.router.stats import RouterStats
from ndxp.settings import RouterSettings

log = logging.getLogger("ndxp.router")
EXIT_FATAL = 70


def create_app(settings: RouterSettings, registry: Registry) -> faust.App:
    app = faust.App(
        settings.group,
        broker=f"kafka://{settings.bootstrap}",
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_disable_leader=True,
        topic_allow_declare=False,
        web_host="127.0.0.1",
        web_port=settings.web_port,
        web_in_thread=False,
        producer_acks=-1,
        producer_linger=settings.producer_linger_s,
        producer_max_batch_size=settings.producer_max_batch_size,
        producer_max_request_size=MAX_MESSAGE_BYTES + 64 * 1024,
        broker_max_poll_records=settings.max_poll_records,
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        broker_commit_interval=settings.commit_interval_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        datadir=str(settings.var / "faust" / settings.group),
    )
    router = Router(registry, settings.max_value_bytes)
    stats = RouterStats()
    watch = RegistryWatch(settings.registry_path, registry)
    ingress = app.topic(
        *sorted(registry.ingress),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    ingress.topics = list(ingress.topics)  # a list the agent's channel shares: see reload
    topics: dict[str, Any] = {}

    def topic(name: str) -> Any:
        """One Topic object per destination (Faust builds a new one per send otherwise)."""
        found = topics.get(name)
        if found is None:
            found = topics[name] = app.topic(name, key_serializer="raw", value_serializer="raw")
        return found

    async def emit(event: EventT[Any, Any], out: Outgoing) -> None:
        # Faust takes seconds and truncates seconds*1000 to an int: +0.5 ms keeps it exact.
        timestamp = None if out.timestamp_ms is None else (out.timestamp_ms + 0.5) / 1000
        await event.forward(
            topic(out.topic),
            key=out.key,
            value=out.value,
            headers=out.headers,
            timestamp=timestamp,
        )

    async def handle(event: EventT[Any, Any]) -> None:
        message = event.message
        headers = _header_list(message.headers)
        value = message.value
        decision = router.decide(message.topic, headers, 0 if value is None else len(value))
        now_ms = int(time.time() * 1000)
        produced_ms = _timestamp_ms(message.timestamp)
        if isinstance(decision, Rejected):
            stats.on_rejected(decision.code)
            log.info(
                "rejected %s id=%s from %s: %s",
                decision.code.value,
                decision.message_id,
                message.topic,
                decision.detail,
            )
            source = Source(message.topic, message.partition, message.offset, produced_ms)
            for out in rejection_records(decision, source, message.key, value, headers, now_ms):
                await emit(event, out)
            return
        stats.on_routed()
        key, value = producible(message.key, value)
        out_headers = routed_headers(headers, decision, now_ms)
        await emit(event, Outgoing(decision.topic, key, value, out_headers, produced_ms))

    @app.agent(ingress, concurrency=1, name="ndxp.router.route")
    async def route(stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            try:
                await handle(event)
            except Exception:
                log.critical(
                    "cannot produce; exiting so a supervisor restarts the worker", exc_info=True
                )
                logging.shutdown()
                os._exit(EXIT_FATAL)

    @app.timer(interval=settings.registry_reload_s)
    async def reload_registry() -> None:
        new = watch.poll()
        if new is None:
            return
        await ensure_topics(
            settings.bootstrap, topics_for(new, settings.partitions, settings.topic_config)
        )
        router.registry = new
        added = sorted(set(new.ingress) - set(ingress.topics))
        if added:
            # Faust shares this list with the agent's channel; the conductor resubscribes.
            ingress.topics.extend(added)
            app.topics._resubscribe_sleep_lock_seconds = 1.0  # type: ignore[attr-defined]
            app.topics._flag_changes()  # type: ignore[attr-defined]
            log.info("subscribing to %d new ingress topic(s): %s", len(added), ", ".join(added))

    @app.page("/health")
    async def health(self: Any, request: Any) -> Any:
        assigned = len(app.consumer.assignment()) if app.consumer else 0
        body = {
            "status": "ok",
            "ready": assigned > 0,
            "assigned_partitions": assigned,
            "registry_version": router.registry.version,
            "ingress_topics": len(router.registry.ingress),
            **stats.snapshot(),
        }
        return self.json(body, status=200 if assigned > 0 else 503)

    return app


def _timestamp_ms(timestamp: float | None) -> int | None:
    """Faust gives the record's Kafka timestamp in seconds."""
    return None if timestamp is None else round(timestamp * 1000)


def _header_list(headers: Any) -> list[tuple[str, bytes]]:
    if not headers:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)
