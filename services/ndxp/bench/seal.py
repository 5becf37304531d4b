"""The benchmarks' seal key, so that the responses they write ahead carry their tickets.

A router routes a response only with the ticket of the request it answers (a MAC under a key
derived from its group's seal key: :mod:`ndxp.core.ticket`, :mod:`ndxp.kafka.seal`). A
benchmark writes each request's response into the backlog before any router has read the
request, as a provider would answer it; so every router group a benchmark starts is given one
known seal key first (the first record of its ``<group>-seal`` topic, which is the key in force),
and the backlog's responses carry the tickets under it. A bench-only key: benchmarks run on a
broker of their own, which they remove afterwards.
"""

from __future__ import annotations

import hashlib

from confluent_kafka import Consumer, Producer, TopicPartition

from ndxp.bench.offsets import Offsets
from ndxp.core.ticket import Tickets, ticket_key
from ndxp.core.topology import internal_topics, seal_topic
from ndxp.kafka.seal import KEY

SEAL_KEY = hashlib.sha256(b"ndxp bench: the seal key of every router group it starts").digest()
TICKETS = Tickets(ticket_key(SEAL_KEY))


def provision(bootstrap: str, group: str) -> None:
    """Give router group ``group`` the benchmarks' seal key (its seal topic made, the key
    written as its first record), unless it has it already; a group with another key is an
    error (its routers would refuse the backlog's responses)."""
    topic = seal_topic(group)
    Offsets(bootstrap).create_topics(s for s in internal_topics(group, 1) if s.name == topic)
    found = first_record(bootstrap, topic)
    if found is None:
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        p.produce(topic, SEAL_KEY, key=KEY, partition=0)
        if p.flush(30):
            raise RuntimeError(f"could not write the benchmarks' seal key to {topic}")
        found = first_record(bootstrap, topic)
    if found != SEAL_KEY:
        raise RuntimeError(f"{topic} holds another seal key than the benchmarks'")


def first_record(bootstrap: str, topic: str) -> bytes | None:
    """The value at the lowest offset of ``topic``'s partition 0; ``None`` when it is empty."""
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"{topic}-look", "enable.auto.commit": False}
    )
    try:
        tp = TopicPartition(topic, 0)
        low, high = c.get_watermark_offsets(tp, timeout=30)
        if high <= low:
            return None
        c.assign([TopicPartition(topic, 0, low)])
        for _ in range(60):
            record = c.poll(0.5)
            if record is not None and record.error() is None:
                value = record.value()
                return None if value is None else bytes(value)
        raise RuntimeError(f"the first record of {topic} could not be read")
    finally:
        c.close()
