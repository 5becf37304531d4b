"""Incremental fetch sessions (Kafka's KIP-227) for aiokafka's consumers.

aiokafka 0.14 sends every fetch request without a session (``session_id`` 0, epoch -1): each
request lists every partition the consumer reads, and each answer lists them all back, empty
or not. A router reads 297 ingress partitions, so every fetch — hundreds a second when the
platform is quiet — encodes 297 entries and decodes 297 more in Python, and a round trip pays
that at each of its hops. Measured by ``make bench`` on the many-agency mix (round trips, the
router with and without sessions in the same run): p50/p99 11.7/42.3 ms against 13.9/47.0 at
20 req/s, and 22.6/77.6 against 32.8/103.6 ms at 1,000 tx/s.

With a session (what the Java consumer has done since Kafka 1.1), the broker remembers the
partitions and their fetch offsets. The first request of a session lists them all (epoch 0,
a full fetch); each later one lists only the partitions whose fetch offset changed, and the
ones the consumer stopped reading (``forgotten_topics_data``); and the broker answers only
the partitions that have records or whose high watermark moved.

:func:`install` makes every aiokafka consumer of the process use sessions (idempotent, like
:func:`ndxp.kafka.records.install`). It changes two things in ``aiokafka.consumer.fetcher``
(:mod:`ndxp.versions` guards both):

- ``Fetcher._get_actions_per_node``: the fetch requests it builds are wrapped in
  :class:`SessionFetchRequest`, which the connection turns into a full or an incremental
  request when it picks the protocol version (v7 and later; an older broker gets aiokafka's
  own request);
- the fetcher's ``_client`` is wrapped in :class:`SessionClient`, whose ``send`` reads the
  answer's ``error_code`` and ``session_id`` and moves the session on.

What the broker holds is always exactly what the last request wanted: a partition the
consumer still has records of (aiokafka leaves it out of the next request) is forgotten, and
added again, at its new offset, when the consumer wants it back. A session that fails (an
error answer, a lost connection, a cancelled fetch, a timeout) is dropped and the next
request is a full one; no offset is ever taken from the session: aiokafka compares each
answered partition with the position the consumer holds, as before.

The planning is pure (:mod:`ndxp.core.fetch_session`) and tested on its own.
"""

from __future__ import annotations

from typing import Any, Final

from aiokafka.consumer import fetcher as _fetcher
from aiokafka.protocol.fetch import FetchRequest

from ndxp.core.fetch_session import FetchPlan, FetchSession, SessionStats, answered, plan
from ndxp.kafka import fetch_buffer, fetch_plan

_ORIGINAL_ACTIONS: Final = fetch_plan.ORIGINAL  # aiokafka's: what uninstall() puts back
SESSIONS_FROM_VERSION: Final = 7
DEFAULT_IDLE_WAIT_MS: Final = 500  # a fetch that holds nothing back (fetch_plan): Kafka's default
_sessions = True  # set by install()
_hand_over = True  # set by install()
_one_pass = True  # set by install()
_idle_wait_ms = 0  # set by install()


class SessionHolder:
    """The sessions of one fetcher, by broker node."""

    def __init__(self) -> None:
        self.by_node: dict[int, FetchSession] = {}
        self.stats = SessionStats()


