"""Settings: one frozen object per service (router, ledger) and one for the client commands,
read once at start and passed down (names in :mod:`ndxp.env`)."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from ndxp import env
from ndxp.core import wire
from ndxp.core.errors import NdxpError
from ndxp.core.topology import MAX_MESSAGE_BYTES, MAX_VALUE_LIMIT, PRODUCER_BATCH_BYTES
from ndxp.kafka.auth import KafkaAuth
from ndxp.paths import DEFAULT_REGISTRY, REPO

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_REGISTRY_TOPIC = "ndxp.registry"
DEFAULT_VAR = REPO / "var"


class SettingsError(NdxpError, ValueError):
    """A setting with a value ndxp does not know (the CLI prints it on one line, exit 2)."""


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


@dataclass(frozen=True)
class RouterSettings:
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
    direct_delivery: bool = True  # ndxp.router.faust_fixes.direct_delivery (off: Faust's own)
    commit_once: bool = True  # ndxp.router.faust_fixes.commit_once (off: Faust's own commit)
    stream_buffer_maxsize: int = 16384  # events buffered per stream (events)
    batch: int = 1  # events: >1 takes events in batches (Faust take_events), see the sweep
    commit_interval_s: float = 1.0
    # A worker killed with SIGKILL is noticed after the session timeout; its partitions
    # then move to the survivors (or to it again once restarted).
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0
    topic_config: Mapping[str, str] = field(
        default_factory=lambda: {"retention.ms": str(7 * 24 * 3600 * 1000)}
    )
    auth: KafkaAuth = field(default_factory=KafkaAuth)  # PLAINTEXT unless NDXP_KAFKA_* say

    def __post_init__(self) -> None:
        # frozen: the checked enum member replaces the text it was given (environment, flags)
        object.__setattr__(
            self, "delivery", _mode(DeliveryMode, self.delivery, env.ROUTER_DELIVERY)
        )
        object.__setattr__(
            self, "quota_stage", _mode(QuotaStageMode, self.quota_stage, env.QUOTA_STAGE)
        )
        for interval in (self.switch_interval_ms, self.busy_switch_interval_ms):
            if not 0 < interval <= 1000:  # set while routing: a value Python refuses is fatal
                raise ValueError(f"switch interval must be > 0 and <= 1000 ms, not {interval}")
        if not 0 < self.max_value_bytes <= MAX_VALUE_LIMIT:
            raise ValueError(
                f"max value bytes must be 1..{MAX_VALUE_LIMIT} (a routed copy must fit the "
                f"egress topic's {MAX_MESSAGE_BYTES}), not {self.max_value_bytes}"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> RouterSettings:
        return _from_env(cls(), _ROUTER_ENV, environ, overrides)


_E = TypeVar("_E", bound=enum.StrEnum)


def _mode(kind: type[_E], value: object, var: str) -> _E:
    """``value`` as a member of ``kind``, or a refusal naming the variable and the values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise SettingsError(f"{var} must be one of {allowed}, not {value!r}") from None


_ROUTER_ENV = {
    "doc_keep_days": env.DOC_KEEP_DAYS,
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
    "fetch_max_wait_ms": env.ROUTER_FETCH_MAX_WAIT_MS,
    "switch_interval_ms": env.ROUTER_SWITCH_INTERVAL_MS,
    "busy_switch_interval_ms": env.ROUTER_BUSY_SWITCH_INTERVAL_MS,
    "max_fetch_total_bytes": env.ROUTER_MAX_FETCH_TOTAL_BYTES,
    "max_fetch_bytes": env.ROUTER_MAX_FETCH_BYTES,
    "direct_delivery": env.ROUTER_DIRECT_DELIVERY,
    "commit_once": env.ROUTER_COMMIT_ONCE,
    "delivery": env.ROUTER_DELIVERY,
    "run_buffer": env.ROUTER_RUN_BUFFER,
    "batch": env.ROUTER_BATCH,
}


