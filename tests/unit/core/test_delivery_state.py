"""A delivery's record in the document state topic: statuses decided against it, and read
again after a crash without being applied twice."""

from ndxp.core import delivery_state as ds
from ndxp.core.document_status import Party, State, Status, StatusRefused

R, S = Party.RECEIVER, Party.SENDER


def test_a_status_for_a_delivery_never_made_is_refused_and_leaves_no_record() -> None:
    assert ds.decide(None, 5, Status.ARRIVED, R) == (
        None,
        ds.Verdict(StatusRefused.NO_DOCUMENT, False),
    )


def test_statuses_walk_the_lifecycle_and_refusals_are_remembered() -> None:
    record = ds.delivered(None)
    assert ds.delivered(record) is record  # delivered again (a fan-out replayed): nothing new
    verdicts = []
    for offset, (status, by) in enumerate(
        [
            (Status.ARRIVED, R),
            (Status.ARRIVED, R),
            (Status.ACCEPTED, R),
            (Status.RECALL, S),
            (Status.DONE, R),
            (Status.RECALL_REFUSED, R),
            (Status.DONE, R),
        ],
        start=10,
    ):
        after, verdict = ds.decide(record, offset, status, by)
        assert after is not None and not verdict.replay
        record = after
        verdicts.append(verdict.refused)
    assert verdicts == [
        None,
        StatusRefused.REPEATED,
        None,
        None,
        StatusRefused.OUT_OF_ORDER,
        None,
        None,
    ]
    assert ds.state_of(record) == State(Status.DONE, None)
    assert record["t"] == 16 and len(record["h"]) == 7


def test_a_status_read_again_gets_its_first_verdict_and_changes_nothing() -> None:
    record = ds.delivered(None)
    record, _ = ds.decide(record, 3, Status.ARRIVED, R)
    assert record is not None
    record, _ = ds.decide(record, 4, Status.ARRIVED, R)  # refused: a repeat
    assert record is not None
    # after a crash the stage reads offsets 3 and 4 again: 3 was routed, 4 refused
    assert ds.decide(record, 3, Status.ARRIVED, R) == (None, ds.Verdict(None, True))
    again = ds.decide(record, 4, Status.ARRIVED, R)
    assert again == (None, ds.Verdict(StatusRefused.REPEATED, True))
    assert ds.state_of(record).step is Status.ARRIVED


def test_the_record_remembers_the_latest_statuses_only() -> None:
    record = ds.delivered(None)
    for offset in range(100):  # a receiver flooding one delivery with repeats
        after, _ = ds.decide(record, offset, Status.ARRIVED, R)
        assert after is not None
        record = after
    assert len(record["h"]) == ds.KEEP and record["h"][0][0] == 100 - ds.KEEP
    # older than the memory: answered as a repeat, never applied
    assert ds.decide(record, 0, Status.ARRIVED, R) == (
        None,
        ds.Verdict(StatusRefused.REPEATED, True),
    )


def test_a_delivery_finished_long_enough_ago_may_leave_the_state_topic() -> None:
    day = 86_400_000
    record = ds.delivered(None, at_ms=1 * day)
    for offset, status in enumerate([Status.ARRIVED, Status.ACCEPTED], start=1):
        after, _ = ds.decide(record, offset, status, R, at_ms=2 * day)
        assert after is not None
        record = after
    assert not ds.finished_before(record, 10 * day)  # accepted: still open, however old
    done, _ = ds.decide(record, 3, Status.DONE, R, at_ms=3 * day)
    assert done is not None and done["at"] == 3 * day
    assert ds.finished_before(done, 4 * day) and not ds.finished_before(done, 3 * day)
    # refused and withdrawn are finished too; a recall pending is not
    refused, _ = ds.decide(ds.delivered(None, day), 1, Status.ARRIVED, R, day)
    assert refused is not None
    refused, _ = ds.decide(refused, 2, Status.REFUSED, R, day)
    assert ds.finished_before(refused, 2 * day)
    recalled, _ = ds.decide(done, 4, Status.RECALL, S, 3 * day)
    assert recalled is not None and not ds.finished_before(recalled, 9 * day)
    assert not ds.finished_before(None, 9 * day)


def test_a_delivery_left_open_with_nothing_said_may_leave_after_the_open_keep() -> None:
    day = 86_400_000
    record = ds.delivered(None, at_ms=1 * day)
    assert ds.idle_before(record, 2 * day) and not ds.idle_before(record, 1 * day)
    arrived, _ = ds.decide(record, 0, Status.ARRIVED, R, at_ms=4 * day)
    assert arrived is not None
    accepted, _ = ds.decide(arrived, 1, Status.ACCEPTED, R, at_ms=5 * day)
    assert accepted is not None and accepted["s"] == Status.ACCEPTED.value
    assert not ds.idle_before(accepted, 5 * day)  # a processing step moves its time on
    assert ds.idle_before(accepted, 5 * day + 1)
    # a recall and its answer do not move it either: refused and made again, they could for ever
    recalled, _ = ds.decide(accepted, 2, Status.RECALL, S, at_ms=6 * day)
    assert recalled is not None and recalled["r"] == Status.RECALL.value
    answered, _ = ds.decide(recalled, 3, Status.RECALL_REFUSED, R, at_ms=7 * day)
    assert answered is not None and answered["r"] is None
    recalled, _ = ds.decide(answered, 4, Status.RECALL, S, at_ms=8 * day)
    assert recalled is not None and recalled["r"] == Status.RECALL.value
    assert recalled["at"] == 5 * day and ds.idle_before(recalled, 5 * day + 1)
    # a refused status does not move the time: free to send, it must keep nothing for ever
    back, verdict = ds.decide(accepted, 5, Status.ARRIVED, R, at_ms=7 * day)
    assert verdict.refused is StatusRefused.OUT_OF_ORDER
    assert back is not None and back["at"] == 5 * day and ds.idle_before(back, 6 * day)
    done, _ = ds.decide(back, 6, Status.DONE, R, at_ms=8 * day)
    assert done is not None and done["at"] == 8 * day  # a processing step moves it
    repeated, verdict = ds.decide(done, 7, Status.DONE, R, at_ms=20 * day)
    assert verdict.refused is StatusRefused.REPEATED
    assert repeated is not None and ds.finished_before(repeated, 9 * day)
    assert not ds.idle_before(None, 9 * day)
    assert not ds.idle_before({"h": [], "t": 4}, 9 * day)  # never delivered: nothing kept
