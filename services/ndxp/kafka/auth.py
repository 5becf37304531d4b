"""How ndxp's Kafka clients authenticate to the broker (names in :mod:`ndxp.env`).

Nothing set means PLAINTEXT, exactly as before: every client is built with the same
arguments as without this module. In secured mode (``infra/kafka/secure.sh``, ``make
secure``) each tool runs as a principal:

    NDXP_KAFKA_USER=000.00.00.H41                      # a member's code, ndxp-router, ...
    NDXP_KAFKA_PASSWORD_FILE=var/secrets/000.00.00.H41.password   # preferred
    NDXP_KAFKA_PASSWORD=...                            # or the password itself
    NDXP_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT        # default once a user is set; SASL_SSL
    NDXP_KAFKA_SASL_MECHANISM=SCRAM-SHA-512            # default; SCRAM-SHA-256, PLAIN
    NDXP_KAFKA_SSL_CAFILE=/etc/ndxp/ca.pem             # SASL_SSL: CA bundle (default: system)

The password is read once, kept out of ``repr``/``str`` and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ndxp import env
from ndxp.core.errors import NdxpError

PLAINTEXT = "PLAINTEXT"
SASL_PLAINTEXT = "SASL_PLAINTEXT"
SASL_SSL = "SASL_SSL"
PROTOCOLS = (PLAINTEXT, SASL_PLAINTEXT, SASL_SSL)
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
DEFAULT_MECHANISM = "SCRAM-SHA-512"


class KafkaAuthError(NdxpError):
    pass


@dataclass(frozen=True)
class KafkaAuth:
    """One principal's way in to the broker; ``KafkaAuth()`` is PLAINTEXT (no principal)."""

    security_protocol: str = PLAINTEXT
    sasl_mechanism: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    password_file: Path | None = None
    ssl_cafile: Path | None = None

    def __post_init__(self) -> None:
        if self.security_protocol not in PROTOCOLS:
            raise KafkaAuthError(
                f"{env.KAFKA_SECURITY_PROTOCOL} must be one of {', '.join(PROTOCOLS)}, "
                f"not {self.security_protocol!r}"
            )
        if not self.sasl:
            if self.username:
                raise KafkaAuthError(
                    f"{env.KAFKA_USER} is set but {env.KAFKA_SECURITY_PROTOCOL} is PLAINTEXT"
                )
            return
        if self.sasl_mechanism not in MECHANISMS:
            raise KafkaAuthError(
                f"{env.KAFKA_SASL_MECHANISM} must be one of {', '.join(MECHANISMS)}, "
                f"not {self.sasl_mechanism!r}"
            )
        if not self.username:
            raise KafkaAuthError(f"{self.security_protocol} needs a user ({env.KAFKA_USER})")
        if not self.password:
            raise KafkaAuthError(
                f"no password for Kafka user {self.username!r}: set {env.KAFKA_PASSWORD_FILE} "
                f"(or {env.KAFKA_PASSWORD})"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaAuth:
        e = os.environ if environ is None else environ
        user = e.get(env.KAFKA_USER, "").strip()
        protocol = e.get(env.KAFKA_SECURITY_PROTOCOL, "").strip().upper()
        protocol = protocol or (SASL_PLAINTEXT if user else PLAINTEXT)
        if protocol == PLAINTEXT and not user:
            return cls()
        password_file = e.get(env.KAFKA_PASSWORD_FILE, "").strip()
        password = e.get(env.KAFKA_PASSWORD, "")
        if password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise KafkaAuthError(
                    f"cannot read {env.KAFKA_PASSWORD_FILE} {password_file}: {exc.strerror}"
                ) from None
        cafile = e.get(env.KAFKA_SSL_CAFILE, "").strip()
        return cls(
            security_protocol=protocol,
            sasl_mechanism=e.get(env.KAFKA_SASL_MECHANISM, "").strip().upper() or DEFAULT_MECHANISM,
            username=user,
            password=password,
            password_file=Path(password_file) if password_file else None,
            ssl_cafile=Path(cafile) if cafile else None,
        )

    @property
    def sasl(self) -> bool:
        return self.security_protocol != PLAINTEXT

    def __repr__(self) -> str:
        if not self.sasl:
            return "KafkaAuth(PLAINTEXT)"
        source = f"file {self.password_file}" if self.password_file else "environment"
        return (
            f"KafkaAuth({self.security_protocol} {self.sasl_mechanism} user={self.username!r}, "
            f"password from {source}: ***)"
        )

    __str__ = __repr__

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client (none for
        PLAINTEXT: those clients are built exactly as without authentication)."""
        if not self.sasl:
            return {}
        kw: dict[str, Any] = {
            "security_protocol": self.security_protocol,
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.security_protocol == SASL_SSL:
            kw["ssl_context"] = self.ssl_context()
        return kw

    def confluent(self) -> dict[str, str]:
        """librdkafka configuration entries (confluent-kafka); none for PLAINTEXT."""
        if not self.sasl:
            return {}
        conf = {
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
        }
        if self.ssl_cafile is not None:
            conf["ssl.ca.location"] = str(self.ssl_cafile)
        return conf

    def faust_credentials(self) -> Any:
        """Faust's ``broker_credentials``: ``None`` for PLAINTEXT (Faust's default), else a
        :class:`faust.SASLCredentials` (its repr shows the user name only)."""
        if not self.sasl:
            return None
        import faust

        return faust.SASLCredentials(
            username=self.username,
            password=self.password,
            mechanism=self.sasl_mechanism,
            ssl_context=self.ssl_context() if self.security_protocol == SASL_SSL else None,
        )

    def ssl_context(self) -> Any:
        from aiokafka.helpers import create_ssl_context

        return create_ssl_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
