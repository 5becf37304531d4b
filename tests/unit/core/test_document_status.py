"""A document's life at one receiver (ndxp.core.document_status)."""

from __future__ import annotations

import random

import pytest

from ndxp.core.document_status import (
    Party,
    State,
    Status,
    StatusRefused,
    advance,
    overview,
    parse_status,
)

R, S, X = Party.RECEIVER, Party.SENDER, Party.OTHER


def walk(*steps: tuple[Status, Party]) -> State | StatusRefused:
    state: State | StatusRefused = State()
    for status, by in steps:
        assert isinstance(state, State), state
        state = advance(state, status, by)
    return state


def test_the_simulated_receivers_walk_is_valid() -> None:
    state = walk(
        (Status.ARRIVED, R),
        (Status.ACCEPTED, R),
        (Status.ASSIGNED, R),
        (Status.PROCESSING, R),
        (Status.DONE, R),
    )
    assert state == State(Status.DONE)


def test_steps_forward_may_be_skipped_after_acceptance() -> None:
    assert walk((Status.ARRIVED, R), (Status.ACCEPTED, R), (Status.DONE, R)) == State(Status.DONE)


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ([(Status.ACCEPTED, R)], StatusRefused.OUT_OF_ORDER),  # before arrival
        ([(Status.ARRIVED, R), (Status.DONE, R)], StatusRefused.OUT_OF_ORDER),  # not accepted
        ([(Status.ARRIVED, R), (Status.ARRIVED, R)], StatusRefused.REPEATED),
        (
            [
                (Status.ARRIVED, R),
                (Status.ACCEPTED, R),
                (Status.PROCESSING, R),
                (Status.ASSIGNED, R),
            ],
            StatusRefused.OUT_OF_ORDER,  # backwards
        ),
        (
            [(Status.ARRIVED, R), (Status.ACCEPTED, R), (Status.REFUSED, R)],
            StatusRefused.OUT_OF_ORDER,
        ),
        ([(Status.ARRIVED, R), (Status.REFUSED, R), (Status.ACCEPTED, R)], StatusRefused.CLOSED),
        ([(Status.ARRIVED, X)], StatusRefused.NOT_PARTY),
        ([(Status.ARRIVED, S)], StatusRefused.NOT_PARTY),  # the sender speaks for no receiver
        ([(Status.RECALL, R)], StatusRefused.NOT_PARTY),  # only the sender recalls
        ([(Status.RECALL_ACCEPTED, R)], StatusRefused.OUT_OF_ORDER),  # nothing recalled
        ([(Status.RECALL, S), (Status.RECALL, S)], StatusRefused.REPEATED),
        ([(Status.RECALL, S), (Status.ARRIVED, R)], StatusRefused.OUT_OF_ORDER),  # answer first
        (
            [(Status.RECALL, S), (Status.RECALL_ACCEPTED, R), (Status.ARRIVED, R)],
            StatusRefused.CLOSED,
        ),
        ([(Status.RECALL, S), (Status.RECALL_ACCEPTED, S)], StatusRefused.NOT_PARTY),
    ],
)
def test_refused_statuses_get_a_stable_code(
    steps: list[tuple[Status, Party]], refused: StatusRefused
) -> None:
    *before, last = steps
    state = walk(*before)
    assert isinstance(state, State)
    assert advance(state, *last) is refused


def test_a_refused_recall_leaves_the_document_where_it_was_and_may_be_asked_again() -> None:
    state = walk(
        (Status.ARRIVED, R),
        (Status.ACCEPTED, R),
        (Status.RECALL, S),
        (Status.RECALL_REFUSED, R),
    )
    assert state == State(Status.ACCEPTED)
    assert advance(state, Status.PROCESSING, R) == State(Status.PROCESSING)
    again = advance(state, Status.RECALL, S)
    assert again == State(Status.ACCEPTED, Status.RECALL)
    withdrawn = advance(again, Status.RECALL_ACCEPTED, R)
    assert isinstance(withdrawn, State) and withdrawn.closed


def test_unknown_codes() -> None:
    assert parse_status("06") is Status.DONE
    for text in ("", "6", "07", "13 ", "٠١"):
        assert parse_status(text) is StatusRefused.UNKNOWN_STATUS


def test_no_sequence_of_statuses_goes_back_or_reopens() -> None:
    """Random statuses from random parties: the processing step never goes back, and a
    closed state never changes."""
    order = [None, Status.ARRIVED, Status.ACCEPTED, Status.ASSIGNED, Status.PROCESSING, Status.DONE]
    rng = random.Random(14)
    for _ in range(2000):
        state = State()
        for _ in range(12):
            status, by = rng.choice(list(Status)), rng.choice(list(Party))
            after = advance(state, status, by)
            if isinstance(after, StatusRefused):
                continue
            assert not state.closed
            if state.step in order and after.step in order:
                assert order.index(after.step) >= order.index(state.step)
            if state.step is Status.REFUSED:
                raise AssertionError("a refused document moved")
            state = after


def test_the_senders_overview() -> None:
    states = [
        State(Status.DONE),
        State(Status.REFUSED),
        State(Status.PROCESSING, Status.RECALL),
        State(),
        State(Status.ARRIVED, Status.RECALL_ACCEPTED),
    ]
    view = overview(states)
    assert view.receivers == 5
    assert view.by_step == {"06": 1, "02": 1, "05": 1, "delivered": 1, "01": 1}
    assert (view.recalls_pending, view.withdrawn, view.finished) == (1, 1, False)
    assert overview([State(Status.DONE), State(Status.REFUSED)]).finished
    assert not overview([]).finished
