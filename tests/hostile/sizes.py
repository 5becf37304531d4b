"""Records built to a size, counted exactly as the platform counts them (pure).

The router's budget (:mod:`ndxp.core.budget`) counts headers with their varint lengths and
the broker measures a record in a batch of its own against the ingress topic's
``max.message.bytes``; these helpers build records at each of those limits and one byte
either side, so a test can name the exact size it sends."""

from __future__ import annotations

from collections.abc import Sequence

from ndxp.core.budget import headers_size, record_size, varint_size

PAD = "x-pad"
Headers = Sequence[tuple[str, bytes | None]]


def pad_headers(headers: Headers, target: int) -> list[tuple[str, bytes | None]]:
    """``headers`` plus one ``x-pad`` header, so that :func:`headers_size` is ``target``."""
    rest = target - headers_size(headers) - (len(PAD) + varint_size(len(PAD)))
    for n in range(max(0, rest - 4), rest + 1):
        if n + varint_size(n) == rest:
            return [*headers, (PAD, b"p" * n)]
    raise ValueError(f"no pad makes headers of {target} bytes")


def tiny_headers(count: int) -> list[tuple[str, bytes | None]]:
    """``count`` distinct one-byte headers (``x-0``: ``v`` …): thousands of them cost the
    router far more per byte than one large header."""
    return [(f"x-{i}", b"v") for i in range(count)]


def batch_size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """The record's size in a batch of its own, as the broker compares it with
    ``max.message.bytes``."""
    return record_size(
        None if key is None else len(key),
        None if value is None else len(value),
        headers_size(headers),
        len(headers),
    )


def value_for_batch(target: int, key: bytes | None, headers: Headers) -> int:
    """The value length that makes a record of exactly ``target`` bytes in a batch of its own
    (the value's own length varint moves with it, hence the search)."""
    klen = None if key is None else len(key)
    hb, count = headers_size(headers), len(headers)
    guess = target - record_size(klen, 0, hb, count)
    for v in range(max(0, guess - 16), guess + 16):
        if record_size(klen, v, hb, count) == target:
            return v
    raise ValueError(f"no value makes a record of {target} bytes")
