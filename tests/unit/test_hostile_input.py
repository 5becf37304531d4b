"""Hostile and broken messages: the router's decision and the records built from it.

Property-based: arbitrary bytes in every header, missing, repeated and forged headers,
thousands of headers, absurd lengths, any value size. The decision never raises; its code is
the one the check order gives (schemas/WIRE.md, ``ndxp.core.routing``): the topic, the
headers themselves, the sizes (the value, then all the headers together: at most 64 KiB),
then what the identifiers name. A valid message changed in exactly one header is refused
with the code that header earns; headers that are not the router's business change nothing
but the headers' size. The dead-letter copy keeps the original key, value and every header
in order; the error notice never carries the payload.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ndxp.core import budget, wire
from ndxp.core.agency import AgencyCode
from ndxp.core.errors import InvalidIdentifier, RejectionCode
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId, TaxCode
from ndxp.core.ledger import COLUMNS, MAX_TIME_MS, MIN_TIME_MS, ledger_row
from ndxp.core.registry import Registry
from ndxp.core.routing import Rejected, Routed, Router
from ndxp.core.topology import DEAD_LETTER_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, topics_for
from ndxp.router.forwarding import (
    Source,
    Staged,
    from_home,
    is_home_copy,
    producible,
    rejection_records,
    routed,
    to_home,
)

from .core.conftest import small_document

Headers = list[tuple[str, bytes | None]]
C = RejectionCode

LIMIT = 1000
SEAL = b"the router's seal key"
HEADER_LIMIT = 64 * 1024  # all of a message's headers together (WIRE.md)
REGISTRY = Registry.from_document(small_document())
ROUTER = Router(REGISTRY, max_value_bytes=LIMIT)
SENDER = frozenset(wire.SENDER_HEADERS)
ROUTER_OWNED = (*wire.ROUTER_HEADERS, wire.H_X_KEY, wire.H_X_SOURCE, wire.H_X_ROUTE)
# What decide() may answer at all (quotas are decided later, in the quota stage).
DECIDED = {C.NOT_SENDER, C.MALFORMED, C.TOO_LARGE, C.UNKNOWN_CLIENT, C.UNKNOWN_SERVICE}
DECIDED |= {C.FORBIDDEN, C.NO_ROUTE}
MAX_DETAIL = 1000  # characters; the detail travels in headers of two records


def router_owned(name: str) -> bool:
    return name in wire.ROUTER_HEADERS or name.startswith(wire.INTERNAL_PREFIX)


def irrelevant(name: str) -> bool:
    """A header the router forwards untouched and must not decide on."""
    return name not in SENDER and not router_owned(name)


def id_ok(text: str) -> bool:
    """``ndxp-id``: 1-128 printable ASCII characters, no spaces (WIRE.md)."""
    return 1 <= len(text) <= 128 and all("!" <= c <= "~" for c in text)


def varint(n: int) -> int:
    """Bytes of ``n`` as a Kafka zig-zag varint (n >= -1 here)."""
    z = 2 * n if n >= 0 else -2 * n - 1
    return max(1, (z.bit_length() + 6) // 7)


def header_bytes(headers: Headers) -> int:
    """What counts against the header limit: what the headers take in a Kafka record — every
    name in UTF-8 bytes and every value's bytes, each with its length as a varint (a null
    value is just its length, -1), repeated headers each time."""
    total = 0
    for name, raw in headers:
        n = len(name.encode("utf-8"))
        total += n + varint(n) + (varint(-1) if raw is None else len(raw) + varint(len(raw)))
    return total


def headers_detail(headers: Headers) -> str:
    n = header_bytes(headers)
    return f"headers are {n} bytes (names, values and lengths), the limit is {HEADER_LIMIT}"


# -- valid messages, from the registry -------------------------------------------------------
@dataclass(frozen=True)
class Valid:
    topic: str
    kind: str
    client: str
    service: str
    route: MemberId

    @property
    def sender(self) -> MemberId:
        return REGISTRY.ingress[self.topic]


def _valid_messages() -> list[Valid]:
    out = []
    for topic, member in REGISTRY.ingress.items():
        for ctext, client in REGISTRY.subsystems.items():
            for stext, service in REGISTRY.services.items():
                # a request: its client speaks for the ingress member, has a grant, a route
                speaks = str(member) in client.authorities
                if speaks and service.route is not None and REGISTRY.allowed(stext, client):
                    out.append(Valid(topic, "request", ctext, stext, service.route))
                # a response: its provider speaks for the ingress member, the client has a
                # route and a grant (it may have called the service)
                answers = REGISTRY.allowed(stext, client)
                if str(member) in service.authorities and client.route is not None and answers:
                    out.append(Valid(topic, "response", ctext, stext, client.route))
    return out


VALID = _valid_messages()

# Header names and values as Kafka delivers them: names are valid UTF-8 (the client decodes
# them strictly), values any bytes or null.
kafka_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
message_ids = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128),
    st.uuids().map(str),
)
irrelevant_names = st.one_of(
    st.sampled_from(["x-trace", "traceparent", "NDXP-ID", "ndxp-id ", "ndxp-", "ndxp-x", ""]),
    kafka_text,
).filter(irrelevant)
forged_names = st.one_of(
    st.sampled_from(ROUTER_OWNED), kafka_text.map(lambda s: wire.INTERNAL_PREFIX + s)
)
absurd_bytes = st.builds(
    lambda chunk, n: chunk * n, st.binary(min_size=1, max_size=3), st.integers(1000, 300_000)
)
any_values = st.one_of(
    st.none(),
    st.binary(max_size=40),
    kafka_text.map(str.encode),
    st.sampled_from([b"request", b"response", b"error", b"m-1", b"", b"\xff", b"\xed\xa0\x80"]),
    st.sampled_from(VALID).map(lambda v: v.client.encode()),
    st.sampled_from(VALID).map(lambda v: v.service.encode()),
    absurd_bytes,
)
any_names = st.one_of(st.sampled_from(sorted(SENDER)), forged_names, irrelevant_names)
any_header_lists = st.lists(st.tuples(any_names, any_values), max_size=24)
ingress_topics = st.sampled_from(sorted(REGISTRY.ingress))
topics = st.one_of(
    ingress_topics,
    ingress_topics,
    st.sampled_from(["ndxp.in.000.00.00.K01", "ndxp.in.000.00.00.H99", "ndxp.rejected", ""]),
    kafka_text,
)
sizes = st.one_of(st.integers(0, 2 * LIMIT), st.integers(0, 2**63), st.just(LIMIT))
invalid_utf8 = st.builds(
    lambda a, bad, b: a + bad + b,
    st.binary(max_size=8),
    st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80"]),
    st.binary(max_size=8),
).filter(lambda b: not _decodes(b))


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def encode(headers: list[tuple[str, str]]) -> Headers:
    return [(k, v.encode()) for k, v in headers]


def interleave(draw: st.DrawFn, headers: Headers, extra: Headers) -> Headers:
    out = list(headers)
    for item in extra:
        out.insert(draw(st.integers(0, len(out))), item)
    return out


@st.composite
def valid_messages(draw: st.DrawFn, kind: str | None = None) -> tuple[Valid, Headers]:
    """A message the router routes: sender headers in any order, a forged-but-valid
    correlation id on a request now and then, irrelevant headers anywhere."""
    v = draw(st.sampled_from([v for v in VALID if kind in (None, v.kind)]))
    h = [
        (wire.H_ID, draw(message_ids)),
        (wire.H_KIND, v.kind),
        (wire.H_CLIENT, v.client),
        (wire.H_SERVICE, v.service),
    ]
    if v.kind == "response" or draw(st.booleans()):
        h.append((wire.H_CORRELATION_ID, draw(message_ids)))
    headers = encode(draw(st.permutations(h)))
    extra = draw(st.lists(st.tuples(irrelevant_names, any_values), max_size=6))
    return v, interleave(draw, headers, extra)


@st.composite
def perturbed_messages(draw: st.DrawFn) -> tuple[str, Headers]:
    """A valid message after a few random edits: headers dropped, added, their values
    replaced; several faults at once, at every stage."""
    v, headers = draw(valid_messages())
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(headers)))
        op = draw(st.sampled_from(["drop", "add", "value"]))
        if op == "add":
            headers.insert(i, (draw(any_names), draw(any_values)))
        elif headers and i < len(headers):
            if op == "drop":
                del headers[i]
            else:
                headers[i] = (headers[i][0], draw(any_values))
    return v.topic, headers


def sender_value(headers: Headers, name: str) -> str | None:
    found = [raw for key, raw in headers if key == name]
    return None if not found or found[0] is None else found[0].decode()


# -- an oracle for the checks on the headers themselves (WIRE.md) -----------------------------
def header_faults(topic: str, headers: Headers) -> RejectionCode | None:
    """NOT_SENDER for a topic that is not an ingress, else MALFORMED for a fault in the
    headers themselves, else ``None``."""
    if topic not in REGISTRY.ingress:
        return C.NOT_SENDER
    seen: dict[str, bytes | None] = {}
    for name, raw in headers:
        if router_owned(name) or (name in SENDER and name in seen):
            return C.MALFORMED
        if name in SENDER:
            seen[name] = raw
    text: dict[str, str] = {}
    for name, raw in seen.items():
        if raw is None or not _decodes(raw):
            return C.MALFORMED
        text[name] = raw.decode()
    if any(h not in text for h in (wire.H_ID, wire.H_KIND, wire.H_CLIENT, wire.H_SERVICE)):
        return C.MALFORMED
    if not id_ok(text[wire.H_ID]) or text[wire.H_KIND] not in ("request", "response"):
        return C.MALFORMED
    sent_at = text.get(wire.H_SENT_AT)
    if sent_at is not None and not (
        sent_at.lstrip("-").isdigit()
        and sent_at.isascii()
        and len(sent_at.lstrip("-")) <= 19
        and sent_at.count("-") <= int(sent_at.startswith("-"))
        and -(2**63) <= int(sent_at) < 2**63
    ):
        return C.MALFORMED
    correlation = text.get(wire.H_CORRELATION_ID)
    if correlation is None and text[wire.H_KIND] == "response":
        return C.MALFORMED
    if correlation is not None and not id_ok(correlation):
        return C.MALFORMED
    return None


def size_detail(headers: Headers, size: int) -> str | None:
    """The TOO_LARGE detail the sizes earn (their number, the value, then the headers' bytes),
    or ``None``."""
    if len(headers) > wire.MAX_HEADERS:
        return f"{len(headers):,} headers, the limit is {wire.MAX_HEADERS}"
    if size > LIMIT:
        return f"value is {size} bytes, the limit is {LIMIT}"
    if header_bytes(headers) > HEADER_LIMIT:
        return headers_detail(headers)
    return None


def header_stage(topic: str, headers: Headers, size: int) -> RejectionCode | None:
    """The code decided before any identifier is looked at (the topic, then every rule on
    the headers themselves, then the sizes), or ``None`` when the message gets as far as its
    identifiers."""
    if topic not in REGISTRY.ingress:
        return C.NOT_SENDER
    if len(headers) > wire.MAX_HEADERS:  # their number, before any header is read
        return C.TOO_LARGE
    fault = header_faults(topic, headers)
    if fault is not None:
        return fault
    return C.TOO_LARGE if size_detail(headers, size) is not None else None


def check_decision(topic: str, headers: Headers, size: int) -> Routed | Rejected:
    """Decide, and check what holds for every decision."""
    before = list(headers)
    d = ROUTER.decide(topic, headers, size)
    assert headers == before, "the router never changes the headers it reads"
    expected = header_stage(topic, headers, size)
    if isinstance(d, Routed):
        assert expected is None
        assert REGISTRY.members[d.route].connected and d.topic == wire.egress_topic(d.route)
        env = d.envelope
        assert env.id == sender_value(headers, wire.H_ID)
        assert env.kind == sender_value(headers, wire.H_KIND)
        assert env.client == sender_value(headers, wire.H_CLIENT)
        assert env.service == sender_value(headers, wire.H_SERVICE)
        assert env.correlation_id == sender_value(headers, wire.H_CORRELATION_ID)
        request = env.kind == "request"
        # never routed on someone else's word: the sender is the ingress member or below it
        own = SubsystemId.parse(env.client) if request else ServiceId.parse(env.service)
        assert own.member.is_self_or_descendant_of(REGISTRY.ingress[topic])
        # to the service's side (a request) or back to the client's (a response)
        party = REGISTRY.services[env.service] if request else REGISTRY.subsystems[env.client]
        assert party.route == d.route
        return d
    assert isinstance(d, Rejected), d
    assert d.code in DECIDED, d
    if expected is not None:
        assert d.code is expected, (d, expected)
    else:
        assert d.code not in (C.TOO_LARGE,), d
    if d.code is C.TOO_LARGE:
        assert d.detail == size_detail(headers, size), d.detail
    assert d.detail and len(d.detail) <= MAX_DETAIL, f"detail of {len(d.detail)} chars"
    assert d.notify == REGISTRY.ingress.get(topic)
    ids = [raw for name, raw in headers if name == wire.H_ID]
    if d.message_id is not None:
        assert id_ok(d.message_id) and d.message_id.encode() in ids
    if len(ids) == 1 and ids[0] is not None and _decodes(ids[0]) and id_ok(ids[0].decode()):
        assert d.message_id == ids[0].decode(), "the notice answers the id it had"
    return d


def assert_outcome(d: Routed | Rejected, expected: RejectionCode | MemberId) -> None:
    if isinstance(expected, MemberId):
        assert isinstance(d, Routed) and d.route == expected, d
    else:
        assert isinstance(d, Rejected) and d.code is expected, (d, expected)


# -- the decision ------------------------------------------------------------------------------
def test_the_registry_gives_valid_messages_of_both_kinds() -> None:
    kinds = {(v.topic, v.kind) for v in VALID}
    assert ("ndxp.in.000.00.00.H41", "request") in kinds
    assert ("ndxp.in.000.00.01.G01", "response") in kinds
    assert len(VALID) > 50


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.tuples(topics, any_header_lists), perturbed_messages()), sizes)
def test_any_headers_get_a_decision_with_the_code_of_the_first_failed_check(
    message: tuple[str, Headers], size: int
) -> None:
    check_decision(*message, size)


@settings(max_examples=150, deadline=None)
@given(valid_messages(), sizes)
def test_valid_messages_are_routed_or_too_large(message: tuple[Valid, Headers], size: int) -> None:
    """Too large: a value over the limit, or headers over 64 KiB together (the extra headers
    drawn include values of up to 900 kB, so both sides of the header limit are drawn)."""
    v, headers = message
    d = check_decision(v.topic, headers, size)
    fits = size <= LIMIT and header_bytes(headers) <= HEADER_LIMIT
    assert_outcome(d, v.route if fits else C.TOO_LARGE)


@settings(max_examples=100, deadline=None)
@given(valid_messages(), st.sampled_from(sorted(REGISTRY.ingress)))
def test_a_valid_message_on_another_members_ingress_needs_that_members_authority(
    message: tuple[Valid, Headers], elsewhere: str
) -> None:
    """Only the sender's member or a member above it may put a message on the wire:
    anywhere else it is NOT_SENDER, whoever it names (unless its headers are too large:
    the sizes are checked before authority)."""
    v, headers = message
    own = SubsystemId.parse(v.client) if v.kind == "request" else ServiceId.parse(v.service)
    speaks = own.member.is_self_or_descendant_of(REGISTRY.ingress[elsewhere])
    expected = v.route if speaks else C.NOT_SENDER
    if header_bytes(headers) > HEADER_LIMIT:
        expected = C.TOO_LARGE
    assert_outcome(check_decision(elsewhere, headers, 10), expected)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.tuples(topics, any_header_lists),
        valid_messages().map(lambda m: (m[0].topic, m[1])),
    ),
    sizes,
    st.lists(st.tuples(irrelevant_names, any_values), min_size=1, max_size=8),
    st.data(),
)
def test_headers_that_are_not_the_routers_change_nothing(
    message: tuple[str, Headers], size: int, extra: Headers, data: st.DataObject
) -> None:
    """Nothing but their size: when they take the headers over 64 KiB together, a message
    that got past the earlier checks is TOO_LARGE instead, and nothing else changes."""
    topic, headers = message
    more = interleave(data.draw, headers, extra)
    before = ROUTER.decide(topic, headers, size)
    after = ROUTER.decide(topic, more, size)
    earlier = header_faults(topic, more) is not None or size > LIMIT
    if header_bytes(more) <= HEADER_LIMIT or earlier:
        assert after == before
        return
    env = before.envelope
    assert env is not None, before
    assert after == Rejected(
        C.TOO_LARGE, headers_detail(more), env.id, REGISTRY.ingress[topic], env
    )
    if header_bytes(headers) <= HEADER_LIMIT:  # the extra headers alone tipped it
        assert isinstance(before, Routed) or before.code is not C.TOO_LARGE


# One header changed: (what, how) -> the code it earns. Roles: a request's sender is its
# client, a response's its service's provider (WIRE.md, sender authority).
@st.composite
def unparseable(draw: st.DrawFn, valid_text: str) -> str:
    text = draw(
        st.one_of(
            kafka_text,
            st.builds(
                lambda i, c: valid_text[:i] + c + valid_text[i:],
                st.integers(0, 40),
                st.sampled_from(list(" :.\t٠Ａ\x00ı")),
            ),
            st.builds(lambda i: valid_text[:i] + valid_text[i + 1 :], st.integers(0, 40)),
            st.builds(lambda n: "A" * n + valid_text, st.integers(1000, 200_000)),
            st.just(valid_text.lower()),
            st.just(valid_text + ":"),
        )
    )
    for parse in (SubsystemId.parse, ServiceId.parse):
        try:
            parse(text)
        except InvalidIdentifier:
            continue
        assume(False)
    return text


@st.composite
def member_codes_under(draw: st.DrawFn, member: MemberId) -> MemberId:
    """``member`` itself or a unit below it."""
    code = member.code
    if isinstance(code, TaxCode):
        branch = draw(st.one_of(st.none(), st.from_regex(r"[0-9]{3}", fullmatch=True)))
        return member if code.branch is not None else member.with_code(TaxCode(code.main, branch))
    groups = [code.level2, code.level3, code.level4]
    for i in range(code.level - 1, 3):  # the groups below the member's own level
        free = draw(st.integers(0, 99 if i < 2 else 999))
        groups[i] = free if i == 0 or groups[i - 1] else 0
    return member.with_code(AgencyCode(groups[2], groups[1], groups[0], code.level1))


members_anywhere = st.builds(
    MemberId.parse,
    st.builds(
        "{}:{}".format,
        st.sampled_from(["VN", "XX", "VN-TEST"]),
        st.one_of(
            st.builds(
                lambda letter, n, l2: f"GOV:000.00.{l2:02d}.{letter}{n:02d}",
                st.sampled_from("GHKZ"),
                st.integers(1, 99),
                st.integers(0, 99),
            ),
            st.from_regex(r"COM:[0-9]{10}(-[0-9]{3})?", fullmatch=True),
        ),
    ),
)
sub_codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)


# How one header of a valid message is changed; the first group are faults in the headers
# themselves, decided before the sizes; the rest are about what the identifiers name, decided
# after them.
HEADER_FAULTS = [
    "drop",
    "repeat",
    "null",
    "not-utf8",
    "bad-id",
    "bad-kind",
    "bad-correlation",
    "router-header",
]
NAMING = [
    "forged-correlation",
    "unparseable",
    "foreign-sender",
    "unknown-sender",
    "unknown-counterpart",
    "other-counterpart",
    "ungranted-service",
]
CHANGES = HEADER_FAULTS + NAMING


@st.composite
def one_header_changed(
    draw: st.DrawFn, how: str | None = None
) -> tuple[str, Headers, RejectionCode | MemberId, str]:
    """A valid message changed in one header, and the outcome it earns with a value within
    the limit: a fault in the headers themselves is MALFORMED however large the headers are;
    anything else is TOO_LARGE once the headers are over 64 KiB together (the valid message's
    extra headers, or an absurdly long identifier, take them there now and then)."""
    topic, headers, expected, how = draw(_one_header_changed(how))
    header_level = how in HEADER_FAULTS and expected is C.MALFORMED
    if not header_level and header_bytes(headers) > HEADER_LIMIT:
        expected = C.TOO_LARGE
    return topic, headers, expected, how


@st.composite
def _one_header_changed(
    draw: st.DrawFn, how: str | None = None
) -> tuple[str, Headers, RejectionCode | MemberId, str]:
    how = how or draw(st.sampled_from(CHANGES))
    v, headers = draw(valid_messages("request" if how == "ungranted-service" else None))
    request = v.kind == "request"
    own, other = (wire.H_CLIENT, wire.H_SERVICE) if request else (wire.H_SERVICE, wire.H_CLIENT)
    sender_names = [n for n, _ in headers if n in SENDER]

    def replace(name: str, raw: bytes | None) -> Headers:
        return [(n, raw if n == name else r) for n, r in headers]

    if how == "drop":
        name = draw(st.sampled_from(sender_names))
        out = [(n, r) for n, r in headers if n != name]
        # a request without its (optional) correlation id is still a valid request
        return (
            v.topic,
            out,
            v.route if name == wire.H_CORRELATION_ID and request else C.MALFORMED,
            how,
        )
    if how == "repeat":
        name = draw(st.sampled_from(sender_names))
        raw = draw(st.one_of(st.just(dict(headers)[name]), any_values))
        return v.topic, interleave(draw, headers, [(name, raw)]), C.MALFORMED, how
    if how == "null":
        return v.topic, replace(draw(st.sampled_from(sender_names)), None), C.MALFORMED, how
    if how == "not-utf8":
        name = draw(st.sampled_from(sender_names))
        return v.topic, replace(name, draw(invalid_utf8)), C.MALFORMED, how
    if how == "bad-id":
        bad = draw(kafka_text.filter(lambda t: not id_ok(t)) | st.just("x" * 129))
        return v.topic, replace(wire.H_ID, bad.encode()), C.MALFORMED, how
    if how == "bad-kind":
        bad = draw(st.one_of(kafka_text, st.sampled_from(["error", "Request", "request "])))
        assume(bad not in ("request", "response"))
        return v.topic, replace(wire.H_KIND, bad.encode()), C.MALFORMED, how
    if how in ("bad-correlation", "forged-correlation"):
        value = (
            draw(kafka_text.filter(lambda t: not id_ok(t)))
            if how == "bad-correlation"
            else draw(message_ids)
        )
        out = [(n, r) for n, r in headers if n != wire.H_CORRELATION_ID]
        out = interleave(draw, out, [(wire.H_CORRELATION_ID, value.encode())])
        return v.topic, out, C.MALFORMED if how == "bad-correlation" else v.route, how
    if how == "router-header":
        forged = (draw(forged_names), draw(any_values))
        return v.topic, interleave(draw, headers, [forged]), C.MALFORMED, how
    if how == "unparseable":
        name = draw(st.sampled_from([wire.H_CLIENT, wire.H_SERVICE]))
        text = draw(unparseable(v.client if name == wire.H_CLIENT else v.service))
        return v.topic, replace(name, text.encode()), C.MALFORMED, how
    # Identifiers that parse. The sender's own party: its member decides authority.
    if how in ("foreign-sender", "unknown-sender"):
        if how == "foreign-sender":
            member = draw(
                members_anywhere.filter(lambda m: not m.is_self_or_descendant_of(v.sender))
            )
            expected: RejectionCode | MemberId = C.NOT_SENDER
        else:
            member = draw(member_codes_under(v.sender))
            expected = C.UNKNOWN_CLIENT if request else C.UNKNOWN_SERVICE
        text = f"{member}:{draw(sub_codes)}"
        if not request:
            text += f":{draw(sub_codes)}"
        assume(text not in REGISTRY.subsystems and text not in REGISTRY.services)
        return v.topic, replace(own, text.encode()), expected, how
    if how == "unknown-counterpart":
        member = draw(members_anywhere)
        text = f"{member}:{draw(sub_codes)}" + ("" if not request else f":{draw(sub_codes)}")
        assume(text not in REGISTRY.subsystems and text not in REGISTRY.services)
        expected = C.UNKNOWN_SERVICE if request else C.UNKNOWN_CLIENT
        return v.topic, replace(other, text.encode()), expected, how
    if how == "ungranted-service":
        client = REGISTRY.subsystems[v.client]
        closed = sorted(s for s in REGISTRY.services if not REGISTRY.allowed(s, client))
        assume(closed)
        return v.topic, replace(other, draw(st.sampled_from(closed)).encode()), C.FORBIDDEN, how
    # another registered party on the other side: a grant, then a route, decide
    if request:
        stext = draw(st.sampled_from(sorted(REGISTRY.services)))
        party = REGISTRY.services[stext]
        if not REGISTRY.allowed(stext, REGISTRY.subsystems[v.client]):
            expected = C.FORBIDDEN
        else:
            expected = party.route if party.route is not None else C.NO_ROUTE
        return v.topic, replace(other, stext.encode()), expected, how
    ctext = draw(st.sampled_from(sorted(REGISTRY.subsystems)))
    client = REGISTRY.subsystems[ctext]
    if not REGISTRY.allowed(v.service, client):  # an answer to a client that asked nothing
        return v.topic, replace(other, ctext.encode()), C.FORBIDDEN, how
    route = client.route
    return v.topic, replace(other, ctext.encode()), route if route is not None else C.NO_ROUTE, how


@pytest.mark.parametrize("how", CHANGES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data(), size=st.integers(0, LIMIT))
def test_a_valid_message_changed_in_one_header_earns_the_code_of_that_header(
    how: str, data: st.DataObject, size: int
) -> None:
    topic, headers, expected, _ = data.draw(one_header_changed(how))
    assert_outcome(check_decision(topic, headers, size), expected)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(one_header_changed(), st.integers(LIMIT + 1, 2**63))
def test_checks_run_in_order(
    change: tuple[str, Headers, RejectionCode | MemberId, str], size: int
) -> None:
    """Two faults at once: the earlier check decides. A topic that is not an ingress beats
    everything; a fault in the headers themselves beats the sizes; the value's size beats
    the headers' size, and the sizes beat every check on what the identifiers name
    (routing.py's order)."""
    topic, headers, expected, how = change
    assert_outcome(ROUTER.decide("ndxp.in.000.00.00.K01", headers, size), C.NOT_SENDER)
    # (dropping a request's optional correlation id is no fault at all)
    header_level = how in HEADER_FAULTS and expected is C.MALFORMED
    d = check_decision(topic, headers, size)
    assert_outcome(d, C.MALFORMED if header_level else C.TOO_LARGE)
    if not header_level:
        assert d.detail == f"value is {size} bytes, the limit is {LIMIT}"


@settings(max_examples=30, deadline=None)
@given(
    valid_messages(),
    st.one_of(st.integers(0, 300), st.integers(240, 260), st.integers(1000, 21_000)),
    st.sampled_from([None, "router", "internal", "repeat", "null-id"]),
    st.floats(0, 1),
)
def test_thousands_of_headers(
    message: tuple[Valid, Headers], count: int, fault: str | None, where: float
) -> None:
    """Headers of 6-7 bytes each, around the bound on their number (256) and up to what 64 KiB
    holds: over the bound a record is TOO_LARGE before any header is read, whatever fault they
    hold (its detail counts them); within it a fault in the headers themselves is MALFORMED."""
    v, headers = message
    bulk: Headers = [(f"x-{i % 13}", i.to_bytes(3, "big")) for i in range(count)]
    at = int(where * len(bulk))
    bulk[at:at] = headers
    forged = {
        "router": (wire.H_ROUTE, b"000.00.00.H42"),
        "internal": (wire.H_X_ROUTE, b"000.00.00.H42"),
        "repeat": (wire.H_SERVICE, v.service.encode()),
        "null-id": (wire.H_ID, None),
    }
    if fault is not None:
        bulk.insert(int((1 - where) * len(bulk)), forged[fault])
    d = check_decision(v.topic, bulk, 10)
    if len(bulk) > wire.MAX_HEADERS:
        assert_outcome(d, C.TOO_LARGE)
        assert isinstance(d, Rejected)
        assert d.detail == f"{len(bulk):,} headers, the limit is {wire.MAX_HEADERS}"
    elif fault is not None:
        assert_outcome(d, C.MALFORMED)
    else:
        assert_outcome(d, v.route if header_bytes(bulk) <= HEADER_LIMIT else C.TOO_LARGE)
    # many of one sender header: repeated (MALFORMED) within the bound, TOO_LARGE over it
    many = ROUTER.decide(v.topic, [(wire.H_ID, b"m")] * count, 10)
    assert_outcome(many, C.TOO_LARGE if count > wire.MAX_HEADERS else C.MALFORMED)


def test_a_clipped_record_is_refused_with_the_count_it_had_and_keeps_its_first_headers() -> None:
    """What ndxp's consumers hand over of a record with 21,000 headers (its first 512, then
    their count): TOO_LARGE with the count it had on the wire; a copy of it keeps its first 256
    and not the count. A sender's own header of that name is plain bytes: never taken as the
    count (its 513 headers are counted), and a copy keeps its first 256 too."""
    from ndxp.core.budget import HeaderCount, clip_headers, header_count, kept_headers

    v = next(x for x in VALID if x.kind == "request")
    headers: Headers = [
        (wire.H_ID, b"m-1"),
        (wire.H_KIND, b"request"),
        (wire.H_CLIENT, v.client.encode()),
        (wire.H_SERVICE, v.service.encode()),
    ]
    full = [*headers, *[(f"x-{i}", b"") for i in range(21_000 - len(headers))]]
    clipped = clip_headers(full)
    assert len(clipped) == wire.READ_HEADERS + 1
    assert clipped[-1] == (wire.H_X_HEADER_COUNT, b"21000")
    assert type(clipped[-1][1]) is HeaderCount
    d = ROUTER.decide(v.topic, clipped, 10)
    assert isinstance(d, Rejected) and d.code is C.TOO_LARGE
    assert d.detail == f"21,000 headers, the limit is {wire.MAX_HEADERS}"
    assert d.message_id == "m-1"  # the error notice still answers the sender's id
    assert list(kept_headers(clipped)) == full[: wire.MAX_HEADERS]
    forged = [*full[: wire.READ_HEADERS], (wire.H_X_HEADER_COUNT, b"99999")]
    assert header_count(forged) == wire.READ_HEADERS + 1
    assert list(kept_headers(forged)) == full[: wire.MAX_HEADERS]
    d = ROUTER.decide(v.topic, forged, 10)
    assert isinstance(d, Rejected) and d.code is C.TOO_LARGE
    assert d.detail == f"{wire.READ_HEADERS + 1} headers, the limit is {wire.MAX_HEADERS}"
    at_bound = full[: wire.MAX_HEADERS]
    assert isinstance(ROUTER.decide(v.topic, at_bound, 10), Routed)
    assert kept_headers(at_bound) == at_bound


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        # absurd lengths: refused, with a detail that stays short. A fault in the headers
        # themselves is MALFORMED however long they are (it is decided before the sizes) ...
        ([(wire.H_ID, b"m-1"), (wire.H_KIND, b"request" * 200_000)], C.MALFORMED),
        ([(wire.H_ID, b"x" * 1_000_000), (wire.H_KIND, b"request")], C.MALFORMED),
        ([("ndxp-x-" + "a" * 1_000_000, b"")], C.MALFORMED),
        # ... an identifier that does not parse is MALFORMED while the headers fit ...
        (
            [
                (wire.H_ID, b"m-1"),
                (wire.H_KIND, b"request"),
                (wire.H_CLIENT, b"A" * 60_000 + b":GOV:000.00.00.H41:motcua"),
                (wire.H_SERVICE, b"VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"),
            ],
            C.MALFORMED,
        ),
        (
            [
                (wire.H_ID, b"m-1"),
                (wire.H_KIND, b"request"),
                (wire.H_CLIENT, b"VN:GOV:000.00.00.H41:motcua"),
                (wire.H_SERVICE, b"VN:GOV:" + b"1" * 60_000 + b".00.01.G01:dancu:tra-cuu:v1"),
            ],
            C.MALFORMED,
        ),
        # ... and TOO_LARGE once they are over 64 KiB together (the sizes come first)
        (
            [
                (wire.H_ID, b"m-1"),
                (wire.H_KIND, b"request"),
                (wire.H_CLIENT, b"A" * 3_000_000 + b":GOV:000.00.00.H41:motcua"),
                (wire.H_SERVICE, b"VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"),
            ],
            C.TOO_LARGE,
        ),
        (
            [
                (wire.H_ID, b"m-1"),
                (wire.H_KIND, b"request"),
                (wire.H_CLIENT, b"VN:GOV:000.00.00.H41:motcua"),
                (wire.H_SERVICE, b"VN:GOV:" + b"1" * 3_000_000 + b".00.01.G01:dancu:tra-cuu:v1"),
            ],
            C.TOO_LARGE,
        ),
    ],
)
def test_absurd_lengths_are_refused_with_a_short_detail(
    headers: Headers, code: RejectionCode
) -> None:
    d = check_decision("ndxp.in.000.00.00.H41", headers, 10)
    assert isinstance(d, Rejected) and d.code is code
    assert len(d.detail) <= 300, d.detail[:400]


