"""Hostile records as plain data: what a hostile (or broken) member can put on its ingress topic,
each with the outcome the platform must give it (pure, seeded: a seed gives the same records).

A :class:`Hostile` is one record (or, for a compression bomb, one batch of identical records):
its ingress topic, key, value, headers, Kafka timestamp, the way it is written (:class:`Path`:
the ordinary producer, a producer that sends it in a batch of its own so the broker may refuse
it, a record batch built byte by byte for what no client writes, a compressing producer) and
its :class:`Expect`: routed, refused with a code (and the detail's words), refused by the
broker, or — for pure fuzz — any decision, as long as the record is accounted for.

Cases come in two kinds: **edge** cases (limits ±1 byte, forged headers one by one, dates,
invalid UTF-8 in names) sent a fixed number of times, spread over the run, and **mix** cases
drawn by weight for the bulk, ordinary valid traffic from many members being most of it."""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ndxp.bench import seal
from ndxp.core import wire
from ndxp.core.ticket import Tickets
from ndxp.core.wire import MAX_HEADER_BYTES, MAX_KEY_BYTES

from .sizes import pad_headers, tiny_headers, value_for_batch
from .world import Pair, World

MiB = 1024 * 1024
INGRESS_BATCH_LIMIT = 4 * MiB  # ingress topics' max.message.bytes (ndxp.core.topology)
ROUTED = "routed"
REFUSED = "refused by the broker"  # never written: the producer's delivery report says so
HOUR_MS = 3600 * 1000
NOW_MS_2026 = 1_790_000_000_000  # a fixed "now" for claims computed without a clock
Header = tuple[str | bytes, bytes | None]  # a bytes name: written as those bytes (raw path)


class Path(enum.StrEnum):
    BULK = "bulk"  # the suite's idempotent producer, batched
    EDGE = "edge"  # a plain producer, one record per batch, flushed alone: the broker may refuse
    RAW = "raw"  # a record batch built here (aiokafka's builder), sent as a ProduceRequest
    GZIP = "gzip"  # producers with that compression.type
    LZ4 = "lz4"
    ZSTD = "zstd"
    SNAPPY = "snappy"
    BOMB = "bomb"  # a raw gzip batch of many identical records, tiny compressed


@dataclass(frozen=True, slots=True)
class Expect:
    """What the platform must do with a record. ``outcomes``: ``routed``, rejection codes, or
    ``refused by the broker``; ``None`` is any decision (fuzz), as long as the record is in the
    ledger. ``detail``: words the rejection's detail must contain. ``claim_kept``: the
    ledger's ``produced_at`` must be the timestamp the record was sent with (the sender's claim,
    kept as claimed), or NULL when False (no claim, or one the ledger cannot hold); the
    ``received_at`` of a record checked in full is always the run's own time."""

    outcomes: frozenset[str] | None
    detail: str | None = None
    claim_kept: bool | None = None  # None: produced_at not checked

    @property
    def checked_in_full(self) -> bool:
        return self.detail is not None or self.claim_kept is not None


def routed(**kw: object) -> Expect:
    return Expect(frozenset({ROUTED}), **kw)  # type: ignore[arg-type]


def refused(code: str, detail: str | None = None) -> Expect:
    return Expect(frozenset({code}), detail)


ANY = Expect(None)


@dataclass(frozen=True, slots=True)
class Hostile:
    case: str
    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]
    expect: Expect
    path: Path = Path.BULK
    timestamp_ms: int | None = None  # None: the producer's clock; raw: -1 is "no timestamp"
    ahead_ms: int | None = None  # dated this far after the moment it is sent
    log_append_time: bool = False  # raw only: the batch claims the broker's timestamp type
    copies: int = 1  # a bomb: this many identical records in one batch

    @property
    def size(self) -> int:
        return (
            len(self.key or b"")
            + len(self.value or b"")
            + sum(len(n) + len(v or b"") for n, v in self.headers)
        )


@dataclass
class Gen:
    """The state a case draws from: the world, the seeded generator, unique ids, and the ids
    recently sent (to reuse, collide with, or answer)."""

    world: World
    rng: random.Random
    prefix: str
    max_value: int = wire.DEFAULT_MAX_VALUE_BYTES
    # the tickets the suite's router stamps and checks (its group has the benchmarks' seal
    # key: platform.py): a provider's valid answer echoes one, a hostile one cannot
    tickets: Tickets = seal.TICKETS
    seq: int = 0
    recent: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=512))

    def new_id(self) -> str:
        self.seq += 1
        return f"{self.prefix}-{self.seq}"

    def pair(self) -> Pair:
        return self.rng.choice(self.world.pairs)

    def other_member(self, excluded: frozenset[str]) -> str:
        while True:
            m = self.rng.choice(self.world.members)
            if m not in excluded:
                return m

    def recent_id(self, not_from: str) -> str:
        """An id another member sent recently (a fresh one if none yet)."""
        for _ in range(8):
            if self.recent:
                member, mid = self.rng.choice(self.recent)
                if member != not_from:
                    return mid
        return self.new_id()

    def value(self, most: int = 512) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, most))

    def key(self) -> bytes | None:
        r = self.rng.random()
        if r < 0.05:
            return None
        if r < 0.1:
            return b""
        return self.rng.randbytes(self.rng.choice((1, 8, 16, 36)))


def ingress(member: str) -> str:
    return f"{wire.INGRESS_PREFIX}{member}"


def request_headers(mid: str, client: str, service: str, **extra: str) -> list[Header]:
    h = [
        (wire.H_ID, mid),
        (wire.H_KIND, wire.KIND_REQUEST),
        (wire.H_CLIENT, client),
        (wire.H_SERVICE, service),
        *((k.replace("_", "-"), v) for k, v in extra.items()),
    ]
    return [(k, v.encode()) for k, v in h]


