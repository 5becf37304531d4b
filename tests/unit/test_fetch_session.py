"""Fetch sessions (KIP-227): the planning of full and incremental requests, the session after
each answer, and the request aiokafka's connection encodes from a plan."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.protocol.fetch import (
    FetchRequest,
    FetchRequest_v4,
    FetchRequest_v7,
    FetchRequest_v11,
)

from ndxp.core.fetch_session import MAX_EPOCH, FetchSession, answered, plan
from ndxp.kafka import fetch_session
from ndxp.kafka.fetch_session import SessionClient, SessionFetchRequest, SessionHolder

MB = 1 << 20


def wanted(**offsets: int) -> list[tuple[str, list[tuple[int, int, int]]]]:
    """``a0=5, b1=7`` → topic a partition 0 at 5, topic b partition 1 at 7."""
    by_topic: dict[str, list[tuple[int, int, int]]] = {}
    for name, offset in offsets.items():
        by_topic.setdefault(name[0], []).append((int(name[1:]), offset, MB))
    return list(by_topic.items())


def test_without_a_session_the_request_is_full_and_opens_one() -> None:
    fetch = plan(FetchSession(), wanted(a0=5, a1=0, b0=9))
    assert fetch.full and fetch.session_id == 0 and fetch.epoch == 0
    assert fetch.send == wanted(a0=5, a1=0, b0=9)
    assert fetch.forget == []
    opened = answered(fetch, 0, 4242)
    assert opened.id == 4242 and opened.epoch == 1
    assert opened.held == {("a", 0): (5, MB), ("a", 1): (0, MB), ("b", 0): (9, MB)}


def test_an_incremental_request_lists_only_what_changed_and_what_to_forget() -> None:
    session = answered(plan(FetchSession(), wanted(a0=5, a1=0, b0=9)), 0, 7)
    fetch = plan(session, wanted(a0=8, a1=0, c2=3))  # a0 moved, b0 gone, c2 new
    assert not fetch.full and fetch.session_id == 7 and fetch.epoch == 1
    assert sorted(fetch.send) == [("a", [(0, 8, MB)]), ("c", [(2, 3, MB)])]
    assert fetch.forget == [("b", [0])]
    after = answered(fetch, 0, 7)
    assert after.epoch == 2
    assert after.held == {("a", 0): (8, MB), ("a", 1): (0, MB), ("c", 2): (3, MB)}
    idle = plan(after, wanted(a0=8, a1=0, c2=3))
    assert idle.send == [] and idle.forget == []  # nothing changed: an empty request


def test_a_partition_left_out_is_forgotten_and_comes_back_at_its_new_offset() -> None:
    """aiokafka leaves out a partition whose records it still holds: the broker must not
    keep fetching it from the old offset."""
    session = answered(plan(FetchSession(), wanted(a0=5, a1=0)), 0, 7)
    without = plan(session, wanted(a1=0))
    assert without.forget == [("a", [0])] and without.send == []
    session = answered(without, 0, 7)
    back = plan(session, wanted(a0=12, a1=0))
    assert back.send == [("a", [(0, 12, MB)])] and back.forget == []


@pytest.mark.parametrize("error_code", [70, 71, 1, 7])
def test_any_error_drops_the_session(error_code: int) -> None:
    session = answered(plan(FetchSession(), wanted(a0=5)), 0, 7)
    after = answered(plan(session, wanted(a0=6)), error_code, 7)
    assert after == FetchSession()
    assert plan(after, wanted(a0=6)).full


def test_a_broker_that_opens_no_session_gets_full_requests() -> None:
    after = answered(plan(FetchSession(), wanted(a0=5)), 0, 0)  # its session cache is full
    assert plan(after, wanted(a0=5)).full


def test_the_epoch_wraps_to_one() -> None:
    session = FetchSession(7, MAX_EPOCH, {("a", 0): (5, MB)})
    assert answered(plan(session, wanted(a0=5)), 0, 7).epoch == 1


def aiokafka_request(**offsets: int) -> FetchRequest:
    return FetchRequest(20, 1, 8 * MB, 0, wanted(**offsets), rack_id="")


def test_the_request_is_encoded_with_the_session_fields() -> None:
    holder = SessionHolder()
    holder.by_node[1] = answered(plan(FetchSession(), wanted(a0=5, a1=0)), 0, 99)
    request = SessionFetchRequest(aiokafka_request(a0=6, a1=0), holder, 1)
    for cls in (FetchRequest_v7, FetchRequest_v11):
        struct = request.build(cls)
        decoded = cls.decode(struct.encode())
        assert decoded.session_id == 99 and decoded.session_epoch == 1
        parts = decoded.topics[0][1]
        assert len(parts) == 1 and parts[0][0] == 0 and 6 in parts[0]  # only a0, at 6
        assert decoded.forgotten_topics_data == []
    # aiokafka's own view of the request is every partition it wants
    assert request.topics == wanted(a0=6, a1=0)


def test_an_old_broker_gets_aiokafkas_own_request() -> None:
    request = SessionFetchRequest(aiokafka_request(a0=6, a1=0), SessionHolder(), 1)
    struct = request.build(FetchRequest_v4)
    assert isinstance(struct, FetchRequest_v4) and request.plan is None
    assert sum(len(p) for _, p in struct.topics) == 2


class Client:
    """Answers fetches as a broker with session 99 would, or fails."""

    def __init__(self, error_code: int = 0, fail: BaseException | None = None) -> None:
        self.error_code, self.fail = error_code, fail
        self.cluster = SimpleNamespace(name="the client's cluster")

    async def send(self, node_id: int, request: Any, **kw: Any) -> Any:
        request.build(FetchRequest_v11)  # what the connection does
        if self.fail is not None:
            raise self.fail
        return SimpleNamespace(error_code=self.error_code, session_id=99)


def test_the_client_moves_the_session_on_with_each_answer() -> None:
    holder = SessionHolder()
    client = SessionClient(Client())
    assert client.cluster.name == "the client's cluster"  # the rest is the client's own
    for offset in (5, 6, 7):
        asyncio.run(client.send(1, SessionFetchRequest(aiokafka_request(a0=offset), holder, 1)))
    assert holder.by_node[1] == FetchSession(99, 3, {("a", 0): (7, MB)})
    assert (holder.stats.full, holder.stats.incremental, holder.stats.dropped) == (1, 2, 0)


@pytest.mark.parametrize("fail", [asyncio.CancelledError(), TimeoutError(), OSError()])
def test_a_failed_fetch_drops_the_session(fail: BaseException) -> None:
    holder = SessionHolder()
    holder.by_node[1] = FetchSession(99, 4, {("a", 0): (5, MB)})
    client = SessionClient(Client(fail=fail))
    with pytest.raises(type(fail)):
        asyncio.run(client.send(1, SessionFetchRequest(aiokafka_request(a0=6), holder, 1)))
    assert 1 not in holder.by_node and holder.stats.dropped == 1


def test_an_error_answer_drops_the_session() -> None:
    holder = SessionHolder()
    holder.by_node[1] = FetchSession(99, 4, {("a", 0): (5, MB)})
    client = SessionClient(Client(error_code=71))  # INVALID_FETCH_SESSION_EPOCH
    asyncio.run(client.send(1, SessionFetchRequest(aiokafka_request(a0=6), holder, 1)))
    assert holder.by_node[1] == FetchSession() and holder.stats.dropped == 1


def planner_of(waiters: set[asyncio.Future[None]]) -> Any:
    """A fetcher as ``_get_actions_per_node`` sees it: its consumers' waits, its sessions."""
    return SimpleNamespace(_fetch_waiters=waiters, _client=Client(), _ndxp_sessions=None)


