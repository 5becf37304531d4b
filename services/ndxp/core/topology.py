"""Which topics a registry needs, with explicit partitions and configs."""

from __future__ import annotations

import functools
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from ndxp.core import wire
from ndxp.core.budget import ROUTER_HEADROOM, compressed_batch, largest_value
from ndxp.core.registry import Registry

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# What every ndxp producer (the router's, and ndxp.kafka.io.producer's) batches a partition up
# to. aiokafka sends one batch per partition in a produce request, and one request at a time to
# a broker: what one partition can take is a batch per produce round trip. Its default batch,
# 16 KiB, is ~8 REST calls with their headers: the gateway's calls of one client member, all on
# its few partitions, were held to a few hundred a second when the broker was busy.
PRODUCER_BATCH_BYTES = 256 * 1024
# The dead-letter topic keeps the original of any message the ingress topics accepted, plus
# the router's headers (bounded: ndxp.core.budget.ROUTER_HEADROOM), so it takes a little more.
DEAD_LETTER_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES + 64 * 1024
assert compressed_batch(MAX_MESSAGE_BYTES + ROUTER_HEADROOM) <= DEAD_LETTER_MAX_MESSAGE_BYTES
# The codec of the router's batches (NDXP_ROUTER_COMPRESSION), and the ones it may be given
COMPRESSION = "zstd"
CODECS = ("zstd", "none")
# The highest value limit (NDXP_MAX_VALUE_BYTES) a router may be given: every copy of a record
# with the largest key, headers and value allowed must fit the egress and quota topics.
MAX_VALUE_LIMIT = largest_value(MAX_MESSAGE_BYTES)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic ndxp creates. ``placed``: the router places records in it by partition number
    (a client's home partition of an ingress topic, a co-partitioned table's partition), so
    the topic must have exactly ``partitions``."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)
    placed: bool = False


def topics_for(
    registry: Registry, partitions: int, config: Mapping[str, str] | None = None
) -> list[TopicSpec]:
    """Ingress and egress topics of every connected member, plus the dead-letter topic."""
    base = {
        "min.insync.replicas": "1",
        # Above the router's own limit (TOO_LARGE, 1 MiB by default), so an oversized
        # value reaches the router, is refused with a code and kept in ndxp.rejected.
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
        **(config or {}),
    }
    # The broker stamps each record as it appends it: the platform's time of receipt, which
    # no sender's clock can set (schemas/WIRE.md#time). Egress topics keep the router's.
    ingress = {**base, "message.timestamp.type": "LogAppendTime"}
    out: list[TopicSpec] = []
    for member in sorted(registry.connected, key=lambda m: str(m.id)):
        out.append(TopicSpec(wire.ingress_topic(member.id), partitions, ingress, placed=True))
        out.append(TopicSpec(wire.egress_topic(member.id), partitions, base))
    # Rejected messages are kept longer than traffic: they are evidence.
    rejected = {
        **base,
        "retention.ms": str(30 * 24 * 3600 * 1000),
        "max.message.bytes": str(DEAD_LETTER_MAX_MESSAGE_BYTES),
    }
    out.append(TopicSpec(wire.REJECTED_TOPIC, partitions, rejected))
    return out


def internal_topics(group: str, partitions: int) -> list[TopicSpec]:
    """The router's internal topics, named after its consumer group: the quota table's
    compacted changelog and the document state stage's topics (its events and its compacted
    state), each with the ingress topics' partition count (partition p of each lives on the
    worker that reads partition p of the ingress topics), and the topic where the workers
    agree on the key sealing their internal copies."""
    base = {"max.message.bytes": str(MAX_MESSAGE_BYTES), "min.insync.replicas": "1"}
    forever = {"retention.ms": "-1", "retention.bytes": "-1"}
    compact = {**base, "cleanup.policy": "compact"}
    return [
        TopicSpec(quota_changelog_topic(group), partitions, compact, placed=True),
        TopicSpec(doc_events_topic(group), partitions, base, placed=True),
        TopicSpec(doc_state_topic(group), partitions, compact, placed=True),
        TopicSpec(seal_topic(group), 1, {**base, **forever}),
    ]


def partition_faults(counts: Mapping[str, int], specs: list[TopicSpec]) -> list[str]:
    """Topics the router places records in by number whose partition count on the broker
    (``counts``) is not the one it was given (``NDXP_PARTITIONS``). Topics keep the count
    they were created with: a router given another would send a client's requests to a home
    partition that is not the one its key hashes to, or that does not exist, and read its
    tables' partitions on the wrong workers."""
    return [
        f"{s.name} has {counts[s.name]} partitions, not {s.partitions}"
        for s in specs
        if s.placed and s.name in counts and counts[s.name] != s.partitions
    ]


def seal_topic(group: str) -> str:
    """Where the router group's seal key is agreed (ndxp.kafka.seal)."""
    return f"{group}-seal"


def quota_changelog_topic(group: str) -> str:
    return f"{group}-quota-changelog"  # Faust's name for table "quota" of app ``group``


def doc_events_topic(group: str) -> str:
    """Where the router writes each delivery of a document and each status given for it, on
    the partition of the delivery (``<document id>|<receiver>``), for its status stage."""
    return f"{group}-doc-events"


def doc_state_topic(group: str) -> str:
    """The compacted topic holding each delivery's state (the status stage's table)."""
    return f"{group}-doc-state-changelog"  # the name it had as Faust's table "doc-state"