def response_headers(
    mid: str, client: str, service: str, correlation: str, ticket: bytes | None = None
) -> list[Header]:
    """A provider's answer; with ``ticket`` echoed from the request it answers."""
    h = [
        (wire.H_ID, mid.encode()),
        (wire.H_KIND, wire.KIND_RESPONSE.encode()),
        (wire.H_CLIENT, client.encode()),
        (wire.H_SERVICE, service.encode()),
        (wire.H_CORRELATION_ID, correlation.encode()),
    ]
    if ticket is not None:
        h.append((wire.H_TICKET, ticket))
    return h


def valid(g: Gen, case: str = "valid.request", **kw: object) -> Hostile:
    """An ordinary request of a member whose limits are ample: it must be routed."""
    p = g.pair()
    mid = g.new_id()
    g.recent.append((p.sender, mid))
    headers = request_headers(mid, p.client, p.service)
    return Hostile(case, ingress(p.sender), g.key(), g.value(), tuple(headers), routed(), **kw)  # type: ignore[arg-type]


def replace_header(headers: list[Header], name: str, value: bytes | None) -> list[Header]:
    return [(n, value if n == name else v) for n, v in headers]


def without(headers: list[Header], name: str) -> list[Header]:
    return [(n, v) for n, v in headers if n != name]


def random_text(rng: random.Random, most: int, alphabet: str | None = None) -> str:
    """Random text of up to ``most`` characters, any code point but surrogates (so it is
    UTF-8), or from ``alphabet``."""
    n = rng.randint(0, most)
    if alphabet is not None:
        return "".join(rng.choice(alphabet) for _ in range(n))
    out = []
    for _ in range(n):
        c = rng.choice((0x7F, 0x7FF, 0xFFFF, 0x10FFFF))
        cp = rng.randint(0, c)
        out.append(chr(cp if not 0xD800 <= cp <= 0xDFFF else 0xFFFD))
    return "".join(out)


def not_utf8(rng: random.Random, n: int = 8) -> bytes:
    """Bytes that are not UTF-8 whatever follows: a lone continuation byte first."""
    return b"\x80" + rng.randbytes(n)


Case = Callable[[Gen], list[Hostile]]
EDGES: dict[str, Case] = {}
MIX: dict[str, tuple[float, Case]] = {}


def edge(name: str) -> Callable[[Case], Case]:
    def register(f: Case) -> Case:
        EDGES[name] = f
        return f

    return register


def mix(name: str, weight: float) -> Callable[[Case], Case]:
    def register(f: Case) -> Case:
        MIX[name] = (weight, f)
        return f

    return register


def one(
    g: Gen,
    case: str,
    expect: Expect,
    headers: list[Header] | None = None,
    key: bytes | None = b"k",
    value: bytes | None = b"{}",
    pair: Pair | None = None,
    **kw: object,
) -> list[Hostile]:
    """A request of a valid pair, with ``headers`` instead of its own when given."""
    p = pair or g.pair()
    h = headers if headers is not None else request_headers(g.new_id(), p.client, p.service)
    return [Hostile(case, ingress(p.sender), key, value, tuple(h), expect, **kw)]  # type: ignore[arg-type]


def ok_headers(g: Gen) -> tuple[Pair, list[Header]]:
    p = g.pair()
    return p, request_headers(g.new_id(), p.client, p.service)


# --- sizes: every limit, and one byte either side ------------------------------------------


def _key_case(name: str, n: int, expect: Expect) -> Case:
    def build(g: Gen) -> list[Hostile]:
        return one(g, name, expect, key=b"K" * n, path=Path.EDGE)

    return edge(name)(build)


_key_case("size.key-4096", MAX_KEY_BYTES, routed())
_key_case(
    "size.key-4097",
    MAX_KEY_BYTES + 1,
    refused("TOO_LARGE", "key is 4097 bytes, the limit is 4096"),
)
_key_case("size.key-1MiB", MiB, refused("TOO_LARGE", f"key is {MiB} bytes, the limit is 4096"))


@edge("size.empty-key-and-value")
def _empty(g: Gen) -> list[Hostile]:
    return one(g, "size.empty-key-and-value", routed(), key=b"", value=b"")


@edge("size.null-key")
def _null_key(g: Gen) -> list[Hostile]:
    return one(g, "size.null-key", routed(), key=None)


@edge("tombstone")
def _tombstone(g: Gen) -> list[Hostile]:
    return one(g, "tombstone", routed(), value=None)


@edge("tombstone.null-key")
def _tombstone_no_key(g: Gen) -> list[Hostile]:
    """Neither key nor value: Kafka allows it, the producer clients cannot write it."""
    return one(g, "tombstone.null-key", routed(), key=None, value=None, path=Path.RAW)


def _value_case(delta: int) -> Case:
    def build(g: Gen) -> list[Hostile]:
        n = g.max_value + delta
        expect = (
            routed()
            if delta <= 0
            else refused("TOO_LARGE", f"value is {n} bytes, the limit is {g.max_value}")
        )
        name = f"size.value-limit{delta:+d}" if delta else "size.value-limit"
        return one(g, name, expect, value=b"v" * n, path=Path.EDGE)

    return build


for _d in (-1, 0, 1):
    edge(f"size.value-limit{_d:+d}" if _d else "size.value-limit")(_value_case(_d))


