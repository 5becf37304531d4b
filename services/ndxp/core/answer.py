"""A provider's answer to a request's routed copy (pure): where it is written and the headers
that make it that request's answer (schemas/WIRE.md, "Answering a request").

The answer goes on the provider's own ingress topic (that of the member whose egress topic the
copy came on), names the request's client and service, carries the request's id as its
correlation id and echoes the copy's ``ndxp-ticket``, without which the router refuses it
(``UNSOLICITED``, :mod:`ndxp.core.ticket`). ndxp's own providers (``ndxp simulate``, the REST
provider adapter) build their answers here; the answer's id and time are the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence

from ndxp.core import wire


def topic(egress_topic: str) -> str:
    """Where the answer to a request read on ``egress_topic`` is written: the ingress topic of
    the same member."""
    return wire.ingress_topic(egress_topic.removeprefix(wire.EGRESS_PREFIX))


def headers(
    request: Sequence[tuple[str, bytes | None]], answer_id: str, sent_ms: int, status: int
) -> list[tuple[str, bytes]]:
    """The ndxp headers of the answer to a request's routed copy with headers ``request``:
    its id, kind, client, service, correlation id, the provider's time (``ndxp-sent-at``), the
    HTTP status to answer with, and the request's ticket, echoed."""
    out = [
        (wire.H_ID, answer_id.encode()),
        (wire.H_KIND, wire.KIND_RESPONSE.encode()),
        (wire.H_CLIENT, (wire.header(request, wire.H_CLIENT) or "").encode()),
        (wire.H_SERVICE, (wire.header(request, wire.H_SERVICE) or "").encode()),
        (wire.H_CORRELATION_ID, (wire.header(request, wire.H_ID) or "").encode()),
        (wire.H_SENT_AT, str(sent_ms).encode()),
        (wire.H_HTTP_STATUS, str(status).encode()),
    ]
    ticket = wire.header(request, wire.H_TICKET)
    if ticket is not None:
        out.append((wire.H_TICKET, ticket.encode()))
    return out
