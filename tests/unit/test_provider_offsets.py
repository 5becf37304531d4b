"""The provider adapter's use of :class:`ndxp.core.pending.Pending` across a rebalance."""

from __future__ import annotations

from ndxp.core.pending import Pending
from ndxp.gateway.provider import take


def test_a_partition_read_again_from_an_earlier_offset_starts_over() -> None:
    p = Pending()
    take(p, "a", 5)
    take(p, "a", 6)
    take(p, "a", 5)  # assigned back after a rebalance, read again from its committed offset
    p.finish("a", 6)  # the earlier reading's work, still published: changes nothing here
    assert p.committable() == {}
    p.finish("a", 5)
    assert p.committable() == {"a": 6}
