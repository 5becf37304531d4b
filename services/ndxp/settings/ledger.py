"""The ledger service's settings (``ndxp ledger``, and what ``ndxp sql`` / ``ndxp report`` need)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ndxp import env
from ndxp.kafka.auth import KafkaAuth
from ndxp.settings.reading import DEFAULT_BOOTSTRAP, DEFAULT_VAR, FromEnv

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
class LedgerSettings(FromEnv):
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

    ENVIRONMENT: ClassVar[Mapping[str, str]] = _LEDGER_ENV  # each field's variable
