"""Official documents on the document exchange axis (VXP): the envelope a sender puts in a
document's headers, and where the router delivers it (issue 14; ``schemas/WIRE.md``,
"Documents").

A document (an edXML package per QCVN 102:2016, the record's value, never parsed here) goes
from one agency to 1..:data:`MAX_RECEIVERS` receivers. Its envelope:

- ``ndxp-doc-id``: the document id in edXML's form,
  ``<sender agency code>,<YYYY/MM/DD>,<code number>/<code notation>``, e.g.
  ``000.00.00.G22,2022/03/15,123/VPCP-KSTT``: the code number and notation are the id's;
- ``ndxp-doc-to``: the receivers' agency codes, comma-separated, each once;
- ``ndxp-doc-type``: the document type (edXML's code, 1-32 letters, digits, ``-`` or ``_``);
- ``ndxp-doc-priority``: 0 normal, 1 urgent, 2 very urgent, 3 express, 4 express on a date
  (default 0);
- ``ndxp-doc-due``: optional, ``YYYY-MM-DD``;
- ``ndxp-doc-business``: ``new`` (default), ``revoke``, ``update`` or ``replace``; the last
  three name in ``ndxp-doc-ref`` the id of the document they act on, which ``new`` may not.

Pure: header values in, an :class:`Envelope` or an :class:`InvalidDocument` out; the fan-out
(:func:`fan_out`) takes the registry.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from ndxp.core import wire
from ndxp.core.agency import AgencyCode
from ndxp.core.errors import InvalidIdentifier, NdxpError, clip
from ndxp.core.identifiers import MemberId
from ndxp.core.registry import Registry

H_DOC_ID = "ndxp-doc-id"
H_DOC_TO = "ndxp-doc-to"
H_DOC_TYPE = "ndxp-doc-type"
H_DOC_PRIORITY = "ndxp-doc-priority"
H_DOC_DUE = "ndxp-doc-due"
H_DOC_BUSINESS = "ndxp-doc-business"
H_DOC_REF = "ndxp-doc-ref"
ENVELOPE_HEADERS = (
    H_DOC_ID,
    H_DOC_TO,
    H_DOC_TYPE,
    H_DOC_PRIORITY,
    H_DOC_DUE,
    H_DOC_BUSINESS,
    H_DOC_REF,
)

# Every agency on the axis today (95 central and local) fits in one document; a sender with
# more receivers sends the document again to the rest.
MAX_RECEIVERS = 128
MAX_NUMBER_LENGTH = 16
MAX_NOTATION_LENGTH = 64
MAX_TYPE_LENGTH = 32
_NOTATION_MARKS = frozenset("-./&")


class Business(enum.StrEnum):
    """What a document does (edXML's business document type)."""

    NEW = "new"
    REVOKE = "revoke"
    UPDATE = "update"
    REPLACE = "replace"


class Priority(enum.IntEnum):
    NORMAL = 0
    URGENT = 1
    VERY_URGENT = 2
    EXPRESS = 3
    EXPRESS_ON_DATE = 4


class InvalidDocument(NdxpError, ValueError):
    """A document envelope that cannot be accepted; ``header`` names the header at fault."""

    def __init__(self, header: str, reason: str) -> None:
        self.header = header
        self.reason = reason
        super().__init__(f"{header}: {reason}")


@dataclass(frozen=True, slots=True, order=True)
class DocumentId:
    """``<sender agency code>,<YYYY/MM/DD>,<code number>/<code notation>``."""

    sender: AgencyCode
    date: dt.date
    number: str
    notation: str

    @classmethod
    def parse(cls, text: str, header: str = H_DOC_ID) -> DocumentId:
        parts = text.split(",")
        if len(parts) != 3:
            raise InvalidDocument(
                header,
                f"{clip(text)!r}: expected '<agency code>,<YYYY/MM/DD>,<number>/<notation>'",
            )
        code, day, code_number = parts
        try:
            sender = AgencyCode.parse(code)
        except InvalidIdentifier as exc:
            raise InvalidDocument(header, f"sender: {exc.reason}") from None
        date = _date(day, "/", header)
        number, slash, notation = code_number.partition("/")
        if not slash:
            raise InvalidDocument(header, f"{clip(code_number)!r}: expected <number>/<notation>")
        if not (0 < len(number) <= MAX_NUMBER_LENGTH and number.isascii() and number.isdigit()):
            raise InvalidDocument(header, f"code number {clip(number)!r}: 1-16 digits")
        if not _valid_notation(notation):
            raise InvalidDocument(
                header,
                f"code notation {clip(notation)!r}: 1-{MAX_NOTATION_LENGTH} letters or digits, "
                "with '-', '.', '/' or '&' between them",
            )
        return cls(sender, date, number, notation)

    def __str__(self) -> str:
        return f"{self.sender},{self.date:%Y/%m/%d},{self.number}/{self.notation}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A document's envelope, checked."""

    id: DocumentId
    receivers: tuple[AgencyCode, ...]
    type: str
    priority: Priority
    due: dt.date | None
    business: Business
    ref: DocumentId | None


def read_envelope(headers: Mapping[str, str]) -> Envelope:
    """The envelope of the document whose headers (decoded, each once) are ``headers``."""
    doc_id = DocumentId.parse(_required(headers, H_DOC_ID))
    receivers = receivers_of(_required(headers, H_DOC_TO))
    kind = _required(headers, H_DOC_TYPE)
    if not (
        0 < len(kind) <= MAX_TYPE_LENGTH
        and kind.isascii()
        and all(c.isalnum() or c in "-_" for c in kind)
    ):
        raise InvalidDocument(H_DOC_TYPE, f"{clip(kind)!r}: 1-32 letters, digits, '-' or '_'")
    priority_text = headers.get(H_DOC_PRIORITY, "0")
    if priority_text not in {str(int(p)) for p in Priority}:
        raise InvalidDocument(H_DOC_PRIORITY, f"{clip(priority_text)!r}: one of 0-4")
    due_text = headers.get(H_DOC_DUE)
    due = None if due_text is None else _date(due_text, "-", H_DOC_DUE)
    business_text = headers.get(H_DOC_BUSINESS, Business.NEW.value)
    try:
        business = Business(business_text)
    except ValueError:
        raise InvalidDocument(
            H_DOC_BUSINESS, f"{clip(business_text)!r}: one of {', '.join(Business)}"
        ) from None
    ref_text = headers.get(H_DOC_REF)
    if business is Business.NEW and ref_text is not None:
        raise InvalidDocument(H_DOC_REF, "a new document refers to no other")
    if business is not Business.NEW and ref_text is None:
        raise InvalidDocument(H_DOC_REF, f"a {business} document names the document it acts on")
    ref = None if ref_text is None else DocumentId.parse(ref_text, H_DOC_REF)
    if ref is not None and ref.sender != doc_id.sender:
        raise InvalidDocument(H_DOC_REF, "an agency acts only on documents it sent")
    if ref == doc_id:
        raise InvalidDocument(H_DOC_REF, "a document cannot act on itself")
    return Envelope(doc_id, receivers, kind, Priority(int(priority_text)), due, business, ref)


def receivers_of(text: str) -> tuple[AgencyCode, ...]:
    """The receivers named by ``ndxp-doc-to``: 1..MAX_RECEIVERS agency codes, each once."""
    parts = text.split(",")
    if len(parts) > MAX_RECEIVERS:
        raise InvalidDocument(H_DOC_TO, f"{len(parts)} receivers: at most {MAX_RECEIVERS}")
    receivers: list[AgencyCode] = []
    for part in parts:
        try:
            receivers.append(AgencyCode.parse(part))
        except InvalidIdentifier as exc:
            raise InvalidDocument(H_DOC_TO, f"receiver {clip(part)!r}: {exc.reason}") from None
    if len(set(receivers)) != len(receivers):
        twice = next(r for r in receivers if receivers.count(r) > 1)
        raise InvalidDocument(H_DOC_TO, f"receiver {twice} is named twice")
    return tuple(receivers)


class Refused(enum.StrEnum):
    """Why one receiver of a document does not get it (the others still do)."""

    UNKNOWN_RECEIVER = "UNKNOWN_RECEIVER"
    """No member of the registry has this agency code."""
    NO_ROUTE = "NO_ROUTE"
    """Neither the receiver nor any agency above it is connected."""
    SELF = "SELF"
    """The sender named itself."""


@dataclass(frozen=True, slots=True)
class Delivery:
    receiver: MemberId
    route: MemberId  # the nearest connected member at or above the receiver
    topic: str


@dataclass(frozen=True, slots=True)
class Refusal:
    receiver: AgencyCode
    code: Refused


def fan_out(
    envelope: Envelope, registry: Registry
) -> tuple[tuple[Delivery, ...], tuple[Refusal, ...]]:
    """Where each receiver gets the document, in the order named, and the receivers that do
    not, each with its reason."""
    deliveries: list[Delivery] = []
    refusals: list[Refusal] = []
    for code in envelope.receivers:
        member = MemberId(registry.instance, "GOV", code)
        if code == envelope.id.sender:
            refusals.append(Refusal(code, Refused.SELF))
        elif member not in registry.members:
            refusals.append(Refusal(code, Refused.UNKNOWN_RECEIVER))
        else:
            route = registry.route_for(member)
            if route is None:
                refusals.append(Refusal(code, Refused.NO_ROUTE))
            else:
                deliveries.append(Delivery(member, route, wire.egress_topic(route)))
    return tuple(deliveries), tuple(refusals)


def delivery_key(doc_id: DocumentId | str, receiver: AgencyCode | str) -> str:
    """The identity of one delivery: a receiver has each document once, whatever is sent
    again (the dedup key of the fan-out and of a receiver's inbox; a copy's headers give both
    as their canonical text)."""
    return f"{doc_id}|{receiver}"


def document_client(registry: Registry, member: str) -> str:
    """The subsystem an agency sends documents and reports statuses from: its document
    system when it has one (``vbdh``, else ``lgsp``, else ``motcua``), else its first."""
    mine = sorted(s for s in registry.subsystems if s.split(":")[2] == member)
    for preferred in ("vbdh", "lgsp", "motcua"):
        for s in mine:
            if s.endswith(f":{preferred}"):
                return s
    if not mine:
        raise ValueError(f"member {member} has no subsystem to send documents from")
    return mine[0]


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise InvalidDocument(name, "missing")
    return value


def _date(text: str, sep: str, header: str) -> dt.date:
    fields = text.split(sep)
    form = f"YYYY{sep}MM{sep}DD"
    if (
        len(fields) != 3
        or [len(f) for f in fields] != [4, 2, 2]
        or not all(f.isascii() and f.isdigit() for f in fields)
    ):
        raise InvalidDocument(header, f"date {clip(text)!r}: expected {form}")
    try:
        return dt.date(int(fields[0]), int(fields[1]), int(fields[2]))
    except ValueError as exc:
        raise InvalidDocument(header, f"date {clip(text)!r}: {exc}") from None


def _valid_notation(text: str) -> bool:
    """Letters (Vietnamese ones too: ``QĐ-TTg``) or digits, with marks only between them."""
    if not 0 < len(text) <= MAX_NOTATION_LENGTH or not text.isprintable():
        return False
    if not (text[0].isalnum() and text[-1].isalnum()):
        return False
    return all(c.isalnum() or c in _NOTATION_MARKS for c in text)


def kept_elsewhere(value: bytes | None) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """The headers a refused receiver's dead letter carries in place of the document (its
    size and SHA-256): a document is kept once on ``ndxp.rejected``, in the first refused
    receiver's dead letter, however many receivers are refused (128 copies of a 700 KiB
    document naming unknown agencies were 87.5 MiB of dead letters for one record)."""
    payload = value or b""
    return (
        (wire.H_PAYLOAD_SIZE, str(len(payload)).encode()),
        (wire.H_PAYLOAD_SHA256, hashlib.sha256(payload).hexdigest().encode()),
    )
