"""Which partitions a consumer fetches next, planned in one pass: aiokafka 0.14's
``Fetcher._get_actions_per_node`` with the same decisions and no call per partition (the
request's partitions rotated from a random one instead of shuffled, and the long poll below).

aiokafka plans after every fetch answer, walking every assigned partition with five calls
each (the partition's state, the replica to read from and its leader, two properties, a debug
log call). A router reads 297 ingress partitions: at 200 req/s of the round-trip probe py-spy
found the plan in 38 % of the consumer thread's busy samples. This walk reads the same
state directly (:mod:`ndxp.versions` guards each attribute) and decides each partition the
same way, in the same order of tests; when the broker has named preferred read replicas
(KIP-392, rack-aware fetching, which ndxp does not configure) it hands over to aiokafka's.

**A long poll when nothing is held back** (``idle_wait_ms``). aiokafka keeps one fetch in
flight per broker and leaves out of it every partition whose records the consumer has not
taken yet. A long fetch wait would then hold such a partition back until the fetch in flight
returned (a hot partition's records waited on idle ones: why ndxp's consumers wait only
10-20 ms). A fetch that leaves out nothing holds nothing back: the broker answers it as soon
as any of its partitions has a record. So such a fetch waits ``idle_wait_ms`` (when that is
longer than the consumer's own wait), and a fetch that leaves a partition out keeps the
consumer's short wait. On a quiet platform every fetch is of the first kind (the hand-over
lets the consumer take its records before the next plan), and the short waits had the broker
answer a fetch of every partition 50-100 times a second per consumer for nothing. With the
router and the simulator up and nothing sent (``python -m ndxp.bench.idle``, 2-core box): the
broker at 0.44-0.53 of a core without the long poll, 0.06-0.12 with it (0.04-0.07 alone).
A consumer whose assignment grows while it runs keeps its short polls
(:func:`ndxp.kafka.fetch_session.short_polls`): a partition added waits for the fetch in
flight. A router's seek back or rebalance may now wait up to the long poll, as with Kafka's
own default.

**Partitions read only to recover state** (:func:`read_for_recovery`). A Faust worker is
assigned its tables' changelog partitions and reads them at takeover; afterwards Faust no
longer asks for them (``getmany`` names only its active partitions) but aiokafka, which Faust
never pauses, has already fetched their newest records, and keeps them. Counted as held out,
those records kept every fetch of the router at its short wait for as long as it ran: at
5 req/s of the round-trip probe, 2,019 of 2,116 fetches waited 20 ms (the quota table's three
changelog partitions were the only ones held), and the broker answered ~50 fetches of 300
partitions a second for nothing. Records of such a topic count only while the consumer asks for its
partition (:func:`fetched_records` remembers what it asked for last): during recovery they
hold the wait short as before, and not after."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Container, Iterable
from typing import Any, Final

from aiokafka.consumer import fetcher as _fetcher
from aiokafka.protocol.fetch import FetchRequest

from ndxp.kafka import fair_drain

ORIGINAL: Final = _fetcher.Fetcher._get_actions_per_node
ORIGINAL_FETCHED_RECORDS: Final = _fetcher.Fetcher.fetched_records
_recovery_only: frozenset[str] = frozenset()  # set by read_for_recovery()
_fair = True  # share each poll between topics (kafka/fair_drain.py): share_fairly()


def share_fairly(on: bool) -> None:
    """Whether a poll's ``max_records`` are shared between topics and partitions
    (:mod:`ndxp.kafka.fair_drain`, the default) or aiokafka's first come, first served."""
    global _fair
    _fair = on


def shares_fairly() -> bool:
    """Whether polls are shared fairly (and topics can be held: :func:`fair_drain.hold`)."""
    return _fair


def read_for_recovery(topics: Iterable[str]) -> None:
    """Topics this process's consumers read only to recover state (a Faust table's changelog):
    their buffered records hold a fetch's wait short only while the consumer asks for them."""
    global _recovery_only
    _recovery_only = _recovery_only | frozenset(topics)


async def fetched_records(
    self: Any, partitions: Any, timeout: float = 0, max_records: int | None = None
) -> Any:
    """aiokafka's ``Fetcher.fetched_records``, remembering which partitions the consumer asked
    for (none: all of them, as aiokafka reads it), and sharing ``max_records`` fairly between
    topics and partitions (:mod:`ndxp.kafka.fair_drain`)."""
    self._ndxp_asked = partitions
    if max_records is None or not _fair:  # everything buffered: aiokafka's walk is as fair
        return await ORIGINAL_FETCHED_RECORDS(self, partitions, timeout, max_records)
    return await fair_drain.fetched_records(self, partitions, timeout, max_records)