# -- all the headers together: at most 64 KiB ---------------------------------------------------
def test_the_header_limit_counts_what_the_headers_take_on_the_wire() -> None:
    v = next(v for v in VALID if v.kind == "request")
    base = encode([(wire.H_ID, "m-1"), (wire.H_KIND, "request")])
    base += encode([(wire.H_CLIENT, v.client), (wire.H_SERVICE, v.service)])
    assert wire.MAX_HEADER_BYTES == HEADER_LIMIT == 65_536
    name = "đ€𝔁" * 300  # 900 characters, 2700 bytes in UTF-8 (+2 for its length)
    null = ("x-null", None)  # its name's 6 bytes + 1 for that length + 1 for the null length
    assert header_bytes([(name, b"")]) == 2700 + 2 + 1 and header_bytes([null]) == 8
    assert budget.headers_size([(name, b"")]) == 2703 and budget.headers_size([null]) == 8
    room = HEADER_LIMIT - header_bytes(base) - 8 - 2702 - 3  # the value's length takes 3
    at_limit = [*base, null, (name, b"v" * room)]
    assert budget.headers_size(at_limit) == header_bytes(at_limit) == HEADER_LIMIT
    assert_outcome(check_decision(v.topic, at_limit, LIMIT), v.route)
    # one byte over: the value one byte longer; one more null header (8 bytes) and the value
    # 7 bytes shorter
    for over in (
        [*base, null, (name, b"v" * (room + 1))],
        [*base, null, null, (name, b"v" * (room - 7))],
    ):
        assert budget.headers_size(over) == HEADER_LIMIT + 1
        d = check_decision(v.topic, over, LIMIT)
        assert isinstance(d, Rejected) and d.code is C.TOO_LARGE, d
        assert d.detail == (
            "headers are 65537 bytes (names, values and lengths), the limit is 65536"
        )
        assert (d.message_id, d.notify) == ("m-1", v.sender)
    # tiny headers cost their lengths too (2 bytes an empty one), and their number is bounded
    tiny = [*base, *[("", b"")] * (wire.MAX_HEADERS - len(base))]
    assert budget.headers_size(tiny) == header_bytes(base) + 2 * (wire.MAX_HEADERS - len(base))
    assert_outcome(check_decision(v.topic, tiny, LIMIT), v.route)
    d = check_decision(v.topic, [*tiny, ("", b"")], LIMIT)
    assert isinstance(d, Rejected) and d.code is C.TOO_LARGE
    assert d.detail == f"{wire.MAX_HEADERS + 1} headers, the limit is {wire.MAX_HEADERS}"


