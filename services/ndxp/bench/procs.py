"""The processes a benchmark runs, started as an operator starts them and watched from outside.

``ndxp router``, ``ndxp ledger run`` and ``ndxp simulate`` run at their **default settings**:
their environment has no ``NDXP_*`` variable but ``NDXP_VAR`` (where their files go) and what
names them (the consumer group, the web port), so a variable exported in the shell that runs
the bench cannot change what is measured; a contender that is not the default says so in its
label and passes its variables explicitly. Memory is each process tree's resident set,
sampled (a worker may start children), with the main process's own high-water mark.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ndxp.paths import REPO

NDXP = str(REPO / ".venv" / "bin" / "ndxp")


def clean_env(var: Path, **names: str) -> dict[str, str]:
    """This environment without any ``NDXP_*`` variable, plus ``NDXP_VAR`` and ``names``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NDXP_")}
    return {**env, "NDXP_VAR": str(var), **names}


class Proc:
    def __init__(self, label: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.label = label
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.cmd, self.env = cmd, env
        self.peak_kb = 0
        self.exits: list[dict[str, Any]] = []  # each exit it was restarted after
        self._progress = (-1, 0.0)  # (committed, since when) for the stall watch
        self._spawn()

    def _spawn(self) -> None:
        self._log_from = self.log.stat().st_size if self.log.exists() else 0
        self._progress = (self._progress[0], time.monotonic())  # a new worker's own time
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                preexec_fn=die_with_parent,
            )
        self.pid = self.popen.pid

    def watch(self, committed: int, lag: int, stall_s: float = 120.0) -> None:
        """A worker alive but stuck — its group committed nothing for ``stall_s`` while
        records wait — is killed (SIGKILL) and started again, and the stall recorded: its
        health endpoint may still say ok (a Faust fetcher that crashed leaves the worker up)."""
        now = time.monotonic()
        if committed != self._progress[0] or lag == 0:
            self._progress = (committed, now)
            return
        if now - self._progress[1] < stall_s or not self.alive():
            return
        self.exits.append(
            {
                "code": "stalled",
                "at": time.strftime("%H:%M:%S"),
                "error": f"nothing committed for {stall_s:.0f} s with {lag:,} records waiting "
                f"(killed, started again); first error logged: "
                f"{first_error(self.log, self._log_from)}",
            }
        )
        self.popen.kill()
        self.popen.wait(30)
        self._spawn()

    def keep_alive(self, delay_s: float = 2.0) -> None:
        """As the platform runs it (systemd ``Restart=on-failure``, ``RestartSec=2s``; the
        crash watch of ``make run``): a worker that exited is started again after
        ``delay_s``, and the exit is recorded (code, when, the last error it logged). Exit 78
        (the version guard's refusal) is not restarted."""
        code = self.popen.poll()
        if code is None:
            return
        if code == 78:
            self.check()
        self.exits.append(
            {
                "code": code,
                "at": time.strftime("%H:%M:%S"),
                "error": first_error(self.log, self._log_from),
            }
        )
        time.sleep(delay_s)
        self._spawn()

    def tick(self) -> None:
        """Once a second while a paced sender runs: started again if it exited, sampled."""
        self.keep_alive()
        self.sample()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check(self) -> None:
        if not self.alive():
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(
                f"{self.label} exited with {self.popen.returncode}; {self.log}:\n" + "\n".join(tail)
            )

    def sample(self) -> int:
        """The tree's resident set now (kB); the peak is kept."""
        now = tree_rss_kb(self.pid)
        self.peak_kb = max(self.peak_kb, now, hwm_kb(self.pid))
        return now

    @property
    def peak_rss_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)

    def stop(self, timeout: float = 60) -> None:
        if self.alive():
            self.sample()
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


def router(
    bootstrap: str,
    var: Path,
    group: str,
    port: int,
    label: str,
    settings: dict[str, str] | None = None,
    registry: Path | None = None,
) -> Proc:
    """``ndxp router`` at its defaults, or with the ``NDXP_*`` ``settings`` given; its group
    has the benchmarks' seal key (:mod:`ndxp.bench.seal`: their backlogs' answers carry tickets
    under it)."""
    from ndxp.bench.seal import provision

    provision(bootstrap, group)
    cmd = [NDXP, "router", "--bootstrap", bootstrap, "--group", group, "--web-port", str(port)]
    if registry is not None:
        cmd += ["--registry", str(registry)]
    env = clean_env(var, **(settings or {}))
    return Proc(label, cmd, env, var / "logs" / f"router-{label}.log")


def plain(
    bootstrap: str, var: Path, group: str, label: str, topics: list[str] | None = None
) -> Proc:
    """The plain aiokafka baseline (:mod:`ndxp.bench.plain`)."""
    cmd = [sys.executable, "-m", "ndxp.bench.plain", "--bootstrap", bootstrap, "--group", group]
    for topic in topics or []:
        cmd += ["--topic", topic]
    return Proc(label, cmd, clean_env(var), var / "logs" / f"plain-{label}.log")


def ledger(
    bootstrap: str,
    var: Path,
    group: str,
    port: int,
    dsn: str,
    label: str,
    settings: dict[str, str] | None = None,
) -> Proc:
    """``ndxp ledger run`` at its defaults in its own consumer group and engine folder (and
    the environment's ``settings``, as :func:`router`'s)."""
    cmd = [NDXP, "ledger", "run", "--bootstrap", bootstrap, "--dsn", dsn, "--web-port", str(port)]
    env = clean_env(var, NDXP_LEDGER_GROUP=group, **(settings or {}))
    return Proc(label, cmd, env, var / "logs" / f"ledger-{label}.log")


