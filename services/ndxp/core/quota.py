"""Quotas: token buckets and daily caps per client (pure; the clock is passed in).

A limit names a principal (as grants do), optionally a service, and any of: a rate in
requests per second with a burst size (token bucket), a daily cap counted per calendar day
in Asia/Ho_Chi_Minh, a rate in bytes per second with a burst in bytes (a second token bucket,
counting the bytes the router writes for the call: its key, value and headers, once per copy).
For a request, two limits may apply, and both must pass:

- the most specific limit *for this service*, and
- the most specific limit *for the client overall* (no service named).

Specificity: a limit naming the client subsystem beats one naming its member, which beats
one naming the nearest ancestor member (with ``descendants``), then farther ancestors; a
limit naming a group comes last. A limit applies to each client subsystem separately —
inherited from an ancestor or a group, it is a copy per client, not a shared pool.

A refused request consumes nothing: every limit is checked before any is charged.

A document names no service: the limits that count it are the most specific limit *on
documents* (``"documents": true`` in the registry: :data:`DOCUMENTS` as its service) and the
client's overall one. A limit on documents is what bounds the deliveries a client can open,
and so the router's delivery state (:mod:`ndxp.core.delivery_state`): at most its daily cap
for each day a delivery is kept open.

A document costs one unit per receiver it is delivered to (``cost``): the router writes a copy
for each, and each is a delivery with a state of its own. It is admitted while every limit has
a unit left and then charged its whole cost, so a token bucket may go below zero (the client
then waits until it has refilled) and a day's count may pass its cap by the rest of one
document (the day's further sends are refused). Requiring the whole cost up front would refuse
for ever a document to more receivers than a burst holds. Bytes are counted the same way: a
call is admitted while its byte bucket holds a byte, then charged all its copies' bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ndxp.core import wire
from ndxp.core.access import Principal
from ndxp.core.days import VN_UTC_OFFSET_S, local_day
from ndxp.core.immutable import immutable

GROUP_SPECIFICITY = 100
# The service a limit on documents names (no service id has this form: ids begin with the
# instance, ``VN:``), and the service a document is counted under.
DOCUMENTS = "documents"


@dataclass(frozen=True, slots=True)
class Limit:
    id: str  # stable key of its state, e.g. "limits[3]"
    principal: Principal
    group: bool
    service: str | None
    rate: float | None = None
    burst: int | None = None
    daily: int | None = None
    bytes_rate: float | None = None  # bytes per second the router writes for the client
    bytes_burst: int | None = None  # default: a second's worth

    def specificity(self, subsystem: str, member: str, lineage: list[str]) -> int | None:
        if self.group:
            return GROUP_SPECIFICITY if self.principal.matches(subsystem, member, lineage) else None
        return self.principal.specificity(subsystem, member, lineage)


def most_specific(
    limits: Sequence[Limit], subsystem: str, member: str, lineage: list[str]
) -> Limit | None:
    best: tuple[int, int] | None = None
    chosen = None
    for order, limit in enumerate(limits):
        score = limit.specificity(subsystem, member, lineage)
        if score is None:
            continue
        rank = (score, -order)  # ties: the one listed first
        if best is None or rank > best:
            best, chosen = rank, limit
    return chosen


@dataclass(frozen=True, slots=True)
class QuotaHit:
    """Why a request was refused: which limit, what it allows, when to retry."""

    limit: Limit
    kind: str  # "rate", "daily" or "bytes"
    allowed: float  # requests per second, or per day; bytes per second
    retry_after_s: float
    remaining: int = 0

    @property
    def detail(self) -> str:
        service = self.limit.service
        units = "requests"
        if service == DOCUMENTS:
            scope, units = "documents", "deliveries"
        else:
            scope = f"service {service}" if service else "all services"
        if self.kind == "rate":
            what = f"{self.allowed:g} {units}/s (burst {self.limit.burst})"
        elif self.kind == "bytes":
            what = f"{exact(self.allowed)} bytes/s (burst {byte_burst(self.limit)})"
        else:
            what = f"{int(self.allowed)} {units}/day"
        retry = f"retry after {self.retry_after_s:.3f}s"
        return f"{self.kind} limit {self.limit.id} for {scope}: {what}; {retry}"


class QuotaState:
    """One client's quota state, kept as a plain dict (the Faust table's value).

    ``b``: token buckets {limit id: [tokens, updated_ms]}; ``d``: daily caps
    {limit id: [local day, count]}; ``y``: byte buckets {limit id: [bytes, updated_ms]};
    ``a``/``r``: the replay record (see :meth:`replayed`).
    """

    MAX_RANGES = 1024
    KEEP_OFFSETS = 200_000

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data if data is not None else {}

    # -- limits -------------------------------------------------------------------------
    def check(self, limits: Sequence[Limit], now_ms: int) -> QuotaHit | None:
        """The first limit that refuses the request at ``now_ms``, or ``None``."""
        return self._assess(limits, now_ms)[0]

    def charge(self, limits: Sequence[Limit], now_ms: int, cost: int = 1, size: int = 0) -> None:
        """Count ``cost`` units (a request: 1) and ``size`` bytes against every limit (the
        reference for :meth:`admit`)."""
        buckets = self.data.setdefault("b", {})
        caps = self.data.setdefault("d", {})
        for limit in limits:
            if limit.rate is not None:
                buckets[limit.id] = [
                    self._tokens(limit, now_ms) - cost,
                    max(now_ms, self._updated("b", limit)),
                ]
            if limit.daily is not None:
                caps[limit.id] = [local_day(now_ms), self._used_today(limit, now_ms) + cost]
            if limit.bytes_rate is not None:
                self.data.setdefault("y", {})[limit.id] = [
                    self._bytes(limit, now_ms) - size,
                    max(now_ms, self._updated("y", limit)),
                ]

    def admit(
        self, limits: Sequence[Limit], now_ms: int, cost: int = 1, size: int = 0
    ) -> QuotaHit | None:
        """:meth:`check`, then :meth:`charge` if nothing refused: the same result and state,
        each limit's state read once (the router does this for every limited request)."""
        hit, charged = self._assess(limits, now_ms, cost, size)
        if hit is None:
            buckets = self.data.setdefault("b", {})
            caps = self.data.setdefault("d", {})
            for kind, limit_id, value in charged:
                if kind == "b":
                    buckets[limit_id] = value
                elif kind == "d":
                    caps[limit_id] = value
                else:
                    self.data.setdefault("y", {})[limit_id] = value
        return hit

    def _assess(
        self, limits: Sequence[Limit], now_ms: int, cost: int = 1, size: int = 0
    ) -> tuple[QuotaHit | None, list[tuple[str, str, list[Any]]]]:
        """The first refusal, or ``None`` and what charging each limit ``cost`` units and
        ``size`` bytes would write (``(state kind "b", "d" or "y", limit id, new state)``). The
        same arithmetic as :meth:`_tokens`, :meth:`_used_today` and :meth:`_bytes`, each
        limit's state read once (the router's hot path: every limited request;
        tests/unit/core/test_quota.py checks it equals check + charge); both token buckets
        through :func:`refill`."""
        charged: list[tuple[str, str, list[Any]]] = []
        buckets = self.data.get("b") or {}
        caps = self.data.get("d") or {}
        held_bytes = self.data.get("y") or {}
        day = local_day(now_ms)
        for limit in limits:
            rate = limit.rate
            if rate is not None:
                tokens, at = refill(buckets.get(limit.id), float(unit_burst(limit)), rate, now_ms)
                if tokens < 1:
                    return QuotaHit(limit, "rate", rate, (1 - tokens) / rate, 0), []
                charged.append(("b", limit.id, [tokens - cost, at]))
            daily = limit.daily
            if daily is not None:
                state = caps.get(limit.id)
                used = int(state[1]) if state is not None and int(state[0]) == day else 0
                if used >= daily:
                    return QuotaHit(limit, "daily", daily, _to_midnight(now_ms), 0), []
                charged.append(("d", limit.id, [day, used + cost]))
            byte_rate = limit.bytes_rate
            if byte_rate is not None:
                most = float(byte_burst(limit))
                held, at = refill(held_bytes.get(limit.id), most, byte_rate, now_ms)
                if held < 1:
                    return QuotaHit(limit, "bytes", byte_rate, (1 - held) / byte_rate, 0), []
                charged.append(("y", limit.id, [held - size, at]))
        return None, charged

    def remaining(self, limit: Limit, now_ms: int) -> int | None:
        if limit.daily is None:
            return None
        return max(0, limit.daily - self._used_today(limit, now_ms))

    def _tokens(self, limit: Limit, now_ms: int) -> float:
        assert limit.rate is not None
        return self._level("b", limit, float(unit_burst(limit)), limit.rate, now_ms)

    def _bytes(self, limit: Limit, now_ms: int) -> float:
        """The bytes ``limit``'s byte bucket holds at ``now_ms`` (below 0: in debt)."""
        assert limit.bytes_rate is not None
        return self._level("y", limit, float(byte_burst(limit)), limit.bytes_rate, now_ms)

    def _level(self, kind: str, limit: Limit, burst: float, rate: float, now_ms: int) -> float:
        """What the token bucket ``kind`` ("b": units, "y": bytes) of ``limit`` holds at
        ``now_ms`` (the reference arithmetic: :func:`refill` is the hot path's)."""
        state = self.data.get(kind, {}).get(limit.id)
        if state is None:
            return burst
        level, updated = float(state[0]), int(state[1])
        elapsed = max(0, now_ms - updated) / 1000  # a clock going back adds nothing
        return min(burst, level + elapsed * rate)

    def _updated(self, kind: str, limit: Limit) -> int:
        state = self.data.get(kind, {}).get(limit.id)
        return int(state[1]) if state else 0

    def _used_today(self, limit: Limit, now_ms: int) -> int:
        state = self.data.get("d", {}).get(limit.id)
        if state is None or int(state[0]) != local_day(now_ms):
            return 0
        return int(state[1])

    # -- replays ------------------------------------------------------------------------
    def replayed(self, source: str, offset: int) -> bool | None:
        """For a message already decided (a redelivery after a crash): was it refused?
        ``None`` for a message not seen yet. ``source`` is its ingress topic:partition."""
        last = self.data.get("a", {}).get(source)
        if last is None or offset > last:
            return None
        return any(a <= offset <= b for a, b in self.data.get("r", {}).get(source, ()))

    def record(self, source: str, offset: int, refused: bool) -> None:
        """Remember the decision for the message at ``offset`` of ``source``. Refusals are
        kept as offset ranges; consecutive refusals of this client extend one range."""
        applied = self.data.setdefault("a", {})
        previous = applied.get(source, -1)
        applied[source] = max(offset, previous)
        if not refused:
            return
        ranges: list[list[int]] = self.data.setdefault("r", {}).setdefault(source, [])
        if ranges and ranges[-1][1] == previous:
            ranges[-1][1] = offset
        else:
            ranges.append([offset, offset])
        floor = offset - self.KEEP_OFFSETS  # far behind any replay window
        while ranges and (ranges[0][1] < floor or len(ranges) > self.MAX_RANGES):
            ranges.pop(0)