@settings(max_examples=100, deadline=None)
@given(
    valid_messages(),
    st.lists(st.tuples(irrelevant_names, st.none()), max_size=4),
    irrelevant_names,
    st.data(),
)
def test_headers_just_at_the_limit_route_and_one_byte_over_are_too_large(
    message: tuple[Valid, Headers], nulls: Headers, name: str, data: st.DataObject
) -> None:
    """Any valid message, padded by one more header (any name, non-ASCII too) to 64 KiB of
    headers (or one byte short, where the value's length varint grows), is routed; one byte
    more and it is TOO_LARGE, with the count."""
    v, headers = message
    headers = interleave(data.draw, headers, nulls)
    at = data.draw(st.integers(0, len(headers)))

    def padded(n: int) -> Headers:
        return [*headers[:at], (name, b"\x00" * n), *headers[at:]]

    # the longest padding that fits (the value's length varint grows at 64 and 8192 bytes)
    room = HEADER_LIMIT - header_bytes(padded(0))
    assume(room >= 0)
    while header_bytes(padded(room)) > HEADER_LIMIT:
        room -= 1
    assert room >= 0
    assert header_bytes(padded(room)) == budget.headers_size(padded(room)) <= HEADER_LIMIT
    assert HEADER_LIMIT - header_bytes(padded(room)) <= 1  # at the limit, or one short of it
    assert_outcome(check_decision(v.topic, padded(room), LIMIT), v.route)
    d = check_decision(v.topic, padded(room + 1), LIMIT)
    assert isinstance(d, Rejected) and d.code is C.TOO_LARGE
    assert d.detail == headers_detail(padded(room + 1))
    assert header_bytes(padded(room + 1)) in (HEADER_LIMIT + 1, HEADER_LIMIT + 2)
    assert (d.message_id, d.notify) == (sender_value(headers, wire.H_ID), v.sender)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    one_header_changed(),
    irrelevant_names,
    st.integers(1, 200_000),
    st.one_of(st.integers(0, LIMIT), st.integers(LIMIT + 1, 2**63)),
    st.data(),
)
def test_faults_in_the_headers_beat_the_header_limit_which_beats_the_identifiers(
    change: tuple[str, Headers, RejectionCode | MemberId, str],
    name: str,
    excess: int,
    size: int,
    data: st.DataObject,
) -> None:
    """Headers over 64 KiB together, and one header changed: a fault in the headers
    themselves is still MALFORMED; a value over its limit is TOO_LARGE for the value; any
    other change (an unparseable identifier, a foreign sender, an unknown party, ...) is
    TOO_LARGE for the headers."""
    topic, headers, expected, how = change
    pad = (name, b"p" * max(0, HEADER_LIMIT - header_bytes(headers) + excess))
    big = interleave(data.draw, headers, [pad])
    assert header_bytes(big) > HEADER_LIMIT
    d = check_decision(topic, big, size)
    assert isinstance(d, Rejected), d
    if how in HEADER_FAULTS and expected is C.MALFORMED:
        assert d.code is C.MALFORMED, d
    elif size > LIMIT:
        assert (d.code, d.detail) == (C.TOO_LARGE, f"value is {size} bytes, the limit is {LIMIT}")
    else:
        assert (d.code, d.detail) == (C.TOO_LARGE, headers_detail(big))