def test_a_consumer_woken_takes_its_records_before_the_next_fetch_is_planned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned: list[object] = []

    def aiokafkas(fetcher: object, assignment: object, idle_wait_ms: int = 0) -> object:
        planned.append(assignment)
        return ([], {}, 1.5, False, [])

    monkeypatch.setattr(fetch_session.fetch_plan, "actions", aiokafkas)  # the planner in use
    loop = asyncio.new_event_loop()
    try:
        woken, waiting = loop.create_future(), loop.create_future()
        woken.set_result(None)
        fetcher = planner_of({woken, waiting})
        # a wait just woken (done, not yet removed by its callback): plan nothing, yield once
        assert fetch_session._get_actions_per_node(fetcher, "assignment") == ([], {}, 0, False, [])
        assert planned == [] and fetch_session.holder_of(fetcher).stats.handed_over == 1
        # only waits still waiting: planned as aiokafka plans
        fetcher._fetch_waiters = {waiting}
        assert fetch_session._get_actions_per_node(fetcher, "assignment")[2] == 1.5
        assert planned == ["assignment"]
    finally:
        loop.close()


def test_a_consumer_whose_assignment_grows_keeps_its_short_polls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The idle long poll is every consumer's but one marked by ``short_polls`` (the gateway's
    reply consumer): a partition it adds would wait behind a long poll in flight."""
    waits: list[int] = []

    def planned(fetcher: object, assignment: object, idle_wait_ms: int = 0) -> object:
        waits.append(idle_wait_ms)
        return ([], {}, 1.5, False, [])

    monkeypatch.setattr(fetch_session.fetch_plan, "actions", planned)
    fetch_session.install()
    try:
        fetch_session._get_actions_per_node(planner_of(set()), "assignment")
        marked = SimpleNamespace(_fetcher=planner_of(set()))
        fetch_session.short_polls(marked)
        fetch_session._get_actions_per_node(marked._fetcher, "assignment")
    finally:
        fetch_session.uninstall()
    assert waits == [fetch_session.DEFAULT_IDLE_WAIT_MS, 0]
