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


def test_producers_partition_keys_as_the_kafka_default_partitioner() -> None:
    """ndxp's producers (ndxp.kafka.io.producer) remember each short key's partition; long keys
    are hashed each time, and a record without a key goes to an available partition."""
    from ndxp.core.topology import CACHED_KEY_BYTES
    from ndxp.kafka.io import keyed_partition

    keys = [c.encode() for c in ("VN:GOV:000.00.00.H41:motcua", "x", "Việt Nam")]
    keys += [b"k" * CACHED_KEY_BYTES, b"k" * (CACHED_KEY_BYTES + 1), b"\xff" * 4096]
    for n in (1, 3, 7):
        parts = list(range(10, 10 + n))  # partition numbers, not indices
        for key in keys:
            expected = DefaultPartitioner()(key, parts, parts)
            assert keyed_partition(key, parts, parts) == expected, (key[:20], n)
            assert keyed_partition(key, parts, parts) == expected  # remembered, the same
    assert keyed_partition(None, [0, 1, 2], [2]) == 2


def test_only_short_keys_are_remembered() -> None:
    """The cache's bound holds whatever keys senders use: a long key is hashed each time."""
    from ndxp.core.topology import CACHED_KEY_BYTES, _remembered_partition, key_partition

    short, long = b"s" * CACHED_KEY_BYTES, b"l" * (CACHED_KEY_BYTES + 1)
    key_partition(short, 5)
    before = _remembered_partition.cache_info()
    key_partition(short, 5)
    key_partition(long, 5)
    key_partition(long, 5)
    after = _remembered_partition.cache_info()
    assert after.hits == before.hits + 1
    assert after.misses == before.misses  # the long key never reached the cache
    assert after.currsize == before.currsize