fetched_records.__wrapped__ = ORIGINAL_FETCHED_RECORDS  # type: ignore[attr-defined]
# (what it stands in for: ndxp.versions checks aiokafka's source through it)


def held(
    tp: Any, asked: Any, recovery_topics: frozenset[str], on_hold: Container[str] = frozenset()
) -> bool:
    """Whether records buffered for ``tp`` hold the next fetch's wait short: always, except for
    a partition of a topic read only to recover state that the consumer no longer asks for
    (``asked``: the partitions it asked for last; empty, all), and one of a topic on hold
    (``on_hold``: :func:`ndxp.kafka.fair_drain.hold`), whose records are not taken before the
    hold ends, however soon the fetch in flight returns."""
    if tp.topic in on_hold:
        return False
    return tp.topic not in recovery_topics or not asked or tp in asked


def actions(fetcher: Any, assignment: Any, idle_wait_ms: int = 0) -> Any:
    """``(fetch_requests, awaiting_reset, backoff, invalid_metadata, resume_futures)``, as
    aiokafka's ``_get_actions_per_node`` returns them for this fetcher and assignment; a
    request that leaves none of its broker's partitions out waits ``idle_wait_ms`` when that
    is longer than the consumer's wait (0: always the consumer's, as aiokafka)."""
    if fetcher._preferred_read_replica:
        return ORIGINAL(fetcher, assignment)
    partitions = fetcher._client.cluster._partitions
    states = assignment._tp_state
    records = fetcher._records
    in_flight = fetcher._in_flight
    fetchable: defaultdict[int, list[tuple[Any, int]]] = defaultdict(list)
    awaiting_reset: defaultdict[int, list[Any]] = defaultdict(list)
    backoff_by_nodes: defaultdict[Any, list[float]] = defaultdict(list)
    resume_futures: list[Any] = []
    invalid_metadata = False
    held_out: set[Any] = set()  # brokers with a partition left out (records not taken, paused)
    recovery_topics = _recovery_only
    asked = getattr(fetcher, "_ndxp_asked", ())
    on_hold = fair_drain.holds() if _fair else {}
    for tp in assignment._topic_partitions:
        state = states.get(tp)
        of_topic = partitions.get(tp.topic)
        meta = None if of_topic is None else of_topic.get(tp.partition)
        node_id = None if meta is None else meta.leader
        if tp in records:
            if held(tp, asked, recovery_topics, on_hold):
                held_out.add(node_id)
            backoff = records[tp].calculate_backoff()
            if backoff:
                backoff_by_nodes[node_id].append(backoff)
        elif node_id in in_flight:
            continue
        elif node_id is None or node_id == -1:
            invalid_metadata = True
        elif state._position is None:
            awaiting_reset[node_id].append(tp)  # the leader: no preferred replica here
        elif state._paused:
            held_out.add(node_id)
            resume_futures.append(state.resume_fut)
        else:
            fetchable[node_id].append((tp, state._position))

    fetch_requests = []
    short_wait = fetcher._fetch_max_wait_ms
    long_wait = max(short_wait, idle_wait_ms)
    for node_id, partition_data in fetchable.items():
        if node_id in backoff_by_nodes or node_id in awaiting_reset:
            continue
        # as aiokafka, no partition is always first (a bound on the fetch's size fills the
        # first ones), but rotated from a random one, not shuffled: 2 µs instead of 77
        start = random.randrange(len(partition_data))
        partition_data = partition_data[start:] + partition_data[:start]
        by_topics: defaultdict[str, list[tuple[int, int, int]]] = defaultdict(list)
        limit = fetcher._max_partition_fetch_bytes
        for tp, position in partition_data:
            by_topics[tp.topic].append((tp.partition, position, limit))
        # a partition without a leader is fetched once the metadata names one: not held back
        # by a long poll either
        wait = short_wait if node_id in held_out or invalid_metadata else long_wait
        req = FetchRequest(
            wait,
            fetcher._fetch_min_bytes,
            fetcher._fetch_max_bytes,
            fetcher._isolation_level,
            list(by_topics.items()),
            rack_id=fetcher._client_rack or "",
        )
        fetch_requests.append((node_id, req))

    if backoff_by_nodes:
        backoff = min(map(max, backoff_by_nodes.values()))
    else:
        backoff = fetcher._fetcher_timeout
    return (fetch_requests, awaiting_reset, backoff, invalid_metadata, resume_futures)
