"""Realistic document traffic drawn from a registry (pure: no Kafka here): which agency sends an
official document to whom, and how large its package is.

Documents look like March 2022's on the national axis: 352,454 deliveries for 111,456 documents
sent, so 3.16 receivers on average (log-normal, 1-10); packages of 150 KB median (log-normal,
σ = 1, at most 700 KB: within one record, below the part size); the Government Office
(``000.00.00.G22``) sends three times as much as any other agency. The senders and receivers
are the connected ministries and provinces of the registry. Used by the Locust document
profile and by the capacity benchmark's documents phase, so that both send the same traffic.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from ndxp.core import wire
from ndxp.core.document import H_DOC_ID, H_DOC_TO, H_DOC_TYPE, document_client
from ndxp.core.registry import Registry

RECEIVERS_MEAN = 352_454 / 111_456
RECEIVERS_SIGMA = 0.6
RECEIVERS_MAX = 10
PACKAGE_MEDIAN = 150_000
PACKAGE_SIGMA = 1.0
PACKAGE_MAX = 700_000
GOVERNMENT_OFFICE = "000.00.00.G22"


def agencies(registry: Registry) -> list[str]:
    """The agencies that send and receive documents: the connected ministries and provinces
    (agency codes ``000.00.00.*``)."""
    return sorted(
        str(m.id.code)
        for m in registry.connected
        if m.id.member_class == "GOV" and str(m.id.code).startswith("000.00.00.")
    )


@dataclass(frozen=True, slots=True)
class Document:
    """One document drawn: who sends it from which client system, to whom, how large."""

    sender: str
    client: str
    receivers: tuple[str, ...]
    size: int

    @property
    def topic(self) -> str:
        return wire.ingress_topic(self.sender)

    def headers(self, message_id: str, number: int, notation: str) -> list[tuple[str, bytes]]:
        """The record's headers; the document id is ``<sender>,<today>,<number>/<notation>``."""
        doc_id = f"{self.sender},{dt.date.today():%Y/%m/%d},{number}/{notation}"
        return [
            (wire.H_ID, message_id.encode()),
            (wire.H_KIND, wire.KIND_DOCUMENT.encode()),
            (wire.H_CLIENT, self.client.encode()),
            (H_DOC_ID, doc_id.encode()),
            (H_DOC_TO, ",".join(self.receivers).encode()),
            (H_DOC_TYPE, b"CV"),
        ]


class DocumentMix:
    """Draws documents, reproducibly for a given seed."""

    def __init__(self, registry: Registry, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.agencies = agencies(registry)
        if len(self.agencies) < 2:
            raise ValueError("the registry has fewer than two connected agencies")
        self.weights = [3.0 if a == GOVERNMENT_OFFICE else 1.0 for a in self.agencies]
        self.clients = {a: document_client(registry, a) for a in self.agencies}

    def draw(self, sender: str | None = None) -> Document:
        rng = self.rng
        if sender is None:
            sender = rng.choices(self.agencies, self.weights)[0]
        others = [a for a in self.agencies if a != sender]
        k = min(len(others), receivers(rng))
        return Document(sender, self.clients[sender], tuple(rng.sample(others, k)), size(rng))


def receivers(rng: random.Random) -> int:
    """How many receivers: log-normal with mean :data:`RECEIVERS_MEAN` (μ = ln mean − σ²/2),
    rounded, within 1..:data:`RECEIVERS_MAX`."""
    mu = math.log(RECEIVERS_MEAN) - RECEIVERS_SIGMA**2 / 2
    return max(1, min(RECEIVERS_MAX, round(rng.lognormvariate(mu, RECEIVERS_SIGMA))))


def size(rng: random.Random) -> int:
    """A package's bytes: log-normal around :data:`PACKAGE_MEDIAN`, at most :data:`PACKAGE_MAX`."""
    return int(min(PACKAGE_MAX, PACKAGE_MEDIAN * math.exp(rng.gauss(0, PACKAGE_SIGMA))))
