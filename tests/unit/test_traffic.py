"""The load tests' traffic mix, drawn from the sample registry."""

from __future__ import annotations

import random
from collections import Counter

from ndxp.core import traffic
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

REGISTRY = load_registry(DEFAULT_REGISTRY)


def test_every_call_drawn_is_granted_and_routable() -> None:
    for client in traffic.clients(REGISTRY):
        party = REGISTRY.subsystems[client.id]
        assert party.route is not None and str(party.route.code) == client.sender
        for service in client.services:
            assert REGISTRY.allowed(service, party), (client.id, service)
            assert REGISTRY.services[service].route is not None


def test_population_lookups_dominate_and_one_stop_shops_send_most() -> None:
    rng = random.Random(3)
    clients = traffic.clients(REGISTRY)
    picked = [traffic.pick(rng, clients) for _ in range(20_000)]
    families = Counter(traffic.pick_service(rng, c).split(":")[3] for c in picked)
    assert families.most_common(1)[0][0] == "dancu"
    assert families["dancu"] > 2 * families["hotich"] > 0
    systems = Counter(c.id.rsplit(":", 1)[1] for c in picked)
    assert systems.most_common(1)[0][0] == "motcua"


def test_payload_sizes_are_log_normal_within_bounds() -> None:
    rng = random.Random(5)
    sizes = sorted(traffic.payload_size(rng) for _ in range(10_000))
    assert sizes[0] >= 32 and sizes[-1] <= 64_000
    assert 450 < sizes[len(sizes) // 2] < 800  # the median is about 600 bytes
