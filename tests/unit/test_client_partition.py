"""The inline quota stage's partition function agrees with Kafka's default partitioner."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from ndxp.core.topology import client_partition


def test_same_partition_as_the_kafka_default_partitioner() -> None:
    clients = [
        "VN:GOV:000.00.00.H41:motcua",
        "VN:GOV:000.00.01.G01:dancu",
        "VN:COM:0100109106:hoadon",
        "x",
        "ab",
        "abc",
        "abcd",
        "Việt Nam",
    ]
    for n in (1, 3, 7, 12):
        for client in clients:
            key = client.encode()
            expected = DefaultPartitioner()(key, list(range(n)), list(range(n)))
            assert client_partition(client, n) == expected, (client, n)


def test_clients_spread_over_partitions() -> None:
    seen = {client_partition(f"VN:GOV:000.00.{i:02d}.H41:motcua", 3) for i in range(30)}
    assert seen == {0, 1, 2}


def test_producers_place_short_keys_as_the_kafka_default_partitioner() -> None:
    """ndxp's producers (ndxp.kafka.io.producer) and the router's outbox place a key of up to
    128 bytes where Kafka's default partitioner does, and remember it; a record without a key
    goes to an available partition."""
    from ndxp.core.topology import SHORT_KEY_BYTES
    from ndxp.kafka.io import keyed_partition

    keys = [c.encode() for c in ("VN:GOV:000.00.00.H41:motcua", "x", "Việt Nam", "")]
    keys += [b"k" * SHORT_KEY_BYTES, b"\xff\xfe" * (SHORT_KEY_BYTES // 2)]
    for n in (1, 3, 7):
        parts = list(range(10, 10 + n))  # partition numbers, not indices
        for key in keys:
            expected = DefaultPartitioner()(key, parts, parts)
            assert keyed_partition(key, parts, parts) == expected, (key[:20], n)
            assert keyed_partition(key, parts, parts) == expected  # remembered, the same
    assert keyed_partition(None, [0, 1, 2], [2]) == 2


def test_a_long_key_is_placed_by_its_sha256() -> None:
    """A key over 128 bytes: the first four bytes of its SHA-256, big-endian, top bit cleared,
    modulo the partitions (schemas/WIRE.md). The literals are the rule worked by hand
    (sha256(b"k" * 129) begins 9094034f, sha256(b"\\xff" * 4096) f47a8ec3), for anyone
    placing such keys in another language to check against."""
    from ndxp.kafka.io import keyed_partition

    cases = {b"k" * 129: (0, 4, 3), b"\xff" * 4096: (2, 3, 11)}
    for key, expected in cases.items():
        for n, want in zip((3, 7, 12), expected, strict=True):
            parts = list(range(5, 5 + n))
            assert keyed_partition(key, parts, parts) == parts[want], (key[:4], n)
        seven = list(range(7))  # not where Kafka's murmur2 would put them (partition 0)
        assert keyed_partition(key, seven, seven) != DefaultPartitioner()(key, seven, seven)


def test_long_keys_sharing_a_prefix_spread_over_partitions() -> None:
    """Placed by a digest of the whole key, not its first bytes: keys that differ only after
    their first 128 bytes still spread over every partition, about evenly."""
    from ndxp.core.topology import key_partition

    prefix = b"VN:GOV:000.00.00.H41:motcua/" * 5
    counts = [0, 0, 0]
    for i in range(600):
        counts[key_partition(prefix + str(i).encode(), 3)] += 1
    assert min(counts) >= 150, counts


def test_only_short_keys_are_remembered() -> None:
    """The cache's bound holds whatever keys senders use: a long key is hashed each time."""
    from ndxp.core.topology import SHORT_KEY_BYTES, _remembered_partition, key_partition

    short, long = b"s" * SHORT_KEY_BYTES, b"l" * (SHORT_KEY_BYTES + 1)
    key_partition(short, 5)
    before = _remembered_partition.cache_info()
    key_partition(short, 5)
    key_partition(long, 5)
    key_partition(long, 5)
    after = _remembered_partition.cache_info()
    assert after.hits == before.hits + 1
    assert after.misses == before.misses  # the long key never reached the cache
    assert after.currsize == before.currsize


def test_ndxp_murmur2_is_kafkas_for_every_length_and_tail() -> None:
    """Kafka's murmur2 as aiokafka computes it (byte by byte), for keys of 0 to 140 bytes (every
    remainder of four) and bytes of every value; the outbox's uncached rule is the same."""
    import random

    from aiokafka.partitioner import murmur2

    from ndxp.core.topology import _murmur2, key_partition, placed_partition

    rng = random.Random(3)
    for length in range(141):
        for _ in range(8):
            data = rng.randbytes(length)
            assert _murmur2(data) == murmur2(data) & 0xFFFFFFFF, length
            for n in (1, 3, 7):
                assert placed_partition(data, n) == key_partition(data, n)
    for data in (b"\xff" * 4096, b"x" * 129):
        assert placed_partition(data, 7) == key_partition(data, 7)