def _headers_case(delta: int) -> Case:
    def build(g: Gen) -> list[Hostile]:
        p, h = ok_headers(g)
        target = MAX_HEADER_BYTES + delta
        expect = (
            routed()
            if delta <= 0
            else refused(
                "TOO_LARGE",
                f"headers are {target} bytes (names, values and lengths), "
                f"the limit is {MAX_HEADER_BYTES}",
            )
        )
        return one(
            g,
            f"size.headers-{target}",
            expect,
            pad_headers(h, target),
            path=Path.EDGE,
            pair=p,
        )  # type: ignore[arg-type]

    return build


for _d in (-1, 0, 1):
    edge(f"size.headers-{MAX_HEADER_BYTES + _d}")(_headers_case(_d))


def _count_case(name: str, count: int) -> Case:
    """A request with ``count`` headers in all (its own and ``x-N: v`` ones): routed up to the
    bound on their number (256), refused TOO_LARGE over it, counted as they were sent; the
    thousands a sender can fit in 64 KiB are dropped by the router's reader (its first 512
    kept), and cost it neither its memory nor its other members' routing."""

    def build(g: Gen) -> list[Hostile]:
        p, h = ok_headers(g)
        headers = h + tiny_headers(count - len(h))  # type: ignore[operator]
        expect = (
            routed()
            if count <= wire.MAX_HEADERS
            else refused("TOO_LARGE", f"{count:,} headers, the limit is {wire.MAX_HEADERS}")
        )
        return one(g, name, expect, headers, path=Path.EDGE, pair=p)

    return build


for _name, _count in (
    ("count.headers-256", wire.MAX_HEADERS),
    ("count.headers-257", wire.MAX_HEADERS + 1),
    ("size.tiny-headers-5000", 5000),
    ("size.tiny-headers-20000", 20000),
):
    edge(_name)(_count_case(_name, _count))


def _batch_case(delta: int, of_headers: bool = False) -> Case:
    """A record of the ingress topics' batch limit (4 MiB as the broker counts it) + delta:
    the broker takes it up to the limit (the router refuses it TOO_LARGE, and its dead-letter
    copy must fit ``ndxp.rejected``), and refuses it one byte over."""

    def build(g: Gen) -> list[Hostile]:
        p, h = ok_headers(g)
        key = b"k"
        if of_headers:  # the bulk in 64 headers of 64,000 bytes, the rest in the value
            h = h + [(f"x-bulk-{i}", b"h" * 64_000) for i in range(64)]  # type: ignore[operator]
        target = INGRESS_BATCH_LIMIT + delta
        value = b"v" * value_for_batch(target, key, h)  # type: ignore[arg-type]
        if delta > 0:
            expect = Expect(frozenset({REFUSED}))
        elif of_headers:
            expect = refused("TOO_LARGE", "headers are")
        else:
            expect = refused("TOO_LARGE", f"value is {len(value)} bytes")
        name = (
            "size.batch-4MiB"
            + (f"{delta:+d}" if delta else "")
            + ("-headers" if of_headers else "")
        )
        return one(g, name, expect, h, key=key, value=value, path=Path.EDGE, pair=p)

    return build


for _d in (-1, 0, 1):
    edge("size.batch-4MiB" + (f"{_d:+d}" if _d else ""))(_batch_case(_d))
edge("size.batch-4MiB-headers")(_batch_case(0, of_headers=True))


@edge("size.huge-header-value")
def _huge_header_value(g: Gen) -> list[Hostile]:
    """One application header of 3 MiB: over the header budget, under the batch limit."""
    p, h = ok_headers(g)
    return one(
        g,
        "size.huge-header-value",
        refused("TOO_LARGE", "headers are"),
        [*h, ("x-blob", b"b" * (3 * MiB))],
        path=Path.EDGE,
        pair=p,
    )


# --- ids -----------------------------------------------------------------------------------


def _id_case(name: str, mid: bytes, expect: Expect) -> Case:
    def build(g: Gen) -> list[Hostile]:
        p, h = ok_headers(g)
        return one(g, name, expect, replace_header(h, wire.H_ID, mid), pair=p)

    return build


ID_FAULT = f"header {wire.H_ID} must be 1-128 printable ASCII characters without spaces"
edge("id.128")(_id_case("id.128", b"i" * 128, routed()))
edge("id.129")(_id_case("id.129", b"i" * 129, refused("MALFORMED", ID_FAULT)))
edge("id.empty")(_id_case("id.empty", b"", refused("MALFORMED", ID_FAULT)))
edge("id.space")(_id_case("id.space", b"an id", refused("MALFORMED", ID_FAULT)))
edge("id.control")(_id_case("id.control", b"id\x07", refused("MALFORMED", ID_FAULT)))
edge("id.non-ascii")(_id_case("id.non-ascii", "id-é".encode(), refused("MALFORMED", ID_FAULT)))
edge("id.bom")(_id_case("id.bom", "\ufeffid".encode(), refused("MALFORMED", ID_FAULT)))


@edge("id.reused-own")
def _reused_own(g: Gen) -> list[Hostile]:
    """The same id three times from the same member: three ingress records, three rows."""
    p, h = ok_headers(g)
    return [
        Hostile("id.reused-own", ingress(p.sender), b"k", b"{}", tuple(h), routed())
        for _ in range(3)
    ]


@edge("id.colliding")
def _colliding(g: Gen) -> list[Hostile]:
    """Two members use the same new id at the same time: both routed, two rows."""
    mid = g.new_id()
    out = []
    for _ in range(2):
        p = g.pair()
        h = request_headers(mid, p.client, p.service)
        out.append(Hostile("id.colliding", ingress(p.sender), b"k", b"{}", tuple(h), routed()))
    return out


