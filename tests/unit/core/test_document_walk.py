"""A simulated receiving agency's plan: every status it reports is one the lifecycle accepts,
in order, from a fresh delivery or from wherever a restart finds it."""

import random

from ndxp.core.document_status import Party, State, Status, advance
from ndxp.core.document_walk import SPEED, answer_recall, delivery_rng, plan


def walk(state: State, steps: list[Status]) -> State:
    for status in steps:
        moved = advance(state, status, Party.RECEIVER)
        assert isinstance(moved, State), (state, status, moved)
        state = moved
    return state


def test_every_plan_is_a_valid_walk_to_done_or_refused() -> None:
    rng = random.Random(7)
    ends = {Status.DONE: 0, Status.REFUSED: 0}
    for _ in range(2000):
        steps = plan(rng)
        end = walk(State(), [s.status for s in steps])
        assert end.step in ends
        ends[end.step] += 1  # type: ignore[index]
        assert all(s.after_s > 0 for s in steps)
    assert 20 <= ends[Status.REFUSED] <= 120  # about 3 %
    # compressed 10,000×: a document is done in about half a minute
    total = sum(s.after_s for s in plan(random.Random(1)))
    assert 5 < total < 200, total
    assert SPEED == 10_000


def test_a_plan_goes_on_from_where_a_delivery_stands() -> None:
    rng = random.Random(3)
    for since in (Status.ARRIVED, Status.ACCEPTED, Status.ASSIGNED, Status.PROCESSING):
        steps = plan(rng, State(since))
        assert steps and walk(State(since), [s.status for s in steps]).step in (
            Status.DONE,
            Status.REFUSED,
        )
    for finished in (State(Status.DONE), State(Status.REFUSED), State(None, Status.RECALL)):
        assert plan(rng, finished) == []


def test_a_recall_is_answered_with_15_or_16() -> None:
    rng = random.Random(5)
    answers = {answer_recall(rng, State(Status.PROCESSING)).status for _ in range(200)}
    assert answers == {Status.RECALL_ACCEPTED, Status.RECALL_REFUSED}
    assert answer_recall(rng, State(Status.ARRIVED)).status is Status.RECALL_ACCEPTED


def test_a_restarted_agency_plans_the_rest_of_the_same_walk() -> None:
    """Seeded per delivery, the plan from any state along a walk is that walk's rest: a
    restart never changes a decision (refuse or accept) already half carried out."""
    for n in range(300):
        key = f"000.00.00.G22,2022/03/15,{n}/VPCP|000.00.00.H41"
        whole = plan(delivery_rng(0, key))
        state = State()
        for i, step in enumerate(whole):
            rest = plan(delivery_rng(0, key), state)
            assert [s.status for s in rest] == [s.status for s in whole[i:]]
            state = walk(state, [step.status])