@dataclass(frozen=True)
class LedgerSettings:
    """The ledger service's settings (and what ``ndxp sql`` / ``ndxp report`` need to find it)."""

    bootstrap: str = DEFAULT_BOOTSTRAP
    # default: chdb:///<var>/ledger (embedded ClickHouse engine); a server's may hold a password
    dsn: str = field(default="", repr=False)
    group: str = "ndxp-ledger"
    web_port: int = 6067
    var: Path = DEFAULT_VAR
    batch_rows: int = 20_000
    batch_seconds: float = 0.5
    max_poll_records: int = 5000
    # The consumer's timing: metadata refreshed often enough to see new members' egress topics
    # within seconds; a short long-poll (a long one on idle topics holds up the busy ones); a
    # ledger killed with SIGKILL loses its partitions after the session timeout.
    metadata_max_age_ms: int = 5000
    fetch_max_wait_ms: int = 20
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3000
    log_level: str = "INFO"
    caught_up_lag: int = 5000  # health says "caught up" while fewer messages wait than this
    auth: KafkaAuth = field(default_factory=KafkaAuth)  # PLAINTEXT unless NDXP_KAFKA_* say
    # Analysts' SQL (ndxp sql, ndxp report, POST /sql): limits the engine enforces on every
    # query, and how many run at once (each on its own engine client, never the ingest's).
    # Memory: the ledger process stays under 1 GB with the ingest's ~520 MB peak and
    # sql_workers x sql_max_memory_bytes beside it.
    sql_max_seconds: float = 30.0
    sql_max_memory_bytes: int = 384 * 1024 * 1024
    sql_max_result_rows: int = 100_000
    sql_max_result_bytes: int = 64 * 1024 * 1024
    sql_max_rows_to_read: int = 0  # 0: no limit (a count over the whole ledger is fair)
    sql_workers: int = 2
    sql_max_body_bytes: int = 64 * 1024  # POST /sql request body

    def __post_init__(self) -> None:
        if self.sql_workers < 1 or self.sql_max_seconds <= 0 or self.sql_max_result_rows < 1:
            raise ValueError("sql_workers, sql_max_seconds and sql_max_result_rows must be > 0")

    @property
    def ledger_dsn(self) -> str:
        return self.dsn or f"chdb://{self.var / 'ledger'}"

    @property
    def sql_token_file(self) -> Path:
        """The bearer token of POST /sql: made by the ledger service, read by ``ndxp sql``."""
        return self.var / "secrets" / "ledger-sql.token"

    @property
    def embedded(self) -> bool:
        return self.ledger_dsn.startswith("chdb:")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> LedgerSettings:
        return _from_env(cls(), _LEDGER_ENV, environ, overrides)


_LEDGER_ENV = {
    "bootstrap": env.BOOTSTRAP,
    "dsn": env.LEDGER_DSN,
    "group": env.LEDGER_GROUP,
    "web_port": env.LEDGER_WEB_PORT,
    "var": env.VAR,
    "batch_rows": env.LEDGER_BATCH_ROWS,
    "batch_seconds": env.LEDGER_BATCH_SECONDS,
    "log_level": env.LOG_LEVEL,
    "sql_max_seconds": env.LEDGER_SQL_MAX_SECONDS,
    "sql_max_memory_bytes": env.LEDGER_SQL_MAX_MEMORY,
    "sql_max_result_rows": env.LEDGER_SQL_MAX_ROWS,
    "sql_max_result_bytes": env.LEDGER_SQL_MAX_RESULT_BYTES,
    "sql_max_rows_to_read": env.LEDGER_SQL_MAX_ROWS_TO_READ,
    "sql_workers": env.LEDGER_SQL_WORKERS,
}


@dataclass(frozen=True)
class ClientSettings:
    """What a client command needs (``ndxp send``, ``tail``, ``simulate``, ``registry
    publish``, ``users``, ``acls``): the broker, who it is there, the registry file it reads,
    the registry topic it publishes to (created with ``replication`` replicas) and the runtime
    folder (password files). Not the router's settings: a member's tool is not a router."""

    bootstrap: str = DEFAULT_BOOTSTRAP
    auth: KafkaAuth = field(default_factory=KafkaAuth)  # PLAINTEXT unless NDXP_KAFKA_* say
    registry_path: Path = DEFAULT_REGISTRY
    registry_topic: str = DEFAULT_REGISTRY_TOPIC
    replication: int = 1
    var: Path = DEFAULT_VAR
    router_group: str = "ndxp-router"  # whose document state topic ``ndxp doc status`` reads

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ClientSettings:
        return _from_env(cls(), _CLIENT_ENV, environ, overrides)


_CLIENT_ENV = {
    "bootstrap": env.BOOTSTRAP,
    "registry_path": env.REGISTRY,
    "registry_topic": env.REGISTRY_TOPIC,
    "replication": env.REPLICATION,
    "var": env.VAR,
    "router_group": env.ROUTER_GROUP,
}


