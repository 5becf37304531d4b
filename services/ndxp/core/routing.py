"""Routing decisions: where a message goes, or why it is refused.

The router reads headers only; the value is opaque and only its size is known
here. :meth:`Router.decide` is a pure function of the ingress topic, the
headers, the value size and the registry.

Checks, in order (the first failure decides the code):

1. the ingress topic belongs to a connected member            NOT_SENDER
2. sender headers present once, UTF-8, valid; no router-owned headers   MALFORMED
   (ndxp-client, ndxp-service; ndxp-correlation-id on a response)
3. value, key, then headers within the size budget           TOO_LARGE
   (ndxp.core.budget: 4 KiB of key, 64 KiB of headers)
4. request: the client id parses                              MALFORMED
   the client is the ingress member or below it               NOT_SENDER
   the service id parses                                      MALFORMED
   the client is registered                                   UNKNOWN_CLIENT
   the service is registered                                  UNKNOWN_SERVICE
   the client has a grant for the service                     FORBIDDEN
   a connected member at or above the service's member        NO_ROUTE
5. response: as a request with the roles swapped — the provider must be the
   ingress member or below it, and it is routed to the client's side — and the
   client has a grant for the service (FORBIDDEN: it asked nothing there to
   answer); after NO_ROUTE, it echoes the ticket the router stamped on the
   request it answers (ndxp.core.ticket)                      UNSOLICITED
   Responses are not subject to quotas.
6. document (no ``ndxp-service``): the client as for a request, registered;
   its envelope valid, no ``ndxp-doc-receiver`` of its own         MALFORMED
   the document id's agency is the client's member                 NOT_SENDER
   then each receiver gets a copy, or a refusal of its own
   (:func:`ndxp.core.document.fan_out`: UNKNOWN_RECEIVER, NO_ROUTE, SELF).
7. status (no ``ndxp-service``): the client as for a request, registered;
   its document id, receiver and reason valid                     MALFORMED
   its code one of the lifecycle's                                 STATUS_UNKNOWN
   a recall (13) from the document's sender's member, any other
   from the receiver's member or the member its copy went to     STATUS_NOT_PARTY
   a connected member at or above the other party                  NO_ROUTE
   then the status stage decides it against the delivery's state
   (:mod:`ndxp.core.delivery_state`).

Quotas (QUOTA_EXCEEDED) are decided after routing, where a client's requests are
counted in one place (:mod:`ndxp.core.quota`, the router's quota stage).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ndxp.core import document, document_status, package, wire
from ndxp.core.budget import SizeBudget, headers_size
from ndxp.core.envelope import (
    Envelope,
    Headers,
    clip,
    document_headers,
    header_value,
    peek_id,
    read_envelope,
    status_headers,
)
from ndxp.core.errors import InvalidIdentifier, Rejection, RejectionCode
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId
from ndxp.core.immutable import immutable
from ndxp.core.registry import Party, Registry
from ndxp.core.ticket import Tickets


@immutable
class Routed:
    envelope: Envelope
    route: MemberId
    topic: str


@dataclass(frozen=True, slots=True)
class Rejected:
    code: RejectionCode
    detail: str
    message_id: str | None
    """The message's ``ndxp-id`` when it had a valid one (for the error notice)."""
    notify: MemberId | None
    """The ingress member, who gets the error notice; ``None`` if it is not connected."""
    envelope: Envelope | None = None


@dataclass(frozen=True, slots=True)
class FannedOut:
    """A document: a copy for each receiver that gets it (on its route's egress topic), and a
    refusal for each receiver that does not."""

    envelope: Envelope
    doc: document.Envelope
    deliveries: tuple[document.Delivery, ...]
    refusals: tuple[document.Refusal, ...]


@dataclass(frozen=True, slots=True)
class StatusBound:
    """A status, its party checked: decided next against its delivery's state, then routed
    to the other party (the document's sender; for a recall, the receiver's route)."""

    envelope: Envelope
    call: document_status.StatusCall
    status: document_status.Status
    by: document_status.Party
    route: MemberId
    topic: str


Decision = Routed | Rejected | FannedOut | StatusBound


def quota_cost(decision: Decision) -> int:
    """What a call costs against its client's limits (:mod:`ndxp.core.quota`): a document a
    unit per receiver it is delivered to (its refused receivers cost nothing), at least 1;
    anything else 1."""
    if isinstance(decision, FannedOut):
        return max(1, len(decision.deliveries))
    return 1


