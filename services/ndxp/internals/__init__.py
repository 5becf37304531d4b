"""The internals of faust-streaming, mode-streaming and aiokafka that ndxp replaces, wraps,
calls or reads, and the exact releases they were verified with: one entry per internal, naming
the ndxp module that relies on it, in one table per part of ndxp (delivery, fetching,
producing). :mod:`ndxp.versions` checks them at start."""

from __future__ import annotations

from ndxp.internals import delivery, fetching, producing
from ndxp.internals.kinds import Distribution, Expectation

DISTRIBUTIONS = (
    Distribution("faust-streaming", "0.15.3", "faust"),
    Distribution("mode-streaming", "0.7.1", "mode"),
    Distribution("aiokafka", "0.14.0", "aiokafka"),
    # aiokafka's zstd codec: its producer refuses zstd without it, and its consumers (the
    # ledger's) inflate the router's zstd batches with it; the router's own batches are
    # compressed by kafka/zstd_level.py's encoder (NDXP_ROUTER_COMPRESSION)
    Distribution("cramjam", "2.14.0", "cramjam"),
)

EXPECTED: tuple[Expectation, ...] = (*delivery.EXPECTED, *fetching.EXPECTED, *producing.EXPECTED)
