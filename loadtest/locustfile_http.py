"""Locust over HTTP: each user is a connected member's client system without a Kafka client,
calling the services it is granted through the X-Road REST gateway (``ndxp gateway``), with
Locust's ``FastHttpUser``. The same traffic mix and profiles as ``locustfile.py``.

Run through ``make loadtest PROFILE=steady DURATION=60 HTTP=1`` (headless, then verified
against the ledger: ``loadtest/run.py --http``), or ``.venv/bin/locust -f
loadtest/locustfile_http.py --host http://127.0.0.1:8080`` for the web UI.

Environment: as ``locustfile.py`` (``NDXP_REGISTRY``, ``NDXP_PROFILE``, ``NDXP_DURATION_S``,
``NDXP_USER_RATE``, ``NDXP_LOADTEST_RUN``, ``NDXP_LOADTEST_OUT``, ``NDXP_LOADTEST_TIMEOUT_S``),
and ``NDXP_GATEWAY_URL`` (default http://127.0.0.1:8080) when no ``--host`` is given.

A call's outcome, as the ledger check counts it: answered (the provider's answer, with
``X-Road-Request-Hash``), refused by the router (an X-Road error carrying the rejection:
403, 404, 429, 502), timed out (504); each of them was written to Kafka ("delivered"). Calls
the gateway refused before Kafka (400, 409, 413, 414, 503) are failures and not delivered.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from locust import constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kafka_client import Counts
from this_run import CLIENTS, TIMEOUT_S, USER_RATE, next_id, write_counts
from this_run import Profile as Profile  # the load shape: Locust finds it in this namespace

from ndxp.core import traffic, xroad
from ndxp.core.identifiers import ServiceId, SubsystemId

REFUSED_BY_ROUTER = {403, 404, 429, 502}
COUNTS = Counts()


class MemberSystemOverHttp(FastHttpUser):
    """A client system of a connected member, calling through the gateway."""

    host = os.environ.get("NDXP_GATEWAY_URL", "http://127.0.0.1:8080")
    wait_time = constant_throughput(USER_RATE)
    network_timeout = TIMEOUT_S + 5
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.rng = random.Random()
        self.client_system = traffic.pick(self.rng, CLIENTS)
        self.client_header = xroad.client_header(SubsystemId.parse(self.client_system.id))

    @task
    def call_a_service(self) -> None:
        service = traffic.pick_service(self.rng, self.client_system)
        size = traffic.payload_size(self.rng)
        name = service.split(":", 3)[3]
        headers = {
            "X-Road-Client": self.client_header,
            "X-Road-Id": next_id(),
            "Content-Type": "application/octet-stream",
        }
        COUNTS.sent += 1
        with self.client.post(
            xroad.service_path(ServiceId.parse(service)),
            data=os.urandom(size),
            headers=headers,
            name=name,
            catch_response=True,
        ) as r:
            judge(r)


def judge(r: Any) -> None:
    error = r.headers.get("X-Road-Error")
    if r.status_code == 200 and error is None and r.headers.get("X-Road-Request-Hash"):
        COUNTS.delivered += 1
        COUNTS.answered += 1
        r.success()
        return
    code = error or f"HTTP {r.status_code}"
    COUNTS.by_code[code] = COUNTS.by_code.get(code, 0) + 1
    if r.status_code in REFUSED_BY_ROUTER:
        COUNTS.delivered += 1
        COUNTS.refused += 1
    elif r.status_code == 504:
        COUNTS.delivered += 1
        COUNTS.timed_out += 1
    else:
        COUNTS.send_failed += 1
    r.failure(code)


@events.quitting.add_listener
def close(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    write_counts({"transport": "http", **asdict(COUNTS)})
