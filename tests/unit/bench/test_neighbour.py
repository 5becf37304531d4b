"""The loud neighbour of the round-trip bench: who floods, to whom, and that the quiet caller
and the simulator keep off both (the measurement itself runs in ``make bench``)."""

from __future__ import annotations

from ndxp.bench import neighbour
from ndxp.bench.mix import Mix
from ndxp.core import wire
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

REGISTRY = load_registry(DEFAULT_REGISTRY)


def test_the_flood_is_a_granted_one_way_notice_its_limits_let_through() -> None:
    client, service, receiver = neighbour.loud(REGISTRY)
    party = REGISTRY.subsystems[client.id]
    assert service in REGISTRY.one_way
    assert REGISTRY.allowed(service, party)
    assert client.sender != receiver
    # the bench floods at up to 6,000 a second: a refusal would measure the quota stage's
    # refusals, not routing
    assert all(limit.rate >= 6000 for limit in REGISTRY.limits_for(party, service))
    assert neighbour.avoided(REGISTRY) == (client.sender, receiver)


def test_the_quiet_caller_neither_sends_as_nor_calls_the_flooding_members() -> None:
    avoid = neighbour.avoided(REGISTRY)
    mix = Mix(REGISTRY, 7)
    requests = [mix.request(f"m{n}") for n in range(3000)]
    touching = [r for r in requests if neighbour.touches(mix, r, avoid)]
    # the loud members are in the mix (else keeping off them would prove nothing) ...
    assert touching
    assert {r.topic for r in touching} & {wire.ingress_topic(code) for code in avoid}
    # ... and what the caller keeps is neither sent on their topics nor served by them
    for r in requests:
        if not neighbour.touches(mix, r, avoid):
            assert r.topic not in {wire.ingress_topic(code) for code in avoid}
            assert mix.provider[r.headers[3][1].decode()] not in avoid


def test_the_simulator_answers_every_provider_but_the_flooding_members() -> None:
    avoid = neighbour.avoided(REGISTRY)
    every = neighbour.providers(REGISTRY, ())
    kept = neighbour.providers(REGISTRY, avoid)
    assert set(every) - set(kept) == set(avoid) & set(every)
    assert avoid[1] in every  # the flood's receiver would otherwise read 6,000 notices a second


def test_settled_waits_for_the_last_notices_routed_or_refused_but_not_for_ever() -> None:
    ends = iter([(100, 0), (150, 10), (170, 30), (170, 30)])
    assert neighbour.settled(lambda: next(ends), (100, 0), 100, within_s=5.0) == (70, 30)
    # a router that never decides the rest: what it did route and refuse, once the wait is over
    assert neighbour.settled(lambda: (160, 5), (100, 0), 100, within_s=0.6) == (60, 5)
