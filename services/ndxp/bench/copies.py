"""What a router wrote, read back from the egress topics and ``ndxp.rejected``: how many
records it routed, refused (dead-letter copies; their error notices are on egress), how many
ingress records that covers (distinct ingress coordinates: a duplicate is a second copy of
one; for a document's copies, distinct deliveries — its id and the receiver — so that a
backlog of documents counts deliveries), and when it routed the first and the last
(``ndxp-routed-at``, which the plain baseline stamps as well). Read after the router has
stopped, so it costs the measurement nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ndxp.bench.backlog import progress
from ndxp.bench.offsets import TP
from ndxp.core import wire

_KIND = wire.H_KIND
_ROUTED_AT = wire.H_ROUTED_AT
_ID, _RECEIVER, _DOCUMENT = wire.H_ID, wire.H_DOC_RECEIVER, wire.KIND_DOCUMENT.encode()
_SOURCE = (wire.H_SOURCE_TOPIC, wire.H_SOURCE_PARTITION, wire.H_SOURCE_OFFSET)


@dataclass
class Copies:
    routed: int = 0
    notices: int = 0
    dead_letters: int = 0
    first_ms: int = 0
    last_ms: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    sources: set[tuple[str, str | int, int | str]] = field(default_factory=set, repr=False)
    without_source: int = 0  # copies with no ingress coordinates (the plain baseline's)

    @property
    def decided(self) -> int:
        return self.routed + self.dead_letters

    @property
    def distinct(self) -> int:
        return len(self.sources) + self.without_source

    @property
    def duplicated(self) -> int:
        return self.decided - self.distinct

    def rate(self) -> float:
        """Ingress records decided per second, first routing to last."""
        return self.distinct / max((self.last_ms - self.first_ms) / 1000, 1e-3)

    def summary(self) -> dict[str, Any]:
        return {
            "routed": self.routed,
            "refused": self.dead_letters,
            "refused_by_code": dict(self.by_code),
            "duplicated": self.duplicated,
            "seconds": round((self.last_ms - self.first_ms) / 1000, 2),
            "rate": round(self.rate(), 1),
        }


def read(bootstrap: str, written: Mapping[TP, tuple[int, int]], label: str = "copies") -> Copies:
    """Every record in ``written`` (partition → first offset, end), tallied."""
    from confluent_kafka import Consumer, TopicPartition

    out = Copies()
    if not written:
        return out
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-readback-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    c.assign([TopicPartition(t, p, lo) for (t, p), (lo, _) in written.items()])
    open_ = {tp: end for tp, (_, end) in written.items()}
    total = sum(end - lo for lo, end in written.values())
    seen = 0
    idle_since = time.monotonic()
    try:
        while open_:
            batch = c.consume(num_messages=10_000, timeout=0.5)
            if not batch and time.monotonic() - idle_since > 60:
                raise RuntimeError(f"read back stalled with {len(open_)} partitions unread")
            for m in batch:
                if m.error() is not None:
                    continue
                topic, partition, offset = m.topic(), m.partition(), m.offset()
                if topic is None or partition is None or offset is None:
                    continue
                end = open_.get((topic, partition))
                if end is None or offset >= end:
                    continue
                idle_since = time.monotonic()
                seen += 1
                tally(out, topic, _header_list(m.headers()), m.timestamp()[1])
                if offset + 1 >= end:
                    del open_[(topic, partition)]
            progress(f"{label}: read back {seen:,}/{total:,}")
    finally:
        c.close()
        progress("")
    return out


def _header_list(
    headers: Mapping[str, str | bytes | None] | list[tuple[str, str | bytes | None]] | None,
) -> list[tuple[str, bytes]]:
    """A consumed record's headers as confluent-kafka gives them (a list of pairs, each value
    bytes or None), as ``tally`` reads them."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or []
    return [(k, v.encode() if isinstance(v, str) else v or b"") for k, v in pairs]


def tally(out: Copies, topic: str, headers: list[tuple[str, bytes]], timestamp: int) -> None:
    """Count one copy: a dead letter (``ndxp.rejected``) or a routed copy, by the ingress
    record it copies; an error notice only answers a refusal its dead letter counts."""
    kind = routed_at = message_id = receiver = b""
    src: dict[str, bytes] = {}
    for name, value in headers:
        if name == _KIND:
            kind = value
        elif name == _ROUTED_AT:
            routed_at = value
        elif name in _SOURCE:
            src[name] = value
        elif name == _ID:
            message_id = value
        elif name == _RECEIVER:
            receiver = value
    if topic == wire.REJECTED_TOPIC:
        out.dead_letters += 1
        h = dict(headers)
        code = h.get(wire.H_ERROR, b"?").decode()
        if wire.H_QUOTA_LIMIT in h:  # which limit refused it
            code = f"{code} ({h[wire.H_QUOTA_LIMIT].decode()})"
        out.by_code[code] = out.by_code.get(code, 0) + 1
    elif kind == wire.KIND_ERROR.encode():
        out.notices += 1
        return
    else:
        out.routed += 1
    if receiver and kind == _DOCUMENT:  # a delivery: the plain baseline's copies too
        out.sources.add(("document", message_id.decode(), receiver.decode()))
    elif len(src) == 3:
        topic_, partition, offset = (src[name] for name in _SOURCE)
        out.sources.add((topic_.decode(), int(partition), int(offset)))
    else:
        out.without_source += 1
    at = int(routed_at) if routed_at else timestamp
    out.first_ms = at if not out.first_ms else min(out.first_ms, at)
    out.last_ms = max(out.last_ms, at)