@mix("id.reused-other", 1)
def _reused_other(g: Gen) -> list[Hostile]:
    """Another member's recent id on a request of one's own: a transaction of its own."""
    p = g.pair()
    h = request_headers(g.recent_id(p.sender), p.client, p.service)
    return [Hostile("id.reused-other", ingress(p.sender), g.key(), g.value(), tuple(h), routed())]


@mix("id.invalid", 1)
def _id_invalid(g: Gen) -> list[Hostile]:
    mid = g.rng.choice(
        (b"", b"x" * g.rng.randint(129, 2000), b"a b", b"\x00", "ид".encode(), not_utf8(g.rng))
    )
    p, h = ok_headers(g)
    return one(g, "id.invalid", refused("MALFORMED"), replace_header(h, wire.H_ID, mid), pair=p)


# --- kinds, correlation, responses -------------------------------------------------------


@mix("valid.response", 8)
def _valid_response(g: Gen) -> list[Hostile]:
    """A provider's answer to one of its clients, echoing the ticket of the request it
    answers (a request id made up here, its ticket made with the suite's router key, as the
    router would have stamped it on the request's copy)."""
    p = g.pair()
    corr = g.new_id()
    ticket = g.tickets.stamp(p.client, p.service, corr)
    h = response_headers(g.new_id(), p.client, p.service, corr, ticket)
    return [Hostile("valid.response", ingress(p.provider), g.key(), g.value(), tuple(h), routed())]


@mix("correlation.others", 2)
def _correlation_others(g: Gen) -> list[Hostile]:
    """A provider's response carrying the correlation id of another member's request, which
    it never read, so without that request's ticket: refused (it used to be routed, the
    client left to match ids itself)."""
    p = g.pair()
    h = response_headers(g.new_id(), p.client, p.service, g.recent_id(p.provider))
    expect = refused("UNSOLICITED", f"echoes the {wire.H_TICKET}")
    return [Hostile("correlation.others", ingress(p.provider), b"k", b"{}", tuple(h), expect)]


@mix("response.unasked", 2)
def _unasked(g: Gen) -> list[Hostile]:
    """A granted provider's "answer" to an id no request carried (answers nobody asked for:
    routed to the client's egress topic and kept in the ledger as answers, before tickets),
    with no ticket, a made-up one, or the ticket of another request of the same client."""
    p = g.pair()
    asked, corr = g.new_id(), g.new_id()
    ticket = g.rng.choice(
        (
            None,
            b"t1." + g.rng.randbytes(16).hex().encode(),
            g.tickets.stamp(p.client, p.service, asked),
        )
    )
    h = response_headers(g.new_id(), p.client, p.service, corr, ticket)
    expect = refused("UNSOLICITED", f"echoes the {wire.H_TICKET}")
    return [Hostile("response.unasked", ingress(p.provider), b"k", b"{}", tuple(h), expect)]


@mix("ticket.on-request", 1)
def _ticket_on_request(g: Gen) -> list[Hostile]:
    """A request carrying a ticket (the router's, on a request's copy): refused, so that no
    sender can make a copy look stamped."""
    p, h = ok_headers(g)
    h = [*h, (wire.H_TICKET, g.tickets.stamp(p.client, p.service, g.new_id()))]
    return one(g, "ticket.on-request", refused("MALFORMED", wire.H_TICKET), h, pair=p)


@mix("correlation.invalid", 1)
def _correlation_invalid(g: Gen) -> list[Hostile]:
    p = g.pair()
    bad = g.rng.choice(("x" * 129, "a b", "", "ид"))
    h = response_headers(g.new_id(), p.client, p.service, bad)
    expect = refused("MALFORMED", f"header {wire.H_CORRELATION_ID} must be 1-128")
    return [Hostile("correlation.invalid", ingress(p.provider), b"k", b"{}", tuple(h), expect)]


@mix("response.no-correlation", 1)
def _no_correlation(g: Gen) -> list[Hostile]:
    p = g.pair()
    h = without(response_headers(g.new_id(), p.client, p.service, "x"), wire.H_CORRELATION_ID)
    expect = refused("MALFORMED", f"a response needs header {wire.H_CORRELATION_ID}")
    return [Hostile("response.no-correlation", ingress(p.provider), b"k", b"{}", tuple(h), expect)]


@mix("kind.error", 1)
def _kind_error(g: Gen) -> list[Hostile]:
    """``ndxp-kind: error`` is the router's; a sender's is refused."""
    p, h = ok_headers(g)
    expect = refused(
        "MALFORMED", "header ndxp-kind is 'error'; senders may use request, response, notice"
    )
    return one(g, "kind.error", expect, replace_header(h, wire.H_KIND, b"error"), pair=p)


@mix("kind.invalid", 1)
def _kind_invalid(g: Gen) -> list[Hostile]:
    kind = g.rng.choice(
        (b"REQUEST", b"", b"request ", b"req\x00uest", b"notification", not_utf8(g.rng))
    )
    p, h = ok_headers(g)
    return one(
        g, "kind.invalid", refused("MALFORMED"), replace_header(h, wire.H_KIND, kind), pair=p
    )


# --- who speaks for whom -----------------------------------------------------------------


@mix("not-sender.request", 2)
def _not_sender_request(g: Gen) -> list[Hostile]:
    """A request naming another member's system as its client."""
    p = g.pair()
    h = request_headers(g.new_id(), p.client, p.service)
    topic = ingress(g.other_member(p.may_send))
    expect = refused("NOT_SENDER", "a member may only send as itself")
    return [Hostile("not-sender.request", topic, b"k", b"{}", tuple(h), expect)]


