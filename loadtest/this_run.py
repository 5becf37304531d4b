"""What both locustfiles share (over Kafka, ``locustfile.py``; over HTTP, ``locustfile_http.py``):
the run's settings from the environment, the registry's client systems, the request ids
``run.py`` finds in the ledger, the per-process counts it adds up, and the load profile.

Locust finds :class:`Profile` in a locustfile's namespace: each imports it."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from locust import LoadTestShape
from profiles import shape_for

from ndxp.core import traffic
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

REGISTRY = load_registry(Path(os.environ.get("NDXP_REGISTRY") or DEFAULT_REGISTRY))
CLIENTS = traffic.clients(REGISTRY)
NOTIFIERS = traffic.notifiers(REGISTRY)  # one-stop shops that send status notices
RUN = os.environ.get("NDXP_LOADTEST_RUN") or uuid.uuid4().hex[:8]
USER_RATE = float(os.environ.get("NDXP_USER_RATE", "1"))
TIMEOUT_S = float(os.environ.get("NDXP_LOADTEST_TIMEOUT_S", "30"))
OUT = os.environ.get("NDXP_LOADTEST_OUT")

_sequence = 0


def next_id() -> str:
    """This process's next request id: ``lt<run>-<pid>-<n>`` (run.py counts them by prefix)."""
    global _sequence
    _sequence += 1
    return f"lt{RUN}-{os.getpid()}-{_sequence}"


def write_counts(counts: dict[str, Any]) -> None:
    """This process's counts, for run.py to add up (when NDXP_LOADTEST_OUT names a folder)."""
    if OUT:
        path = Path(OUT) / f"process-{os.getpid()}.json"
        path.write_text(json.dumps({"tag": RUN, **counts}))


class Profile(LoadTestShape):
    """The load profile named by NDXP_PROFILE (loadtest/profiles.py). A locustfile whose users
    also send one-way notices says which share of its calls are answered (a subclass)."""

    answered_share = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.shape = shape_for(
            os.environ.get("NDXP_PROFILE", "steady"),
            float(os.environ.get("NDXP_DURATION_S", "60")),
            USER_RATE,
            OUT,
            self.answered_share,
        )

    def tick(self) -> tuple[int, float] | None:
        return self.shape.tick(self.get_run_time(), self.runner)
