"""The Locust user's Kafka client (``loadtest/kafka_client.py``) against the real broker: an
answer on an egress topic reaches Locust through the consumer's waiting thread, a refusal is a
failure named by its code, delivery reports are counted, and ``close()`` returns."""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

import gevent
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from ndxp.core import wire
from ndxp.paths import REPO

from .conftest import Broker

sys.path.insert(0, str(REPO / "loadtest"))

from kafka_client import KafkaClient, Pending, Refused

pytestmark = pytest.mark.integration


class Events:
    """Locust's ``events.request``: what the client fired."""

    def __init__(self) -> None:
        self.fired: list[dict[str, Any]] = []

    def fire(self, **kw: Any) -> None:
        self.fired.append(kw)


def test_answers_and_refusals_reach_locust_from_the_waiting_consumer(kafka: Broker) -> None:
    topic = f"ndxp.test.egress-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(30)
    events = Events()
    client = KafkaClient(kafka.bootstrap, [topic], events, timeout_s=60)
    try:
        client.pending["answered"] = Pending(time.perf_counter(), "population")
        client.pending["refused"] = Pending(time.perf_counter(), "land")
        client.notify(topic, b"k", b"{}", [(wire.H_KIND, b"notice")])
        p = Producer({"bootstrap.servers": kafka.bootstrap})
        answer = [(wire.H_KIND, b"response"), (wire.H_CORRELATION_ID, b"answered")]
        refusal = [
            (wire.H_KIND, b"error"),
            (wire.H_CORRELATION_ID, b"refused"),
            (wire.H_ERROR, b"FORBIDDEN"),
        ]
        p.produce(topic, b'{"ok": true}', key=b"k", headers=answer)
        p.produce(topic, b"", key=b"k", headers=refusal)
        assert p.flush(30) == 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            len(events.fired) < 2 or client.counts.notices_delivered < 1
        ):
            gevent.sleep(0.05)  # the client's greenlets run while this one sleeps
        by_name = {e["name"]: e for e in events.fired}
        assert set(by_name) == {"population", "land"}
        assert by_name["population"]["exception"] is None
        assert by_name["population"]["response_length"] == len(b'{"ok": true}')
        refused = by_name["land"]["exception"]
        assert isinstance(refused, Refused) and str(refused) == "FORBIDDEN"
        assert client.counts.answered == 1 and client.counts.refused == 1
        assert client.counts.by_code == {"FORBIDDEN": 1}
        assert client.counts.notices_delivered == 1 and not client.pending
    finally:
        client.close()
    assert all(g.dead for g in client._greenlets)  # close() ended the client's loops
