"""The many-agency mix the capacity benchmark drains: what the router would accept, where
the plain baseline would send it, and the shape the issue measured with."""

from __future__ import annotations

import statistics
from collections import Counter

from ndxp.bench.mix import Mix, destinations
from ndxp.core import wire
from ndxp.core.document_traffic import DocumentMix
from ndxp.core.routing import FannedOut, Routed, Router
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

REGISTRY = load_registry(DEFAULT_REGISTRY)


def exchanges(n: int, seed: int = 1) -> list:
    return list(Mix(REGISTRY, seed).exchanges("t", n))


def test_every_record_is_routed_and_the_baseline_sends_it_where_the_router_does() -> None:
    router = Router(REGISTRY)
    by_service, by_client, _ = destinations(REGISTRY)
    for record in exchanges(3000):
        decision = router.decide(record.topic, record.headers, record.size, len(record.key))
        assert isinstance(decision, Routed), (record, decision)
        h = dict(record.headers)
        if h[wire.H_KIND] == b"response":
            assert decision.topic == by_client[h[wire.H_CLIENT].decode()]
        else:  # a request or a notice
            assert decision.topic == by_service[h[wire.H_SERVICE].decode()]


def test_each_request_is_followed_by_its_response_on_the_providers_topic() -> None:
    records = exchanges(500)
    for request, response in zip(records[::2], records[1::2], strict=True):
        req, resp = dict(request.headers), dict(response.headers)
        if req[wire.H_KIND] == b"notice":  # an application's two status notices
            assert resp[wire.H_KIND] == b"notice" and resp[wire.H_ID] == req[wire.H_ID] + b"s"
            continue
        assert req[wire.H_KIND] == b"request" and resp[wire.H_KIND] == b"response"
        assert resp[wire.H_CORRELATION_ID] == req[wire.H_ID] != resp[wire.H_ID]
        assert request.key == response.key == req[wire.H_CLIENT]  # keyed by client id
        provider = REGISTRY.services[req[wire.H_SERVICE].decode()].route
        assert provider is not None and response.topic == wire.ingress_topic(provider)
        client = REGISTRY.subsystems[req[wire.H_CLIENT].decode()]
        assert client.route is not None and request.topic == wire.ingress_topic(client.route)


def test_many_agencies_on_most_ingress_topics_with_the_registrys_mix() -> None:
    records = exchanges(20_000)
    topics = {r.topic for r in records}
    assert len(topics) >= 0.9 * len(REGISTRY.connected)
    families = Counter(dict(r.headers)[wire.H_SERVICE].decode().split(":")[3] for r in records[::2])
    assert families.most_common(1)[0][0] == "dancu"
    assert 0.3 < families["dancu"] / 20_000 < 0.5


def test_payloads_are_log_normal_with_a_mean_of_about_1_4_kb() -> None:
    sizes = [r.size for r in exchanges(20_000)]
    assert 1300 < statistics.mean(sizes) < 1500
    assert 750 < statistics.median(sizes) < 950
    assert abs(Mix.mean_bytes() - 1400) < 10


def test_the_same_seed_gives_the_same_traffic() -> None:
    assert exchanges(200, seed=5) == exchanges(200, seed=5) != exchanges(200, seed=6)


def test_a_tenth_of_the_exchanges_are_one_stop_shops_status_notices_to_the_portal() -> None:
    """The seeds' 32 M status syncs in half a year beside 1.5 M transactions a day: ≈ 10.5 %
    of the exchanges are two one-way notices, sent by one-stop-shop systems on their own
    ingress topics to a one-way service they are granted, keyed by their client id."""
    records = exchanges(20_000)
    pairs = list(zip(records[::2], records[1::2], strict=True))
    notices = [(a, b) for a, b in pairs if dict(a.headers)[wire.H_KIND] == b"notice"]
    assert 0.09 < len(notices) / len(pairs) < 0.12
    senders = set()
    for first, second in notices:
        h, h2 = dict(first.headers), dict(second.headers)
        assert (h[wire.H_CLIENT], h[wire.H_SERVICE]) == (h2[wire.H_CLIENT], h2[wire.H_SERVICE])
        service, client = h[wire.H_SERVICE].decode(), h[wire.H_CLIENT].decode()
        assert service in REGISTRY.one_way and client.endswith(":motcua")
        party = REGISTRY.subsystems[client]
        assert REGISTRY.allowed(service, party) and party.route is not None
        assert first.topic == second.topic == wire.ingress_topic(party.route)
        assert first.key == second.key == h[wire.H_CLIENT]
        senders.add(party.route)
    assert len(senders) >= 50  # the provinces' one-stop shops, not one of them
    # nothing answers a notice: no response names one
    ids = {dict(a.headers)[wire.H_ID] for pair in notices for a in pair}
    assert not any(dict(r.headers).get(wire.H_CORRELATION_ID) in ids for r in records)


def test_documents_drawn_are_fanned_out_where_the_baseline_sends_their_copies() -> None:
    router = Router(REGISTRY)
    _, _, by_agency = destinations(REGISTRY)
    mix = DocumentMix(REGISTRY, seed=3)
    counts = []
    for n in range(2000):
        doc = mix.draw()
        headers = doc.headers(f"d{n}", n, "BENCH")
        decision = router.decide(doc.topic, headers, doc.size, len(doc.client))
        assert isinstance(decision, FannedOut), (doc, decision)
        assert not decision.refusals
        assert [d.topic for d in decision.deliveries] == [by_agency[r] for r in doc.receivers]
        assert doc.sender not in doc.receivers and len(set(doc.receivers)) == len(doc.receivers)
        counts.append(len(doc.receivers))
    # March 2022's shape: 352,454 deliveries for 111,456 documents (3.16 each), 1..10
    assert 2.9 < statistics.mean(counts) < 3.4 and min(counts) == 1 and max(counts) == 10
    senders = Counter(mix.draw().sender for _ in range(4000))
    assert senders.most_common(1)[0][0] == "000.00.00.G22"
