"""One delivery's record in the document state topic: a document at one receiver, as the
router's status stage keeps it (issue 14; ``schemas/WIRE.md``, "Documents").

The stage reads, in one partition's order, every event about a delivery (key
``<document id>|<receiver>``): that the document was *delivered* (written by the fan-out), and
each *status* given for it. This module folds an event into the record and says what the
status stage does with it. Pure: a record (the JSON the compacted topic holds) and an event
in, the next record and a verdict out.

A status is decided against the record (:func:`ndxp.core.document_status.advance`); one for a
delivery the platform never made is refused ``STATUS_NO_DOCUMENT``. The record also remembers
the verdicts of its latest statuses by their offset in the state stage's topic, so a status
read again after a crash (the record is written before the offsets that cover it are
committed, so it may be ahead of them) gets its first verdict back, and is neither applied
twice nor refused as a repeat. A status older than that memory (more than :data:`KEEP`
statuses for one delivery between two commits: only a sender flooding it) is answered
``STATUS_REPEATED``.

A record also keeps when its receiver last took a processing step (``at``, the platform's
time of receipt; a refused status, a recall or a recall's answer does not move it):
a delivery finished (done, refused or withdrawn) longer ago than the router keeps them
(:func:`finished_before`) leaves the topic, and so does one left open with nothing said about
it for longer than the router keeps an open one (:func:`idle_before`: a receiver that never
reports, or a sender that opens deliveries nobody answers). The state held is then bounded
by the deliveries opened in that time, which a limit on documents bounds per client
(:data:`ndxp.core.quota.DOCUMENTS`), not by the axis's whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ndxp.core.document_status import (
    PROCESSING_STATUSES,
    Party,
    State,
    Status,
    StatusRefused,
    advance,
)

KEEP = 32
ACCEPTED = "ok"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a status event comes to: ``refused`` is ``None`` for a status routed on."""

    refused: StatusRefused | None
    replay: bool  # decided before (read again after a crash): nothing changed now


def state_of(record: dict[str, Any] | None) -> State:
    """The lifecycle state a record holds (a fresh delivery for none)."""
    if not record:
        return State()
    step, recall = record.get("s"), record.get("r")
    return State(None if step is None else Status(step), None if recall is None else Status(recall))


def delivered(record: dict[str, Any] | None, at_ms: int = 0) -> dict[str, Any]:
    """The record once the fan-out has delivered the document at ``at_ms`` (its receipt;
    delivered again: nothing changes)."""
    if record and record.get("d"):
        return record
    return {**(record or {}), "d": 1, "s": None, "r": None, "t": -1, "h": [], "at": at_ms}


def finished_before(record: dict[str, Any] | None, cutoff_ms: int) -> bool:
    """Whether the delivery was done, refused or withdrawn, with no processing step since
    ``cutoff_ms`` (:func:`idle_before`): its record may leave the state topic (a status for it
    after that is refused ``STATUS_NO_DOCUMENT``; the ledger keeps its history)."""
    if not idle_before(record, cutoff_ms):
        return False
    state = state_of(record)
    return state.closed or (state.step is Status.DONE and state.recall is None)


def idle_before(record: dict[str, Any] | None, cutoff_ms: int) -> bool:
    """Whether the document was delivered and its receiver has taken no processing step since
    ``cutoff_ms``, finished or not: its record may leave the state topic (a status for it
    after that is refused ``STATUS_NO_DOCUMENT``; the ledger keeps its history)."""
    return bool(record and record.get("d") and record.get("at", 0) < cutoff_ms)


def decide(
    record: dict[str, Any] | None,
    offset: int,
    status: Status,
    by: Party,
    at_ms: int = 0,
) -> tuple[dict[str, Any] | None, Verdict]:
    """The record after the status at ``offset`` (``None``: unchanged) and its verdict. A
    status for a delivery never made leaves no record (a flood of them costs no state)."""
    if not record or not record.get("d"):
        return None, Verdict(StatusRefused.NO_DOCUMENT, False)
    if offset <= record["t"]:
        for seen, verdict in record["h"]:
            if seen == offset:
                return None, Verdict(None if verdict == ACCEPTED else StatusRefused(verdict), True)
        return None, Verdict(StatusRefused.REPEATED, True)
    moved = advance(state_of(record), status, by)
    refused = moved if isinstance(moved, StatusRefused) else None
    history = [*record["h"], [offset, ACCEPTED if refused is None else refused.value]]
    new = {**record, "t": offset, "h": history[-KEEP:]}
    if isinstance(moved, State):
        new["s"] = None if moved.step is None else moved.step.value
        new["r"] = None if moved.recall is None else moved.recall.value
    if isinstance(moved, State) and status in PROCESSING_STATUSES:
        # only the receiver's processing moves the delivery's time: statuses cost no quota,
        # and a party's refused ones (repeats, steps back), or a recall refused and made
        # again, could otherwise keep a delivery in the state for ever; five steps at most
        new["at"] = max(at_ms, record.get("at", 0))
    return new, Verdict(refused, False)
