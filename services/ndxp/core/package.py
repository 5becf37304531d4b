"""Packages larger than one record: an edXML package with its attachments (several MB of PDF)
sent as parts and put together again at each receiver (issue 14, item 4; ``schemas/WIRE.md``,
"Documents").

A package over the part size travels as ``N`` records of kind ``document`` with the same
envelope, each with ``ndxp-doc-part: i/N`` (1-based), ``ndxp-doc-size`` (the whole package's
bytes, at most :data:`MAX_PACKAGE_BYTES`) and ``ndxp-doc-sha256`` (the whole package's
SHA-256, hex). The router checks these headers and routes each part as a document (it never
reads a value); a receiver keeps the parts of each (document id, receiver) once, and has the
package when every part is there and the bytes hash to ``ndxp-doc-sha256``.

Why parts and not a larger record: Kafka's records are bounded per topic
(``max.message.bytes``) and held whole in the broker's, the router's and every consumer's
memory; 20 MiB records would raise every one of those bounds for all traffic. Parts of
``PART_BYTES`` keep each record within the platform's value limit, so they pass the same
checks, quotas (each part counts as a record does) and ledger (a row per part and receiver),
and a router or receiver killed mid-package resumes where its offsets are.

Pure: bytes in, parts out; parts in, the package or what is missing out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ndxp.core.errors import clip

H_DOC_PART = "ndxp-doc-part"
H_DOC_SIZE = "ndxp-doc-size"
H_DOC_SHA256 = "ndxp-doc-sha256"
PACKAGE_HEADERS = (H_DOC_PART, H_DOC_SIZE, H_DOC_SHA256)
MAX_PACKAGE_BYTES = 20 * 1024 * 1024
PART_BYTES = 768 * 1024  # under the default value limit (1 MiB) with room to spare
MAX_PARTS = 1024


class InvalidPackage(ValueError):
    def __init__(self, header: str, reason: str) -> None:
        self.header = header
        self.reason = reason
        super().__init__(f"{header}: {reason}")


@dataclass(frozen=True, slots=True)
class Part:
    index: int  # 1-based
    count: int
    size: int  # of the whole package
    sha256: str  # of the whole package, lower-case hex


def split(package: bytes, part_bytes: int = PART_BYTES) -> list[tuple[Part, bytes]]:
    """The parts of ``package`` (one, for a package within ``part_bytes``)."""
    if len(package) > MAX_PACKAGE_BYTES:
        raise InvalidPackage(
            H_DOC_SIZE, f"{len(package):,} bytes: a package is at most {MAX_PACKAGE_BYTES:,}"
        )
    digest = hashlib.sha256(package).hexdigest()
    count = max(1, -(-len(package) // part_bytes))
    return [
        (
            Part(i + 1, count, len(package), digest),
            package[i * part_bytes : (i + 1) * part_bytes],
        )
        for i in range(count)
    ]


def headers_of(part: Part) -> list[tuple[str, str]]:
    return [
        (H_DOC_PART, f"{part.index}/{part.count}"),
        (H_DOC_SIZE, str(part.size)),
        (H_DOC_SHA256, part.sha256),
    ]


def read_part(headers: Mapping[str, str]) -> Part | None:
    """The part a document's headers (decoded, each once) describe; ``None`` for a package in
    one record (no part headers). Part headers come all three or not at all."""
    present = [h for h in PACKAGE_HEADERS if h in headers]
    if not present:
        return None
    if len(present) != len(PACKAGE_HEADERS):
        missing = next(h for h in PACKAGE_HEADERS if h not in headers)
        raise InvalidPackage(missing, "missing: a part names its place, size and hash")
    text = headers[H_DOC_PART]
    index_text, slash, count_text = text.partition("/")
    if not (slash and _decimal(index_text) and _decimal(count_text)):
        raise InvalidPackage(H_DOC_PART, f"{clip(text)!r}: expected <i>/<n>")
    index, count = int(index_text), int(count_text)
    if not 1 <= index <= count <= MAX_PARTS:
        raise InvalidPackage(H_DOC_PART, f"{clip(text)!r}: 1 <= i <= n <= {MAX_PARTS}")
    size_text = headers[H_DOC_SIZE]
    if not _decimal(size_text) or not 0 < int(size_text) <= MAX_PACKAGE_BYTES:
        raise InvalidPackage(H_DOC_SIZE, f"{clip(size_text)!r}: 1-{MAX_PACKAGE_BYTES} bytes")
    digest = headers[H_DOC_SHA256]
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise InvalidPackage(H_DOC_SHA256, f"{clip(digest)!r}: 64 lower-case hex digits")
    return Part(index, count, int(size_text), digest)


@dataclass
class Assembly:
    """The parts of one package at one receiver, each kept once, until it is whole."""

    count: int
    size: int
    sha256: str
    parts: dict[int, bytes] = field(default_factory=dict)

    def add(self, part: Part, value: bytes) -> bytes | None:
        """Keep a part (a copy received again, or one of another package, changes nothing);
        the package once every part is there and it hashes right, else ``None``."""
        if (part.count, part.size, part.sha256) != (self.count, self.size, self.sha256):
            return None
        self.parts.setdefault(part.index, value)
        if len(self.parts) < self.count:
            return None
        package = b"".join(self.parts[i] for i in range(1, self.count + 1))
        if len(package) != self.size or hashlib.sha256(package).hexdigest() != self.sha256:
            raise InvalidPackage(H_DOC_SHA256, "the parts put together do not hash to it")
        return package

    @property
    def missing(self) -> int:
        return self.count - len(self.parts)


def _decimal(text: str) -> bool:
    return 0 < len(text) <= 10 and text.isascii() and text.isdigit()
