"""Test-side Kafka helpers (confluent-kafka: a second, independent client on the wire)."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from ndxp.core import wire
from ndxp.core.ticket import Tickets, ticket_key
from ndxp.core.topology import seal_topic
from ndxp.kafka.auth import KafkaAuth
from ndxp.kafka.seal import first_value

if TYPE_CHECKING:
    from ndxp.ledger.reader import ServiceReader

REPO = Path(__file__).resolve().parents[2]
NDXP = REPO / ".venv" / "bin" / "ndxp"


PROVIDER = "VN:GOV:000.00.00.H92"
SERVICE = f"{PROVIDER}:dv:tra-cuu:v1"


# Routers whose registry holds the test provider (PROVIDER) run with this many partitions,
# whatever NDXP_PARTITIONS the suite runs with: the first of them makes the provider's ingress
# topic and the others must agree (a router refuses another count), and 3 gives the quota tests
# clients off their home partition and two workers partitions each.
CAPPED_PARTITIONS = 3


def capped_registry(sender: str, daily: int) -> dict[str, object]:
    """A sender whose one-stop-shop system may call the provider ``daily`` times a day."""
    return {
        "version": f"quota-{sender}",
        "members": [
            {
                "id": f"VN:GOV:000.00.00.{sender}",
                "name": "sender (test)",
                "kind": "province_platform",
                "connected": True,
                "synthetic": True,
                "subsystems": [{"code": "motcua"}],
            },
            {
                "id": PROVIDER,
                "name": "provider (test)",
                "kind": "province_platform",
                "connected": True,
                "synthetic": True,
                "subsystems": [{"code": "dv", "services": [{"code": "tra-cuu", "version": "v1"}]}],
            },
        ],
        "access": [
            {"service": SERVICE, "member": f"VN:GOV:000.00.00.{sender}", "descendants": True}
        ],
        "limits": [
            {
                "name": "sender-daily",
                "member": f"VN:GOV:000.00.00.{sender}",
                "descendants": True,
                "service": SERVICE,
                "daily": daily,
            },
            {
                "name": "sender-overall",
                "member": f"VN:GOV:000.00.00.{sender}",
                "descendants": True,
                "rate": 100000,
                "burst": 100000,
            },
        ],
    }


def free_port(pair: bool = False) -> int:
    import socket

    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def partition_count(bootstrap: str, topic: str) -> int:
    """How many partitions ``topic`` has on the broker (the count it was created with:
    ``NDXP_PARTITIONS`` when a router made it)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"pc-{uuid.uuid4()}"})
    try:
        return len(c.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        c.close()


def high_watermark(bootstrap: str, topic: str, partition: int) -> int:
    """The partition's end, open transactions' records included (librdkafka's default,
    read_committed, gives the last stable offset: where an open transaction begins)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"hw-{uuid.uuid4()}",
            "isolation.level": "read_uncommitted",
        }
    )
    try:
        return int(c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1])
    finally:
        c.close()


def producer(bootstrap: str, extra: dict[str, Any] | None = None) -> Producer:
    return Producer(
        {
            **(extra or {}),
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 2,
            "message.max.bytes": 5 * 1024 * 1024,
            "partitioner": "murmur2_random",  # keys hashed as Kafka's Java client does
        }
    )


def send(
    p: Producer,
    topic: str,
    headers: Sequence[tuple[str, bytes | None]],
    value: bytes | None = b"{}",
    key: bytes | None = b"k",
    partition: int = -1,
    timestamp_ms: int = 0,
) -> None:
    kw: dict[str, Any] = {"partition": partition} if partition >= 0 else {}
    if timestamp_ms:
        kw["timestamp"] = timestamp_ms
    p.produce(topic, value=value, key=key, headers=list(headers), **kw)


def group_tickets(bootstrap: str, group: str) -> Tickets:
    """The tickets router group ``group`` stamps and checks (from its seal key, read as a
    worker reads it): for a test playing a provider that answers a request it never read."""
    key = asyncio.run(first_value(bootstrap, seal_topic(group), KafkaAuth()))
    assert key is not None, f"router group {group} has no seal key yet"
    return Tickets(ticket_key(key))


def request(mid: str, client: str, service: str, **extra: str) -> list[tuple[str, bytes]]:
    h = [
        ("ndxp-id", mid),
        ("ndxp-kind", "request"),
        ("ndxp-client", client),
        ("ndxp-service", service),
        *extra.items(),
    ]
    return [(k, v.encode()) for k, v in h]


def document(
    mid: str, client: str, doc_id: str, to: list[str], **extra: str
) -> list[tuple[str, bytes]]:
    """A document's headers (schemas/WIRE.md, "Documents"): type CV unless ``extra`` says."""
    h = {
        "ndxp-id": mid,
        "ndxp-kind": "document",
        "ndxp-client": client,
        "ndxp-doc-id": doc_id,
        "ndxp-doc-to": ",".join(to),
        "ndxp-doc-type": "CV",
        **extra,
    }
    return [(k, v.encode()) for k, v in h.items()]


def status(
    mid: str, client: str, doc_id: str, receiver: str, code: str, **extra: str
) -> list[tuple[str, bytes]]:
    """A status's headers (schemas/WIRE.md, "Documents"): ``code`` of ``doc_id`` at
    ``receiver``."""
    h = {
        "ndxp-id": mid,
        "ndxp-kind": "status",
        "ndxp-client": client,
        "ndxp-doc-id": doc_id,
        "ndxp-doc-receiver": receiver,
        "ndxp-doc-status": code,
        **extra,
    }
    return [(k, v.encode()) for k, v in h.items()]


def stream(
    bootstrap: str,
    topic: str,
    client: str,
    service: str,
    ids: list[str],
    per_second: int,
    keyed: bool = False,
) -> threading.Thread:
    """Send a request per id at a steady rate from a background thread (started). Keys
    spread the requests over every partition of the topic, or, ``keyed``, are the client id
    (all on the client's partition)."""

    def run() -> None:
        p = producer(bootstrap)
        for n, mid in enumerate(ids):
            key = client.encode() if keyed else str(n).encode()
            send(p, topic, request(mid, client, service), key=key)
            if n % 50 == 49:
                p.poll(0)
                time.sleep(50 / per_second)
        p.flush(30)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def hdr(m: Message, name: str) -> str | None:
    return wire.header(m.headers() or [], name)


class Tap:
    """Collects what arrives on topics from the moment it is created (their high watermarks)."""

    def __init__(self, bootstrap: str, topics: Iterable[str]) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"tap-{uuid.uuid4()}",
                "enable.auto.commit": False,
            }
        )
        meta = self.consumer.list_topics(timeout=10)
        tps = []
        for topic in topics:
            for p in meta.topics[topic].partitions:
                _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                tps.append(TopicPartition(topic, p, high))
        self.consumer.assign(tps)
        self.messages: list[Message] = []

    def collect(self, until: Callable[[list[Message]], bool], timeout: float = 30) -> list[Message]:
        deadline = time.monotonic() + timeout
        while not until(self.messages) and time.monotonic() < deadline:
            for m in self.consumer.consume(num_messages=1000, timeout=0.2):
                if m.error() is None:
                    self.messages.append(m)
        return self.messages

    def by_id(self, header: str = "ndxp-id") -> dict[str, list[Message]]:
        out: dict[str, list[Message]] = {}
        for m in self.messages:
            out.setdefault(hdr(m, header) or "", []).append(m)
        return out

    def close(self) -> None:
        self.consumer.close()


