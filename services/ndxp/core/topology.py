"""Which topics a registry needs, with explicit partitions and configs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ndxp.core import wire
from ndxp.core.registry import Registry

MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)


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
    out: list[TopicSpec] = []
    for member in sorted(registry.connected, key=lambda m: str(m.id)):
        out.append(TopicSpec(wire.ingress_topic(member.id), partitions, base))
        out.append(TopicSpec(wire.egress_topic(member.id), partitions, base))
    # Rejected messages are kept longer than traffic: they are evidence.
    rejected = {**base, "retention.ms": str(30 * 24 * 3600 * 1000)}
    out.append(TopicSpec(wire.REJECTED_TOPIC, partitions, rejected))
    return out


def quota_topics(group: str, partitions: int) -> list[TopicSpec]:
    """The router's internal topics for the quota stage, named after its consumer group:
    requests re-keyed by client, and the quota table's compacted changelog. Both have the
    same partition count, so partition p of each lives on the same worker."""
    base = {"max.message.bytes": str(MAX_MESSAGE_BYTES), "min.insync.replicas": "1"}
    return [
        TopicSpec(quota_requests_topic(group), partitions, {**base, "retention.ms": str(86400000)}),
        TopicSpec(quota_changelog_topic(group), partitions, {**base, "cleanup.policy": "compact"}),
    ]


def quota_requests_topic(group: str) -> str:
    return f"{group}-quota-requests"


def quota_changelog_topic(group: str) -> str:
    return f"{group}-quota-changelog"  # Faust's name for table "quota" of app ``group``


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
