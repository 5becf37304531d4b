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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ndxp.core.document_status import Party, State, Status, StatusRefused, advance

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


def delivered(record: dict[str, Any] | None) -> dict[str, Any]:
    """The record once the fan-out has delivered the document (again: nothing changes)."""
    if record and record.get("d"):
        return record
    return {**(record or {}), "d": 1, "s": None, "r": None, "t": -1, "h": []}


def decide(
    record: dict[str, Any] | None, offset: int, status: Status, by: Party
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
    return new, Verdict(refused, False)