@mix("not-sender.response", 2)
def _not_sender_response(g: Gen) -> list[Hostile]:
    """A response from a member that does not provide the service (a non-provider answering,
    perhaps with the correlation id of someone's real request)."""
    p = g.pair()
    h = response_headers(g.new_id(), p.client, p.service, g.recent_id(""))
    topic = ingress(g.other_member(p.may_answer))
    expect = refused("NOT_SENDER", "a member may only send as itself")
    return [Hostile("not-sender.response", topic, b"k", b"{}", tuple(h), expect)]


@mix("unknown.client", 1)
def _unknown_client(g: Gen) -> list[Hostile]:
    p = g.pair()
    client = p.client.rsplit(":", 1)[0] + f":nosuch{g.rng.randint(0, 999)}"
    h = request_headers(g.new_id(), client, p.service)
    expect = refused("UNKNOWN_CLIENT", "is not in the registry")
    return [Hostile("unknown.client", ingress(p.sender), b"k", b"{}", tuple(h), expect)]


@mix("unknown.service", 1)
def _unknown_service(g: Gen) -> list[Hostile]:
    p = g.pair()
    service = p.service.rsplit(":", 2)[0] + f":nosuch{g.rng.randint(0, 999)}:v1"
    h = request_headers(g.new_id(), p.client, service)
    expect = refused("UNKNOWN_SERVICE", "is not in the registry")
    return [Hostile("unknown.service", ingress(p.sender), b"k", b"{}", tuple(h), expect)]


@mix("forbidden", 1)
def _forbidden(g: Gen) -> list[Hostile]:
    p = g.rng.choice(g.world.forbidden)
    h = request_headers(g.new_id(), p.client, p.service)
    return [
        Hostile(
            "forbidden",
            ingress(p.sender),
            b"k",
            b"{}",
            tuple(h),
            refused("FORBIDDEN", "has no grant"),
        )
    ]


@mix("response.unsolicited", 1)
def _unsolicited(g: Gen) -> list[Hostile]:
    """A provider's "response" to a client that has no grant for the service: it answers
    nothing that client could have asked (a provider used to write any amount of these onto
    any member's egress topic, counted by no quota)."""
    p = g.rng.choice(g.world.forbidden)
    h = response_headers(g.new_id(), p.client, p.service, g.new_id())
    expect = refused("FORBIDDEN", "has no grant")
    return [Hostile("response.unsolicited", ingress(p.provider), b"k", b"{}", tuple(h), expect)]


@edge("no-route.response")
def _no_route(g: Gen) -> list[Hostile]:
    """A provider answering a registered client that no connected member can reach."""
    if not g.world.no_route:
        return []
    p = g.rng.choice(g.world.no_route)
    h = response_headers(g.new_id(), p.client, p.service, g.new_id())
    expect = refused("NO_ROUTE", "no connected member at or above")
    return [Hostile("no-route.response", ingress(p.sender), b"k", b"{}", tuple(h), expect)]


@mix("malformed.client-id", 1)
def _malformed_client(g: Gen) -> list[Hostile]:
    p = g.pair()
    member = p.client.split(":")[2]
    client = g.rng.choice(
        (
            "VN:GOV:٠٠٠.٠٠.٠٠.H41:motcua",  # Arabic-Indic digits
            "VN:GOV:000.00.00.Ｈ41:motcua",  # a full-width letter
            f"VN:GOV:{member}:motcu\u0430",  # a Cyrillic a
            f"vn:gov:{member}:x",
            f"VN:GOV:{member}:",
            "VN:GOV:" + "9" * 300 + ":x",
            "VN:GOV:000.00.00.H41:motcua\n",
            f"VN:GOV:{member}:" + "a" * 65,
        )
    )
    h = request_headers(g.new_id(), client, p.service)
    return [
        Hostile(
            "malformed.client-id", ingress(p.sender), b"k", b"{}", tuple(h), refused("MALFORMED")
        )
    ]


@edge("malformed.huge-ids")
def _huge_ids(g: Gen) -> list[Hostile]:
    """Client and service ids of 30,000 characters: refused, the details clipped."""
    p = g.pair()
    h = request_headers(g.new_id(), p.client + "x" * 30_000, p.service + "y" * 30_000)
    return [
        Hostile(
            "malformed.huge-ids", ingress(p.sender), b"k", b"{}", tuple(h), refused("MALFORMED")
        )
    ]


@edge("flood.quota")
def _flood(g: Gen) -> list[Hostile]:
    """One client far over a low rate limit in a burst: routed up to its bucket, the rest
    refused ``QUOTA_EXCEEDED`` — and nobody else's requests wait for it."""
    p = g.world.flood
    if p is None:
        return []
    count = int(g.world.flood_rate * 5)
    expect = Expect(frozenset({ROUTED, "QUOTA_EXCEEDED"}))
    return [
        Hostile(
            "flood.quota",
            ingress(p.sender),
            p.client.encode(),
            b"{}",
            tuple(request_headers(g.new_id(), p.client, p.service)),
            expect,
        )
        for _ in range(count)
    ]


# --- headers: forged, repeated, missing, invalid -----------------------------------------

FORGEABLE = (
    *wire.ROUTER_HEADERS,
    wire.H_X_KEY,
    wire.H_X_SOURCE,
    wire.H_X_ROUTE,
    wire.H_X_RECEIVED,
    wire.H_X_SEAL,  # last among the headers now and then: a home copy's claim, checked
    "ndxp-x-anything",
)


