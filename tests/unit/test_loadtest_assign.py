"""The Locust user's answer consumers start at "now" on every partition, also on a topic made a
moment ago, whose leaders the broker may not know yet (loadtest/kafka_client.assign_from_now)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from ndxp.paths import REPO

sys.path.insert(0, str(REPO / "loadtest"))

import kafka_client


class Consumer:
    """offsets_for_times fails with ``errors`` first, one a call, then answers."""

    def __init__(self, errors: list[int]) -> None:
        self.errors = list(errors)
        self.asked = 0
        self.assigned: list[Any] = []

    def offsets_for_times(self, wanted: list[Any], timeout: float) -> list[Any]:
        self.asked += 1
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))
        return [TopicPartition(tp.topic, tp.partition, 7) for tp in wanted]

    def get_watermark_offsets(self, tp: Any, timeout: float) -> tuple[int, int]:
        return 0, 9

    def assign(self, partitions: list[Any]) -> None:
        self.assigned = partitions


def test_a_partition_without_a_leader_yet_is_asked_again(monkeypatch: Any) -> None:
    monkeypatch.setattr(kafka_client.time, "sleep", lambda s: None)
    consumer = Consumer([KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE])
    kafka_client.assign_from_now(consumer, [TopicPartition("ndxp.out.x", 0)])
    assert consumer.asked == 3
    assert [(tp.topic, tp.partition, tp.offset) for tp in consumer.assigned] == [
        ("ndxp.out.x", 0, 7)
    ]


def test_other_errors_and_a_leader_that_never_comes_are_raised(monkeypatch: Any) -> None:
    monkeypatch.setattr(kafka_client.time, "sleep", lambda s: None)
    consumer = Consumer([KafkaError._TIMED_OUT])
    with pytest.raises(KafkaException):
        kafka_client.assign_from_now(consumer, [TopicPartition("ndxp.out.x", 0)])
    assert consumer.asked == 1
    monkeypatch.setattr(kafka_client, "LEADERS_WAIT_S", -1.0)
    never = Consumer([KafkaError.NOT_LEADER_FOR_PARTITION] * 5)
    with pytest.raises(KafkaException):
        kafka_client.assign_from_now(never, [TopicPartition("ndxp.out.x", 0)])
    assert never.asked == 1
