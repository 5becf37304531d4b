"""Realistic traffic drawn from a registry: which client systems call which services, how often.

Used by the load tests (and the synthetic ledger history): population lookups dominate, then
civil status, tax, land, business registration, insurance; within a family the first services
take most calls (Zipf); one-stop-shop systems (``motcua``) send most, then public-service
portals (``dvc``) and platforms (``lgsp``); big provinces send more. Only calls the registry
grants are drawn, so a load test measures routing, not refusals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ndxp.core.registry import Party, Registry
from ndxp.core.registry_doc import MemberKind

# Share of requests per service family (the subsystem code in the sample registry).
FAMILY_WEIGHT = {
    "dancu": 40,
    "hotich": 15,
    "thue": 12,
    "datdai": 10,
    "dkdn": 8,
    "baohiem": 8,
    "cbccvc": 2,
    "anxinh": 2,
    "vbdh": 2,
    "dvcqg": 1,
}
CLIENT_SHARE = {"motcua": 0.6, "dvc": 0.3, "lgsp": 0.1}  # by the client's subsystem code
# One-way notices among all calls: the provinces' one-stop shops synchronise each application's
# status with the national public-service portal. The seeds: "hơn 32 triệu hồ sơ đồng bộ trạng
# thái" in the first half of 2022 (≈ 177,000 a day) beside ~1.5 M data-sharing transactions a
# day: 177 / (1,500 + 177) ≈ 0.105.
NOTICE_SHARE = 0.105
NOTIFIER_SUBSYSTEM = "motcua"  # who sends them: the one-stop-shop systems


@dataclass(frozen=True, slots=True)
class Client:
    """A client system and the member whose ingress topic carries its requests."""

    id: str
    sender: str  # agency code of its nearest connected member (ingress and egress topics)
    weight: float
    services: tuple[str, ...]  # what it may call
    service_weights: tuple[float, ...]


def client_weight(registry: Registry, text: str, rank: int) -> float:
    party = registry.subsystems[text]
    member = registry.members[party.member]
    share = CLIENT_SHARE.get(text.rsplit(":", 1)[1], 0.0)
    if member.kind is MemberKind.PROVINCE_PLATFORM:
        return share * (3.0 if rank % 17 == 0 else 1.0) / (1 + (rank % 7) / 3)
    if member.kind is MemberKind.MINISTRY_PLATFORM:
        return share * 0.5
    if member.kind is MemberKind.ENTERPRISE:
        return 0.4
    return 0.0


def service_weights(registry: Registry) -> dict[str, float]:
    """Each service's share of all calls: its family's weight, Zipf within the family."""
    families: dict[str, list[str]] = {}
    for text, party in registry.services.items():
        family = text.split(":")[3]
        if family in FAMILY_WEIGHT and party.route is not None:
            families.setdefault(family, []).append(text)
    out: dict[str, float] = {}
    for family, services in families.items():
        harmonic = sum(1 / (n + 1) for n in range(len(services)))
        for n, text in enumerate(sorted(services)):
            out[text] = FAMILY_WEIGHT[family] / (n + 1) / harmonic
    return out


def weighted_clients(registry: Registry) -> Iterator[tuple[str, Party, float]]:
    """Every connected client subsystem with its weight (provinces ranked in code order)."""
    rank = 0
    for text, party in sorted(registry.subsystems.items()):
        if party.route is None:
            continue
        if registry.members[party.member].kind is MemberKind.PROVINCE_PLATFORM:
            rank += 1
        yield text, party, client_weight(registry, text, rank)


def clients(registry: Registry) -> list[Client]:
    """Every connected client system that may call at least one weighted service."""
    weights = service_weights(registry)
    out: list[Client] = []
    for text, party, weight in weighted_clients(registry):
        allowed = [s for s in sorted(weights) if registry.allowed(s, party)]
        if weight > 0 and allowed:
            assert party.route is not None
            services = tuple(allowed)
            out.append(
                Client(
                    text,
                    str(party.route.code),
                    weight,
                    services,
                    tuple(weights[s] for s in services),
                )
            )
    return out


def notifiers(registry: Registry) -> list[Client]:
    """Every connected one-stop-shop system granted a one-way service, with the one-way
    services it may notify (equally often) and its weight as a client."""
    out: list[Client] = []
    for text, party, weight in weighted_clients(registry):
        if text.rsplit(":", 1)[1] != NOTIFIER_SUBSYSTEM or weight <= 0:
            continue
        allowed = tuple(
            s
            for s in sorted(registry.one_way)
            if registry.services[s].route is not None and registry.allowed(s, party)
        )
        if allowed:
            assert party.route is not None
            out.append(Client(text, str(party.route.code), weight, allowed, (1.0,) * len(allowed)))
    return out


def pick(rng: random.Random, items: Sequence[Client]) -> Client:
    return rng.choices(items, weights=[c.weight for c in items])[0]


def pick_service(rng: random.Random, client: Client) -> str:
    return rng.choices(client.services, weights=client.service_weights)[0]


def payload_size(
    rng: random.Random, median: int = 600, sigma: float = 1.0, cap: int = 64_000
) -> int:
    """A request body's size: log-normal around ``median`` bytes, at least 32, at most ``cap``."""
    return max(32, min(cap, int(rng.lognormvariate(math.log(median), sigma))))
