"""The X-Road REST gateway's settings (``ndxp gateway``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ndxp import env
from ndxp.core import wire
from ndxp.kafka.auth import KafkaAuth
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.settings.reading import DEFAULT_BOOTSTRAP, DEFAULT_VAR, FromEnv

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
    "max_body_bytes_per_member": env.GATEWAY_MAX_BODY_BYTES_PER_MEMBER,
    "max_body_bytes": env.GATEWAY_MAX_BODY_BYTES,
    "max_connections": env.GATEWAY_MAX_CONNECTIONS,
    "max_connections_per_caller": env.GATEWAY_MAX_CONNECTIONS_PER_CALLER,
    "handshake_timeout_s": env.GATEWAY_HANDSHAKE_TIMEOUT_S,
}


@dataclass(frozen=True)
class GatewaySettings(FromEnv):
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
    # bytes of bodies held (arriving, or written and waiting for the answer) for the calls of
    # one member, and in all: past them a call is answered 429 / 503 before its body is read
    # (gateway/bodies.py); a chunked body counts as the value limit until it has arrived
    max_body_bytes_per_member: int = 64 << 20
    max_body_bytes: int = 512 << 20
    # a connection whose request head has not arrived by then (from its start, or from the end
    # of the previous answer) is closed: a caller sending headers a byte at a time holds a
    # connection at most this long
    idle_timeout_s: float = 30.0
    body_timeout_s: float = 30.0  # a body still arriving then is answered 408
    backlog: int = 2048  # connections waiting to be accepted (a burst of thousands of callers)
    # connections open at once, in all and per caller (its certificate's member: mutual TLS
    # only); past them a new one is answered 503 / 429 and closed
    # (gateway/connections.py): each costs a descriptor and ~0.2 MB whether a call comes or not
    max_connections: int = 8192
    max_connections_per_caller: int = 1024
    # a TLS handshake not finished by then closes the connection (before it is counted above)
    handshake_timeout_s: float = 10.0
    # mutual TLS: callers present a member certificate of the platform CA (ndxp certs), whose
    # member must be the X-Road-Client's or above it; off: plain HTTP, for local work only
    tls: bool = False
    log_level: str = "INFO"

    @property
    def secrets(self) -> Path:
        return self.var / "secrets"

    ENVIRONMENT: ClassVar[Mapping[str, str]] = _GATEWAY_ENV  # each field's variable