def _forged_value(g: Gen, name: str) -> bytes:
    return {
        wire.H_SOURCE_TOPIC: ingress(g.rng.choice(g.world.members)).encode(),
        wire.H_SOURCE_PARTITION: b"0",
        wire.H_SOURCE_OFFSET: b"0",
        wire.H_ROUTED_AT: b"978307200000",
        wire.H_ERROR: b"QUOTA_EXCEEDED",
        wire.H_ROUTE: g.rng.choice(g.world.members).encode(),
    }.get(name, b"forged")


@edge("forged.each-router-header")
def _forged_each(g: Gen) -> list[Hostile]:
    """Every router header and ``ndxp-x-*`` name, one record each."""
    out = []
    for name in FORGEABLE:
        p, h = ok_headers(g)
        h = [*h, (name, _forged_value(g, name))]
        expect = refused("MALFORMED", f"header {name} is set by the router, not by senders")
        out.append(
            Hostile("forged.each-router-header", ingress(p.sender), b"k", b"{}", tuple(h), expect)
        )
    return out


@mix("forged.router-header", 2)
def _forged(g: Gen) -> list[Hostile]:
    name = g.rng.choice(FORGEABLE)
    p, h = ok_headers(g)
    at = g.rng.randint(0, len(h))  # before, among or after the sender's own
    h.insert(at, (name, _forged_value(g, name)))
    return one(g, "forged.router-header", refused("MALFORMED", "is set by the router"), h, pair=p)


@mix("forged.identity", 1)
def _forged_identity(g: Gen) -> list[Hostile]:
    """Forged ingress coordinates of another record (all three): refused, and the ledger's row
    is the record's own coordinates, never the forged ones."""
    p, h = ok_headers(g)
    victim = ingress(g.rng.choice(g.world.members)).encode()
    h += [
        (wire.H_SOURCE_TOPIC, victim),
        (wire.H_SOURCE_PARTITION, str(g.rng.randint(0, 2)).encode()),
        (wire.H_SOURCE_OFFSET, str(g.rng.randint(0, 50)).encode()),
    ]
    return one(g, "forged.identity", refused("MALFORMED", "is set by the router"), h, pair=p)


@mix("forged.case-variant", 1)
def _case_variant(g: Gen) -> list[Hostile]:
    """``NDXP-ROUTE``, ``Ndxp-Error``: not the router's names (Kafka header names are
    case-sensitive), forwarded untouched like any application header."""
    name = g.rng.choice(
        ("NDXP-ROUTE", "Ndxp-Error", "NDXP-SOURCE-OFFSET", "ndxp_route", "ndxp-routed-at ")
    )
    p, h = ok_headers(g)
    return one(g, "forged.case-variant", routed(), [*h, (name, b"forged")], pair=p)


@mix("duplicated.sender-header", 1)
def _duplicated(g: Gen) -> list[Hostile]:
    name = g.rng.choice(wire.SENDER_HEADERS[:4])
    p, h = ok_headers(g)
    extra = dict(h)[name] if g.rng.random() < 0.5 else b"other"
    return one(
        g,
        "duplicated.sender-header",
        refused("MALFORMED", f"header {name} is repeated"),
        [*h, (name, extra)],
        pair=p,
    )


@mix("duplicated.app-header", 1)
def _duplicated_app(g: Gen) -> list[Hostile]:
    p, h = ok_headers(g)
    return one(g, "duplicated.app-header", routed(), h + [("traceparent", b"00-x")] * 50, pair=p)


@mix("missing.sender-header", 1)
def _missing(g: Gen) -> list[Hostile]:
    name = g.rng.choice(wire.SENDER_HEADERS[:4])
    p, h = ok_headers(g)
    return one(
        g,
        "missing.sender-header",
        refused("MALFORMED", f"missing header {name}"),
        without(h, name),
        pair=p,
    )


@mix("null.sender-header", 1)
def _null(g: Gen) -> list[Hostile]:
    name = g.rng.choice(wire.SENDER_HEADERS[:4])
    p, h = ok_headers(g)
    return one(
        g,
        "null.sender-header",
        refused("MALFORMED", f"header {name} has no value"),
        replace_header(h, name, None),
        pair=p,
    )


