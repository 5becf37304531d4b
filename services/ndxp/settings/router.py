"""The router's settings (``ndxp router``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ndxp import env
from ndxp.core import wire
from ndxp.core.topology import (
    CODECS,
    COMPRESSION,
    MAX_MESSAGE_BYTES,
    MAX_VALUE_LIMIT,
    PRODUCER_BATCH_BYTES,
)
from ndxp.kafka.auth import KafkaAuth
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.settings.reading import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_REGISTRY_TOPIC,
    DEFAULT_VAR,
    FromEnv,
    mode,
)


class DeliveryMode(enum.StrEnum):
    """How the router's agents get records (``NDXP_ROUTER_DELIVERY``)."""

    RUNS = "runs"  # an event is a fetched run of a partition's records (ndxp.router.runs)
    EVENTS = "events"  # Faust's own: one event per record


class QuotaStageMode(enum.StrEnum):
    """Where the quota stage runs (``NDXP_QUOTA_STAGE``): schemas/WIRE.md."""

    # on the client's home partition of its member's ingress topic; a request that arrived on
    # another partition is written again there by the router (a sealed "home copy")
    HOME = "home"
    INLINE = "inline"  # the same, but a request elsewhere is refused MISPARTITIONED


_ROUTER_ENV = {
    "doc_keep_days": env.DOC_KEEP_DAYS,
    "doc_open_days": env.DOC_OPEN_DAYS,
    "doc_sweep_s": env.DOC_SWEEP_S,
    "bootstrap": env.BOOTSTRAP,
    "registry_path": env.REGISTRY,
    "max_value_bytes": env.MAX_VALUE_BYTES,
    "partitions": env.PARTITIONS,
    "replication": env.REPLICATION,
    "group": env.ROUTER_GROUP,
    "web_port": env.ROUTER_WEB_PORT,
    "var": env.VAR,
    "log_level": env.LOG_LEVEL,
    "registry_reload_s": env.REGISTRY_RELOAD_S,
    "registry_topic": env.REGISTRY_TOPIC,
    "quotas": env.QUOTAS,
    "quota_stage": env.QUOTA_STAGE,
    "max_poll_records": env.ROUTER_MAX_POLL_RECORDS,
    "stream_buffer_maxsize": env.ROUTER_STREAM_BUFFER,
    "producer_linger_s": env.ROUTER_LINGER_S,
    "compression": env.ROUTER_COMPRESSION,
    "fetch_max_wait_ms": env.ROUTER_FETCH_MAX_WAIT_MS,
    "switch_interval_ms": env.ROUTER_SWITCH_INTERVAL_MS,
    "busy_switch_interval_ms": env.ROUTER_BUSY_SWITCH_INTERVAL_MS,
    "max_fetch_total_bytes": env.ROUTER_MAX_FETCH_TOTAL_BYTES,
    "max_fetch_bytes": env.ROUTER_MAX_FETCH_BYTES,
    "direct_delivery": env.ROUTER_DIRECT_DELIVERY,
    "commit_once": env.ROUTER_COMMIT_ONCE,
    "delivery": env.ROUTER_DELIVERY,
    "run_buffer": env.ROUTER_RUN_BUFFER,
    "queued_records": env.ROUTER_QUEUED_RECORDS,
    "refusals_rate": env.ROUTER_REFUSALS_RATE,
    "refusals_burst": env.ROUTER_REFUSALS_BURST,
    "tickets": env.ROUTER_TICKETS,
    "batch": env.ROUTER_BATCH,
    "recovery_stall_s": env.ROUTER_RECOVERY_STALL_S,
    "recovery_give_up_s": env.ROUTER_RECOVERY_GIVE_UP_S,
}


