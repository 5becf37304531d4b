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

import asyncio
import hashlib

from ndxp.bench.offsets import Offsets
from ndxp.core.ticket import Tickets, ticket_key
from ndxp.core.topology import internal_topics, seal_topic
from ndxp.kafka.auth import KafkaAuth
from ndxp.kafka.seal import seal_key

SEAL_KEY = hashlib.sha256(b"ndxp bench: the seal key of every router group it starts").digest()
TICKETS = Tickets(ticket_key(SEAL_KEY))


def provision(bootstrap: str, group: str) -> None:
    """Give router group ``group`` the benchmarks' seal key (its seal topic made, the key
    offered as its first record, as a router would write its own: :mod:`ndxp.kafka.seal`),
    unless it has it already; a group with another key is an error (its routers would refuse
    the backlog's responses)."""
    topic = seal_topic(group)
    Offsets(bootstrap).create_topics(s for s in internal_topics(group, 1) if s.name == topic)
    if asyncio.run(seal_key(bootstrap, topic, KafkaAuth(), offered=SEAL_KEY)) != SEAL_KEY:
        raise RuntimeError(f"{topic} holds another seal key than the benchmarks'")
