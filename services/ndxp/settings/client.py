"""What a member's client commands need (``ndxp send``, ``tail``, ``simulate``, …)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ndxp import env
from ndxp.kafka.auth import KafkaAuth
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.settings.reading import DEFAULT_BOOTSTRAP, DEFAULT_REGISTRY_TOPIC, DEFAULT_VAR, FromEnv

_CLIENT_ENV = {
    "bootstrap": env.BOOTSTRAP,
    "registry_path": env.REGISTRY,
    "registry_topic": env.REGISTRY_TOPIC,
    "replication": env.REPLICATION,
    "var": env.VAR,
    "router_group": env.ROUTER_GROUP,
}


@dataclass(frozen=True)
class ClientSettings(FromEnv):
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

    ENVIRONMENT: ClassVar[Mapping[str, str]] = _CLIENT_ENV  # each field's variable
