"""Records taken from Kafka and finished out of order: which offsets may be committed.

A consumer that works on many records at once (the provider adapter calls many HTTP endpoints
side by side, some slow) finishes them in any order, but may commit a partition's offset only
up to the first record not yet finished: everything before a committed offset must be done,
or a restart would skip it. Pure: offsets in, offsets out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable


class Pending:
    """Per partition, the records taken and not yet committed, in offset order."""

    def __init__(self) -> None:
        self._taken: dict[Hashable, deque[int]] = {}
        self._finished: dict[Hashable, set[int]] = {}
        self._advanced: dict[Hashable, int] = {}  # the next offset to commit, not yet reported

    def take(self, partition: Hashable, offset: int) -> None:
        """A record is being worked on. A partition's offsets come in increasing order, unless
        it is read again from an earlier offset (assigned back after a rebalance, at its
        committed offset): then it starts over, and what the earlier reading finishes later
        is counted only where it matches a record taken again (its result is written all the
        same: at least once)."""
        taken = self._taken.setdefault(partition, deque())
        if taken and offset <= taken[-1]:
            self.drop(partition)
            taken = self._taken.setdefault(partition, deque())
        taken.append(offset)
        self._finished.setdefault(partition, set())

    def finish(self, partition: Hashable, offset: int) -> None:
        """A record taken is done (its result safely written)."""
        taken = self._taken.get(partition)
        finished = self._finished.get(partition)
        if taken is None or finished is None or offset in finished:
            return  # a partition dropped meanwhile (revoked), or finished twice
        finished.add(offset)
        while taken and taken[0] in finished:
            done = taken.popleft()
            finished.discard(done)
            self._advanced[partition] = done + 1

    def committable(self) -> dict[Hashable, int]:
        """The offsets (next to read) each partition may commit now that it could not before;
        each is reported once."""
        out, self._advanced = self._advanced, {}
        return out

    def drop(self, partition: Hashable) -> None:
        """Forget a partition (revoked: its unfinished records go to the next owner)."""
        self._taken.pop(partition, None)
        self._finished.pop(partition, None)
        self._advanced.pop(partition, None)

    def in_progress(self) -> int:
        return sum(len(t) for t in self._taken.values())

    def partitions(self) -> list[Hashable]:
        return list(self._taken)
