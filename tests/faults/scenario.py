"""One fault under a steady stream of requests with known ids, and what came out of it.

A scenario starts a ledger and router worker(s) of its own (own groups, own ClickHouse
folder) on a registry where its sender's one-stop-shop may call the provider ``cap`` times a
day, sends ``1.5 × cap`` requests at a steady rate, injects the fault a third of the way in,
and then checks, from the wire and from the ledger:

- every id decided: routed to the provider's egress topic, or refused ``QUOTA_EXCEEDED`` in
  ``ndxp.rejected`` (lost = sent − decided, must be 0);
- quotas still exact: exactly ``cap`` routed, the rest refused;
- every id in the ledger exactly once, with the same outcome counts.

Recovery time: from the fault until the routing (every request sent more than a second ago
decided) and the ledger (every decision made more than two seconds ago in the ledger) were
caught up again, both after the fault was over (a broker or ledger brought back)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from tests.integration.kafka_tools import (
    CAPPED_PARTITIONS,
    SERVICE,
    LedgerProcess,
    RouterProcess,
    Tap,
    capped_registry,
    hdr,
    producer,
    request,
)

LONG = os.environ.get("NDXP_FAULTS", "short") == "long"
TOTAL = 12_000 if LONG else 3_000  # requests per fault
RATE = 400 if LONG else 300  # per second
OUTAGE_S = 15.0 if LONG else 5.0  # how long a killed broker or ledger stays down


@dataclass(frozen=True)
class Cluster:
    bootstrap: str
    var: Path
    env: dict[str, str]
    script: Path

    def node(self, command: str, n: int) -> None:
        subprocess.run([str(self.script), command, str(n)], env=self.env, check=True)

    def leader_of(self, topic: str, partition: int = 0) -> int:
        meta = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(topic, timeout=10)
        return int(meta.topics[topic].partitions[partition].leader)


@dataclass
class Result:
    fault: str
    sent: int
    routed: int
    rejected: int
    in_ledger: int
    lost: int
    duplicated_in_ledger: int
    redelivered_on_wire: int
    quota_exact: bool
    routing_recovered_s: float
    ledger_recovered_s: float
    decided_during_outage: int  # requests routed or refused while the fault lasted
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def table(results: list[Result]) -> list[str]:
    head = (
        f"{'fault':34} {'sent':>6} {'routed':>6} {'refused':>7} {'ledger':>6} {'lost':>4} "
        f"{'dup':>3} {'redeliv':>7} {'quota':>5} {'routing':>8} {'ledger':>7}"
    )
    lines = [
        head,
        f"{'':34} {'':>6} {'':>6} {'(quota)':>7} {'':>6} {'':>4} {'':>3} "
        f"{'(wire)':>7} {'exact':>5} {'back (s)':>8} {'back(s)':>7}",
    ]
    for r in results:
        lines.append(
            f"{r.fault:34} {r.sent:>6} {r.routed:>6} {r.rejected:>7} {r.in_ledger:>6} "
            f"{r.lost:>4} {r.duplicated_in_ledger:>3} {r.redelivered_on_wire:>7} "
            f"{'yes' if r.quota_exact else 'NO':>5} {_s(r.routing_recovered_s):>8} "
            f"{_s(r.ledger_recovered_s):>7}"
        )
    lines.append(
        f"{len(results)} faults, {sum(r.sent for r in results)} requests, "
        f"{sum(r.lost for r in results)} lost, "
        f"{sum(r.duplicated_in_ledger for r in results)} duplicated in the ledger "
        f"({'long' if LONG else 'short'} variant: {TOTAL} requests at {RATE}/s per fault, "
        f"outages of {OUTAGE_S:.0f} s)"
    )
    return lines


def _s(v: float) -> str:
    return f"{v:.1f}"


@dataclass
class Platform:
    """What a fault can act on: the cluster, the router workers, the ledger."""

    cluster: Cluster
    routers: list[RouterProcess]
    ledger: LedgerProcess
    ingress: str
    restored_at: float | None = None  # when the fault was over (set by the fault)
    notes: list[str] = field(default_factory=list)


@dataclass
class Progress:
    """Counts over time, sampled while the stream runs."""

    times: list[float] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    decided: list[int] = field(default_factory=list)
    ledger_times: list[float] = field(default_factory=list)
    ledgered: list[int] = field(default_factory=list)  # -1: the ledger did not answer

    def _at(self, series: list[int], t: float) -> int:
        i = bisect_right(self.times, t) - 1
        return series[i] if i >= 0 else 0

    def decided_at(self, t: float) -> int:
        return self._at(self.decided, t)

    def routing_recovered(self, since: float) -> float:
        """Seconds from ``since`` until routing was caught up for good: the last moment some
        request sent more than a second earlier was still undecided (0: never behind)."""
        behind = [
            t
            for t, d in zip(self.times, self.decided, strict=True)
            if t >= since and d < self._at(self.sent, t - 1.0)
        ]
        return max(behind, default=since) - since

    def ledger_recovered(self, since: float) -> float:
        """The same for the ledger: some decision made more than two seconds earlier was
        not in the ledger yet."""
        behind = [
            t
            for t, n in zip(self.ledger_times, self.ledgered, strict=True)
            if t >= since and n < self._at(self.decided, t - 2.0)
        ]
        return max(behind, default=since) - since


def run(
    cluster: Cluster,
    tmp: Path,
    name: str,
    sender: str,
    fault: Callable[[Platform], None],
    workers: int = 1,
) -> Result:
    cap = TOTAL * 2 // 3
    run_id = uuid.uuid4().hex[:8]
    doc = capped_registry(sender, cap)
    path = tmp / "registry.json"
    path.write_text(json.dumps(doc))
    env = {
        "NDXP_VAR": str(tmp),
        "NDXP_REPLICATION": "3",
        "NDXP_LOG_FORMAT": "text",
        "NDXP_PARTITIONS": str(CAPPED_PARTITIONS),  # a partition for each of the two workers
    }
    routers = [
        RouterProcess(
            cluster.bootstrap,
            tmp / f"router-{i}.log",
            env={**env, "NDXP_QUOTAS": "on"},
            registry=path,
            group=f"faults-{sender}-{run_id}",
        )
        for i in range(workers)
    ]
    ledger = LedgerProcess(
        cluster.bootstrap,
        tmp / "ledger.log",
        env={
            **env,
            "NDXP_LEDGER_GROUP": f"faults-ledger-{run_id}",
            "NDXP_LEDGER_BATCH_SECONDS": "0.2",
        },
        dsn=f"chdb://{tmp / 'ledger'}",
    )
    ingress = f"ndxp.in.000.00.00.{sender}"
    platform = Platform(cluster, routers, ledger, ingress)
    for r in routers:
        r.start()
    for r in routers:
        r.wait_ready(timeout=120)
    ledger.start().wait_ready(timeout=120)
    ids = [f"{run_id}-{i}" for i in range(TOTAL)]
    tap = Tap(cluster.bootstrap, [f"ndxp.out.{SERVICE.split(':')[2]}", "ndxp.rejected"])
    progress = Progress()
    acked = [0]
    writer = threading.Thread(target=_send, args=(cluster.bootstrap, ingress, sender, ids, acked))
    injected_at = 0.0
    injector: threading.Thread | None = None
    decided: set[str] = set()
    want = set(ids)
    done = threading.Event()
    sampler: threading.Thread | None = None
    try:
        writer.start()
        t0 = time.monotonic()
        sampler = threading.Thread(target=_sample_ledger, args=(ledger, run_id, progress, done))
        sampler.start()
        deadline = t0 + TOTAL / RATE + 300
        while time.monotonic() < deadline:
            for m in tap.consumer.consume(num_messages=1000, timeout=0.2):
                if m.error() is None:
                    tap.messages.append(m)
                    mid = hdr(m, "ndxp-id")
                    if mid in want:
                        decided.add(mid)
            now = time.monotonic()
            progress.times.append(now)
            progress.sent.append(acked[0])
            progress.decided.append(len(decided))
            if injector is None and acked[0] >= TOTAL // 3:
                injected_at = now
                injector = threading.Thread(target=fault, args=(platform,))
                injector.start()
            if (
                not writer.is_alive()
                and injector is not None
                and not injector.is_alive()
                and len(decided) == TOTAL
                and progress.ledgered
                and progress.ledgered[-1] >= TOTAL
            ):
                break
        writer.join(30)
        if injector is not None:
            injector.join(60)
        routed, refused, redelivered = _outcome(tap, want)
        rows = ledger.sql(
            "SELECT count(), uniqExact(message_id), countIf(outcome = 'routed'), "
            "countIf(error = 'QUOTA_EXCEEDED') FROM ndxp.ledger "
            f"WHERE startsWith(message_id, '{run_id}-')"
        )
    finally:
        done.set()
        if sampler is not None:
            sampler.join(30)
        tap.close()
        for r in routers:
            r.stop()
        ledger.stop()
    [[count, unique, ledger_routed, ledger_refused]] = rows
    restored = platform.restored_at or injected_at
    return Result(
        fault=name,
        sent=acked[0],
        routed=len(routed),
        rejected=len(refused),
        in_ledger=int(unique),
        lost=TOTAL - len(routed | refused),
        duplicated_in_ledger=int(count) - int(unique),
        redelivered_on_wire=redelivered,
        quota_exact=(
            len(routed) == cap
            and len(refused) == TOTAL - cap
            and (ledger_routed, ledger_refused) == (cap, TOTAL - cap)
        ),
        routing_recovered_s=progress.routing_recovered(injected_at),
        ledger_recovered_s=progress.ledger_recovered(injected_at),
        decided_during_outage=progress.decided_at(restored) - progress.decided_at(injected_at),
        notes="; ".join(platform.notes),
    )


def _send(bootstrap: str, topic: str, sender: str, ids: list[str], acked: list[int]) -> None:
    """Requests at a steady rate, spread over the partitions; ``acked`` counts the ones the
    cluster acknowledged (idempotent producer, acks=all)."""
    client = f"VN:GOV:000.00.00.{sender}:motcua"
    p = producer(bootstrap)

    def delivered(err: Any, _msg: Any) -> None:
        if err is None:
            acked[0] += 1

    start = time.monotonic()
    for n, mid in enumerate(ids):
        headers = request(mid, client, SERVICE)
        p.produce(topic, value=b"{}", key=str(n).encode(), headers=headers, on_delivery=delivered)
        p.poll(0)
        if n % 20 == 19:
            ahead = start + (n + 1) / RATE - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    p.flush(120)


def _outcome(tap: Tap, want: set[str]) -> tuple[set[str], set[str], int]:
    routed: set[str] = set()
    refused: set[str] = set()
    copies = 0
    for m in tap.messages:
        mid = hdr(m, "ndxp-id")
        if mid not in want:
            continue
        copies += 1
        if m.topic() == "ndxp.rejected":
            if hdr(m, "ndxp-error") == "QUOTA_EXCEEDED":
                refused.add(mid)
        else:
            routed.add(mid)
    return routed, refused, copies - len(routed | refused)


def _sample_ledger(
    ledger: LedgerProcess, run_id: str, progress: Progress, done: threading.Event
) -> None:
    """The ledger's count of the run's ids twice a second (in a thread of its own: a frozen
    ledger does not answer, and the stream must be watched meanwhile)."""
    while not done.wait(0.5):
        n = _ledger_count(ledger, run_id)
        progress.ledger_times.append(time.monotonic())
        progress.ledgered.append(-1 if n is None else n)  # down or starting: behind


def _ledger_count(ledger: LedgerProcess, run_id: str) -> int | None:
    try:
        [[n]] = ledger.sql(
            f"SELECT count() FROM ndxp.ledger WHERE startsWith(message_id, '{run_id}-')"
        )
        return int(n)
    except Exception:
        return None  # stopped, restarting, or frozen: no sample


# The faults --------------------------------------------------------------------------------


def kill_broker(platform: Platform) -> None:
    """kill -9 the broker leading the sender's ingress partition 0; bring it back later."""
    node = platform.cluster.leader_of(platform.ingress)
    platform.cluster.node("kill", node)
    platform.notes.append(f"node {node} killed")
    time.sleep(OUTAGE_S)
    platform.cluster.node("start-node", node)
    platform.restored_at = time.monotonic()


def kill_router_worker(platform: Platform) -> None:
    """kill -9 one of two router workers; the other takes over its partitions."""
    platform.routers[0].kill9()
    platform.restored_at = time.monotonic()


def kill_ledger(platform: Platform) -> None:
    """kill -9 the ledger service (mid-batch); restart it after the outage."""
    platform.ledger.kill9()
    time.sleep(OUTAGE_S)
    platform.ledger.start()
    platform.restored_at = time.monotonic()


def stall_ledger_engine(platform: Platform) -> None:
    """Freeze the ledger and its in-process ClickHouse engine (SIGSTOP) for the outage, then
    let it go on (SIGCONT): routing must not wait for it, and it must catch up."""
    proc = platform.ledger.proc
    assert proc is not None
    proc.send_signal(signal.SIGSTOP)
    time.sleep(OUTAGE_S)
    proc.send_signal(signal.SIGCONT)
    platform.restored_at = time.monotonic()
