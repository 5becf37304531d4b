"""How many refusals a member's ingress topic may cost the router before its records wait
(pure; the clock is passed in: the router's monotonic one, never a sender's).

A refused record counts against no quota: a quota is the registry's promise to a client, and a
record the router refuses may name no client at all. But each costs the router what routing one
does and more (a dead letter and an error notice, where routing writes one copy), and the
ledger a row; and the broker's byte quota counts compressed bytes, so a member can write a
million small refused records a second within it (zstd: ~4 B each). The router's time was
shared between members, not bounded: beside such a flood, another member's calls took 217 ms
instead of 30 while the router worked off the flood's backlog at full speed.

So each ingress topic (each member has one) has a token bucket of refusals: ``burst`` to start
with, refilled at ``rate`` a second. A refusal spends one; when none is left, the topic's
records wait where they are (on the broker, and the one fetch of them the consumer holds:
:func:`ndxp.kafka.fair_drain.hold`) until the bucket is back at zero. Nothing is dropped and
nothing is refused for it: the member's records are decided later, in order, and the flood's
backlog (with whatever the member sends behind it) drains at ``rate`` refusals a second,
while every other member's records are decided as before. Records the router routes cost the
allowance nothing, so a backlog of good records still drains at full speed.

What a hold lets through past the bucket is what was handed to the router before it began (a
poll's share and the records queued for the agents: ``NDXP_ROUTER_QUEUED_RECORDS``); each
such refusal lengthens the hold, so over time a member's refusals keep to ``rate`` a second.
The bucket is per router worker (each decides its own partitions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ndxp.core.quota import refill


@dataclass(slots=True)
class RefusalAllowance:
    """Refusals per ingress topic: ``burst`` at first, ``rate`` a second after (``rate`` 0:
    unbounded, no topic is ever held). The bucket is a quota's (:func:`ndxp.core.quota.refill`),
    counted in milliseconds of the router's clock."""

    rate: float
    burst: float
    levels: dict[str, tuple[float, int]] = field(default_factory=dict)  # topic: (level, at ms)

    def spend(self, topic: str, now: float) -> float | None:
        """Count one refusal of a record of ``topic`` at ``now`` (seconds). The time until
        which the topic's records should wait, when its allowance is spent; else ``None``."""
        if self.rate <= 0:
            return None
        level, at_ms = refill(self.levels.get(topic), self.burst, self.rate, int(now * 1000))
        level -= 1
        self.levels[topic] = (level, at_ms)
        if level >= 0:
            return None
        return at_ms / 1000 + -level / self.rate

    def level(self, topic: str, now: float) -> float:
        """Refusals ``topic`` has left at ``now`` (below zero: how many it has overspent)."""
        return refill(self.levels.get(topic), self.burst, self.rate, int(now * 1000))[0]