def simulator(
    bootstrap: str,
    var: Path,
    group: str,
    label: str,
    settings: dict[str, str] | None = None,
    members: Sequence[str] = (),
) -> Proc:
    """``ndxp simulate`` for every provider (or the ``members`` given), service time 0 (its
    default), at its defaults or with the ``NDXP_*`` ``settings`` given."""
    cmd = [NDXP, "simulate", *members, "--bootstrap", bootstrap, "--group", group]
    env = clean_env(var, **(settings or {}))
    return Proc(label, cmd, env, var / "logs" / f"simulator-{label}.log")


def paced_sender(
    module: str,
    bootstrap: str,
    var: Path,
    rate: float,
    seconds: float,
    tick: Callable[[], None],
    args: Sequence[str] = (),
) -> dict[str, Any]:
    """``python -m module --bootstrap B --rate R --seconds S --out F [args]`` (a paced sender:
    :mod:`ndxp.bench.caller`, :mod:`ndxp.bench.doc_caller`) in a process of its own, ``tick``
    called every second while it runs; what it wrote to ``F``."""
    import json
    import uuid

    from ndxp.bench.backlog import progress

    name = module.rsplit(".", 1)[-1]
    out = var / f"{name}-{rate:g}-{uuid.uuid4().hex[:4]}.json"
    cmd = [sys.executable, "-m", module, "--bootstrap", bootstrap, "--rate", str(rate)]
    cmd += ["--seconds", str(seconds), "--out", str(out), *args]
    log = var / "logs" / f"{name}-{rate:g}.log"
    with log.open("ab") as err:
        proc = subprocess.Popen(cmd, stderr=err, env=clean_env(var), preexec_fn=die_with_parent)
        t0 = time.monotonic()
        while proc.poll() is None:
            progress(f"{name} at {rate:,g}/s: {time.monotonic() - t0:.0f} s")
            tick()
            time.sleep(1)
    progress("")
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed ({proc.returncode}); see {log}")
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def first_error(log: Path, offset: int) -> str:
    """The first ERROR or CRITICAL message a worker logged (JSON lines) after ``offset``:
    what started its end, short."""
    import json

    try:
        with log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("ERROR", "CRITICAL"):
            return str(entry.get("msg"))[:300]
    return lines[-1][:300] if lines else ""


def die_with_parent() -> None:
    """In the child: SIGTERM when the bench process dies (PR_SET_PDEATHSIG), so that a bench
    killed or crashed leaves no router draining a broker that is being stopped."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def tree_rss_kb(pid: int) -> int:
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = Path(f"/proc/{p}/task").iterdir()
            children = [
                int(c)
                for t in tasks
                for c in (t / "children").read_text().split()
                if (t / "children").exists()
            ]
        except OSError:
            continue
        out.extend(children)
        todo.extend(children)
    return out


def router_setting(text: str) -> tuple[str, str]:
    """``NDXP_X=V`` of a ``--router-setting`` option as (name, value)."""
    import argparse

    name, sep, value = text.partition("=")
    if not sep or not name.startswith("NDXP_"):
        raise argparse.ArgumentTypeError(f"{text!r} is not NDXP_NAME=VALUE")
    return name, value


def add_router_setting_option(
    ap: Any, help: str = "run the router with this setting (default: none, its defaults)"
) -> None:
    """``--router-setting NDXP_X=V`` (repeatable): the router runs with these settings instead
    of its defaults; ``dict(args.router_setting)`` gives them."""
    ap.add_argument(
        "--router-setting",
        action="append",
        default=[],
        type=router_setting,
        metavar="NDXP_X=V",
        help=help,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants so far (0 when gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def children_cpu_seconds() -> float:
    """User + system CPU of this process's children that have ended and been waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class CpuMeter:
    """The CPU spent from now on by each process in ``who`` (name → pid, with its
    descendants), and by the children this process waits for meanwhile (a load run in a
    process of its own; a worker that exits and is restarted counts there too)."""

    def __init__(self, who: dict[str, int]) -> None:
        self.who = dict(who)
        self.started = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in self.who.items()}
        self.children_before = children_cpu_seconds()

    def cores(self) -> dict[str, float]:
        """The cores each process used since the meter started: its CPU seconds over the wall
        seconds (a process that exited and was started again under another pid reads wrong:
        leave it out)."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            name: round((cpu_seconds(pid) - self.before[name]) / elapsed, 2)
            for name, pid in self.who.items()
        }

    def ms_per(self, count: int, children: str) -> dict[str, float]:
        """CPU ms per ``count`` (answered calls, round trips) of each process so far, the
        waited-for children's under the name ``children``."""
        used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.who.items()}
        used[children] = children_cpu_seconds() - self.children_before
        n = max(1, count)
        return {name: round(s * 1000 / n, 3) for name, s in used.items()}


def broker_pid(bootstrap: str) -> int | None:
    """The pid of the broker listening on ``bootstrap``'s port (its data folder is named after
    the port), or ``None``."""
    mark = f"kafka-{bootstrap.rsplit(':', 1)[1]}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"java") and mark in cmdline:
            return int(entry.name)
    return None