def registry_topic(name: str) -> TopicSpec:
    """The compacted topic `ndxp registry publish` writes and every router worker follows."""
    return TopicSpec(
        name,
        1,
        {
            "cleanup.policy": "compact",
            "min.insync.replicas": "1",
            "max.message.bytes": str(MAX_MESSAGE_BYTES),
        },
    )


def misplaced(client: str, topic: str, partition: int, partitions: int) -> str | None:
    """Why a request of ``client`` under a limit may not be decided on ``partition`` of
    ``topic`` by an inline quota stage (``MISPARTITIONED``), or ``None`` when it is its
    client's partition."""
    home = client_partition(client, partitions)
    if partition == home:
        return None
    return (
        f"requests of {client} are counted on partition {home} of {topic}, not {partition}: "
        "key them by the client id"
    )


# Keys of up to SHORT_KEY_BYTES are placed as Kafka's default partitioner places them, and
# their partitions remembered (up to KEY_CACHE of them: 5 MB at most whatever a sender keys its
# records with, 16,384 keys of 128 bytes, measured). A longer key is placed by its SHA-256.
KEY_CACHE = 16384
SHORT_KEY_BYTES = 128


def key_partition(key: bytes, partitions: int) -> int:
    """Where ndxp places a record keyed ``key`` among ``partitions`` (the index in the topic's
    sorted partitions), the one rule of the router's outbox and of every ndxp producer:

    - a key of up to ``SHORT_KEY_BYTES`` bytes: Kafka's default partitioner (murmur2, as
      :func:`client_partition`), remembered: ndxp's clients key their records by a client id,
      a few hundred of them, and aiokafka hashes each key in Python on every send (2-3 % of the
      gateway's and the provider adapter's CPU at 256 calls in flight);
    - a longer key: :func:`long_key_partition`, the first four bytes of its SHA-256. murmur2 in
      Python is linear in the key, 548 µs for the 4 KiB the router takes: a sender that keyed
      every record with a new 4 KiB key held the router to 934 records a second, for every
      member (SHA-256, in C: 3.6 µs). Each key still has one partition, so its order is kept.
    """
    if len(key) <= SHORT_KEY_BYTES:
        return _remembered_partition(key, partitions)
    return placed_partition(key, partitions)


def placed_partition(key: bytes, partitions: int) -> int:
    """:func:`key_partition`'s rule without its cache, for a caller that caches its own (the
    router's outbox, by topic and key): a sender keying each record anew misses every cache,
    and an LRU's eviction on each miss only adds to the hash."""
    if len(key) <= SHORT_KEY_BYTES:
        return _partition_of(key, partitions)
    return long_key_partition(key, partitions)


def long_key_partition(key: bytes, partitions: int) -> int:
    """The partition of a key longer than ``SHORT_KEY_BYTES``: the first four bytes of its
    SHA-256 digest, big-endian, with the top bit cleared, modulo ``partitions`` (any language's
    standard library computes it; schemas/WIRE.md)."""
    digest = hashlib.sha256(key).digest()
    return (int.from_bytes(digest[:4], "big") & 0x7FFFFFFF) % partitions


@functools.lru_cache(maxsize=KEY_CACHE)
def _remembered_partition(key: bytes, partitions: int) -> int:
    return placed_partition(key, partitions)


def _partition_of(key: bytes, partitions: int) -> int:
    return (_murmur2(key) & 0x7FFFFFFF) % partitions


@functools.lru_cache(maxsize=65536)
def client_partition(client: str, partitions: int) -> int:
    """The partition of a member's ingress topic where the requests of ``client`` belong when
    the router decides quotas inline: Kafka's default partitioner for the key ``client``
    (murmur2, as the Java client and aiokafka hash keys; librdkafka with
    ``partitioner=murmur2_random``). A sender that keys its requests by its client id lands
    there without computing anything."""
    return _partition_of(client.encode(), partitions)


def _murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned int. Its
    little-endian 4-byte blocks are unpacked at once (``struct``): 2.8 µs for a 27-byte client
    id against 4.0 µs indexing them byte by byte (timeit), paid by every key a cache misses."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    blocks = length >> 2
    if blocks:
        for k in struct.unpack_from(f"<{blocks}I", data):
            k = (k * m) & mask
            k ^= k >> 24
            h = ((h * m) & mask) ^ ((k * m) & mask)
    whole = blocks << 2
    extra = length & 3
    if extra >= 3:
        h ^= data[whole + 2] << 16
    if extra >= 2:
        h ^= data[whole + 1] << 8
    if extra >= 1:
        h ^= data[whole]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def limit_faults(actual: Mapping[str, int], specs: list[TopicSpec]) -> list[str]:
    """Topics whose ``max.message.bytes`` on the broker breaks the size budget: an ingress
    topic taking more than ndxp's (a record could be too large for its dead-letter copy), or a
    topic the router writes taking less (a copy within the budget would be refused, and stall
    its partition). ``actual``: each topic's value on the broker."""
    faults = []
    for spec in specs:
        wanted = spec.config.get("max.message.bytes")
        found = actual.get(spec.name)
        if wanted is None or found is None:
            continue
        if spec.name.startswith(wire.INGRESS_PREFIX):
            if found > int(wanted):
                faults.append(f"{spec.name} takes {found} bytes, more than {wanted}")
        elif found < int(wanted):
            faults.append(f"{spec.name} takes {found} bytes, less than {wanted}")
    return faults
