"""A document's fan-out: a copy for each receiver that gets it, a refusal for each that does
not (schemas/WIRE.md, "Documents").

Each copy is the document as the sender wrote it (key, value, headers), plus
``ndxp-doc-receiver`` and the router's headers, on the egress topic of the receiver's nearest
connected member. Each refused receiver gets the sender an error notice and a dead letter of
its own, both naming the receiver; the document itself is kept once, in the first of those
dead letters, and the others carry its size and SHA-256 instead (``ndxp-payload-size``,
``ndxp-payload-sha256``): a document naming 128 unknown agencies is written to
``ndxp.rejected`` once, not 128 times. Every copy and refusal carries the document's ingress
coordinates; with the receiver they are its identity in the ledger, so a fan-out decided again
after a crash is one ledger row per receiver, and receivers tell a second copy by
(``ndxp-doc-id``, receiver). A document under a limit is counted by the quota stage, a unit
per receiver it is delivered to, which then calls :func:`fan_out`.
"""

from __future__ import annotations

import time

from ndxp.core import wire
from ndxp.core.document import Refusal, Refused, kept_elsewhere
from ndxp.core.envelope import Headers
from ndxp.core.errors import RejectionCode
from ndxp.core.identifiers import MemberId
from ndxp.core.routing import FannedOut, Rejected
from ndxp.router import status_stage
from ndxp.router.forwarding import Source, routed
from ndxp.router.refusal import Output, reject
from ndxp.router.status_stage import StatusStage


async def fan_out(
    output: Output,
    statuses: StatusStage,
    decision: FannedOut,
    sender: MemberId | None,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
) -> None:
    """Produce the copies and the refusals of one document, in the order its receivers are
    named (``sender``: the ingress member, who gets the error notices). Each delivery is an
    event of the status stage first (:func:`ndxp.router.status_stage.delivered`), so that its
    receiver's statuses find it."""
    routed_ms = int(time.time() * 1000)
    doc_id = str(decision.doc.id)
    elsewhere: Headers | None = None  # once a refusal kept the document: its size and hash
    for delivery in decision.deliveries:
        output.stats.on_routed(source.topic, source.received_ms)
        receiver = str(delivery.receiver.code)
        route = str(delivery.route.code)
        await output.emit(status_stage.delivered(statuses, doc_id, receiver, route, source))
        own = [*headers, (wire.H_DOC_RECEIVER, receiver.encode())]
        await output.emit(routed(delivery.topic, key, value, own, route, source, routed_ms))
    for refusal in decision.refusals:
        refused = Rejected(
            RejectionCode(refusal.code.value),
            refusal_detail(refusal),
            decision.envelope.id,
            sender,
            decision.envelope,
        )
        whose = ((wire.H_DOC_RECEIVER, str(refusal.receiver).encode()),)
        if elsewhere is None:  # the first refusal keeps the document
            await reject(output, refused, source, key, value, headers, whose)
            elsewhere = kept_elsewhere(value)
        else:
            await reject(output, refused, source, key, b"", headers, (*whose, *elsewhere))


def refusal_detail(refusal: Refusal) -> str:
    receiver = refusal.receiver
    if refusal.code is Refused.UNKNOWN_RECEIVER:
        return f"receiver {receiver} is not in the registry"
    if refusal.code is Refused.NO_ROUTE:
        return f"no connected member at or above receiver {receiver}"
    return f"receiver {receiver} is the document's sender"
