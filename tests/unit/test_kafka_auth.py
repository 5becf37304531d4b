"""How ndxp's clients authenticate: settings from the environment, never the password shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ndxp.kafka.auth import KafkaAuth, KafkaAuthError
from ndxp.settings import LedgerSettings, RouterSettings

SECRET = "s3cr3t-Pa55word-that-must-never-show"


def test_nothing_set_is_plaintext_with_no_client_arguments() -> None:
    auth = KafkaAuth.from_env({})
    assert auth == KafkaAuth()
    assert not auth.sasl
    assert auth.aiokafka() == {}  # clients are built exactly as without authentication
    assert auth.confluent() == {}
    assert auth.faust_credentials() is None  # Faust's default
    assert RouterSettings.from_env({}).auth == KafkaAuth()
    assert LedgerSettings.from_env({}).auth == KafkaAuth()


def test_a_user_and_a_password_file_mean_sasl_scram(tmp_path: Path) -> None:
    f = tmp_path / "000.00.00.H41.password"
    f.write_text(SECRET + "\n")
    auth = KafkaAuth.from_env(
        {"NDXP_KAFKA_USER": "000.00.00.H41", "NDXP_KAFKA_PASSWORD_FILE": str(f)}
    )
    assert (auth.security_protocol, auth.sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
    assert auth.aiokafka() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "000.00.00.H41",
        "sasl_plain_password": SECRET,  # the file's trailing newline is not part of it
    }
    assert auth.confluent() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "000.00.00.H41",
        "sasl.password": SECRET,
    }
    creds = auth.faust_credentials()
    assert (creds.username, creds.password, creds.mechanism.value, creds.protocol.value) == (
        "000.00.00.H41",
        SECRET,
        "SCRAM-SHA-512",
        "SASL_PLAINTEXT",
    )


def test_explicit_settings_and_a_password_in_the_environment() -> None:
    auth = KafkaAuth.from_env(
        {
            "NDXP_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
            "NDXP_KAFKA_SASL_MECHANISM": "scram-sha-256",
            "NDXP_KAFKA_USER": "ndxp-router",
            "NDXP_KAFKA_PASSWORD": SECRET,
        }
    )
    assert (auth.security_protocol, auth.sasl_mechanism, auth.password) == (
        "SASL_PLAINTEXT",
        "SCRAM-SHA-256",
        SECRET,
    )


def test_the_password_file_wins_over_the_variable(tmp_path: Path) -> None:
    f = tmp_path / "p"
    f.write_text("from-file")
    auth = KafkaAuth.from_env(
        {
            "NDXP_KAFKA_USER": "u",
            "NDXP_KAFKA_PASSWORD": "from-env",
            "NDXP_KAFKA_PASSWORD_FILE": str(f),
        }
    )
    assert auth.password == "from-file"


def test_sasl_ssl_builds_a_tls_context() -> None:
    auth = KafkaAuth.from_env(
        {
            "NDXP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "NDXP_KAFKA_USER": "u",
            "NDXP_KAFKA_PASSWORD": SECRET,
        }
    )
    kw = auth.aiokafka()
    assert kw["security_protocol"] == "SASL_SSL"
    assert kw["ssl_context"] is not None
    assert auth.faust_credentials().protocol.value == "SASL_SSL"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"NDXP_KAFKA_USER": "u"}, "no password for Kafka user 'u'"),
        ({"NDXP_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "needs a user"),
        ({"NDXP_KAFKA_SECURITY_PROTOCOL": "SSL"}, "must be one of"),
        (
            {"NDXP_KAFKA_USER": "u", "NDXP_KAFKA_PASSWORD": "p", "NDXP_KAFKA_SASL_MECHANISM": "X"},
            "must be one of",
        ),
        (
            {"NDXP_KAFKA_USER": "u", "NDXP_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"},
            "is PLAINTEXT",
        ),
        ({"NDXP_KAFKA_USER": "u", "NDXP_KAFKA_PASSWORD_FILE": "/nonexistent/p"}, "cannot read"),
    ],
)
def test_incomplete_or_wrong_settings_are_refused(environ: dict[str, str], says: str) -> None:
    with pytest.raises(KafkaAuthError, match=says):
        KafkaAuth.from_env(environ)


def test_the_password_never_shows_in_reprs(tmp_path: Path) -> None:
    f = tmp_path / "p"
    f.write_text(SECRET)
    environ = {"NDXP_KAFKA_USER": "000.00.00.H41", "NDXP_KAFKA_PASSWORD_FILE": str(f)}
    for_env = {**environ, "NDXP_KAFKA_PASSWORD": SECRET, "NDXP_KAFKA_PASSWORD_FILE": ""}
    for e in (environ, for_env):
        auth = KafkaAuth.from_env(e)
        router = RouterSettings.from_env(e)
        ledger = LedgerSettings.from_env(e)
        assert router.auth == auth
        shown = [repr(auth), str(auth), f"{auth}", repr(router), repr(ledger)]
        shown.append(repr(auth.faust_credentials()))
        for text in shown:
            assert SECRET not in text
        assert "000.00.00.H41" in repr(auth)
        assert "***" in repr(router)


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NDXP_KAFKA_"):
            monkeypatch.delenv(name)
    assert KafkaAuth.from_env() == KafkaAuth()
    monkeypatch.setenv("NDXP_KAFKA_USER", "ndxp-ledger")
    monkeypatch.setenv("NDXP_KAFKA_PASSWORD", SECRET)
    assert LedgerSettings.from_env().auth.username == "ndxp-ledger"
