"""The router's settings: one frozen object, read once at start (names in :mod:`ndxp.env`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ndxp import env
from ndxp.core import wire

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REGISTRY = REPO / "infra" / "registry" / "vn-sample.json"


@dataclass(frozen=True)
class RouterSettings:
    bootstrap: str = "127.0.0.1:9092"
    registry_path: Path = DEFAULT_REGISTRY
    max_value_bytes: int = wire.DEFAULT_MAX_VALUE_BYTES
    partitions: int = 3
    group: str = "ndxp-router"
    web_port: int = 6066
    var: Path = REPO / "var"
    log_level: str = "INFO"
    registry_reload_s: float = 2.0
    registry_topic: str = "ndxp.registry"
    # The quota stage (registry limits) is off by default until a faust-streaming restart
    # race it exposes is fixed (tests/integration/test_quota.py, the issue 4 notes).
    quotas: bool = False
    # Throughput knobs (see ../shared/STACK.md); concurrency stays 1 per agent (faust#606).
    producer_linger_s: float = 0.005
    producer_max_batch_size: int = 256 * 1024
    max_poll_records: int = 1000
    stream_buffer_maxsize: int = 16384
    commit_interval_s: float = 1.0
    # A worker killed with SIGKILL is noticed after the session timeout; its partitions
    # then move to the survivors (or to it again once restarted).
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0
    topic_config: Mapping[str, str] = field(
        default_factory=lambda: {"retention.ms": str(7 * 24 * 3600 * 1000)}
    )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> RouterSettings:
        e = os.environ if environ is None else environ
        base = cls()
        s = replace(
            base,
            bootstrap=e.get(env.BOOTSTRAP, base.bootstrap),
            registry_path=Path(e.get(env.REGISTRY, str(base.registry_path))),
            max_value_bytes=int(e.get(env.MAX_VALUE_BYTES, base.max_value_bytes)),
            partitions=int(e.get(env.PARTITIONS, base.partitions)),
            group=e.get(env.ROUTER_GROUP, base.group),
            web_port=int(e.get(env.ROUTER_WEB_PORT, base.web_port)),
            var=Path(e.get(env.VAR, str(base.var))),
            log_level=e.get(env.LOG_LEVEL, base.log_level),
            registry_reload_s=float(e.get(env.REGISTRY_RELOAD_S, base.registry_reload_s)),
            registry_topic=e.get(env.REGISTRY_TOPIC, base.registry_topic),
            quotas=e.get(env.QUOTAS, "off").lower() in ("on", "1", "true", "yes"),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(s, **clean) if clean else s  # type: ignore[arg-type]


@dataclass(frozen=True)
class LedgerSettings:
    """The ledger service's settings (and what ``ndxp sql`` / ``ndxp report`` need to find it)."""

    bootstrap: str = "127.0.0.1:9092"
    dsn: str = ""  # default: chdb:///<var>/ledger (embedded ClickHouse engine)
    group: str = "ndxp-ledger"
    web_port: int = 6067
    var: Path = REPO / "var"
    batch_rows: int = 20_000
    batch_seconds: float = 0.5
    max_poll_records: int = 5000
    log_level: str = "INFO"

    @property
    def ledger_dsn(self) -> str:
        return self.dsn or f"chdb://{self.var / 'ledger'}"

    @property
    def embedded(self) -> bool:
        return self.ledger_dsn.startswith("chdb:")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> LedgerSettings:
        e = os.environ if environ is None else environ
        base = cls()
        s = replace(
            base,
            bootstrap=e.get(env.BOOTSTRAP, base.bootstrap),
            dsn=e.get(env.LEDGER_DSN, base.dsn),
            group=e.get(env.LEDGER_GROUP, base.group),
            web_port=int(e.get(env.LEDGER_WEB_PORT, base.web_port)),
            var=Path(e.get(env.VAR, str(base.var))),
            batch_rows=int(e.get(env.LEDGER_BATCH_ROWS, base.batch_rows)),
            batch_seconds=float(e.get(env.LEDGER_BATCH_SECONDS, base.batch_seconds)),
            log_level=e.get(env.LOG_LEVEL, base.log_level),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(s, **clean) if clean else s  # type: ignore[arg-type]
