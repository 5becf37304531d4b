"""The provider adapter's settings (``ndxp provide``)."""

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

_PROVIDER_ENV = {
    "bootstrap": env.BOOTSTRAP,
    "registry_path": env.REGISTRY,
    "var": env.VAR,
    "max_value_bytes": env.MAX_VALUE_BYTES,
    "commit_interval_s": env.PROVIDER_COMMIT_INTERVAL_S,
    "max_in_flight": env.PROVIDER_MAX_IN_FLIGHT,
}


@dataclass(frozen=True)
class ProviderSettings(FromEnv):
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

    ENVIRONMENT: ClassVar[Mapping[str, str]] = _PROVIDER_ENV  # each field's variable