@immutable
class QuotaDecision:
    refused: bool
    hit: QuotaHit | None
    replay: bool  # the message was decided before (a redelivery): nothing was charged now


def decide(
    state: QuotaState,
    limits: Sequence[Limit],
    source: str,
    offset: int,
    now_ms: int,
    cost: int = 1,
    size: int = 0,
) -> QuotaDecision:
    """Decide one request (or a document of ``cost`` deliveries) whose copies take ``size``
    bytes, at ``now_ms`` (its time of receipt), and update ``state``.

    A redelivered message (``source`` offset already applied) gets its first decision back
    and is not charged again: quota counts stay exact across crashes and restarts.
    """
    previous = state.replayed(source, offset)
    if previous is not None:
        return QuotaDecision(previous, state.check(limits, now_ms) if previous else None, True)
    hit = state.admit(limits, now_ms, cost, size)
    state.record(source, offset, hit is not None)
    return QuotaDecision(hit is not None, hit, False)


def counted_as(kind: str, service: str | None) -> str:
    """The service a call of ``kind`` is counted under: :data:`DOCUMENTS` for a document,
    else the service it names (``""``: none)."""
    return DOCUMENTS if kind == wire.KIND_DOCUMENT else service or ""


def policy(limit: Limit) -> str:
    parts = []
    if limit.rate is not None:
        parts.append(f"rate={limit.rate:g}/s;burst={unit_burst(limit)}")
    if limit.daily is not None:
        parts.append(f"daily={limit.daily}")
    if limit.bytes_rate is not None:
        parts.append(f"bytes={exact(limit.bytes_rate)}/s;bytes_burst={byte_burst(limit)}")
    return ";".join(parts)