STARTED: list[ServiceProcess] = []  # every service process a test started, in order


def stop_left_running(before: int) -> list[str]:
    """Stop the service processes started since ``STARTED`` held ``before`` that still run
    (a test that failed before its own ``stop``: a router left running would go on reading
    the session broker's topics beside the next tests); their commands, for the report."""
    left = [p for p in STARTED[before:] if p.proc is not None and p.proc.poll() is None]
    for p in left:
        p.stop()
    del STARTED[before:]
    return [" ".join(p.command()[:3]) for p in left]


@pytest.fixture(autouse=True)
def no_service_left_running() -> Iterator[None]:
    """After each test, the service processes it started and did not stop are stopped (each
    suite's conftest imports this). Processes of module and session fixtures were started
    before it and are theirs to stop."""
    before = len(STARTED)
    yield
    left = stop_left_running(before)
    if left:
        print(f"\nstopped what the test left running: {left}")


_COMPLAINTS = ("WARNING", "ERROR", "CRITICAL")  # log levels ServiceProcess.complaints keeps


@dataclass
class ServiceProcess:
    """An ndxp service (router worker, ledger) in its own process, as operators run it."""

    bootstrap: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def is_ready(self, health: dict[str, Any]) -> bool:
        return health.get("status") == "ok"

    def start(self) -> ServiceProcess:
        env = {**os.environ, **self.env}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, env=env
            )
        if not any(p is self for p in STARTED):  # a restart stays its first start's
            STARTED.append(self)
        return self

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health", timeout=2) as r:
                return orjson.loads(r.read())  # type: ignore[no-any-return]
        except Exception as exc:
            body = getattr(exc, "read", None)
            if body is not None:
                try:
                    return orjson.loads(body())  # type: ignore[no-any-return]
                except Exception:
                    return None
            return None

    def wait_ready(self, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.command()[1]} exited {self.proc.returncode}:\n{self.tail()}"
                )
            h = self.health()
            if h and self.is_ready(h):
                return h
            time.sleep(0.3)
        raise RuntimeError(f"not ready after {timeout}s:\n{self.tail()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def complaints(self, n: int = 30) -> str:
        """The last ``n`` lines of its log at WARNING or worse (for a failing test's message:
        CI keeps its output, not the test's files)."""
        lines = self.log.read_text(errors="replace").splitlines()
        bad = [line for line in lines if any(f'"level":"{lv}"' in line for lv in _COMPLAINTS)]
        return f"{self.log.name}, its last warnings and errors:\n" + "\n".join(bad[-n:])


@dataclass
class RouterProcess(ServiceProcess):
    registry: Path = Path()
    group: str = "ndxp-router"

    def command(self) -> list[str]:
        return [
            str(NDXP),
            "router",
            "--bootstrap",
            self.bootstrap,
            "--registry",
            str(self.registry),
            "--group",
            self.group,
            "--web-port",
            str(self.web_port),
        ]

    def is_ready(self, health: dict[str, Any]) -> bool:
        return bool(health.get("ready"))


@dataclass
class LedgerProcess(ServiceProcess):
    dsn: str = ""

    def command(self) -> list[str]:
        return [
            str(NDXP),
            "ledger",
            "run",
            "--bootstrap",
            self.bootstrap,
            "--dsn",
            self.dsn,
            "--web-port",
            str(self.web_port),
        ]

    def sql(self, query: str) -> list[list[Any]]:
        return [list(r) for r in self.reader().read(query)[1]]

    def reader(self) -> ServiceReader:
        """``POST /sql`` with the token the service made in its ``NDXP_VAR``."""
        from ndxp.ledger.reader import ServiceReader
        from ndxp.settings import LedgerSettings

        settings = LedgerSettings.from_env({**os.environ, **self.env}, web_port=self.web_port)
        return ServiceReader.of(settings)


@dataclass
class GatewayProcess(ServiceProcess):
    """``ndxp gateway`` (plain HTTP) on ``web_port``."""

    timeout_s: float = 30.0
    tls: ssl.SSLContext | None = None  # mutual TLS: the context a member calls with

    def health(self) -> dict[str, Any] | None:
        if self.tls is None:
            return super().health()
        try:
            url = f"https://127.0.0.1:{self.web_port}/health"
            with urllib.request.urlopen(url, timeout=2, context=self.tls) as r:
                return orjson.loads(r.read())  # type: ignore[no-any-return]
        except Exception:
            return None

    def command(self) -> list[str]:
        return [
            str(NDXP),
            "gateway",
            "--bootstrap",
            self.bootstrap,
            "--port",
            str(self.web_port),
            "--timeout",
            str(self.timeout_s),
        ]


def started(
    args: Sequence[str], env: dict[str, str], log: Path, ready: bytes, timeout: float = 90
) -> subprocess.Popen[bytes]:
    """``ndxp ARGS`` started, once its log (from now on) holds ``ready``."""
    start = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        proc = subprocess.Popen([str(NDXP), *args], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log.open("rb") as f:
            f.seek(start)
            if ready in f.read():
                return proc
        if proc.poll() is not None:
            raise RuntimeError(f"ndxp {args[0]} exited {proc.returncode}; see {log}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"ndxp {args[0]} not ready after {timeout} s; see {log}")


def simulator(
    args: Sequence[str], env: dict[str, str], log: Path, timeout: float = 90
) -> subprocess.Popen[bytes]:
    """``ndxp simulate ARGS`` started and answering: its group has assigned and positioned its
    partitions. It starts a new group at the log's end, so a request routed before that would
    never be answered."""
    return started(["simulate", *args], env, log, b"answering requests", timeout)


def rest_providers(
    args: Sequence[str], env: dict[str, str], log: Path, timeout: float = 90
) -> subprocess.Popen[bytes]:
    """``ndxp simulate --http ARGS`` (the sample REST providers) started and listening: a call
    the adapter made before would be refused (a POST is not tried again)."""
    return started(["simulate", "--http", *args], env, log, b"REST providers on", timeout)


def adapter(
    args: Sequence[str], env: dict[str, str], log: Path, timeout: float = 90
) -> subprocess.Popen[bytes]:
    """``ndxp provide ARGS`` (the provider adapter) started and answering: its group has
    assigned its partitions and anchored them (a new group starts at the log's end)."""
    return started(["provide", *args], env, log, b"answering requests on", timeout)
