"""The shapes the senders bench gives the mix (the measurement itself: python -m
ndxp.bench.senders): each is what it says, and within what the router takes but for the
number of headers, so each measures what it names."""

from __future__ import annotations

import random

from ndxp.bench.mix import Mix
from ndxp.bench.senders import ORDER, SHAPES
from ndxp.core import wire
from ndxp.core.budget import headers_size
from ndxp.core.routing import Rejected, Routed, Router
from ndxp.core.wire import MAX_HEADER_BYTES, MAX_HEADERS, MAX_KEY_BYTES
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry


def test_each_shape_is_what_it_names_and_the_router_decides_it_so() -> None:
    registry = load_registry(DEFAULT_REGISTRY)
    router = Router(registry)
    records = list(Mix(registry, 0).exchanges("t", 50))
    rng = random.Random(1)
    for shape, (_, reshape) in SHAPES.items():
        keys = set()
        for r in records:
            key, headers = reshape(rng, r.key, r.headers)
            keys.add(key)
            assert headers_size(headers) <= MAX_HEADER_BYTES, shape  # within the byte budget
            d = router.decide(r.topic, headers, r.size, 0 if key is None else len(key))
            if shape == "H":
                assert isinstance(d, Rejected) and d.code.value == "TOO_LARGE"
                assert d.detail == f"{len(headers):,} headers, the limit is {MAX_HEADERS}"
            elif shape == "R":
                # a request to it is unknown; a response from it is not its provider's
                assert isinstance(d, Rejected), d
                refused = {"UNKNOWN_SERVICE"} | (
                    {"NOT_SENDER"} if dict(headers)[wire.H_KIND] == b"response" else set()
                )
                assert d.code.value in refused, d
            else:
                assert isinstance(d, Routed), (shape, d)
            if shape == "L":
                assert key is not None and len(key) == MAX_KEY_BYTES
            if shape == "S":
                assert key is not None and len(key) == 16
        if shape in "SL":
            assert len(keys) == len(records)  # a new key each
        if shape in "NHR":
            assert keys == {r.key for r in records}  # the senders' own (client ids)
    assert sorted(ORDER) == sorted("NSLHR" * 2) and ORDER[::-1] == ORDER  # interleaved