class SessionFetchRequest(FetchRequest):  # type: ignore[misc]
    """aiokafka's fetch request, built as a session request when the broker speaks v7+."""

    def __init__(self, request: Any, holder: SessionHolder, node_id: int) -> None:
        super().__init__(
            request._max_wait_ms,
            request._min_bytes,
            request._max_bytes,
            request._isolation_level,
            request.topics,
            rack_id=request._rack_id,
        )
        self.holder = holder
        self.node_id = node_id
        self.plan: FetchPlan | None = None

    def build(self, request_struct_class: Any) -> Any:
        version = request_struct_class.API_VERSION
        if version < SESSIONS_FROM_VERSION:
            self.plan = None
            return super().build(request_struct_class)
        fetch = plan(self.holder.by_node.get(self.node_id, FetchSession()), self.topics)
        self.plan = fetch
        with_epoch = version >= 9  # v9 adds current_leader_epoch (-1: unknown)
        topics = [
            (
                topic,
                [
                    (p, -1, offset, -1, max_bytes) if with_epoch else (p, offset, -1, max_bytes)
                    for p, offset, max_bytes in parts
                ],
            )
            for topic, parts in fetch.send
        ]
        args: list[Any] = [
            -1,  # replica_id: a consumer
            self._max_wait_ms,
            self._min_bytes,
            self._max_bytes,
            self._isolation_level,
            fetch.session_id,
            fetch.epoch,
            topics,
            fetch.forget,
        ]
        if version >= 11:
            args.append(self._rack_id)
        return request_struct_class(*args)


class SessionClient:
    """The fetcher's client: ``send`` moves a fetch session on with each answer; everything
    else is the client's own."""

    def __init__(self, client: Any) -> None:
        self._ndxp_client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ndxp_client, name)

    @property
    def cluster(self) -> Any:  # read for every partition of every fetch: no __getattr__ detour
        return self._ndxp_client.cluster

    async def send(self, node_id: int, request: Any, **kw: Any) -> Any:
        if not isinstance(request, SessionFetchRequest):
            return await self._ndxp_client.send(node_id, request, **kw)
        holder = request.holder
        try:
            response = await self._ndxp_client.send(node_id, request, **kw)
        except BaseException:
            holder.by_node.pop(node_id, None)  # the broker may or may not have moved it on
            holder.stats.dropped += 1
            raise
        fetch = request.plan
        if fetch is None:  # an old broker: no session
            return response
        session = answered(fetch, response.error_code, response.session_id)
        holder.by_node[node_id] = session
        if response.error_code != 0:
            holder.stats.dropped += 1
        elif fetch.full:
            holder.stats.full += 1
        else:
            holder.stats.incremental += 1
        return response


def _get_actions_per_node(self: Any, assignment: Any) -> Any:
    """aiokafka's, with no fetch request while the fetcher holds its buffer budget
    (:mod:`ndxp.kafka.fetch_buffer`), and each request wrapped for this fetcher's sessions
    when they are on.

    The records an answer brought are handed over before the next fetch is planned: when a
    consumer's wait was just woken (a waiter done, not yet removed by its callback), nothing
    is planned and the fetch loop yields once (timeout 0), so the consumer takes its records
    first. aiokafka plans at once, while they are still buffered: it then sends no fetch to
    that broker (it waits for them to be taken) and plans again once they are. A plan walks
    every assigned partition (0.5-1 ms over a router's 297), and the records waited for the
    first, wasted one. ``python -m ndxp.bench.hand_over`` (a consumer of all 297 ingress
    partitions, a record at a time, the broker's append -> consumed): p50 4.6-5.3 ms without,
    3.3-3.8 ms with the hand-over, librdkafka 3.0-3.8 ms in the same run. In the router, whose
    consumer runs in a thread of Faust's, the agents' thread also waited for the interpreter
    while the consumer planned (see ``RouterSettings.switch_interval_ms``)."""
    if _hand_over and any(waiter.done() for waiter in self._fetch_waiters):
        holder_of(self).stats.handed_over += 1
        return ([], {}, 0, False, [])
    if _one_pass:
        idle_wait_ms = 0 if getattr(self, "_ndxp_short_polls", False) else _idle_wait_ms
        fetch_requests, *rest = fetch_plan.actions(self, assignment, idle_wait_ms)
    else:
        fetch_requests, *rest = _ORIGINAL_ACTIONS(self, assignment)
    if not fetch_requests:
        return (fetch_requests, *rest)
    if fetch_buffer.held_back(self, assignment):
        holder_of(self).stats.held_back += 1
        return ([], *rest)
    if not _sessions:
        return (fetch_requests, *rest)
    holder = holder_of(self)
    wrapped = [(node, SessionFetchRequest(req, holder, node)) for node, req in fetch_requests]
    return (wrapped, *rest)


