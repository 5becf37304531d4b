"""When a table's recovery has stalled: pure, for the router's watch (``router/app.py``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def stalled(
    now: float,
    started_at: float,
    last_event_at: Mapping[K, float],
    remaining: Mapping[K, int],
    after_s: float,
) -> dict[K, float]:
    """The partitions a recovery still needs records of that brought none for ``after_s``
    seconds or more (since their last record, or since the recovery started when none came),
    with how long: a recovery that reads nothing while records wait is stuck, not slow."""
    quiet = {}
    for tp, left in remaining.items():
        if left > 0:
            since = now - max(started_at, last_event_at.get(tp, started_at))
            if since >= after_s:
                quiet[tp] = since
    return quiet
