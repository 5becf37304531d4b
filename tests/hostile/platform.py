"""The live platform the hostile suite runs against, started as operators run it: a broker of
its own on free ports, the router on the sample registry (quotas on, ``hop`` stage), the
ledger service on an embedded ClickHouse engine, and the provider simulator — and a watch
that acts as their supervisor: a service whose process exited is a crash, counted, logged
and restarted; the router's and the ledger's health are sampled for their lag, and their
memory for its peak."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from ndxp.bench import seal
from ndxp.core import wire
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry
from ndxp.settings import RouterSettings
from tests.integration.kafka_tools import (
    NDXP,
    REPO,
    LedgerProcess,
    RouterProcess,
    ServiceProcess,
    free_port,
)

ROUTER_GROUP = "hostile-router"
LEDGER_GROUP = "hostile-ledger"
SIMULATOR_GROUP = "hostile-simulator"
KAFKA = REPO / "infra" / "kafka" / "kafka.sh"
MS_2001 = 978_307_200_000
PROBE_TOPIC = f"{wire.INGRESS_PREFIX}hostile-retention-probe"  # no member's: nobody reads it


@dataclass
class SimulatorProcess(ServiceProcess):
    """``ndxp simulate``: answers every request routed to a provider (no health endpoint:
    ready when its consumer group is stable)."""

    group: str = SIMULATOR_GROUP

    def command(self) -> list[str]:
        return [str(NDXP), "simulate", "--bootstrap", self.bootstrap, "--group", self.group]

    def wait_ready(self, timeout: float = 90) -> dict[str, Any]:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited {self.proc.returncode}:\n{self.tail()}")
            [future] = admin.describe_consumer_groups([self.group]).values()
            try:
                g = future.result(10)
                if str(g.state).endswith("STABLE") and g.members:
                    return {"state": str(g.state)}
            except Exception:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"simulator not ready after {timeout}s:\n{self.tail()}")


@dataclass
class Broker:
    port: int
    var: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "NDXP_KAFKA_PORT": str(self.port), "NDXP_VAR": str(self.var)}

    def start(self) -> Broker:
        subprocess.run([str(KAFKA), "start"], env=self.env(), check=True)
        return self

    def stop(self) -> None:
        subprocess.run([str(KAFKA), "stop"], env=self.env(), check=False)

    def pid(self) -> int | None:
        try:
            return int((self.var / f"kafka-{self.port}" / "kafka.pid").read_text())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class Crash:
    service: str
    at_s: float  # seconds into the run
    what: str  # "exited 1", or "hung, alive (…)"
    tail: str  # the last lines of its log


@dataclass(frozen=True)
class Sample:
    at_s: float
    router_lag: int | None  # None: the endpoint did not answer in 2 s
    ledger_lag: int | None
    router_rss_mb: float | None
    ledger_rss_mb: float | None


class Platform:
    """Broker, router, ledger and simulator for one suite run."""

    def __init__(self, var: Path) -> None:
        self.var = var
        self.broker_started = 0.0  # time.monotonic() when the broker answered
        self.probe: tuple[str, dict[str, str]] = ("", {})  # plant_back_dated's topic, config
        self.broker = Broker(free_port(pair=True), var)
        env = {"NDXP_VAR": str(var), "NDXP_LOG_FORMAT": "text"}
        self.router = RouterProcess(
            self.broker.bootstrap,
            var / "router.log",
            env=env,
            registry=DEFAULT_REGISTRY,
            group=ROUTER_GROUP,
        )
        self.ledger = LedgerProcess(
            self.broker.bootstrap,
            var / "ledger.log",
            env={**env, "NDXP_LEDGER_GROUP": LEDGER_GROUP, "NDXP_LEDGER_BATCH_SECONDS": "0.2"},
            dsn=f"chdb://{var / 'ledger'}",
        )
        self.simulator = SimulatorProcess(self.broker.bootstrap, var / "simulator.log", env=env)
        self.services: dict[str, ServiceProcess] = {
            "router": self.router,
            "ledger": self.ledger,
            "simulator": self.simulator,
        }

    def start(self) -> Platform:
        self.broker.start()
        self.broker_started = time.monotonic()
        # the router group's seal key is the benchmarks' (ndxp.bench.seal), so the catalog's
        # valid answers carry the tickets this router checks (ndxp.core.ticket)
        seal.provision(self.broker.bootstrap, ROUTER_GROUP)
        self.router.start().wait_ready(timeout=180)  # it creates the topics
        self.ledger.start().wait_ready(timeout=120)
        self.simulator.start().wait_ready(timeout=120)
        return self

    def plant_back_dated(self) -> tuple[str, dict[str, str]]:
        """A topic configured as the platform configures ingress topics
        (:func:`ndxp.core.topology.topics_for` with the router's default topic settings),
        whose first record claims 2001 and whose second is dated now — planted at start, so
        the broker's first retention check (30 s after it starts) comes after it."""
        spec = next(
            t
            for t in topics_for(load_registry(DEFAULT_REGISTRY), 1, RouterSettings().topic_config)
            if t.name.startswith(wire.INGRESS_PREFIX)
        )
        admin = self.admin()
        topic = PROBE_TOPIC
        admin.create_topics([NewTopic(topic, 1, 1, config=dict(spec.config))])[topic].result(30)
        p = Producer({"bootstrap.servers": self.broker.bootstrap})
        p.produce(topic, b"2001", timestamp=MS_2001)
        p.flush(30)
        p.produce(topic, b"now")
        p.flush(30)
        return topic, dict(spec.config)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s (a hung worker does not exit on SIGTERM)."""
        for s in self.services.values():
            if s.proc is not None and s.proc.poll() is None:
                s.proc.terminate()
        for s in self.services.values():
            if s.proc is not None:
                try:
                    s.proc.wait(10)
                except subprocess.TimeoutExpired:
                    s.proc.kill()
                    s.proc.wait(10)
        self.broker.stop()

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.broker.bootstrap})


def rss_mb(proc: subprocess.Popen[bytes] | None) -> float | None:
    if proc is None or proc.poll() is not None:
        return None
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Watch:
    """The supervisor: every ``interval`` seconds, each service's process (exited: a crash,
    restarted — at most ``max_restarts`` times per service, so a record that kills a service
    at every start cannot keep the run going forever) and the health of the router and the
    ledger."""

    platform: Platform
    started: float = field(default_factory=time.monotonic)
    interval: float = 0.5
    max_restarts: int = 3
    crashes: list[Crash] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    broker_died: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _log_at: dict[str, int] = field(default_factory=dict)
    _scan_at: dict[str, int] = field(default_factory=dict)
    _crashed_at: dict[str, float] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def start(self) -> Watch:
        self._thread = threading.Thread(target=self._run, daemon=True, name="hostile-watch")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def now(self) -> float:
        return time.monotonic() - self.started

    def restarts(self, service: str | None = None) -> int:
        return sum(1 for c in self.crashes if service in (None, c.service))

    def max_lag(self, which: str) -> int:
        values = [getattr(s, f"{which}_lag") for s in self.samples]
        return max((v for v in values if v is not None), default=0)

    def peak_rss(self, which: str) -> float:
        values = [getattr(s, f"{which}_rss_mb") for s in self.samples]
        return max((v for v in values if v is not None), default=0.0)

    def _mark(self, name: str) -> None:
        """Where the service's log stands now: a crash's errors are read from here on."""
        log = self.platform.services[name].log
        self._log_at[name] = self._scan_at[name] = log.stat().st_size if log.exists() else 0
        self._crashed_at.pop(name, None)

    def _errors(self, name: str, most: int = 40) -> str:
        """The error lines (and exception lines of tracebacks) the service logged since it
        was last started, then its last lines."""
        log = self.platform.services[name].log
        with log.open("rb") as f:
            f.seek(self._log_at.get(name, 0))
            lines = f.read().decode(errors="replace").splitlines()
        errors = [
            line
            for line in lines
            if " ERROR " in line or " CRITICAL " in line or _exception_line(line)
        ]
        return "\n".join([*errors[:most], "…", *lines[-10:]])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> None:
        p = self.platform
        if not p.broker.alive() and not self.broker_died:
            self.broker_died = True
            self.crashes.append(Crash("broker", self.now(), "exited", ""))
        for name, service in p.services.items():
            proc = service.proc
            if proc is None:
                continue
            if proc.poll() is not None:
                what = f"exited {proc.returncode}"
            elif self._hung(name):
                # Faust logged a crashed service (its fetcher, say) but the process stays up:
                # it routes nothing and never exits. Killed and restarted, as a supervisor
                # with a liveness check would; what its health said is in the report.
                health = service.health()
                what = f"hung, alive (health then: {_brief(health)})"
                proc.kill()
                proc.wait(10)
            else:
                continue
            self.crashes.append(Crash(name, self.now(), what, self._errors(name)))
            if self.restarts(name) <= self.max_restarts:
                self._mark(name)
                service.start()
            else:
                service.proc = None  # given up: reported as down
        router, ledger = p.router.health(), p.ledger.health()
        self.samples.append(
            Sample(
                self.now(),
                None if router is None else int(router.get("lag", 0)),
                None if ledger is None else int(ledger.get("lag", 0)),
                rss_mb(p.router.proc),
                rss_mb(p.ledger.proc),
            )
        )

    def _hung(self, name: str) -> bool:
        """Has the service logged, since it was last started, that a part of it crashed
        (Faust's ``Crashed reason=``, then ``Stopping...``) — read incrementally?"""
        log = self.platform.services[name].log
        at = self._scan_at.get(name, self._log_at.get(name, 0))
        with log.open("rb") as f:
            f.seek(at)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self._scan_at[name] = at + cut
        if b"]: Crashed reason=" in data[:cut]:
            self._crashed_at[name] = time.monotonic()
        since = self._crashed_at.get(name)
        return since is not None and time.monotonic() - since > HANG_S


HANG_S = 10.0  # a service still alive this long after Faust logged a crash is hung


def _brief(health: dict[str, Any] | None) -> str:
    if health is None:
        return "no answer"
    keys = ("status", "ready", "caught_up", "lag", "assigned_partitions")
    return ", ".join(f"{k} {health[k]}" for k in keys if k in health)


def _exception_line(line: str) -> bool:
    """``KeyError: …``, ``aiokafka.errors.UnsupportedCodecError: …``, and a traceback's
    ``res_or_error = self._records[tp]`` line above it."""
    head = line.split(":", 1)[0].strip()
    named = head.endswith(("Error", "Exception")) and " " not in head
    return named or (line.startswith("    ") and "self._records[tp]" in line)


def end_offsets(admin: AdminClient, tps: list[TopicPartition]) -> dict[tuple[str, int], int]:
    """Each partition's end offset (its high watermark)."""
    if not tps:
        return {}
    futures = admin.list_offsets({tp: OffsetSpec.latest() for tp in tps}, request_timeout=30)
    return {(tp.topic, tp.partition): f.result(30).offset for tp, f in futures.items()}


def committed(
    admin: AdminClient, group: str, tps: list[TopicPartition]
) -> dict[tuple[str, int], int]:
    """The group's committed offset of each partition (-1: none yet)."""
    if not tps:
        return {}
    request = [ConsumerGroupTopicPartitions(group, tps)]
    [future] = admin.list_consumer_group_offsets(request, request_timeout=30).values()
    result = future.result(30)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}


def partitions(admin: AdminClient, match: Any) -> list[TopicPartition]:
    """Every partition of the topics whose name ``match`` accepts."""
    meta = admin.list_topics(timeout=30)
    return [
        TopicPartition(name, p)
        for name, t in sorted(meta.topics.items())
        if match(name)
        for p in sorted(t.partitions)
    ]
