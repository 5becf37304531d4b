"""Locust load test for ndxp: each user is a connected member's client system calling services.

Run through ``make loadtest PROFILE=steady DURATION=60`` (headless, then verified against the
ledger: ``loadtest/run.py``), or ``.venv/bin/locust -f loadtest/locustfile.py`` for the web UI
(http://localhost:8089) against a platform started with ``make run``. Distributed mode works as
usual (``--master`` / ``--worker``, or ``--processes N``): every process opens its own Kafka
client after fork.

Environment:
  NDXP_BOOTSTRAP        the broker (default 127.0.0.1:9092)
  NDXP_REGISTRY         the registry the users are drawn from (default: the sample)
  NDXP_PROFILE          steady | workday | peak | stress (default steady)      loadtest/profiles.py
  NDXP_DURATION_S       how long the profile runs (default 60; stress stops at its SLO breach)
  NDXP_USER_RATE        requests per second per user (default 1)
  NDXP_LOADTEST_RUN     prefix of the request ids (default: random), to find them in the ledger
  NDXP_LOADTEST_OUT     folder for per-process counts (written at the end)
  NDXP_LOADTEST_TIMEOUT_S  a request with no answer after this is a TIMEOUT failure (default 30)
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import ClassVar

from locust import User, constant_throughput, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))

import this_run
from kafka_client import KafkaClient
from this_run import CLIENTS, NOTIFIERS, REGISTRY, TIMEOUT_S, USER_RATE, next_id, write_counts

from ndxp.core import traffic, wire


class Profile(this_run.Profile):
    """The load shape (Locust finds it in this namespace): a share of the calls are status
    notices, which nothing answers."""

    answered_share = 1 - traffic.NOTICE_SHARE


BOOTSTRAP = os.environ.get("NDXP_BOOTSTRAP", "127.0.0.1:9092")

_client: KafkaClient | None = None


def kafka() -> KafkaClient:
    """This process's client, created on first use (after Locust forked its workers)."""
    global _client
    if _client is None:
        topics = [wire.egress_topic(m.id) for m in REGISTRY.connected]
        _client = KafkaClient(BOOTSTRAP, topics, events.request, TIMEOUT_S)
    return _client


class ClientSystem(User):
    """A client system of a connected member drawn from ``pool`` by how much such systems
    send, with its ingress topic, its key and this process's Kafka client."""

    abstract = True
    wait_time = constant_throughput(USER_RATE)
    pool: ClassVar[list[traffic.Client]] = []

    def on_start(self) -> None:
        self.rng = random.Random()
        self.client_system = traffic.pick(self.rng, self.pool)
        self.topic = wire.ingress_topic(self.client_system.sender)
        self.key = self.client_system.id.encode()
        self.kafka = kafka()

    def headers(self, kind: bytes, service: str) -> list[tuple[str, bytes]]:
        return [
            ("ndxp-id", next_id().encode()),
            ("ndxp-kind", kind),
            ("ndxp-client", self.key),
            ("ndxp-service", service.encode()),
        ]


class MemberSystem(ClientSystem):
    """A client system (a one-stop shop, a portal, a ministry's platform, an enterprise) of a
    connected member, drawn by how much such systems send; it calls the services it is
    granted, population lookups most."""

    weight = round(1000 * (1 - traffic.NOTICE_SHARE))
    pool = CLIENTS

    @task
    def call_a_service(self) -> None:
        service = traffic.pick_service(self.rng, self.client_system)
        size = traffic.payload_size(self.rng)
        name = service.split(":", 3)[3]  # subsystem:service:version, e.g. dancu:tra-cuu-cong-dan:v1
        headers = self.headers(b"request", service)
        self.kafka.request(self.topic, self.key, os.urandom(size), headers, name)


class StatusSync(ClientSystem):
    """A province's one-stop-shop system telling the national public-service portal each
    application's status: one-way notices, as often as the traffic mix says (≈ 10.5 % of the
    calls). Counted when the broker acknowledges them and checked in the ledger; not in
    Locust's statistics, which are round trips."""

    weight = round(1000 * traffic.NOTICE_SHARE)
    pool = NOTIFIERS

    @task
    def send_a_status(self) -> None:
        service = traffic.pick_service(self.rng, self.client_system)
        size = traffic.payload_size(self.rng)
        self.kafka.notify(self.topic, self.key, os.urandom(size), self.headers(b"notice", service))


@events.test_stop.add_listener
def drain(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    """Wait for the answers still due, so that the final statistics count them."""
    if _client is not None:
        _client.drain(TIMEOUT_S)


@events.quitting.add_listener
def close(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    if _client is not None:
        _client.close()
        write_counts(_client.counts.__dict__)
