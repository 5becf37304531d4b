"""Incremental fetch sessions (Kafka's KIP-227), the planning: which partitions a fetch
request lists, which it tells the broker to forget, and what the session is after the answer.
Pure; :mod:`ndxp.kafka.fetch_session` puts it into aiokafka's fetcher and says why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

Partitions = list[tuple[str, list[tuple[int, int, int]]]]
"""What a fetch wants, as aiokafka's ``FetchRequest.topics``: topic, (partition, fetch
offset, max bytes)."""
Key = tuple[str, int]

FULL_EPOCH: Final = 0  # a request opening a session lists every partition
MAX_EPOCH: Final = 2**31 - 1  # epochs wrap to 1 after this (Kafka's FetchMetadata.nextEpoch)


@dataclass(frozen=True)
class FetchSession:
    """One broker's session as this consumer knows it: its id (0: none yet), the epoch of
    the next request (0: the next request is full), and the partitions the broker holds,
    with the fetch offset and max bytes it holds for each."""

    id: int = 0
    epoch: int = FULL_EPOCH
    held: dict[Key, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchPlan:
    """One request: the session and epoch it names, the partitions it lists, the ones it
    tells the broker to forget, and what the broker holds once it is answered."""

    session_id: int
    epoch: int
    send: Partitions
    forget: list[tuple[str, list[int]]]
    held: dict[Key, tuple[int, int]]

    @property
    def full(self) -> bool:
        return self.epoch == FULL_EPOCH


@dataclass
class SessionStats:
    """Counts per consumer, for tests and health output."""

    full: int = 0
    incremental: int = 0
    dropped: int = 0  # sessions dropped: an error answer or a failed request
    held_back: int = 0  # fetches not sent: the consumer held its buffer budget (fetch_buffer)
    handed_over: int = 0  # plans put off a turn: a consumer was taking fetched records first


def plan(session: FetchSession, wanted: Partitions) -> FetchPlan:
    """The request that fetches ``wanted`` in ``session``: everything when it is full,
    otherwise only what changed since the broker last heard, and what it must forget."""
    held = {(t, p): (offset, max_bytes) for t, parts in wanted for p, offset, max_bytes in parts}
    if session.id == 0 or session.epoch == FULL_EPOCH:
        return FetchPlan(0, FULL_EPOCH, wanted, [], held)
    send: dict[str, list[tuple[int, int, int]]] = {}
    for key, (offset, max_bytes) in held.items():
        if session.held.get(key) != (offset, max_bytes):
            send.setdefault(key[0], []).append((key[1], offset, max_bytes))
    forget: dict[str, list[int]] = {}
    for topic, partition in session.held.keys() - held.keys():
        forget.setdefault(topic, []).append(partition)
    return FetchPlan(
        session.id,
        session.epoch,
        list(send.items()),
        [(t, sorted(ps)) for t, ps in forget.items()],
        held,
    )


def answered(fetch: FetchPlan, error_code: int, session_id: int) -> FetchSession:
    """The session after the broker answered ``fetch``. Any error drops it (the next request
    is full). A full request opens the session the broker named (none when it named 0: its
    session cache may be full, so the next request is full again)."""
    if error_code != 0:
        return FetchSession()
    if fetch.full:
        if session_id == 0:
            return FetchSession()
        return FetchSession(session_id, 1, fetch.held)
    epoch = 1 if fetch.epoch >= MAX_EPOCH else fetch.epoch + 1
    return FetchSession(fetch.session_id, epoch, fetch.held)