@dataclass(frozen=True)
class RouterSettings(FromEnv):
    bootstrap: str = DEFAULT_BOOTSTRAP
    registry_path: Path = DEFAULT_REGISTRY
    max_value_bytes: int = wire.DEFAULT_MAX_VALUE_BYTES
    partitions: int = 3
    replication: int = 1  # replicas of each topic it creates (a cluster: 3, see env.REPLICATION)
    group: str = "ndxp-router"
    web_port: int = 6066
    var: Path = DEFAULT_VAR
    log_level: str = "INFO"
    registry_reload_s: float = 2.0
    # a delivery done, refused or withdrawn this long ago leaves the document state topic: as
    # long as the traffic topics keep its copies (7 days). The router holds every delivery
    # open or kept in memory (353 MB per million: python -m ndxp.bench.doc_state); 30 days
    # held 0.4 M at the busiest month.
    doc_keep_days: float = 7.0
    # an open delivery whose receiver takes no processing step this long leaves it too (a
    # receiver that never reports, or a sender opening deliveries nobody answers): with a
    # limit on documents, a client's share of the unanswered ones is at most its daily cap
    # times this (README, "The trust boundary": "Swell the router's delivery state")
    doc_open_days: float = 30.0
    doc_sweep_s: float = 600.0  # how often the status stage looks for such deliveries
    registry_topic: str = DEFAULT_REGISTRY_TOPIC
    caught_up_lag: int = 1000  # health says "caught up" while fewer messages wait than this
    quotas: bool = True  # enforce the registry's limits (NDXP_QUOTAS=off: routing alone)
    quota_stage: QuotaStageMode = QuotaStageMode.HOME
    # Throughput knobs (see ../shared/STACK.md); concurrency stays 1 per agent (faust#606).
    # 0: a routed request waits for no one (idle round trip p50 29 -> 18 ms); under load the
    # outbox's batches still fill while the sender is busy (the drain rate did not move)
    producer_linger_s: float = 0.0
    producer_max_batch_size: int = PRODUCER_BATCH_BYTES
    # The codec of the batches the router writes (aiokafka's, with cramjam). A member's record
    # is read inflated and routed: uncompressed, a zstd batch of a megabyte of zeros (54 bytes
    # on the ingress topic, counted so by the broker's byte quota) was a megabyte on the
    # receiver's topic. "none" writes uncompressed batches.
    compression: str = COMPRESSION
    max_poll_records: int = 1000
    fetch_max_wait_ms: int = 20  # Faust's 1500 throttles a router on many topics
    # sys.setswitchinterval in the router (Python's: 5 ms): the agents' thread waited that long
    # for Faust's consumer thread to plan its next fetch (README: a pass 4.7-5.4 -> 3.4-3.8 ms)
    switch_interval_ms: float = 0.2
    # ... and after a run of records that says a backlog waits (ndxp.core.switching): Python's
    # own, at which the router drained one client's backlog 6-20 % faster than at 0.2 ms
    busy_switch_interval_ms: float = 5.0
    # per partition and fetch (Faust consumer_max_fetch_size). aiokafka keeps fetching the
    # partitions that have no records buffered yet, so behind a backlog every partition ends
    # up holding one fetch's worth: 297 ingress partitions x 1 MiB held the router at 370-400 MB
    # through a national day's first minute, 128 KiB at 203-213 MB (same backlog, same run).
    # A record larger than this still comes whole (Kafka returns at least one batch).
    max_fetch_bytes: int = 256 * 1024
    # one fetch, all partitions (aiokafka's default is 50 MiB): `make bench` on the many-agency
    # mix, default router ÷ plain router 1.30-1.45 before at 279-314 MB, 1.17-1.33 after at
    # 158-159 MB (each to its own run's baseline; the national day 495 -> 286 MB)
    max_fetch_total_bytes: int = 8 * 1024 * 1024
    delivery: DeliveryMode = DeliveryMode.RUNS
    # runs buffered per stream (runs): too few and Faust's flow control pauses the ingress
    # partitions time and again (4: 9,100 msg/s; 32: 18,500 in one sweep)
    run_buffer: int = 32
    # records queued for the agents before the next fetch waits (runs; 0: only run_buffer
    # bounds it): behind a flood, what another member sends waits behind this many records,
    # not a full buffer of runs (ndxp.router.runs.deliver_runs). Another member's gateway
    # calls beside a 600,000-record refused flood (docs/hostile-runs/round3): median 4,679 ms
    # with neither this nor fair fetches, 558 ms at 2,000, 217 ms at 500
    queued_records: int = 500
    # refusals each member's ingress topic may cost this worker: `refusals_burst` at first,
    # `refusals_rate` a second after; past them its records wait on the broker until the
    # allowance is back (ndxp.core.refusal_allowance; 0: never held). Records routed cost none.
    refusals_rate: float = 1000.0
    refusals_burst: int = 10_000
    # a request's routed copy carries a ticket its provider echoes; a response without its
    # request's is refused UNSOLICITED (ndxp.core.ticket; off: responses are not asked for one,
    # for providers not yet echoing it)
    tickets: bool = True
    direct_delivery: bool = True  # ndxp.router.faust_fixes.direct_delivery (off: Faust's own)
    commit_once: bool = True  # ndxp.router.faust_fixes.commit_once (off: Faust's own commit)
    stream_buffer_maxsize: int = 16384  # events buffered per stream (events)
    batch: int = 1  # events: >1 takes events in batches (Faust take_events), see the sweep
    commit_interval_s: float = 1.0
    # A worker killed with SIGKILL is noticed after the session timeout; its partitions
    # then move to the survivors (or to it again once restarted).
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0
    # A table recovery that reads nothing of a changelog partition it still needs: logged
    # with the consumer's state after this, every check; the worker exits after the last
    # (router/recovery_watch.py: seen stuck once, a worker up and routing nothing)
    recovery_check_s: float = 10.0
    recovery_stall_s: float = 30.0
    recovery_give_up_s: float = 120.0
    topic_config: Mapping[str, str] = field(
        default_factory=lambda: {"retention.ms": str(7 * 24 * 3600 * 1000)}
    )
    auth: KafkaAuth = field(default_factory=KafkaAuth)  # PLAINTEXT unless NDXP_KAFKA_* say

    def __post_init__(self) -> None:
        # frozen: the checked enum member replaces the text it was given (environment, flags)
        object.__setattr__(self, "delivery", mode(DeliveryMode, self.delivery, env.ROUTER_DELIVERY))
        object.__setattr__(
            self, "quota_stage", mode(QuotaStageMode, self.quota_stage, env.QUOTA_STAGE)
        )
        for interval in (self.switch_interval_ms, self.busy_switch_interval_ms):
            if not 0 < interval <= 1000:  # set while routing: a value Python refuses is fatal
                raise ValueError(f"switch interval must be > 0 and <= 1000 ms, not {interval}")
        if self.compression not in CODECS:
            raise ValueError(
                f"{env.ROUTER_COMPRESSION} must be one of {', '.join(CODECS)}, not "
                f"{self.compression!r}"
            )
        if self.refusals_rate < 0 or (self.refusals_rate > 0 and self.refusals_burst < 1):
            raise ValueError(
                f"{env.ROUTER_REFUSALS_RATE} must be >= 0 (0: no member is held) and "
                f"{env.ROUTER_REFUSALS_BURST} >= 1, not {self.refusals_rate} and "
                f"{self.refusals_burst}"
            )
        if not 0 < self.max_value_bytes <= MAX_VALUE_LIMIT:
            raise ValueError(
                f"max value bytes must be 1..{MAX_VALUE_LIMIT} (a routed copy must fit the "
                f"egress topic's {MAX_MESSAGE_BYTES}), not {self.max_value_bytes}"
            )

    ENVIRONMENT: ClassVar[Mapping[str, str]] = _ROUTER_ENV  # each field's variable
