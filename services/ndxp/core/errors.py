"""Rejection codes: stable, documented, never renamed (see schemas/wire.json).

One root exception type (:class:`NdxpError`); a :class:`Rejection` carries a
:class:`RejectionCode` and a precise, human-readable detail.
"""

from __future__ import annotations

import enum


class RejectionCode(enum.StrEnum):
    """Why the router refused a message. The string value is the wire form."""

    MALFORMED = "MALFORMED"
    """A required header is missing, repeated, not UTF-8, or holds an invalid identifier."""
    TOO_LARGE = "TOO_LARGE"
    """The value, the key or the headers are over their limit (ndxp.core.budget)."""
    UNKNOWN_CLIENT = "UNKNOWN_CLIENT"
    """The client subsystem is not in the registry."""
    UNKNOWN_SERVICE = "UNKNOWN_SERVICE"
    """The service is not in the registry."""
    NO_ROUTE = "NO_ROUTE"
    """Neither the destination member nor any of its ancestors is connected."""
    NOT_SENDER = "NOT_SENDER"
    """The message names a sender that the ingress topic's member may not speak for."""
    FORBIDDEN = "FORBIDDEN"
    """The client has no grant for the service."""
    UNSOLICITED = "UNSOLICITED"
    """A response that does not carry the ticket of a request the router routed to its
    provider (ndxp.core.ticket): an answer nobody asked for."""
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    """The client is over a rate or daily limit."""
    MISPARTITIONED = "MISPARTITIONED"
    """A request under a limit arrived on a partition other than its client's, where the
    router decides quotas inline (key requests by the client id)."""
    UNKNOWN_RECEIVER = "UNKNOWN_RECEIVER"
    """One receiver of a document is not a member of the registry (the others get it)."""
    SELF = "SELF"
    """A document names its own sender as a receiver (the others get it)."""
    STATUS_UNKNOWN = "STATUS_UNKNOWN"
    """A document status that is not one of the lifecycle's codes."""
    STATUS_NOT_PARTY = "STATUS_NOT_PARTY"
    """A status given by someone other than that receiver (a recall: the document's sender)."""
    STATUS_OUT_OF_ORDER = "STATUS_OUT_OF_ORDER"
    """A status that is not a step forward from the document's state at that receiver."""
    STATUS_REPEATED = "STATUS_REPEATED"
    """A status that is the state it would move from."""
    STATUS_CLOSED = "STATUS_CLOSED"
    """A status for a document refused or withdrawn at that receiver: nothing follows."""
    STATUS_NO_DOCUMENT = "STATUS_NO_DOCUMENT"
    """A status for a document the platform never delivered to that receiver."""

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    RejectionCode.MALFORMED: "missing, repeated or invalid header or identifier",
    RejectionCode.TOO_LARGE: "value, key or headers over their limit (the size budget)",
    RejectionCode.UNKNOWN_CLIENT: "client subsystem not in the registry",
    RejectionCode.UNKNOWN_SERVICE: "service not in the registry",
    RejectionCode.NO_ROUTE: "no connected member at or above the destination",
    RejectionCode.NOT_SENDER: "sender is not the ingress member or one of its descendants",
    RejectionCode.FORBIDDEN: "client has no grant for the service",
    RejectionCode.UNSOLICITED: "a response without its request's ticket",
    RejectionCode.QUOTA_EXCEEDED: "client over a rate or daily limit",
    RejectionCode.MISPARTITIONED: "request under a limit not on its client's partition",
    RejectionCode.UNKNOWN_RECEIVER: "a document's receiver not in the registry",
    RejectionCode.SELF: "a document's receiver is its sender",
    RejectionCode.STATUS_UNKNOWN: "a document status that is not a lifecycle code",
    RejectionCode.STATUS_NOT_PARTY: "a status not the receiver's (a recall: not the sender's)",
    RejectionCode.STATUS_OUT_OF_ORDER: "a status not a step forward from the document's state",
    RejectionCode.STATUS_REPEATED: "a status repeating the document's state",
    RejectionCode.STATUS_CLOSED: "a status after the document was refused or withdrawn",
    RejectionCode.STATUS_NO_DOCUMENT: "a status for a document never delivered to that receiver",
}


class NdxpError(Exception):
    """Root of every error ndxp raises on purpose."""


class InvalidIdentifier(NdxpError, ValueError):
    """An agency code, tax code, subsystem or service id that does not parse."""

    def __init__(self, kind: str, text: str, reason: str) -> None:
        self.kind = kind
        self.text = text
        self.reason = reason
        super().__init__(f"invalid {kind} {clip(text)!r}: {reason}")


def clip(text: str, limit: int = 80) -> str:
    """``text`` cut for an error message: hostile input can be megabytes long, and rejection
    details travel in Kafka headers (the dead-letter copy, the error notice)."""
    return text if len(text) <= limit else text[:limit] + "…"


class Rejection(NdxpError):
    """A message the router refuses, with its stable code and a precise detail."""

    def __init__(self, code: RejectionCode, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")