def exact(number: float) -> str:
    """A whole number as its digits (32 MiB a second is 33554432, not :g's 3.35544e+07)."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def refill(
    state: Sequence[Any] | None, burst: float, rate: float, now_ms: int
) -> tuple[float, int]:
    """A token bucket's level at ``now_ms`` from its stored ``[level, updated_ms]`` (full when
    it has none), and the time to store with it: a clock going back adds nothing and moves
    nothing back."""
    if state is None:
        return burst, now_ms if now_ms > 0 else 0
    updated = int(state[1])
    if now_ms <= updated:
        return min(burst, float(state[0])), updated
    return min(burst, float(state[0]) + (now_ms - updated) / 1000 * rate), now_ms


def unit_burst(limit: Limit) -> int:
    """The most units ``limit``'s token bucket holds: its ``burst``, else a second's."""
    if limit.burst is not None:
        return limit.burst
    return max(1, round(limit.rate or 0))


def byte_burst(limit: Limit) -> int:
    """The most bytes ``limit``'s byte bucket holds: its ``bytes_burst``, else a second's."""
    if limit.bytes_burst is not None:
        return limit.bytes_burst
    return max(1, round(limit.bytes_rate or 0))


def _to_midnight(now_ms: int) -> float:
    local_s = now_ms / 1000 + VN_UTC_OFFSET_S
    return 86400 - (local_s % 86400)
