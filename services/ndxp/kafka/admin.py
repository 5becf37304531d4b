"""Creating ndxp's topics on the broker (never by auto-creation)."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from ndxp.core.errors import NdxpError
from ndxp.core.topology import TopicSpec, limit_faults, partition_faults
from ndxp.kafka.auth import KafkaAuth

TOPIC_ALREADY_EXISTS = 36

log = logging.getLogger("ndxp.topics")


async def ensure_topics(
    bootstrap: str, specs: list[TopicSpec], auth: KafkaAuth, replication: int
) -> list[str]:
    """Create the topics that do not exist yet, each with ``replication`` replicas (1 on a
    single broker, 3 on a cluster: the caller's settings say); return the names created.

    Safe to run from several processes at once: a topic another process created in the
    meantime counts as present; any other error from the broker is raised.
    """
    admin = await _admin_with_brokers(bootstrap, auth, replication)
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        for i in range(0, len(missing), 50):  # keep each CreateTopics request small
            batch = missing[i : i + 50]
            new = [
                NewTopic(s.name, s.partitions, replication, topic_configs=_configs(s, replication))
                for s in batch
            ]
            response = await admin.create_topics(new, timeout_ms=30000)
            for name, code, *rest in response.topic_errors:
                if code == 0:
                    created.append(name)
                elif code != TOPIC_ALREADY_EXISTS:
                    message = rest[0] if rest else ""
                    raise NdxpError(f"cannot create topic {name}: error {code} {message}")
        if created:
            log.info("created %d topics", len(created))
        return created
    finally:
        await admin.close()


async def check_topics(
    bootstrap: str, specs: list[TopicSpec], auth: KafkaAuth, replication: int
) -> None:
    """Reconcile and check what the router's guarantees rest on in existing topics.

    - Ingress topics must stamp records as the broker appends them
      (``message.timestamp.type=LogAppendTime``: the platform's time, schemas/WIRE.md#time).
      One created before ndxp set that (or changed by hand) is set again, with every other
      config ndxp gives it (AlterConfigs replaces a topic's whole set: ndxp owns these).
    - The topics the router places records in by number (ingress topics, its co-partitioned
      internal topics) must have the partition count it was given
      (:func:`ndxp.core.topology.partition_faults`); otherwise NdxpError.
    - ``max.message.bytes`` must not break the size budget
      (:func:`ndxp.core.topology.limit_faults`): the router proves at start that every copy it
      writes fits, with the limits it created the topics with; otherwise NdxpError."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="ndxp-admin", **auth.aiokafka()
    )
    await admin.start()
    try:
        counts = await _partition_counts(admin, [s.name for s in specs if s.placed])
        wrong = partition_faults(counts, specs)
        if wrong:
            raise NdxpError(
                f"NDXP_PARTITIONS does not match the topics on the broker: {listed(wrong)} (topics "
                "keep the count they were created with: set NDXP_PARTITIONS to it)"
            )
        actual = await _describe(admin, [s.name for s in specs])
        stale = [
            s
            for s in specs
            if s.config.get("message.timestamp.type") == "LogAppendTime"
            and actual.get(s.name, {}).get("message.timestamp.type") not in (None, "LogAppendTime")
        ]
        for i in range(0, len(stale), 50):
            resources = [
                ConfigResource(ConfigResourceType.TOPIC, s.name, _configs(s, replication))
                for s in stale[i : i + 50]
            ]
            for response in await admin.alter_configs(resources):
                for code, message, _type, name in response.resources:
                    if code != 0:
                        raise NdxpError(f"cannot set the configs of {name}: {code} {message}")
        if stale:
            log.warning(
                "%d ingress topic(s) set to message.timestamp.type=LogAppendTime", len(stale)
            )
    finally:
        await admin.close()
    limits = {n: int(c["max.message.bytes"]) for n, c in actual.items() if "max.message.bytes" in c}
    faults = limit_faults(limits, specs)
    if faults:
        raise NdxpError(
            "topic size limits break the router's size budget (schemas/WIRE.md#sizes): "
            + listed(faults)
        )


def listed(faults: list[str]) -> str:
    """The first five of ``faults``, and how many more."""
    more = f"; and {len(faults) - 5} more" if len(faults) > 5 else ""
    return "; ".join(faults[:5]) + more


CHECKED = ("max.message.bytes", "message.timestamp.type")


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Each existing topic's partition count, as the broker's metadata has it."""
    out: dict[str, int] = {}
    for i in range(0, len(names), 100):
        for topic in await admin.describe_topics(names[i : i + 100]):
            if topic["error_code"] == 0:
                out[topic["topic"]] = len(topic["partitions"])
    return out


async def _describe(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The configs in :data:`CHECKED` of each topic, as the broker has them."""
    out: dict[str, dict[str, str]] = {}
    for i in range(0, len(names), 100):
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, n, dict.fromkeys(CHECKED))
            for n in names[i : i + 100]
        ]
        for response in await admin.describe_configs(resources):
            for _code, _message, _type, name, entries in response.resources:
                for entry in entries:
                    if entry[0] in CHECKED and entry[1] is not None:
                        out.setdefault(name, {})[entry[0]] = entry[1]
    return out


async def _admin_with_brokers(
    bootstrap: str, auth: KafkaAuth, brokers: int, timeout_s: float = 60.0
) -> AIOKafkaAdminClient:
    """A started admin client, once the cluster's metadata lists at least ``brokers``
    brokers. A cluster just started answers on its ports seconds before its brokers have
    registered with the controllers; asked then, the admin client finds no broker
    (``NodeNotReadyError``) or the broker refuses a replication factor over the brokers it
    knows."""
    deadline = time.monotonic() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="ndxp-admin", **auth.aiokafka()
        )
        why = ""
        try:
            await admin.start()
            known = len((await admin.describe_cluster())["brokers"])
            if known >= brokers:
                return admin
            why = f"{known} of {brokers} brokers registered"
        except KafkaError as exc:
            why = f"{type(exc).__name__}: {exc}"
        await admin.close()
        if time.monotonic() > deadline:
            raise NdxpError(
                f"the cluster at {bootstrap} is not ready after {timeout_s:.0f}s: {why}"
            )
        log.info("waiting for the cluster at %s (%s)", bootstrap, why)
        await asyncio.sleep(0.5)


def _configs(spec: TopicSpec, replication: int) -> dict[str, str]:
    """A replicated topic takes a write only when all but one of its replicas have it
    (with acks=all): one broker may die without losing an acknowledged record."""
    configs = dict(spec.config)
    if replication > 1:
        configs["min.insync.replicas"] = str(replication - 1)
    return configs
