"""Hostile and broken input to the pure core's parsers (property-based).

Each parser either returns a value or raises the module's documented error, never anything
else; what parses formats back to the exact text; and whether a text parses agrees with an
independent oracle written from the rules in schemas/WIRE.md (not from the parsers' code).
Inputs: arbitrary text, grammar-aware mutations of valid identifiers (so the deep branches
are reached), non-strings and absurd lengths. Also: registry documents (a registry or a
RegistryError, and whatever it accepts can be used), and the ledger's reading of records.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ndxp.core import wire
from ndxp.core.agency import AgencyCode
from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId, TaxCode
from ndxp.core.ledger import COLUMNS, ledger_row
from ndxp.core.quota import Limit, QuotaState, policy
from ndxp.core.registry import Registry, RegistryError
from ndxp.router.forwarding import quota_headers

from .conftest import small_document

# An error message stays short however long the input: details travel in Kafka headers
# (the dead-letter copy and the error notice), and a hostile header can be megabytes.
MAX_MESSAGE = 1000

# -- an oracle for the identifier grammar, written from WIRE.md ---------------------------
_AGENCY = re.compile(r"([0-9]{3})\.([0-9]{2})\.([0-9]{2})\.[A-Z]([0-9]{2})")
_TAX = re.compile(r"[0-9]{10}(-[0-9]{3})?")
_INSTANCE = re.compile(r"[A-Z][A-Z0-9-]{0,31}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


def agency_ok(text: str) -> bool:
    m = _AGENCY.fullmatch(text)
    if m is None:
        return False
    l4, l3, l2, number = (int(g) for g in m.groups())
    # level 1 not numbered 00; no non-zero group below a zero group
    return number != 0 and not (l3 and not l2) and not (l4 and not l3)


def tax_ok(text: str) -> bool:
    return _TAX.fullmatch(text) is not None


def member_ok(parts: list[str]) -> bool:
    instance, member_class, code = parts
    if _INSTANCE.fullmatch(instance) is None:
        return False
    return {"GOV": agency_ok, "COM": tax_ok}.get(member_class, lambda _: False)(code)


def subsystem_ok(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 4 and member_ok(parts[:3]) and _CODE.fullmatch(parts[3]) is not None


def service_ok(text: str) -> bool:
    parts = text.split(":")
    if len(parts) not in (5, 6) or not member_ok(parts[:3]):
        return False
    if _CODE.fullmatch(parts[3]) is None or _CODE.fullmatch(parts[4]) is None:
        return False
    return len(parts) == 5 or _VERSION.fullmatch(parts[5]) is not None


def message_id_ok(text: str) -> bool:
    return 1 <= len(text) <= 128 and all("!" <= c <= "~" for c in text)


# -- valid identifiers ---------------------------------------------------------------------
agency_codes = st.builds(
    lambda letter, number, l2, l3, l4: AgencyCode(
        l4 if l3 and l2 else 0, l3 if l2 else 0, l2, f"{letter}{number:02d}"
    ),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.integers(1, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 999),
)
tax_texts = st.from_regex(r"[0-9]{10}(-[0-9]{3})?", fullmatch=True)
instances = st.one_of(
    st.sampled_from(["VN", "VN-TEST", "EE"]),
    st.from_regex(r"[A-Z][A-Z0-9-]{0,31}", fullmatch=True),
)
codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", fullmatch=True)
versions = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", fullmatch=True)
member_texts = st.builds(
    lambda inst, code: f"{inst}:{code}",
    instances,
    st.one_of(agency_codes.map(lambda c: f"GOV:{c}"), tax_texts.map(lambda c: f"COM:{c}")),
)
subsystem_texts = st.builds(lambda m, s: f"{m}:{s}", member_texts, codes)
service_texts = st.builds(
    lambda s, v, ver: f"{s}:{v}" + ("" if ver is None else f":{ver}"),
    subsystem_texts,
    codes,
    st.one_of(st.none(), versions),
)

# -- hostile text --------------------------------------------------------------------------
# Characters that sit on the grammar's edges: separators, whitespace of every kind, digits
# and capitals that are not ASCII, look-alikes, controls, a lone surrogate.
EDGE_CHARS = list(":.-_ \t\n\r\x0b\x0c\x00\x7f\u00a0\u1680\u2028\u3000\ufeff") + list(
    "AZaz09ıİſKℌ٠١۹０９Ａ\u0301\U0001d7ce\ud800"
)
edge_chars = st.one_of(st.sampled_from(EDGE_CHARS), st.characters())


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """A valid text with one to three edits: insert, delete, replace, duplicate or empty a
    part, or blow a part up to an absurd length."""
    text = draw(valid)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "part", "huge", "case"]))
        if op == "insert":
            text = text[:i] + draw(edge_chars) + text[i:]
        elif op == "delete" and text:
            text = text[: max(0, i - 1)] + text[i:]
        elif op == "replace" and text:
            i = min(i, len(text) - 1)
            text = text[:i] + draw(edge_chars) + text[i + 1 :]
        elif op == "part":
            parts = text.split(":")
            j = draw(st.integers(0, len(parts) - 1))
            parts[j : j + 1] = draw(st.sampled_from([[], [""], [parts[j], parts[j]]]))
            text = ":".join(parts)
        elif op == "huge":
            chunk = draw(st.sampled_from(["A", "0", "a-", " ", ":", "."]))
            text = text[:i] + chunk * draw(st.integers(100, 20_000)) + text[i:]
        elif op == "case":
            text = text.swapcase()
    return text


def hostile(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(valid, mutated(valid), st.text(max_size=80), st.text(edge_chars, max_size=30))


def parses(parse: Callable[[Any], object], text: object) -> object | None:
    """The parsed value, or ``None`` when refused with the documented error (any other
    exception propagates and fails the test)."""
    try:
        return parse(text)
    except InvalidIdentifier as exc:
        assert exc.reason, "a refusal always says why"
        assert len(str(exc)) <= MAX_MESSAGE, f"unbounded message: {len(str(exc))} chars"
        return None


# -- identifiers ---------------------------------------------------------------------------
@given(agency_codes)
def test_agency_code_round_trip(code: AgencyCode) -> None:
    text = str(code)
    assert agency_ok(text)
    assert AgencyCode.parse(text) == code
    assert str(AgencyCode.parse(text)) == text


@settings(max_examples=200, deadline=None)
@given(hostile(agency_codes.map(str)))
def test_agency_code_parser_agrees_with_the_oracle(text: str) -> None:
    parsed = parses(AgencyCode.parse, text)
    assert (parsed is not None) == agency_ok(text), text
    assert AgencyCode.is_valid(text) == (parsed is not None)
    if parsed is not None:
        assert str(parsed) == text


@settings(max_examples=100, deadline=None)
@given(hostile(tax_texts))
def test_tax_code_parser_agrees_with_the_oracle(text: str) -> None:
    parsed = parses(TaxCode.parse, text)
    assert (parsed is not None) == tax_ok(text), text
    if parsed is not None:
        assert str(parsed) == text


@settings(max_examples=150, deadline=None)
@given(member_texts, codes, st.one_of(st.none(), versions))
def test_identifiers_round_trip_exactly(member: str, code: str, version: str | None) -> None:
    sub = f"{member}:{code}"
    svc = f"{sub}:{code}" + ("" if version is None else f":{version}")
    m, s, v = MemberId.parse(member), SubsystemId.parse(sub), ServiceId.parse(svc)
    assert (str(m), str(s), str(v)) == (member, sub, svc)
    assert s.member == m and v.subsystem == s and v.member == m
    assert (s.code, v.code, v.version) == (code, code, version)
    assert MemberId.parse(str(m)) == m and ServiceId.parse(str(v)) == v


@settings(max_examples=250, deadline=None)
@given(
    st.one_of(
        hostile(member_texts),
        hostile(subsystem_texts),
        hostile(service_texts),
    )
)
def test_identifier_parsers_agree_with_the_oracle(text: str) -> None:
    for parse, ok in (
        (MemberId.parse, lambda t: len(t.split(":")) == 3 and member_ok(t.split(":"))),
        (SubsystemId.parse, subsystem_ok),
        (ServiceId.parse, service_ok),
    ):
        parsed = parses(parse, text)
        assert (parsed is not None) == ok(text), (parse, text)
        if parsed is not None:
            assert str(parsed) == text


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.floats(),
        st.binary(max_size=40),
        st.lists(st.text(max_size=5), max_size=3),
        st.just(b"VN:GOV:000.00.00.H41:motcua"),
    )
)
def test_parsers_refuse_what_is_not_a_string(value: object) -> None:
    for parse in (AgencyCode.parse, TaxCode.parse, MemberId.parse, SubsystemId.parse):
        assert parses(parse, value) is None
    assert parses(ServiceId.parse, value) is None


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(max_size=140),
        st.text(st.characters(min_codepoint=0x1F, max_codepoint=0x80), max_size=140),
    )
)
def test_message_id_rule_matches_the_contract(text: str) -> None:
    assert wire.valid_message_id(text) == message_id_ok(text)


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128))
def test_every_printable_ascii_id_up_to_128_is_valid(text: str) -> None:
    assert wire.valid_message_id(text)
    assert not wire.valid_message_id(text + "x" * (129 - len(text)))


# -- the registry --------------------------------------------------------------------------
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),  # json.loads gives NaN and Infinity too
        st.text(max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

# Where a registry document names something; each is replaced by hostile text or any value.
_SLOTS: list[tuple[Any, ...]] = [
    ("members", 0, "id"),
    ("members", 3, "id"),
    ("members", 8, "id"),
    ("members", 0, "subsystems", 0, "code"),
    ("members", 3, "subsystems", 0, "services", 1, "code"),
    ("members", 3, "subsystems", 0, "services", 1, "version"),
    ("members", 5, "kind"),
    ("members", 5, "connected"),
    ("access", 0, "service"),
    ("access", 1, "subsystem"),
    ("access", 2, "member"),
    ("groups", 0, "kinds"),
    ("instance",),
    ("default_access",),
    ("version",),
]
_LIMIT_FIELDS = ["subsystem", "member", "group", "service", "rate", "burst", "daily", "name"]


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


@st.composite
def broken_documents(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(small_document())
    replacements = st.one_of(
        hostile(st.sampled_from(["VN:GOV:000.00.00.H41", "VN:GOV:000.00.00.H41:motcua", "G01"])),
        json_values,
    )
    for _ in range(draw(st.integers(0, 3))):
        _set(doc, draw(st.sampled_from(_SLOTS)), draw(replacements))
    if draw(st.booleans()):
        limit: dict[str, Any] = {"subsystem": "VN:GOV:000.00.00.H41:motcua", "rate": 10}
        for name in draw(st.lists(st.sampled_from(_LIMIT_FIELDS), max_size=3)):
            limit[name] = draw(
                st.one_of(
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-(2**70), 2**70),
                    replacements,
                )
            )
        doc["limits"] = [limit]
    return doc


@settings(max_examples=150, deadline=None)
@given(st.one_of(broken_documents(), json_values))
def test_any_document_gives_a_registry_or_a_registry_error(document: Any) -> None:
    try:
        registry = Registry.from_document(document)
    except RegistryError as exc:
        assert exc.errors and all(isinstance(e, str) and e for e in exc.errors)
        return
    # Whatever was accepted is usable: identifiers are exact, every limit can be evaluated
    # (a rate of Infinity or NaN passes a JSON Schema's "exclusiveMinimum": 0).
    for text in registry.subsystems:
        assert str(SubsystemId.parse(text)) == text
    for text in registry.services:
        assert str(ServiceId.parse(text)) == text
    for topic, member in registry.ingress.items():
        assert topic == wire.ingress_topic(member) and registry.members[member].connected
    for limit in registry.limits:
        _evaluate(limit)


def _evaluate(limit: Limit) -> None:
    """Everything the router does with a limit: its policy header, a few requests through
    its bucket and cap, the refusal's detail and headers, the changelog's JSON."""
    assert policy(limit)
    state, admitted = QuotaState(), QuotaState()
    for now in (0, 1, 1000, 86_400_000, 86_400_001):
        hit = state.check([limit], now)
        if hit is None:
            state.charge([limit], now)
        else:
            assert hit.detail and quota_headers(hit, state.remaining(limit, now))
        assert admitted.admit([limit], now) == hit  # the router's one-pass path
    assert orjson.loads(orjson.dumps(state.data)) == state.data  # the quota changelog
    assert admitted.data == state.data


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.none(), st.floats(), st.integers(-2, 10**6), st.sampled_from([5e-324, 1e-300])),
    st.one_of(st.none(), st.integers(-2, 2**70)),
    st.one_of(st.none(), st.integers(-2, 2**70)),
)
def test_every_limit_the_registry_accepts_can_be_evaluated(
    rate: float | None, burst: int | None, daily: int | None
) -> None:
    doc = small_document()
    given_fields = {"rate": rate, "burst": burst, "daily": daily}
    limit = {k: v for k, v in given_fields.items() if v is not None}
    doc["limits"] = [{"subsystem": "VN:GOV:000.00.00.H41:motcua", **limit}]
    try:
        registry = Registry.from_document(doc)
    except RegistryError as exc:
        assert all(e.startswith("limits[0]") for e in exc.errors), exc.errors
        return
    _evaluate(registry.limits[0])


# -- the ledger's reading of records -------------------------------------------------------
header_names = st.one_of(
    st.sampled_from([*wire.SENDER_HEADERS, *wire.ROUTER_HEADERS, "ndxp-", "x-trace"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)
header_values = st.one_of(
    st.none(),
    st.binary(max_size=30),
    st.sampled_from(["request", "response", "error", "m-1", "12", "9" * 5000, "1_0", "١٢"]).map(
        str.encode
    ),
    hostile(service_texts).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=120, deadline=None)
@given(
    st.one_of(
        st.sampled_from([wire.REJECTED_TOPIC, "ndxp.out.000.00.00.H41", "ndxp.in.000.00.00.H41"]),
        st.text(max_size=30),
    ),
    st.lists(st.tuples(header_names, header_values), max_size=20),
    st.one_of(st.none(), st.binary(max_size=50)),
    st.integers(0, 2**62),
)
def test_ledger_reads_any_record_without_raising(
    topic: str, headers: list[tuple[str, bytes]], value: bytes | None, ts: int
) -> None:
    row = ledger_row(topic, 1, 2, ts, value, headers)
    if row is None:
        return
    r = dict(zip(COLUMNS, row, strict=True))
    assert r["payload_size"] == len(value or b"")
    assert r["payload_sha256"] == hashlib.sha256(value or b"").digest()
    assert r["kind"] in (*wire.SENDER_KINDS, "unknown")
    assert isinstance(r["routed_at"], int)
    if topic == wire.REJECTED_TOPIC:
        assert r["outcome"] == "rejected" and r["message_id"]
    else:
        assert topic.startswith(wire.EGRESS_PREFIX) and r["outcome"] == "routed"
    if r["client_member"]:
        assert subsystem_ok(r["client"])
    if r["service_member"]:
        assert service_ok(r["service"])


def test_oracle_sanity() -> None:
    """The oracle itself on the examples of WIRE.md (so a broken oracle cannot pass)."""
    assert agency_ok("000.00.00.H41") and agency_ok("001.01.01.H41")
    assert not agency_ok("000.00.00.H00") and not agency_ok("001.00.01.H41")
    assert service_ok("VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1")
    assert subsystem_ok("VN:GOV:000.00.00.H41:motcua") and subsystem_ok("VN:COM:0100109106:x")
    assert not subsystem_ok("VN:GOV:000.00.00.h41:motcua")
    assert message_id_ok("6f1c0a52-1f9e-4f25-9b7c-2c1f1f5b9a10") and not message_id_ok("a b")
