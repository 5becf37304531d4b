"""``faust_fixes.commit_once``: Faust's commit with the assignment read once. The same
partitions are committed as Faust's would (only assigned ones), the same errors end the same
way, and the assignment is built once per commit, not once per partition committed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import OffsetAndMetadata
from faust.types import TP

from ndxp.router.faust_fixes import commit_once
from ndxp.settings import RouterSettings


class Thread:
    """What the copied commit touches of Faust's consumer thread."""

    def __init__(self, assigned: set[TP], fail: Exception | None = None) -> None:
        self.assigned = assigned
        self.assignment_calls = 0
        self.committed: list[dict[TopicPartition, OffsetAndMetadata]] = []
        self.crashed: list[BaseException] = []
        self.tp_last_committed_at: dict[TP, float] = {}
        self.log = SimpleNamespace(exception=lambda *a, **kw: None)
        self.fail = fail

    def assignment(self) -> set[TP]:
        self.assignment_calls += 1
        return set(self.assigned)

    def _ensure_consumer(self) -> Any:
        async def commit(offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
            if self.fail is not None:
                raise self.fail
            self.committed.append(offsets)

        return SimpleNamespace(commit=commit)

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


def app_with(thread: Thread) -> Any:
    app = SimpleNamespace(consumer=SimpleNamespace(_thread=thread))
    commit_once(app)
    return app


def test_only_assigned_partitions_are_committed_and_the_assignment_is_read_once() -> None:
    assigned = {TP("ndxp.in.h01", p) for p in range(3)} | {TP("ndxp.in.h02", 0)}
    thread = Thread(assigned)
    app_with(thread)
    offsets = {TP("ndxp.in.h01", 0): 5, TP("ndxp.in.h02", 0): 9, TP("ndxp.in.gone", 1): 7}
    assert asyncio.run(thread._commit(offsets)) is True  # type: ignore[attr-defined]
    assert thread.committed == [
        {
            TopicPartition("ndxp.in.h01", 0): OffsetAndMetadata(5, ""),
            TopicPartition("ndxp.in.h02", 0): OffsetAndMetadata(9, ""),
        }
    ]
    assert set(thread.tp_last_committed_at) == {TP("ndxp.in.h01", 0), TP("ndxp.in.h02", 0)}
    assert thread.assignment_calls == 1  # Faust's read it once per offset: 3 here, 297 a router
    assert not thread.crashed


def test_a_commit_after_a_rebalance_fails_quietly_and_other_failures_crash_as_in_faust() -> None:
    rebalanced = Thread({TP("t", 0)}, CommitFailedError("already rebalanced"))
    app_with(rebalanced)
    assert asyncio.run(rebalanced._commit({TP("t", 0): 1})) is False  # type: ignore[attr-defined]
    assert not rebalanced.crashed
    broken = Thread({TP("t", 0)}, RuntimeError("broker gone"))
    app_with(broken)
    assert asyncio.run(broken._commit({TP("t", 0): 1})) is False  # type: ignore[attr-defined]
    assert [str(e) for e in broken.crashed] == ["broker gone"]


def test_the_router_commits_this_way_unless_told_otherwise() -> None:
    assert RouterSettings().commit_once is True
    assert RouterSettings.from_env({"NDXP_ROUTER_COMMIT_ONCE": "off"}).commit_once is False


def test_no_table_of_offsets_is_formatted_at_each_commit() -> None:
    import faust.transport.consumer as faust_consumer

    app_with(Thread({TP("t", 0)}))
    # Faust's _commit_offsets formats this for a log line at a level ndxp never logs
    table = faust_consumer.terminal.logtable([("TP(t, 0)", "5")] * 297, title="Commit Offsets")
    assert "not tabulated" in table and "TP(t, 0)" not in table
