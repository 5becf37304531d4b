"""Locust load test of the document exchange axis: each user is an agency's document system
(a ministry's or a province's) sending official documents to other agencies.

``make loadtest PROFILE=documents DURATION=60 DOCUMENTS=1`` (headless, then verified against the
ledger: every document in it once per receiver), or ``.venv/bin/locust -f
loadtest/locustfile_documents.py`` for the web UI. The profile ``documents`` is the axis at 10×
its busiest month, at the workday's peak hour (≈ 3.9 documents a second, loadtest/profiles.py);
``stress`` ramps up until an objective breaks. A document's response time is sent → every
receiver has its copy.

Documents look like March 2022's: 3.16 receivers on average (1-10, log-normal), packages of
150 KB median (log-normal, within one record: the part size, 768 KiB, is not reached), the
Government Office sending three times as much as any other agency.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import sys
from pathlib import Path

from locust import User, constant_throughput, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))

import this_run
from kafka_client import KafkaClient
from this_run import REGISTRY, RUN, TIMEOUT_S, USER_RATE, write_counts

from ndxp.core import wire
from ndxp.core.document import document_client

Profile = this_run.Profile

BOOTSTRAP = os.environ.get("NDXP_BOOTSTRAP", "127.0.0.1:9092")
AGENCIES = sorted(
    str(m.id.code)
    for m in REGISTRY.connected
    if m.id.member_class == "GOV" and str(m.id.code).startswith("000.00.00.")
)
WEIGHTS = [3.0 if code.endswith(".G22") else 1.0 for code in AGENCIES]
RECEIVERS_MEAN, RECEIVERS_SIGMA, RECEIVERS_MAX = 352_454 / 111_456, 0.6, 10
PACKAGE_MEDIAN, PACKAGE_MAX = 150_000, 700_000

_client: KafkaClient | None = None
_sequence = 0


def kafka() -> KafkaClient:
    global _client
    if _client is None:
        topics = [wire.egress_topic(code) for code in AGENCIES]
        _client = KafkaClient(BOOTSTRAP, topics, events.request, TIMEOUT_S)
    return _client


def next_number() -> int:
    """A code number unique to this run's process (at most 16 digits)."""
    global _sequence
    _sequence += 1
    return (os.getpid() % 100_000) * 10**9 + _sequence


class Agency(User):
    wait_time = constant_throughput(USER_RATE)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.code = self.rng.choices(AGENCIES, WEIGHTS)[0]
        self.client_id = document_client(REGISTRY, self.code)
        self.kafka = kafka()

    @task
    def send_a_document(self) -> None:
        rng = self.rng
        # log-normal with mean RECEIVERS_MEAN (μ = ln mean − σ²/2), rounded, 1..10
        mu = math.log(RECEIVERS_MEAN) - RECEIVERS_SIGMA**2 / 2
        k = max(1, min(RECEIVERS_MAX, round(rng.lognormvariate(mu, RECEIVERS_SIGMA))))
        receivers = rng.sample([a for a in AGENCIES if a != self.code], k)
        size = int(min(PACKAGE_MAX, PACKAGE_MEDIAN * math.exp(rng.gauss(0, 1.0))))
        number = next_number()
        doc_id = f"{self.code},{dt.date.today():%Y/%m/%d},{number}/LT-{RUN.upper()}"
        headers = [
            (wire.H_ID, f"lt{RUN}-{os.getpid()}-{number}".encode()),
            (wire.H_KIND, wire.KIND_DOCUMENT.encode()),
            (wire.H_CLIENT, self.client_id.encode()),
            ("ndxp-doc-id", doc_id.encode()),
            ("ndxp-doc-to", ",".join(receivers).encode()),
            ("ndxp-doc-type", b"CV"),
        ]
        topic = wire.ingress_topic(self.code)
        self.kafka.document(
            topic, self.client_id.encode(), os.urandom(size), headers, k, "document"
        )


@events.test_stop.add_listener
def drain(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    if _client is not None:
        _client.drain(TIMEOUT_S)


@events.quitting.add_listener
def close(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    if _client is not None:
        _client.close()
        write_counts(_client.counts.__dict__)