@dataclass(frozen=True)
class GatewaySettings:
    """``ndxp gateway``: the X-Road REST gateway for members without a Kafka client. It
    writes their calls to their ingress topics and reads the answers on their egress topics
    (one reply consumer per gateway process, never one per call)."""

    bootstrap: str = DEFAULT_BOOTSTRAP
    auth: KafkaAuth = field(default_factory=KafkaAuth)  # PLAINTEXT unless NDXP_KAFKA_* say
    registry_path: Path = DEFAULT_REGISTRY
    var: Path = DEFAULT_VAR
    host: str = "127.0.0.1"
    port: int = 8080
    timeout_s: float = 30.0  # a call with no answer by then is answered 504
    max_value_bytes: int = wire.DEFAULT_MAX_VALUE_BYTES  # a larger body is answered 413
    max_pending: int = 20_000  # calls waiting for an answer at once; more are answered 503
    # ... of one client subsystem: more are answered 429 (a caller flooding the gateway with
    # 6,000 calls at once delayed another member's calls by 20 s; the gateway answers ~1,000
    # calls/s here, so 512 waiting is about half a second of its work)
    max_pending_per_client: int = 512
    # a connection whose request head has not arrived by then (from its start, or from the end
    # of the previous answer) is closed: a caller sending headers a byte at a time holds a
    # connection at most this long
    idle_timeout_s: float = 30.0
    body_timeout_s: float = 30.0  # a body still arriving then is answered 408
    backlog: int = 2048  # connections waiting to be accepted (a burst of thousands of callers)
    # mutual TLS: callers present a member certificate of the platform CA (ndxp certs), whose
    # member must be the X-Road-Client's or above it; off: plain HTTP, for local work only
    tls: bool = False
    log_level: str = "INFO"

    @property
    def secrets(self) -> Path:
        return self.var / "secrets"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> GatewaySettings:
        return _from_env(cls(), _GATEWAY_ENV, environ, overrides)


@dataclass(frozen=True)
class ProviderSettings:
    """``ndxp provide``: the provider adapter. It reads the requests routed to subsystems that
    the registry says are reached over HTTP, calls them, and publishes their answers."""

    bootstrap: str = DEFAULT_BOOTSTRAP
    auth: KafkaAuth = field(default_factory=KafkaAuth)
    registry_path: Path = DEFAULT_REGISTRY
    var: Path = DEFAULT_VAR
    group: str = "ndxp-provider"
    max_value_bytes: int = wire.DEFAULT_MAX_VALUE_BYTES  # a larger answer is answered 502
    retries: int = 2  # for idempotent methods, after a failed connection or a timeout
    # requests worked on at once, across endpoints. One endpoint holds at most a quarter of
    # them (in its connections or waiting for one, at most its timeout); past that its calls
    # are answered 503 at once, so a provider that hangs never holds another's calls
    max_in_flight: int = 2000
    commit_interval_s: float = 0.2  # what is answered is committed this often
    log_level: str = "INFO"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ProviderSettings:
        return _from_env(cls(), _PROVIDER_ENV, environ, overrides)


_PROVIDER_ENV = {
    "bootstrap": env.BOOTSTRAP,
    "registry_path": env.REGISTRY,
    "var": env.VAR,
    "max_value_bytes": env.MAX_VALUE_BYTES,
    "commit_interval_s": env.PROVIDER_COMMIT_INTERVAL_S,
    "max_in_flight": env.PROVIDER_MAX_IN_FLIGHT,
}

_GATEWAY_ENV = {
    "bootstrap": env.BOOTSTRAP,
    "registry_path": env.REGISTRY,
    "var": env.VAR,
    "host": env.GATEWAY_HOST,
    "port": env.GATEWAY_PORT,
    "timeout_s": env.GATEWAY_TIMEOUT_S,
    "tls": env.GATEWAY_TLS,
    "max_value_bytes": env.MAX_VALUE_BYTES,
    "idle_timeout_s": env.GATEWAY_IDLE_TIMEOUT_S,
    "body_timeout_s": env.GATEWAY_BODY_TIMEOUT_S,
    "max_pending_per_client": env.GATEWAY_MAX_PENDING_PER_CLIENT,
}

_S = TypeVar(
    "_S", RouterSettings, LedgerSettings, ClientSettings, GatewaySettings, ProviderSettings
)


def _from_env(
    base: _S,
    names: Mapping[str, str],
    environ: Mapping[str, str] | None,
    overrides: Mapping[str, object],
) -> _S:
    """``base`` with each field named in ``names`` read from its environment variable
    (converted to the default's type), then the non-``None`` ``overrides`` (CLI flags)."""
    e = os.environ if environ is None else environ
    changes: dict[str, object] = {}
    for name, var in names.items():
        text = e.get(var)
        if text is not None:
            changes[name] = _convert(getattr(base, name), text)
    changes["auth"] = KafkaAuth.from_env(e)
    changes.update({k: v for k, v in overrides.items() if v is not None})
    return replace(base, **changes)  # type: ignore[arg-type]


def _convert(default: object, text: str) -> object:
    if isinstance(default, bool):
        return text.strip().lower() in ("on", "1", "true", "yes")
    if isinstance(default, Path):
        return Path(text)
    if isinstance(default, int | float):
        return type(default)(text)
    return text
