"""The many-agency traffic mix as ingress records (pure: no Kafka here).

What a nation sends at once: every client system of :func:`ndxp.core.traffic.clients` (the
one-stop shops, portals and platforms of the 63 provinces, the ministries' platforms, the
enterprises) calling the services it is granted, as often as the registry's traffic mix says
(population lookups ≈ 40 %, then civil status, tax, land, …; big provinces more), each
request on its sender's ingress topic keyed by its client id, and for each request the
response its provider returns: on the provider's ingress topic, keyed like the request (as
``ndxp simulate`` does), with ``ndxp-correlation-id`` = the request's id. A share of the
exchanges (:data:`ndxp.core.traffic.NOTICE_SHARE`, ≈ 10.5 %) are instead two one-way notices of
a one-stop-shop system to the national public-service portal: an application's status, when it
is received and when it is done; nothing answers them. Either way an exchange is two records,
so a backlog of ``n`` exchanges is ``2 n`` records. Payloads are
log-normal with a median of 850 bytes and σ = 1, so their mean is ≈ 1.4 KB (the size the
capacity issue measured with).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from ndxp.core import traffic, wire
from ndxp.core.registry import Registry
from ndxp.core.ticket import Tickets

MEDIAN_BYTES = 850
SIGMA = 1.0


@dataclass(frozen=True, slots=True)
class Record:
    """One ingress record of the mix: where it goes, its key, headers and value size."""

    topic: str
    key: bytes
    headers: list[tuple[str, bytes]]
    size: int

    @property
    def message_id(self) -> str:
        return self.headers[0][1].decode()


class Mix:
    """Draws requests (and their responses) from a registry's traffic mix, reproducibly."""

    def __init__(
        self,
        registry: Registry,
        seed: int = 0,
        median: int = MEDIAN_BYTES,
        sigma: float = SIGMA,
        tickets: Tickets | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        # a response echoes its request's ticket, as the router stamps it (ndxp.core.ticket;
        # ndxp.bench.seal: the key of the router groups the benchmarks start)
        self.tickets = tickets
        self.median = median
        self.sigma = sigma
        self.clients = traffic.clients(registry)
        # cumulative weights, once: random.choices would add them up at every draw
        self._client_cum = list(itertools.accumulate(c.weight for c in self.clients))
        self._service_cum = [list(itertools.accumulate(c.service_weights)) for c in self.clients]
        self.notifiers = traffic.notifiers(registry)
        self._notifier_cum = list(itertools.accumulate(c.weight for c in self.notifiers))
        self.provider: dict[str, str] = {}
        for client in (*self.clients, *self.notifiers):
            for service in client.services:
                route = registry.services[service].route
                assert route is not None  # traffic.clients draws routable services only
                self.provider[service] = str(route.code)

    @staticmethod
    def mean_bytes(median: int = MEDIAN_BYTES, sigma: float = SIGMA) -> float:
        """The log-normal's mean (the 64 KB cap moves it by well under 1 %)."""
        return median * math.exp(sigma**2 / 2)

    def _draw(self, cum: list[float]) -> int:
        return bisect.bisect_right(cum, self.rng.random() * cum[-1])

    def size(self) -> int:
        return traffic.payload_size(self.rng, self.median, self.sigma)

    def request(self, message_id: str) -> Record:
        """A request of a client drawn by how much it sends, to a service it is granted."""
        n = min(self._draw(self._client_cum), len(self.clients) - 1)
        client = self.clients[n]
        cum = self._service_cum[n]
        service = client.services[min(self._draw(cum), len(cum) - 1)]
        key = client.id.encode()
        headers = [
            (wire.H_ID, message_id.encode()),
            (wire.H_KIND, wire.KIND_REQUEST.encode()),
            (wire.H_CLIENT, key),
            (wire.H_SERVICE, service.encode()),
        ]
        return Record(wire.ingress_topic(client.sender), key, headers, self.size())

    def response(self, request: Record, message_id: str) -> Record:
        """The provider's answer to ``request``: on the provider's ingress topic, keyed like
        the request, correlated by its id."""
        client = request.headers[2][1]
        service = request.headers[3][1]
        headers = [
            (wire.H_ID, message_id.encode()),
            (wire.H_KIND, wire.KIND_RESPONSE.encode()),
            (wire.H_CLIENT, client),
            (wire.H_SERVICE, service),
            (wire.H_CORRELATION_ID, request.headers[0][1]),
        ]
        if self.tickets is not None:
            ticket = self.tickets.stamp(
                client.decode(), service.decode(), request.headers[0][1].decode()
            )
            headers.append((wire.H_TICKET, ticket))
        topic = wire.ingress_topic(self.provider[service.decode()])
        return Record(topic, request.key, headers, self.size())

    def notices(self, message_id: str) -> tuple[Record, Record]:
        """An application's two status notices (received, done) from a one-stop-shop system
        drawn by how much it sends, to a one-way service it is granted: ids ``<id>`` and
        ``<id>s``."""
        n = min(self._draw(self._notifier_cum), len(self.notifiers) - 1)
        client = self.notifiers[n]
        service = client.services[int(self.rng.random() * len(client.services))].encode()
        key = client.id.encode()
        topic = wire.ingress_topic(client.sender)

        def notice(notice_id: str) -> Record:
            headers = [
                (wire.H_ID, notice_id.encode()),
                (wire.H_KIND, wire.KIND_NOTICE.encode()),
                (wire.H_CLIENT, key),
                (wire.H_SERVICE, service),
            ]
            return Record(topic, key, headers, self.size())

        return notice(message_id), notice(f"{message_id}s")

    def exchanges(self, run: str, requests: int, start: int = 0) -> Iterator[Record]:
        """``requests`` exchanges of two records each: a request followed by its response
        (ids ``<run>-<n>`` and ``<run>-<n>r``), or, for a share of them, two status notices
        (``<run>-<n>`` and ``<run>-<n>s``)."""
        for n in range(start, start + requests):
            if self.notifiers and self.rng.random() < traffic.NOTICE_SHARE:
                yield from self.notices(f"{run}-{n}")
                continue
            request = self.request(f"{run}-{n}")
            yield request
            yield self.response(request, f"{run}-{n}r")


def destinations(registry: Registry) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Where a plain router sends a record, by header: a request or a notice to the egress
    topic of its service's provider, a response to the egress topic of its client's member, a
    document's copy to each receiver's (by agency code; each the nearest connected member at
    or above)."""
    by_service = {
        text: wire.egress_topic(p.route) for text, p in registry.services.items() if p.route
    }
    by_client = {
        text: wire.egress_topic(p.route) for text, p in registry.subsystems.items() if p.route
    }
    by_agency = {}
    for member in registry.members:
        route = registry.route_for(member)
        if member.member_class == "GOV" and route is not None:
            by_agency[str(member.code)] = wire.egress_topic(route)
    return by_service, by_client, by_agency
