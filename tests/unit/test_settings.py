from pathlib import Path

import pytest

from ndxp.settings import (
    DeliveryMode,
    LedgerSettings,
    QuotaStageMode,
    RouterSettings,
    SettingsError,
)


def test_environment_then_flags() -> None:
    environ = {
        "NDXP_QUOTAS": "off",
        "NDXP_PARTITIONS": "5",
        "NDXP_REGISTRY": "/x.json",
        "NDXP_REGISTRY_RELOAD_S": "0.5",
        "NDXP_BOOTSTRAP": "h:1",
    }
    s = RouterSettings.from_env(environ, bootstrap=None, web_port=7)
    assert (s.quotas, s.partitions, s.registry_path, s.registry_reload_s) == (
        False,
        5,
        Path("/x.json"),
        0.5,
    )
    assert (s.bootstrap, s.web_port) == ("h:1", 7)  # a None flag leaves the environment's value
    assert RouterSettings.from_env({}) == RouterSettings()
    assert RouterSettings().quotas is True
    assert RouterSettings.from_env({"NDXP_QUOTA_STAGE": "inline"}).quota_stage == "inline"


def test_ledger_dsn_defaults_to_the_embedded_engine_in_var() -> None:
    s = LedgerSettings.from_env({"NDXP_VAR": "/tmp/v", "NDXP_LEDGER_BATCH_SECONDS": "0.2"})
    assert (s.ledger_dsn, s.embedded, s.batch_seconds) == ("chdb:///tmp/v/ledger", True, 0.2)
    server = LedgerSettings.from_env({"NDXP_LEDGER_DSN": "http://h:8123"})
    assert not server.embedded


def test_modes_are_enum_members_checked_when_the_settings_are_built() -> None:
    s = RouterSettings.from_env({"NDXP_ROUTER_DELIVERY": "events", "NDXP_QUOTA_STAGE": "inline"})
    assert s.delivery is DeliveryMode.EVENTS and s.quota_stage is QuotaStageMode.INLINE
    assert RouterSettings(delivery="runs").delivery is DeliveryMode.RUNS  # type: ignore[arg-type]
    d = RouterSettings()
    assert (d.delivery, d.quota_stage) == (DeliveryMode.RUNS, QuotaStageMode.HOME)
    with pytest.raises(
        SettingsError, match=r"^NDXP_ROUTER_DELIVERY must be one of runs, events, not 'run'$"
    ):
        RouterSettings.from_env({"NDXP_ROUTER_DELIVERY": "run"})
    with pytest.raises(
        SettingsError, match=r"^NDXP_QUOTA_STAGE must be one of home, inline, not 'Inline'$"
    ):
        RouterSettings.from_env({"NDXP_QUOTA_STAGE": "Inline"})
    with pytest.raises(SettingsError, match="NDXP_QUOTA_STAGE"):
        RouterSettings(quota_stage="later")  # type: ignore[arg-type]


def test_a_value_limit_whose_routed_copy_would_not_fit_the_egress_topic_is_refused() -> None:
    from ndxp.core.topology import MAX_VALUE_LIMIT

    assert RouterSettings.from_env({"NDXP_MAX_VALUE_BYTES": str(MAX_VALUE_LIMIT)})
    with pytest.raises(ValueError, match="max value bytes"):
        RouterSettings.from_env({"NDXP_MAX_VALUE_BYTES": str(MAX_VALUE_LIMIT + 1)})
    with pytest.raises(ValueError, match="max value bytes"):
        RouterSettings.from_env({"NDXP_MAX_VALUE_BYTES": "0"})


def test_the_router_writes_zstd_unless_told_none_and_refuses_any_other_codec() -> None:
    assert RouterSettings().compression == "zstd"
    assert RouterSettings.from_env({"NDXP_ROUTER_COMPRESSION": "none"}).compression == "none"
    for codec in ("gzip", "lz4", "ZSTD", ""):
        with pytest.raises(ValueError, match="NDXP_ROUTER_COMPRESSION"):
            RouterSettings.from_env({"NDXP_ROUTER_COMPRESSION": codec})