class Router:
    """Decides records against ``registry``. With ``tickets``, a request's routed copy carries
    its ticket and a response is routed only with its request's (UNSOLICITED); without, a
    response is not asked for one (``NDXP_ROUTER_TICKETS=off``)."""

    def __init__(
        self,
        registry: Registry,
        max_value_bytes: int = wire.DEFAULT_MAX_VALUE_BYTES,
        tickets: Tickets | None = None,
    ):
        self.registry = registry
        self.budget = SizeBudget(max_value_bytes)
        self.tickets = tickets

    def ticket(self, envelope: Envelope) -> bytes | None:
        """The ticket a request's routed copy carries (its provider echoes it on the answer);
        ``None`` for anything else, or with tickets off."""
        tickets = self.tickets
        if tickets is None or envelope.kind != wire.KIND_REQUEST:
            return None
        return tickets.stamp(envelope.client, envelope.service, envelope.id)

    @property
    def max_value_bytes(self) -> int:
        return self.budget.value

    def decide(
        self, source_topic: str, headers: Headers, value_size: int, key_size: int = 0
    ) -> Decision:
        sender = self.registry.ingress.get(source_topic)
        envelope: Envelope | None = None
        try:
            if sender is None:
                raise Rejection(
                    RejectionCode.NOT_SENDER,
                    f"topic {clip(source_topic, 80)!r} is not the ingress topic of a "
                    "connected member",
                )
            self.budget.check_count(headers)
            envelope = read_envelope(headers)
            self.budget.check(key_size, value_size, headers_size(headers))
            if envelope.kind == wire.KIND_DOCUMENT:
                return self._fan_out(envelope, sender, headers, value_size)
            if envelope.kind == wire.KIND_STATUS:
                return self._status(envelope, sender, headers)
            route = self._route(envelope, sender)
        except Rejection as rejection:
            # Only a rejected message needs its id looked up again: for the error notice.
            message_id = envelope.id if envelope is not None else peek_id(headers)
            return Rejected(rejection.code, rejection.detail, message_id, sender, envelope)
        return Routed(envelope, route, wire.egress_topic(route))

    def _route(self, env: Envelope, sender: MemberId) -> MemberId:
        client_text, service_text = env.client, env.service
        if env.kind in wire.CALL_KINDS:
            client = self._party(client_text, self.registry.subsystems, SubsystemId.parse)
            _authorize(sender, client_text, client, "client")
            service = self._party(service_text, self.registry.services, ServiceId.parse)
            _known(client, client_text, RejectionCode.UNKNOWN_CLIENT, "client")
            _known(service, service_text, RejectionCode.UNKNOWN_SERVICE, "service")
            assert isinstance(client, Party)
            if not self.registry.allowed(service_text, client):
                raise Rejection(
                    RejectionCode.FORBIDDEN,
                    f"client {client_text} has no grant for service {service_text}",
                )
            destination, what = service, f"service {service_text}"
        else:
            service = self._party(service_text, self.registry.services, ServiceId.parse)
            _authorize(sender, service_text, service, "service provider")
            client = self._party(client_text, self.registry.subsystems, SubsystemId.parse)
            _known(service, service_text, RejectionCode.UNKNOWN_SERVICE, "service")
            _known(client, client_text, RejectionCode.UNKNOWN_CLIENT, "client")
            assert isinstance(client, Party)
            # an answer goes only to a client that may call the service: a provider writing
            # "responses" to members that never called it (1 GB of them on one province's
            # egress topic, unrefused and counted by no quota) is refused
            if not self.registry.allowed(service_text, client):
                raise Rejection(
                    RejectionCode.FORBIDDEN,
                    f"client {client_text} has no grant for service {service_text}: "
                    "it has called nothing there to answer",
                )
            destination, what = client, f"client {client_text}"
        assert isinstance(destination, Party)
        if destination.route is None:
            raise Rejection(
                RejectionCode.NO_ROUTE,
                f"no connected member at or above {destination.member} for {what}",
            )
        tickets = self.tickets
        if (
            env.kind == wire.KIND_RESPONSE
            and tickets is not None
            and not tickets.valid(env.ticket, client_text, service_text, env.correlation_id or "")
        ):
            raise Rejection(
                RejectionCode.UNSOLICITED,
                f"no request {clip(env.correlation_id or '', 80)} of {client_text} to "
                f"{service_text} with this {wire.H_TICKET} was routed: a response echoes the "
                f"{wire.H_TICKET} of the request's copy it answers",
            )
        return destination.route

    def _fan_out(
        self, env: Envelope, sender: MemberId, headers: Headers, value_size: int
    ) -> FannedOut:
        client = self._party(env.client, self.registry.subsystems, SubsystemId.parse)
        _authorize(sender, env.client, client, "client")
        _known(client, env.client, RejectionCode.UNKNOWN_CLIENT, "client")
        assert isinstance(client, Party)
        found = document_headers(headers)
        try:
            doc = document.read_envelope(found)
            part = package.read_part(found)
        except (document.InvalidDocument, package.InvalidPackage) as exc:
            raise Rejection(RejectionCode.MALFORMED, str(exc)) from None
        if part is not None and value_size > part.size:
            raise Rejection(
                RejectionCode.MALFORMED,
                f"part {part.index}/{part.count} holds {value_size:,} bytes of a package of "
                f"{part.size:,}",
            )
        if doc.id.sender != client.member.code:
            raise Rejection(
                RejectionCode.NOT_SENDER,
                f"document {clip(str(doc.id), 80)} is {doc.id.sender}'s: {env.client} "
                "sends only its own agency's documents",
            )
        deliveries, refusals = document.fan_out(doc, self.registry)
        return FannedOut(env, doc, deliveries, refusals)

    def _status(self, env: Envelope, sender: MemberId, headers: Headers) -> StatusBound:
        client = self._party(env.client, self.registry.subsystems, SubsystemId.parse)
        _authorize(sender, env.client, client, "client")
        _known(client, env.client, RejectionCode.UNKNOWN_CLIENT, "client")
        assert isinstance(client, Party)
        try:
            call = document_status.read_status(status_headers(headers))
        except document.InvalidDocument as exc:
            raise Rejection(RejectionCode.MALFORMED, str(exc)) from None
        status = call.status
        if isinstance(status, document_status.StatusRefused):
            raise Rejection(
                RejectionCode.STATUS_UNKNOWN,
                f"status {clip(header_value(headers, document_status.H_DOC_STATUS))!r}: one of "
                f"{', '.join(document_status.Status)}",
            )
        instance = self.registry.instance
        receiver = MemberId(instance, "GOV", call.receiver)
        doc_sender = MemberId(instance, "GOV", call.doc_id.sender)
        mine = client.member
        if status in document_status.SENDER_STATUSES:
            by, other, allowed = document_status.Party.SENDER, receiver, mine == doc_sender
            role = f"the document's sender {doc_sender.code}"
        else:
            by, other = document_status.Party.RECEIVER, doc_sender
            allowed = mine == receiver or (
                receiver in self.registry.members and self.registry.route_for(receiver) == mine
            )
            role = f"receiver {receiver.code} or the member its copy went to"
        if not allowed:
            raise Rejection(
                RejectionCode.STATUS_NOT_PARTY,
                f"status {status} is given by {role}, not by {env.client}",
            )
        route = self.registry.route_for(other) if other in self.registry.members else None
        if route is None:
            raise Rejection(RejectionCode.NO_ROUTE, f"no connected member at or above {other.code}")
        return StatusBound(env, call, status, by, route, wire.egress_topic(route))

    @staticmethod
    def _party(
        text: str,
        known: Mapping[str, Party],
        parse: Callable[[str], SubsystemId | ServiceId],
    ) -> Party | MemberId:
        """The registered party, or the parsed member of an unregistered but valid id."""
        party = known.get(text)
        if party is not None:
            return party
        try:
            return parse(text).member
        except InvalidIdentifier as exc:
            raise Rejection(RejectionCode.MALFORMED, str(exc)) from None


def _authorize(sender: MemberId, text: str, party: Party | MemberId, role: str) -> None:
    if isinstance(party, Party):
        allowed = str(sender) in party.authorities
    else:
        allowed = party.is_self_or_descendant_of(sender)
    if not allowed:
        raise Rejection(
            RejectionCode.NOT_SENDER,
            f"{role} {text} is not {sender} or one of its units; a member may only send as itself",
        )


def _known(party: Party | MemberId, text: str, code: RejectionCode, role: str) -> None:
    if not isinstance(party, Party):
        raise Rejection(code, f"{role} {text} is not in the registry")