def test_the_dead_letter_topic_takes_64_kib_more_than_ingress() -> None:
    specs = {s.name: s for s in topics_for(REGISTRY, 3)}
    ingress = specs[wire.ingress_topic("000.00.00.H41")].config["max.message.bytes"]
    assert int(ingress) == MAX_MESSAGE_BYTES
    rejected = specs[wire.REJECTED_TOPIC].config["max.message.bytes"]
    assert int(rejected) == DEAD_LETTER_MAX_MESSAGE_BYTES == MAX_MESSAGE_BYTES + 64 * 1024


# -- the records built from a decision -----------------------------------------------------
SECRET = b"PAYLOAD-7c1e2b9f0d4a4e31a8f6"
payloads = st.one_of(
    st.none(),
    st.binary(max_size=60).map(lambda b: SECRET + b),
    st.builds(lambda n: SECRET * n, st.integers(1, 50_000)),
)
keys = st.one_of(st.none(), st.binary(max_size=20))
sources = st.builds(
    Source,
    st.one_of(
        st.sampled_from(sorted(REGISTRY.ingress)),
        st.from_regex(r"[a-zA-Z0-9._-]{1,60}", fullmatch=True),
    ),
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**63 - 1),
    st.integers(0, 10**13),  # received: the broker's LogAppendTime
)
synthetic_rejections = st.builds(
    Rejected,
    st.sampled_from(list(RejectionCode)),
    kafka_text.filter(bool),
    st.one_of(st.none(), message_ids),
    st.one_of(st.none(), st.sampled_from(sorted(REGISTRY.ingress.values()))),
)
quota_extra = st.one_of(
    st.just([]),
    st.just([(wire.H_QUOTA_LIMIT, b"h41"), (wire.H_RETRY_AFTER, b"0.500")]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.tuples(st.sampled_from(sorted(REGISTRY.ingress)), any_header_lists),
        one_header_changed().map(lambda c: (c[0], c[1])),
        st.tuples(topics, any_header_lists),
    ),
    keys,
    payloads,
    sources,
    st.integers(0, 10**13),
    quota_extra,
    st.one_of(st.none(), synthetic_rejections),
)
def test_rejection_records_keep_the_original_and_never_echo_the_payload(
    message: tuple[str, Headers],
    key: bytes | None,
    value: bytes | None,
    source: Source,
    now_ms: int,
    extra: Headers,
    synthetic: Rejected | None,
) -> None:
    topic, headers = message
    assume(not any(raw is not None and SECRET in raw for _, raw in headers))
    decided = ROUTER.decide(topic, headers, 0 if value is None else len(value))
    decision = synthetic if synthetic is not None else decided
    assume(isinstance(decision, Rejected))
    assert isinstance(decision, Rejected)
    if synthetic is None:
        assert len(decision.detail) <= MAX_DETAIL
    before = list(headers)
    records = rejection_records(decision, source, key, value, headers, now_ms, extra)
    assert headers == before
    dead, *notice = records
    # the dead-letter copy: the original key, value, every header in order, then the router's
    assert dead.topic == wire.REJECTED_TOPIC
    assert (dead.key, dead.value) == producible(key, value)
    assert dead.value == (b"" if key is None and value is None else value)
    assert list(dead.headers[: len(headers)]) == headers
    assert list(dead.headers[len(headers) :]) == [
        (wire.H_ERROR, decision.code.value.encode()),
        (wire.H_ERROR_DETAIL, decision.detail.encode()),
        (wire.H_SOURCE_TOPIC, source.topic.encode()),
        (wire.H_SOURCE_PARTITION, str(source.partition).encode()),
        (wire.H_SOURCE_OFFSET, str(source.offset).encode()),
        (wire.H_ROUTED_AT, str(now_ms).encode()),
        *extra,
    ]
    assert dead.timestamp_ms == source.received_ms  # the platform's time, not the sender's
    # what the router adds stays small, so the copy fits wherever the original did: the
    # dead-letter topic takes 64 KiB more than an ingress topic (what the router adds, with
    # its record overhead of a few bytes a header, is far less)
    added = sum(len(n) + len(raw) for n, raw in dead.headers[len(headers) :])
    assert added <= 4 * len(decision.detail) + 400 + sum(len(n) + len(r) for n, r in extra)
    assert added + 16 * (len(dead.headers) - len(headers)) < (
        DEAD_LETTER_MAX_MESSAGE_BYTES - MAX_MESSAGE_BYTES
    )
    # what the ledger makes of it: the router's code, detail and coordinates, not forgeries
    row = ledger_row(wire.REJECTED_TOPIC, 0, 1, source.received_ms, dead.value, dead.headers)
    assert row is not None
    r = dict(zip(COLUMNS, row, strict=True))
    assert (r["error"], r["error_detail"]) == (decision.code.value, decision.detail)
    assert (r["received_at"], r["routed_at"]) == (source.received_ms, now_ms)
    claims = [raw for name, raw in headers if name == wire.H_SENT_AT and raw is not None]
    claim = claims[0].decode("utf-8", "replace") if claims else None
    kept = claim is not None and wire.valid_epoch_ms(claim)
    kept = kept and MIN_TIME_MS <= int(claim or 0) <= MAX_TIME_MS
    assert r["produced_at"] == (int(claim or 0) if kept else None)  # the claim, if storable
    coordinates = (source.topic, source.partition, source.offset)
    if not source.topic.startswith(wire.INGRESS_PREFIX):
        coordinates = (wire.REJECTED_TOPIC, 0, 1)  # not an ingress topic: its own place
    assert (r["source_topic"], r["source_partition"], r["source_offset"]) == coordinates
    fallback = ":".join(map(str, coordinates))
    if synthetic is None:
        assert r["message_id"] == (decision.message_id or fallback)
    assert r["payload_sha256"] == hashlib.sha256(dead.value or b"").digest()
    # the error notice: to the sender's own egress, small, never the payload
    if decision.notify is None:
        assert notice == []
        return
    [note] = notice
    assert note.topic == wire.egress_topic(decision.notify)
    assert note.key == key  # (keys over 4 KiB are not echoed: tests/unit/test_budget.py)
    assert note.timestamp_ms == source.received_ms
    assert orjson.loads(note.value or b"") == {
        "error": decision.code.value,
        "detail": decision.detail,
        "id": decision.message_id,
    }
    assert SECRET not in (note.value or b"")
    assert len(note.value or b"") <= 6 * len(decision.detail) + 250
    assert all(SECRET not in raw for _, raw in note.headers)
    h = dict(note.headers)
    assert [n for n, _ in note.headers] == [
        wire.H_ID,
        wire.H_KIND,
        wire.H_ERROR,
        wire.H_ERROR_DETAIL,
        wire.H_SOURCE_TOPIC,
        wire.H_SOURCE_PARTITION,
        wire.H_SOURCE_OFFSET,
        wire.H_ROUTED_AT,
        wire.H_ROUTE,
        *(n for n, _ in extra),
        *([] if decision.message_id is None else [wire.H_CORRELATION_ID]),
    ], "nothing of the sender's headers is echoed"
    assert h[wire.H_KIND] == b"error" and h[wire.H_ERROR] == decision.code.value.encode()
    assert id_ok(h[wire.H_ID].decode()) and h[wire.H_ID].decode() != decision.message_id
    assert h.get(wire.H_CORRELATION_ID) == (
        None if decision.message_id is None else decision.message_id.encode()
    )
    assert h[wire.H_ROUTE] == str(decision.notify.code).encode()