def test_a_members_refusals_allowance_from_the_environment() -> None:
    s = RouterSettings()
    assert (s.refusals_burst, s.refusals_rate) == (10_000, 1000.0)
    s = RouterSettings.from_env({"NDXP_ROUTER_REFUSALS_RATE": "0"})  # never held
    assert s.refusals_rate == 0
    s = RouterSettings.from_env(
        {"NDXP_ROUTER_REFUSALS_RATE": "50.5", "NDXP_ROUTER_REFUSALS_BURST": "200"}
    )
    assert (s.refusals_burst, s.refusals_rate) == (200, 50.5)
    for bad in ({"NDXP_ROUTER_REFUSALS_RATE": "-1"}, {"NDXP_ROUTER_REFUSALS_BURST": "0"}):
        with pytest.raises(ValueError, match="NDXP_ROUTER_REFUSALS"):
            RouterSettings.from_env(bad)


def test_analyst_sql_limits_from_the_environment() -> None:
    s = LedgerSettings.from_env(
        {
            "NDXP_VAR": "/srv/v",
            "NDXP_LEDGER_SQL_MAX_SECONDS": "5.5",
            "NDXP_LEDGER_SQL_MAX_MEMORY": "1000000",
            "NDXP_LEDGER_SQL_MAX_ROWS": "10",
            "NDXP_LEDGER_SQL_MAX_RESULT_BYTES": "2000",
            "NDXP_LEDGER_SQL_MAX_ROWS_TO_READ": "30",
            "NDXP_LEDGER_SQL_WORKERS": "3",
        }
    )
    assert (s.sql_max_seconds, s.sql_max_memory_bytes, s.sql_max_result_rows) == (5.5, 10**6, 10)
    assert (s.sql_max_result_bytes, s.sql_max_rows_to_read, s.sql_workers) == (2000, 30, 3)
    assert s.sql_token_file == Path("/srv/v/secrets/ledger-sql.token")
    d = LedgerSettings()
    assert (d.sql_max_seconds, d.sql_max_result_rows, d.sql_max_memory_bytes) == (
        30.0,
        100_000,
        384 * 2**20,
    )
    with pytest.raises(ValueError, match="sql_workers"):
        LedgerSettings.from_env({"NDXP_LEDGER_SQL_WORKERS": "0"})


def test_client_settings_are_the_broker_the_principal_and_the_registry() -> None:
    from ndxp.kafka.auth import KafkaAuth
    from ndxp.settings import ClientSettings

    s = ClientSettings.from_env(
        {
            "NDXP_BOOTSTRAP": "h:1",
            "NDXP_REGISTRY": "/r.json",
            "NDXP_REGISTRY_TOPIC": "t",
            "NDXP_REPLICATION": "3",
            "NDXP_VAR": "/v",
            "NDXP_KAFKA_USER": "000.00.00.H41",
            "NDXP_KAFKA_PASSWORD": "pw",
        },
        bootstrap=None,
        registry_path=Path("/flag.json"),
    )
    assert (s.bootstrap, s.registry_path, s.registry_topic, s.replication, s.var) == (
        "h:1",
        Path("/flag.json"),
        "t",
        3,
        Path("/v"),
    )
    assert s.auth.username == "000.00.00.H41" and "pw" not in repr(s)
    d = ClientSettings.from_env({})
    router = RouterSettings()
    assert (d.bootstrap, d.registry_path, d.registry_topic, d.var, d.auth) == (
        router.bootstrap,
        router.registry_path,
        router.registry_topic,
        router.var,
        KafkaAuth(),
    )
    assert (d.replication, router.replication) == (1, 1)
    assert RouterSettings.from_env({"NDXP_REPLICATION": "3"}).replication == 3


def test_the_ledger_consumers_timing_is_in_its_settings() -> None:
    s = LedgerSettings()
    assert (
        s.metadata_max_age_ms,
        s.fetch_max_wait_ms,
        s.session_timeout_ms,
        s.heartbeat_interval_ms,
    ) == (5000, 20, 10_000, 3000)


def test_settings_are_read_from_the_environment_only_at_the_command_entry_points() -> None:
    """``from_env`` (settings and credentials) is called by the commands (ndxp.cli, the
    benchmarks' mains) and nowhere below them: helpers take what they need as parameters."""
    import ast

    from ndxp.paths import REPO

    root = REPO / "services" / "ndxp"
    callers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "from_env":
                callers.add(str(path.relative_to(root).parent))
    assert callers <= {"cli", "bench", "settings"}, callers
    below = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.relative_to(root).parts[0] not in ("cli", "bench", "settings")
        and "from_env(" in p.read_text(encoding="utf-8")
    )
    assert below == ["kafka/auth.py"]  # where the credentials' from_env is defined
