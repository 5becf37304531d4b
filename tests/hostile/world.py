"""What the hostile generator knows of the platform: the registry's members, and which
requests and responses each of them may send (pure, from :class:`ndxp.core.registry.Registry`).

Valid traffic uses only pairs whose limits allow at least :data:`AMPLE_RATE` requests a second
(or have none), so that ordinary traffic is routed whatever the run's pace; the flood case
uses a pair under a low limit on purpose."""

from __future__ import annotations

from dataclasses import dataclass

from ndxp.core.registry import Party, Registry

AMPLE_RATE = 5000.0  # requests/s: valid traffic never comes near it
LOW_RATE = 500.0  # a flood against a limit at most this tight is refused QUOTA_EXCEEDED


@dataclass(frozen=True, slots=True)
class Pair:
    """A request ``client`` → ``service`` its member may send on ``ndxp.in.<sender>``, routed
    to ``ndxp.out.<provider>``; a response goes back from ``provider`` to ``sender``."""

    sender: str
    client: str
    service: str
    provider: str
    may_send: frozenset[str] = frozenset()  # members that may send as the client
    may_answer: frozenset[str] = frozenset()  # members that may answer for the service


@dataclass(frozen=True, slots=True)
class World:
    members: tuple[str, ...]  # connected member codes: each has an ingress topic
    pairs: tuple[Pair, ...]  # granted, routable, ample limits
    forbidden: tuple[Pair, ...]  # registered client and service, no grant (FORBIDDEN)
    flood: Pair | None  # granted, routable, under a low rate limit (QUOTA_EXCEEDED)
    flood_rate: float
    no_route: tuple[Pair, ...]  # a response to a client with no connected member (NO_ROUTE)


def member_code(member_id: object) -> str:
    return str(getattr(member_id, "code", member_id))


def world_of(registry: Registry, most_pairs: int = 2000) -> World:
    """Every connected member, and up to ``most_pairs`` valid pairs spread over them (sorted,
    so a seed gives the same world for the same registry)."""
    members = tuple(sorted(member_code(t.removeprefix("ndxp.in.")) for t in registry.ingress))
    clients = sorted(
        (c for c in registry.subsystems.values() if c.route is not None), key=lambda c: c.text
    )
    services = sorted(
        (s for s in registry.services.values() if s.route is not None), key=lambda s: s.text
    )
    pairs: list[Pair] = []
    forbidden: list[Pair] = []
    flood: Pair | None = None
    flood_rate = 0.0
    for c in clients:
        for s in services:
            pair = _pair(c, s)
            if not registry.allowed(s.text, c):
                if len(forbidden) < most_pairs:
                    forbidden.append(pair)
                continue
            rates = [lim.rate for lim in registry.limits_for(c, s.text) if lim.rate is not None]
            if not rates or min(rates) >= AMPLE_RATE:
                pairs.append(pair)
            elif min(rates) <= LOW_RATE and (flood is None or min(rates) < flood_rate):
                flood, flood_rate = pair, min(rates)
    step = max(1, len(pairs) // most_pairs)
    unrouted = [c for c in registry.subsystems.values() if c.route is None]
    no_route = tuple(  # sent by the provider: a response to a client nobody can reach
        Pair(member_code(s.route), c.text, s.text, member_code(s.route))
        for c in sorted(unrouted, key=lambda c: c.text)
        for s in [s for s in services if registry.allowed(s.text, c)][:5]  # it may call them
        if s.route is not None
    )
    return World(members, tuple(pairs[::step]), tuple(forbidden), flood, flood_rate, no_route)


def _pair(client: Party, service: Party) -> Pair:
    assert client.route is not None and service.route is not None
    return Pair(
        member_code(client.route),
        client.text,
        service.text,
        member_code(service.route),
        frozenset(m.split(":", 2)[2] for m in client.authorities),  # "VN:GOV:<code>"
        frozenset(m.split(":", 2)[2] for m in service.authorities),
    )
