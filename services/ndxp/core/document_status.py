"""The life of one document at one receiver: the statuses VXP implementations report, which
of them may follow which, and the sender's overall view (issue 14; ``schemas/WIRE.md``,
"Documents").

A receiver reports its processing: ``01`` arrived, then ``02`` refused or ``03`` accepted,
then forward through ``04`` assigned and ``05`` processing to ``06`` done (a step may be
skipped, never gone back to). The sender may recall a document (``13``) from a receiver
that has not refused it; until the receiver answers, ``15`` recall accepted or ``16``
refused, it reports nothing else. After ``16`` the document stays where it was and may be
recalled again; after ``15`` it is withdrawn.

A status that is not the receiver's (or, for ``13``, not the sender's) to give, out of order,
or the same as the last one, is refused with a stable code (:class:`StatusRefused`). Pure:
a state and a status in, the next state or a refusal out.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ndxp.core.agency import AgencyCode
from ndxp.core.document import H_DOC_ID, DocumentId, InvalidDocument
from ndxp.core.errors import InvalidIdentifier, clip
from ndxp.core.wire import H_DOC_RECEIVER

H_DOC_STATUS = "ndxp-doc-status"
H_DOC_REASON = "ndxp-doc-reason"
STATUS_HEADERS = (H_DOC_ID, H_DOC_RECEIVER, H_DOC_STATUS, H_DOC_REASON)


class Status(enum.StrEnum):
    ARRIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    DONE = "06"
    RECALL = "13"
    RECALL_ACCEPTED = "15"
    RECALL_REFUSED = "16"


# The receiver's processing, in order; REFUSED sits beside ACCEPTED (one or the other).
_STEP = {
    Status.ARRIVED: 1,
    Status.REFUSED: 2,
    Status.ACCEPTED: 2,
    Status.ASSIGNED: 3,
    Status.PROCESSING: 4,
    Status.DONE: 5,
}
SENDER_STATUSES = frozenset({Status.RECALL})
RECEIVER_STATUSES = frozenset(Status) - SENDER_STATUSES
# A receiver's processing steps: each moves the delivery forward, so a delivery takes at most
# five (a recall and its answer can follow each other for ever)
PROCESSING_STATUSES = frozenset(_STEP)
MAX_REASON_LENGTH = 1024


class StatusRefused(enum.StrEnum):
    """Why a status is not recorded (stable codes, as the router's rejections)."""

    UNKNOWN_STATUS = "STATUS_UNKNOWN"
    """Not one of the codes above."""
    NOT_PARTY = "STATUS_NOT_PARTY"
    """Given by someone other than that receiver (or, for a recall, the document's sender)."""
    OUT_OF_ORDER = "STATUS_OUT_OF_ORDER"
    """Not a step forward from the document's state at that receiver."""
    REPEATED = "STATUS_REPEATED"
    """The same as the state it would move from."""
    CLOSED = "STATUS_CLOSED"
    """The document was refused or withdrawn at that receiver: nothing follows."""
    NO_DOCUMENT = "STATUS_NO_DOCUMENT"
    """The platform never delivered that document to that receiver."""


class Party(enum.Enum):
    SENDER = "sender"
    RECEIVER = "receiver"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class State:
    """A document at one receiver: the last processing status (``None``: delivered, nothing
    reported yet) and where a recall stands (``None``: never recalled, or recall refused)."""

    step: Status | None = None
    recall: Status | None = None  # RECALL while unanswered, RECALL_ACCEPTED once withdrawn

    @property
    def closed(self) -> bool:
        return self.step is Status.REFUSED or self.recall is Status.RECALL_ACCEPTED


def parse_status(text: str) -> Status | StatusRefused:
    try:
        return Status(text)
    except ValueError:
        return StatusRefused.UNKNOWN_STATUS


def advance(state: State, status: Status, by: Party) -> State | StatusRefused:
    """The state after ``status`` given by ``by``, or why it is refused."""
    if by is Party.OTHER or (status in SENDER_STATUSES) != (by is Party.SENDER):
        return StatusRefused.NOT_PARTY
    if state.closed:
        return StatusRefused.CLOSED
    if status is Status.RECALL:
        if state.recall is Status.RECALL:
            return StatusRefused.REPEATED
        return State(state.step, Status.RECALL)
    if status in (Status.RECALL_ACCEPTED, Status.RECALL_REFUSED):
        if state.recall is not Status.RECALL:
            return StatusRefused.OUT_OF_ORDER
        return State(
            state.step, Status.RECALL_ACCEPTED if status is Status.RECALL_ACCEPTED else None
        )
    if state.recall is Status.RECALL:
        return StatusRefused.OUT_OF_ORDER  # a recall waits for its answer first
    if status is state.step:
        return StatusRefused.REPEATED
    if state.step is None:
        return State(status) if status is Status.ARRIVED else StatusRefused.OUT_OF_ORDER
    if status in (Status.REFUSED, Status.ACCEPTED):  # only right after arrival
        return State(status) if state.step is Status.ARRIVED else StatusRefused.OUT_OF_ORDER
    if state.step is Status.ARRIVED or _STEP[status] <= _STEP[state.step]:
        return StatusRefused.OUT_OF_ORDER  # accepted first; never backwards
    return State(status)


@dataclass(frozen=True, slots=True)
class Overview:
    """The sender's view of a document across its receivers."""

    receivers: int
    by_step: dict[str, int]  # "delivered" (nothing reported yet) or a status code → receivers
    recalls_pending: int
    withdrawn: int
    finished: bool  # every receiver is done, refused it or had it withdrawn


def overview(states: Iterable[State]) -> Overview:
    counted: Counter[str] = Counter()
    pending = withdrawn = ended = total = 0
    for s in states:
        total += 1
        counted["delivered" if s.step is None else s.step.value] += 1
        pending += s.recall is Status.RECALL
        withdrawn += s.recall is Status.RECALL_ACCEPTED
        ended += s.closed or (s.step is Status.DONE and s.recall is None)
    return Overview(total, dict(counted), pending, withdrawn, total > 0 and ended == total)


@dataclass(frozen=True, slots=True)
class StatusCall:
    """A status as its headers give it: which document, at which receiver, what, and why."""

    doc_id: DocumentId
    receiver: AgencyCode
    status: Status | StatusRefused  # UNKNOWN_STATUS for a code not in the lifecycle
    reason: str | None

    @property
    def key(self) -> str:
        """The delivery it is about (:func:`ndxp.core.document.delivery_key`)."""
        return f"{self.doc_id}|{self.receiver}"


def read_status(headers: Mapping[str, str]) -> StatusCall:
    """The status whose headers (decoded, each once) are ``headers``; an envelope that cannot
    be read raises :class:`ndxp.core.document.InvalidDocument`."""
    doc_id = DocumentId.parse(_required(headers, H_DOC_ID))
    receiver_text = _required(headers, H_DOC_RECEIVER)
    try:
        receiver = AgencyCode.parse(receiver_text)
    except InvalidIdentifier as exc:
        raise InvalidDocument(H_DOC_RECEIVER, exc.reason) from None
    reason = headers.get(H_DOC_REASON)
    if reason is not None and not (0 < len(reason) <= MAX_REASON_LENGTH and reason.isprintable()):
        raise InvalidDocument(
            H_DOC_REASON, f"{clip(reason)!r}: 1-{MAX_REASON_LENGTH} printable characters"
        )
    return StatusCall(doc_id, receiver, parse_status(_required(headers, H_DOC_STATUS)), reason)


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise InvalidDocument(name, "missing")
    return value
