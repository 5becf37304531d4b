"""Round trips as the ledger sees them: a request's time of receipt to its response's routing
(pure; the ledger's sink feeds it its rows and observes what it returns).

**What is measured.** For a routed request and the first routed response to it: the
response's ``routed_at`` (the router's clock when it routed the response) minus the request's
``received_at`` (the time of receipt: the broker's append time on the ingress topic) — the
platform's clocks, never a sender's. That is the whole wait of the client as the platform sees
it: the request waiting in its ingress topic and being routed, the provider reading it, doing the
work and answering, the response waiting in the provider's ingress topic and being routed. It
excludes the client's own produce and consume times.

**The match is honest.** Ids are chosen by senders and may be reused, so a request is keyed by
``(client, service, message_id)`` and a response by ``(client, service, correlation_id)``: a
response names the request's client and service (WIRE.md), and the router accepts it only from
the service's provider (``NOT_SENDER``), while a request is accepted only from its client's
member. So a member can complete or disturb only round trips of its own requests or of its own
services — never another client's with another provider. A second request with the same key
while the first waits keeps the first's time (the client has been waiting since then); the first
response completes the round trip and later ones (duplicates, replays) find nothing.

**Bounded memory.** A key is kept as a 64-bit ``hash()`` of the texts (SipHash, keyed per
process, so a sender cannot aim collisions), never the texts: an entry has a fixed size whatever
a sender puts in its headers (:data:`ENTRY_BYTES`, measured), so ``max_bytes`` bounds the
entries. The oldest entries go first, when full (``dropped["capacity"]``) or older than
``max_age_ms`` behind the newest time seen (``dropped["unanswered"]``); a flood of ids evicts
others' waiting requests, which then go unmeasured and are counted, never misreported.
A response read before its request (they are on different egress topics; a ledger catching up
reads partitions in any order) waits in a second, smaller table for it.

**Bounded labels.** The client member of a routed round trip is registered (the router refuses
``UNKNOWN_CLIENT``); the first ``max_members`` members seen get a label of their own, later
ones ``other``.

Each ledger process sees the rows of its own partitions: with several ledger processes, a
request and a response read by different processes are not matched (counted unanswered).
"""

from __future__ import annotations

from collections import OrderedDict

from ndxp.core.ledger import COLUMNS, OUTCOME_ROUTED, RECEIVED_AT, ROUTED_AT, Row

KIND = COLUMNS.index("kind")
OUTCOME = COLUMNS.index("outcome")
MESSAGE_ID = COLUMNS.index("message_id")
CORRELATION_ID = COLUMNS.index("correlation_id")
CLIENT = COLUMNS.index("client")
CLIENT_MEMBER = COLUMNS.index("client_member")
SERVICE = COLUMNS.index("service")

OTHER = "other"
# Bytes one entry of either table takes, whatever the ids' lengths: the OrderedDict's slot and
# link, the int key and the int value, the table's spare room, and the old table alive beside
# the new one while the dict rebuilds itself (deletions at the front leave dummies that a
# rebuild clears). Measured with tracemalloc (tests/unit/core/test_round_trips.py checks the
# bound) on tables of 683 to 174,763 entries of 128-character ids and 1,024-character names,
# filled 3 to 15 times over (the oldest pushed out): 188-272 bytes held, 392 at the peak.
ENTRY_BYTES = 416
MAX_BYTES = 32 * 1024 * 1024  # ~72,600 waiting requests and ~8,000 early responses
MAX_AGE_MS = 5 * 60 * 1000  # a request unanswered for 5 minutes is given up
MAX_MEMBERS = 256  # client members with a label of their own (the sample registry has 106)
EARLY_SHARE = 10  # the table of early responses gets 1/10 of the bytes


# (the client's member code or "other", seconds): a plain tuple, made per response (a frozen
# dataclass took ~0.5 µs more per round trip; infra/prometheus/bench_hot_path.py)
RoundTrip = tuple[str, float]


class RoundTrips:
    """Requests waiting for their response, and responses read before their request."""

    def __init__(
        self,
        max_bytes: int = MAX_BYTES,
        max_age_ms: int = MAX_AGE_MS,
        max_members: int = MAX_MEMBERS,
    ) -> None:
        self.max_requests = max(1, max_bytes * (EARLY_SHARE - 1) // EARLY_SHARE // ENTRY_BYTES)
        self.max_early = max(1, max_bytes // EARLY_SHARE // ENTRY_BYTES)
        self.max_age_ms = max_age_ms
        self.max_members = max_members
        self.waiting: OrderedDict[int, int] = OrderedDict()  # request key -> received_at
        self.early: OrderedDict[int, int] = OrderedDict()  # response key -> routed_at
        self.members: set[str] = set()
        self.newest_ms = 0
        self.matched = 0
        self.dropped = {"unanswered": 0, "capacity": 0}

    def see(self, row: Row) -> RoundTrip | None:
        """Take a ledger row; the round trip it completes, if it does."""
        if row[OUTCOME] != OUTCOME_ROUTED:
            return None
        kind = row[KIND]
        if kind == "request":
            return self._request(row)
        if kind == "response" and row[CORRELATION_ID]:
            return self._response(row)
        return None

    def _request(self, row: Row) -> RoundTrip | None:
        key = hash((row[CLIENT], row[SERVICE], row[MESSAGE_ID]))
        received: int = row[RECEIVED_AT]
        routed = self.early.pop(key, None)
        if routed is not None:
            return self._matched(row, routed - received)
        waiting = self.waiting
        if key not in waiting:
            waiting[key] = received
            if received > self.newest_ms:
                self.newest_ms = received
            if len(waiting) > self.max_requests:
                waiting.popitem(last=False)
                self.dropped["capacity"] += 1
        return None

    def _response(self, row: Row) -> RoundTrip | None:
        key = hash((row[CLIENT], row[SERVICE], row[CORRELATION_ID]))
        routed: int = row[ROUTED_AT]
        received = self.waiting.pop(key, None)
        if received is not None:
            return self._matched(row, routed - received)
        early = self.early
        if key not in early:
            early[key] = routed
            if len(early) > self.max_early:
                early.popitem(last=False)
        return None

    def _matched(self, row: Row, ms: int) -> RoundTrip:
        self.matched += 1
        return (self.member(row[CLIENT_MEMBER]), max(0, ms) / 1000)

    def expire(self) -> None:
        """Give up what is older than ``max_age_ms`` behind the newest request seen (the
        sink calls it once per batch: the rows' own times, not the clock)."""
        oldest = self.newest_ms - self.max_age_ms
        waiting = self.waiting
        while waiting and next(iter(waiting.values())) < oldest:
            waiting.popitem(last=False)
            self.dropped["unanswered"] += 1
        early = self.early
        while early and next(iter(early.values())) < oldest:
            early.popitem(last=False)

    def member(self, member: str) -> str:
        """The label of a client member: its code while fewer than ``max_members`` have one."""
        if member in self.members:
            return member
        if not member or len(self.members) >= self.max_members:
            return OTHER
        self.members.add(member)
        return member
