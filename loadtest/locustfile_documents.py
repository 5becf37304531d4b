"""Locust load test of the document exchange axis: each user is an agency's document system
(a ministry's or a province's) sending official documents to other agencies.

``make loadtest PROFILE=documents DURATION=60 DOCUMENTS=1`` (headless, then verified against the
ledger: every document in it once per receiver), or ``.venv/bin/locust -f
loadtest/locustfile_documents.py`` for the web UI. The profile ``documents`` is the axis at 10×
its busiest month, at the workday's peak hour (≈ 3.9 documents a second, loadtest/profiles.py);
``stress`` ramps up until an objective breaks. A document's response time is sent → every
receiver has its copy.

Documents look like March 2022's (:mod:`ndxp.core.document_traffic`, which the capacity
benchmark draws from too): 3.16 receivers on average (1-10, log-normal), packages of 150 KB
median (log-normal, within one record: the part size, 768 KiB, is not reached), the Government
Office sending three times as much as any other agency.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from locust import User, constant_throughput, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))

import this_run
from kafka_client import KafkaClient
from this_run import REGISTRY, RUN, TIMEOUT_S, USER_RATE, write_counts

from ndxp.core import wire
from ndxp.core.document_traffic import DocumentMix

Profile = this_run.Profile

BOOTSTRAP = os.environ.get("NDXP_BOOTSTRAP", "127.0.0.1:9092")
MIX = DocumentMix(REGISTRY)  # one per process: greenlets share its generator, never at once

_client: KafkaClient | None = None
_sequence = 0


def kafka() -> KafkaClient:
    global _client
    if _client is None:
        topics = [wire.egress_topic(code) for code in MIX.agencies]
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
        self.code = MIX.rng.choices(MIX.agencies, MIX.weights)[0]
        self.kafka = kafka()

    @task
    def send_a_document(self) -> None:
        doc = MIX.draw(self.code)
        number = next_number()
        headers = doc.headers(f"lt{RUN}-{os.getpid()}-{number}", number, f"LT-{RUN.upper()}")
        self.kafka.document(
            doc.topic,
            doc.client.encode(),
            os.urandom(doc.size),
            headers,
            len(doc.receivers),
            "document",
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