@mix("utf8.invalid-sender-value", 1)
def _invalid_value(g: Gen) -> list[Hostile]:
    name = g.rng.choice(wire.SENDER_HEADERS[:4])
    bad = g.rng.choice(
        (b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", not_utf8(g.rng))
    )
    p, h = ok_headers(g)
    return one(
        g,
        "utf8.invalid-sender-value",
        refused("MALFORMED", f"header {name} is not UTF-8"),
        replace_header(h, name, bad),
        pair=p,
    )


@mix("utf8.lookalike-name", 1)
def _lookalike(g: Gen) -> list[Hostile]:
    """``ndxp‐id`` (a Unicode hyphen) or ``NDXP-ID`` in place of ``ndxp-id``: the id is
    missing."""
    fake = g.rng.choice(("ndxp\u2010id", "NDXP-ID", "ndxp-id\u200b", "ｎdxp-id"))
    p, h = ok_headers(g)
    h = [(fake if n == wire.H_ID else n, v) for n, v in h]
    return one(g, "utf8.lookalike-name", refused("MALFORMED", "missing header ndxp-id"), h, pair=p)


@mix("utf8.invalid-app-value", 1)
def _invalid_app_value(g: Gen) -> list[Hostile]:
    p, h = ok_headers(g)
    return one(g, "utf8.invalid-app-value", routed(), [*h, ("x-app", not_utf8(g.rng))], pair=p)


@mix("utf8.raw-name", 0.5)
def _raw_name(g: Gen) -> list[Hostile]:
    """A header name that is not UTF-8 (only a hand-built batch can carry one)."""
    p, h = ok_headers(g)
    raw = g.rng.choice((b"\xff\xfe", b"x-\x80", b"ndxp-id\xff", b"\xc0\xaf", not_utf8(g.rng, 4)))
    at = g.rng.randint(0, len(h))
    h.insert(at, (raw, g.rng.choice((b"v", None, not_utf8(g.rng)))))
    return one(
        g,
        "utf8.raw-name",
        refused("MALFORMED", "a header name is not UTF-8"),
        h,
        pair=p,
        path=Path.RAW,
    )


@edge("header.empty-name")
def _empty_name(g: Gen) -> list[Hostile]:
    p, h = ok_headers(g)
    return one(g, "header.empty-name", routed(), [*h, ("", b"v")], pair=p)


@edge("header.long-name")
def _long_name(g: Gen) -> list[Hostile]:
    p, h = ok_headers(g)
    return one(g, "header.long-name", routed(), [*h, ("x-" + "n" * 20_000, b"v")], pair=p)


# --- random bytes ------------------------------------------------------------------------


@mix("random.key", 3)
def _random_key(g: Gen) -> list[Hostile]:
    n = g.rng.choice((0, 1, 7, 64, 512, MAX_KEY_BYTES))
    return one(g, "random.key", routed(), key=g.rng.randbytes(n))


@mix("random.value", 3)
def _random_value(g: Gen) -> list[Hostile]:
    n = g.rng.choice((0, 1, 100, 1000, 16_384, 65_536))
    return one(g, "random.value", routed(), value=g.rng.randbytes(n))


@mix("random.header-names", 3)
def _random_names(g: Gen) -> list[Hostile]:
    """Application headers with random (UTF-8) names: forwarded untouched."""
    p, h = ok_headers(g)
    for _ in range(g.rng.randint(1, 20)):
        name = random_text(g.rng, 40)
        if name.startswith(wire.INGRESS_PREFIX[:5]) or name in wire.SENDER_HEADERS:
            name = "x" + name  # "ndxp-…" names are the platform's; see the fuzz case
        h.append((name, g.rng.randbytes(g.rng.randint(0, 64))))
    return one(g, "random.header-names", routed(), h, pair=p)


@mix("random.header-values", 3)
def _random_values(g: Gen) -> list[Hostile]:
    p, h = ok_headers(g)
    h += [
        (f"x-{i}", None if g.rng.random() < 0.2 else g.rng.randbytes(g.rng.randint(0, 300)))
        for i in range(g.rng.randint(1, 10))
    ]
    return one(g, "random.header-values", routed(), h, pair=p)


@mix("random.sender-header-bytes", 2)
def _random_sender(g: Gen) -> list[Hostile]:
    name = g.rng.choice(wire.SENDER_HEADERS[:4])
    p, h = ok_headers(g)
    return one(
        g,
        "random.sender-header-bytes",
        refused("MALFORMED"),
        replace_header(h, name, not_utf8(g.rng, g.rng.randint(0, 100))),
        pair=p,
    )


@mix("random.everything", 3)
def _fuzz(g: Gen) -> list[Hostile]:
    """Random headers drawn from the sender's, the router's and random names, with random or
    plausible values, on a random member's topic: any decision, as long as it is kept."""
    p = g.pair()
    names = [*wire.SENDER_HEADERS, *FORGEABLE, "x-app", ""]
    plausible = [
        p.client.encode(),
        p.service.encode(),
        b"request",
        b"response",
        g.new_id().encode(),
    ]
    h: list[Header] = []
    for _ in range(g.rng.randint(0, 12)):
        name = g.rng.choice(names) if g.rng.random() < 0.7 else random_text(g.rng, 20)
        r = g.rng.random()
        value = (
            None
            if r < 0.1
            else g.rng.choice(plausible)
            if r < 0.6
            else g.rng.randbytes(g.rng.randint(0, 50))
        )
        h.append((name, value))
    topic = ingress(g.rng.choice(g.world.members))
    return [Hostile("random.everything", topic, g.key(), g.value(2000), tuple(h), ANY)]


# --- time ----------------------------------------------------------------------------------


def _time_case(name: str, ts: int, expect: Expect, path: Path = Path.BULK, **kw: object) -> Case:
    def build(g: Gen) -> list[Hostile]:
        return one(g, name, expect, timestamp_ms=ts, path=path, **kw)

    return build


MS_1899 = -2_240_524_800_000  # 1899-01-01
MS_1000 = -30_610_224_000_000  # year 1000
MS_2001 = 978_307_200_000  # 2001-01-01
# Every time case is sent with that time as its Kafka timestamp and as its ndxp-sent-at claim
# (the runner adds the header): ingress topics are stamped by the broker (LogAppendTime), so
# the Kafka timestamp is replaced whatever it is, and the claim is kept when the ledger can
# hold it (1900-2299).
KEPT, NULL = routed(claim_kept=True), routed(claim_kept=False)
edge("time.epoch-0")(_time_case("time.epoch-0", 0, KEPT, Path.RAW))
edge("time.1970")(_time_case("time.1970", 1, KEPT))
edge("time.2001")(_time_case("time.2001", MS_2001, KEPT))
edge("time.1899")(_time_case("time.1899", MS_1899, NULL, Path.RAW))
edge("time.year-1000")(_time_case("time.year-1000", MS_1000, NULL, Path.RAW))
edge("time.none")(_time_case("time.none", -1, KEPT, Path.RAW))
edge("time.min-long")(_time_case("time.min-long", -(2**63), NULL, Path.RAW))
# A producer's batch that claims the broker's timestamp type: Kafka refuses it on a topic the
# broker stamps itself (InvalidTimestamp).
edge("time.log-append-type")(
    _time_case(
        "time.log-append-type",
        MS_2001,
        Expect(frozenset({REFUSED})),
        Path.RAW,
        log_append_time=True,
    )
)


@edge("time.+59min")
def _plus_59(g: Gen) -> list[Hostile]:
    return one(g, "time.+59min", KEPT, ahead_ms=59 * 60 * 1000, path=Path.EDGE)


@edge("time.+2h")
def _plus_2h(g: Gen) -> list[Hostile]:
    """On a CreateTime topic Kafka 4.0 refuses it (``message.timestamp.after.max.ms`` = 1 h);
    ingress topics take the broker's time, so it is written and counts now."""
    return one(g, "time.+2h", KEPT, ahead_ms=2 * HOUR_MS, path=Path.EDGE)


@edge("time.next-year")
def _next_year(g: Gen) -> list[Hostile]:
    return one(g, "time.next-year", KEPT, ahead_ms=366 * 24 * HOUR_MS, path=Path.EDGE)


@edge("time.claim-not-a-time")
def _claim_not_a_time(g: Gen) -> list[Hostile]:
    p, h = ok_headers(g)
    h.append((wire.H_SENT_AT, b"yesterday"))
    detail = f"header {wire.H_SENT_AT} must be epoch milliseconds"
    return one(g, "time.claim-not-a-time", refused("MALFORMED", detail), h, pair=p)


@mix("time.back-dated", 1)
def _back_dated(g: Gen) -> list[Hostile]:
    ts = g.rng.randint(1, NOW_MS_2026 - 400 * 24 * HOUR_MS)
    return one(g, "time.back-dated", KEPT, timestamp_ms=ts)


@mix("time.future-dated", 1)
def _future_dated(g: Gen) -> list[Hostile]:
    return one(g, "time.future-dated", KEPT, ahead_ms=g.rng.randint(1000, 58 * 60 * 1000))


# --- ordinary traffic --------------------------------------------------------------------


@mix("valid.request", 55)
def _valid_request(g: Gen) -> list[Hostile]:
    return [valid(g)]


# --- compressed batches (behind a flag: NDXP_HOSTILE_COMPRESSED) --------------------------

CODECS = (Path.LZ4, Path.ZSTD, Path.SNAPPY)  # Kafka's codecs besides gzip


def compressed_batches(g: Gen, path: Path, n: int = 20) -> list[Hostile]:
    """Ordinary requests from a member whose producer compresses with ``path``'s codec."""
    return [valid(g, f"compressed.{path.value}", path=path) for _ in range(n)]


BOMB_RECORD = MiB  # each record's value: the router's value limit, all zeros


def bomb(g: Gen, mib: int) -> Hostile:
    """One gzip batch of ``mib`` records of 1 MiB of zeros: ~1,000 times smaller on the wire
    than in memory once a consumer decompresses it."""
    p, h = ok_headers(g)
    return Hostile(
        "compressed.gzip-bomb",
        ingress(p.sender),
        b"k",
        bytes(BOMB_RECORD),
        tuple(h),
        ANY,
        path=Path.BOMB,
        copies=mib,
    )


# --- the plan ----------------------------------------------------------------------------


def plan(
    world: World,
    seed: int,
    total: int,
    repeat: int = 1,
    max_value: int = wire.DEFAULT_MAX_VALUE_BYTES,
) -> Iterator[Hostile]:
    """About ``total`` records: every edge case ``repeat`` times, spread evenly over the bulk,
    which is drawn from the mix cases by weight."""
    g = Gen(world, random.Random(seed), f"h{seed}", max_value)
    edges = [f for _ in range(repeat) for f in EDGES.values()]
    names = list(MIX)
    weights = [MIX[n][0] for n in names]
    bulk = max(0, total - edge_records(world, max_value) * repeat)
    every = max(1, bulk // max(1, len(edges)))
    for i in range(bulk):
        if edges and i % every == 0:
            yield from edges.pop()(g)
        yield from MIX[g.rng.choices(names, weights)[0]][1](g)
    for f in edges:
        yield from f(g)


def edge_records(world: World, max_value: int = wire.DEFAULT_MAX_VALUE_BYTES) -> int:
    """How many records one pass over the edge cases makes."""
    probe = Gen(world, random.Random(0), "probe", max_value)
    return sum(len(f(probe)) for f in EDGES.values())


def plan_gzip(world: World, seed: int, bomb_mib: int, valid_records: int) -> Iterator[Hostile]:
    """Ordinary traffic with gzip batches in it, then a gzip bomb of ``bomb_mib`` MiB, then
    more ordinary traffic (it must flow past the bomb)."""
    g = Gen(world, random.Random(seed + 1), f"z{seed}")
    for i in range(valid_records):
        if i == valid_records // 2:
            yield from compressed_batches(g, Path.GZIP)
        yield valid(g)
    if bomb_mib:
        yield bomb(g, bomb_mib)
    for _ in range(max(1, valid_records // 4)):
        yield valid(g, "valid.after-bomb")


def plan_codecs(world: World, seed: int, valid_records: int) -> Iterator[Hostile]:
    """Ordinary traffic with lz4, zstd and snappy batches in it, then more after them."""
    g = Gen(world, random.Random(seed + 2), f"c{seed}")
    every = max(1, valid_records // (len(CODECS) + 1))
    for i in range(valid_records):
        if i and i % every == 0 and i // every <= len(CODECS):
            yield from compressed_batches(g, CODECS[i // every - 1])
        yield valid(g)
    for _ in range(max(1, valid_records // 4)):
        yield valid(g, "valid.after-codecs")