_get_actions_per_node.__wrapped__ = _ORIGINAL_ACTIONS  # type: ignore[attr-defined]
# (what it stands in for: ndxp.versions checks aiokafka's source through it)


def short_polls(consumer: Any) -> None:
    """Keep this started consumer's fetches at its own wait, never the idle long poll
    (:mod:`ndxp.kafka.fetch_plan`): for a consumer whose assignment grows while it runs. A
    partition added waits for the fetch in flight (the broker answers a connection's requests
    in order), so a long poll would hold it back: the gateway's reply consumer adds each
    calling member's topic, and its first calls waited up to 500 ms (the many-agency mix one
    call at a time through the gateway: p90 569 ms, against 107 with its 50 ms wait)."""
    consumer._fetcher._ndxp_short_polls = True


def drop_sessions(fetcher: Any) -> int:
    """Forget this fetcher's sessions (run on its consumer's thread): its next fetch from each
    broker is a full one. The number dropped."""
    holder: SessionHolder | None = getattr(fetcher, "_ndxp_sessions", None)
    if holder is None:
        return 0
    dropped = len(holder.by_node)
    holder.by_node.clear()
    holder.stats.dropped += dropped
    return dropped


def holder_of(fetcher: Any) -> SessionHolder:
    """The fetcher's sessions (created, with the client wrapper, at its first fetch)."""
    holder: SessionHolder | None = getattr(fetcher, "_ndxp_sessions", None)
    if holder is None:
        holder = fetcher._ndxp_sessions = SessionHolder()
    if not isinstance(fetcher._client, SessionClient):
        fetcher._client = SessionClient(fetcher._client)
    return holder


def install(
    sessions: bool = True,
    buffer_budget: int | None = fetch_buffer.DEFAULT_BUDGET,
    hand_over: bool = True,
    one_pass: bool = True,
    idle_wait_ms: int = DEFAULT_IDLE_WAIT_MS,
    fair: bool = True,
) -> None:
    """Plan every aiokafka consumer's fetches of this process through ndxp (idempotent):
    with incremental sessions unless ``sessions`` is false, within ``buffer_budget``
    buffered bytes per consumer (``None``: no bound), after a woken consumer has taken its
    records unless ``hand_over`` is false, and in one pass (:mod:`ndxp.kafka.fetch_plan`)
    unless ``one_pass`` is false, a fetch that holds no partition back waiting up to
    ``idle_wait_ms`` (one pass only; 0: the consumer's own wait), each poll's records shared
    between topics and partitions (:mod:`ndxp.kafka.fair_drain`) unless ``fair`` is false.
    Call it before the consumers start."""
    global _sessions, _hand_over, _one_pass, _idle_wait_ms
    _sessions, _hand_over, _one_pass = sessions, hand_over, one_pass
    _idle_wait_ms = idle_wait_ms
    fetch_buffer.limit(buffer_budget)
    fetch_plan.share_fairly(fair)
    _fetcher.Fetcher._get_actions_per_node = _get_actions_per_node
    _fetcher.Fetcher.fetched_records = fetch_plan.fetched_records


def installed() -> bool:
    return _fetcher.Fetcher._get_actions_per_node is _get_actions_per_node


def uninstall() -> None:
    """aiokafka's own fetches again, session-less and unbounded (for consumers started
    after this)."""
    global _hand_over, _one_pass, _idle_wait_ms
    _hand_over = _one_pass = True
    _idle_wait_ms = 0
    fetch_buffer.limit(None)
    fetch_plan.share_fairly(True)
    _fetcher.Fetcher._get_actions_per_node = _ORIGINAL_ACTIONS
    _fetcher.Fetcher.fetched_records = fetch_plan.ORIGINAL_FETCHED_RECORDS