@settings(max_examples=100, deadline=None)
@given(valid_messages(), keys, payloads, sources, st.integers(0, 10**13))
def test_routed_records_keep_every_header_and_the_ledger_reads_the_routers(
    message: tuple[Valid, Headers],
    key: bytes | None,
    value: bytes | None,
    source: Source,
    now_ms: int,
) -> None:
    v, headers = message
    d = check_decision(v.topic, headers, 0)
    # a valid message is routed unless its headers are over 64 KiB together (then it has no
    # routed record; its dead-letter copy is the previous test's)
    assert_outcome(d, v.route if header_bytes(headers) <= HEADER_LIMIT else C.TOO_LARGE)
    assume(isinstance(d, Routed))
    assert isinstance(d, Routed)
    route = str(d.route.code)
    copy = routed(d.topic, key, value, headers, route, source, now_ms)
    out = list(copy.headers)
    assert (copy.topic, copy.key, copy.value) == (d.topic, *producible(key, value))
    assert copy.timestamp_ms == source.received_ms
    assert out[: len(headers)] == headers
    assert out[len(headers) :] == [
        (wire.H_ROUTED_AT, str(now_ms).encode()),
        (wire.H_ROUTE, route.encode()),
        (wire.H_SOURCE_TOPIC, source.topic.encode()),
        (wire.H_SOURCE_PARTITION, str(source.partition).encode()),
        (wire.H_SOURCE_OFFSET, str(source.offset).encode()),
    ]
    # what the router adds stays small: the copy fits its topic (tests/unit/test_budget.py)
    assert header_bytes(out) <= header_bytes(headers) + 300
    row = ledger_row(d.topic, 0, 1, copy.timestamp_ms or 0, value, out)
    assert row is not None
    r = dict(zip(COLUMNS, row, strict=True))
    assert (r["message_id"], r["kind"], r["outcome"]) == (d.envelope.id, v.kind, "routed")
    assert (r["client"], r["service"], r["route"]) == (v.client, v.service, route)
    assert r["correlation_id"] == (d.envelope.correlation_id or "")
    assert r["routed_at"] == now_ms
    # through the client's home partition and back: key, headers, coordinates, route, time
    copy = to_home(v.client, 2, route, source, key, value, headers, SEAL)
    assert (copy.topic, copy.partition, copy.key, copy.value) == (
        source.topic,
        2,
        v.client.encode(),
        value,
    )
    assert list(copy.headers[: len(headers)]) == headers and is_home_copy(copy.headers)
    assert from_home(v.client, copy.headers, value, SEAL) == Staged(key, headers, source, route)
    assert from_home(v.client, copy.headers, value, b"another key") is None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(irrelevant_names, st.sampled_from(sorted(SENDER))), any_values),
        max_size=30,
    ),
    keys,
    st.one_of(st.none(), st.binary(max_size=30)),
    sources,
    st.from_regex(r"[0-9A-Z.-]{1,20}", fullmatch=True),
    st.integers(0, 10**13),
)
def test_helpers_take_any_header_list(
    headers: Headers,
    key: bytes | None,
    value: bytes | None,
    source: Source,
    route: str,
    now_ms: int,
) -> None:
    """Whatever a sender's headers hold (nothing of the router's: those are refused before
    these helpers run), the helpers neither raise nor lose or reorder a header."""
    out = list(routed("t", key, value, headers, route, source, now_ms).headers)
    assert out[: len(headers)] == headers and len(out) == len(headers) + 5
    client = "VN:GOV:000.00.00.H41:motcua"
    copy = to_home(client, 0, route, source, key, value, headers, SEAL)
    assert from_home(client, copy.headers, value, SEAL) == Staged(key, headers, source, route)
    assert producible(key, value) == (
        (None, b"") if key is None and value is None else (key, value)
    )
    d = Rejected(C.MALFORMED, "x", None, REGISTRY.ingress.get(source.topic))
    dead = rejection_records(d, source, key, value, headers, now_ms)[0]
    assert list(dead.headers[: len(headers)]) == headers
