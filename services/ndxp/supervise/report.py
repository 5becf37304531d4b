"""``status`` and ``check``: what runs, since when, how often it died, whether it answers.

Both read three sources: supervisord (state, pid, uptime), ``restarts.json`` (the exits the
crash watch recorded) and each service's health endpoint. A service is *unhealthy* when it
is not RUNNING, when its health endpoint does not answer 200 (the router answers 503 until
partitions are assigned), or when it exited in the window (``status``) or since the start
began (``check``). A router or ledger that is merely behind (``caught_up`` false) is shown,
not counted as unhealthy: under load that is normal.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ndxp.supervise.listener import load
from ndxp.supervise.restarts import History
from ndxp.supervise.rpc import RUNNING, ProcessInfo, Supervisor

TAIL_LINES = 30


@dataclass(frozen=True)
class Service:
    """A service as named on the command line: ``router=6066`` (health port) or ``simulator``."""

    name: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Service:
        name, _, port = text.partition("=")
        return cls(name, int(port) if port else None)


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class View:
    """One service seen now."""

    service: Service
    info: ProcessInfo | None  # None: supervisord does not answer or does not know it
    history: History
    health: Health | None  # None: no endpoint, or not running

    @property
    def name(self) -> str:
        return self.service.name


def health(port: int, timeout_s: float = 2.0) -> Health:
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            return Health(True, describe(body := json.loads(r.read())), body)
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            body = {}
        return Health(False, f"HTTP {exc.code}: {describe(body)}", body)
    except (OSError, ValueError) as exc:
        return Health(False, f"no answer on {url} ({getattr(exc, 'reason', exc)})")


def describe(body: dict[str, Any]) -> str:
    """``ready, caught up, lag 0`` from a router's or the ledger's health document (and the
    members a router holds for their refusals, if any)."""
    parts = []
    if "ready" in body:
        parts.append("ready" if body["ready"] else "NOT READY (no partitions assigned)")
    if "caught_up" in body:
        parts.append("caught up" if body["caught_up"] else "behind")
    if "lag" in body:
        parts.append(f"lag {body['lag']}")
    held = body.get("held")
    if isinstance(held, dict) and held:  # members waiting, their refusals' allowance spent
        parts.append("held for refusals: " + ", ".join(sorted(map(str, held))))
    return ", ".join(parts) or "answers"


def observe(
    supervisor: Supervisor, services: Sequence[Service], restarts: Path
) -> tuple[list[View], str | None]:
    """Every service now, and why supervisord could not be asked (None: it answered)."""
    histories = load(restarts)
    try:
        infos = supervisor.all()
        down = None
    except OSError as exc:
        infos, down = {}, f"supervisord is not running ({supervisor.serverurl}: {exc})"
    views = []
    for s in services:
        info = infos.get(s.name)
        h = health(s.port) if s.port is not None and info and info.state == RUNNING else None
        views.append(View(s, info, histories.of(s.name), h))
    return views, down


def problems(view: View, since: float, window: str) -> list[str]:
    """Why ``view`` is unhealthy (empty: healthy); ``since``: exits from then on count."""
    out = []
    info = view.info
    if info is None:
        out.append("not running")
    elif info.state != RUNNING:
        out.append(info.state + (f" ({info.spawnerr})" if info.spawnerr else ""))
    recent = view.history.since(since)
    if recent:
        times = "once" if len(recent) == 1 else f"{len(recent)} times"
        out.append(f"restarted {times} {window} (last exit: {recent[-1].cause})")
    due = view.history.next_start_at
    if due is not None and info is not None and info.state != RUNNING:
        out.append(f"next start in {max(0.0, due - time.time()):.0f} s")
    if view.health is not None and not view.health.ok:
        out.append(f"health failing: {view.health.detail}")
    return out


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def table(views: Sequence[View], since: float, window_min: float) -> list[str]:
    head = (
        "SERVICE",
        "STATE",
        "PID",
        "UPTIME",
        f"RESTARTS({window_min:g}m)",
        "LAST EXIT",
        "HEALTH",
    )
    rows = [head]
    for v in views:
        info = v.info
        last = v.history.last
        rows.append(
            (
                v.name,
                info.state if info else "-",
                str(info.pid) if info and info.pid else "-",
                duration(info.uptime_s if info else None),
                str(len(v.history.since(since))),
                f"{last.cause} at {time.strftime('%H:%M:%S', time.localtime(last.at))}"
                if last
                else "-",
                v.health.detail if v.health else ("-" if v.service.port else "(no endpoint)"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]) for r in rows
    ]


def tail(path: str, lines: int = TAIL_LINES) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 64 * 1024))
            return f.read().decode(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        return [f"(cannot read {path}: {exc})"]


def loud(views: Sequence[View], why: dict[str, list[str]], out: TextIO, logs: bool) -> None:
    """One loud line naming every unhealthy service; then, with ``logs``, each one's exits and
    the last lines of its log."""
    named = "; ".join(f"{n}: {', '.join(p)}" for n, p in why.items())
    print(f"ndxp: UNHEALTHY — {named}", file=out)
    if not logs:
        return
    for v in views:
        if v.name not in why:
            continue
        h = v.history
        pending = (
            f"; next start in {max(0.0, h.next_start_at - time.time()):.0f} s"
            if h.next_start_at
            else ""
        )
        restarts = f"{h.restarts} restart(s) since supervisord started{pending}"
        print(f"ndxp: {v.name}: {restarts}", file=out)
        if v.info and v.info.logfile:
            print(f"ndxp: last {TAIL_LINES} lines of {v.info.logfile}:", file=out)
            for line in tail(v.info.logfile):
                print(f"  {line}", file=out)


def status(args: argparse.Namespace, out: TextIO) -> int:
    services = [Service.parse(s) for s in args.service]
    supervisor = Supervisor.at_socket(args.socket)
    views, down = observe(supervisor, services, Path(args.restarts))
    since = time.time() - 60 * args.window_min
    if down:
        print(f"ndxp: {down}", file=out)
    for line in table(views, since, args.window_min):
        print(line, file=out)
    window = f"in the last {args.window_min:g} min"
    why = {v.name: p for v in views if (p := problems(v, since, window))}
    for problem in args.problem:
        name, _, what = problem.partition(":")
        why = {name: [what.strip()], **why}
    if why:
        loud(views, why, out, logs=False)
        print(f"ndxp: exits and restarts: {args.restarts}; logs: {args.log_dir}", file=out)
        return 1
    pid = supervisor.pid()
    print(
        f"ndxp: all healthy: {', '.join(v.name for v in views)} (supervisord pid {pid}; "
        f"exits: {args.restarts}; logs: {args.log_dir})",
        file=out,
    )
    return 0


def ended(why: dict[str, list[str]]) -> dict[str, list[str]]:
    """The services in ``why`` that died (not those merely not answering yet)."""
    waiting = ("health failing", "STARTING")
    return {n: p for n, p in why.items() if any(not x.startswith(waiting) for x in p)}


def settle(
    supervisor: Supervisor,
    services: Sequence[Service],
    restarts: Path,
    views: list[View],
    exited: dict[str, list[str]],
    since: float,
) -> list[View]:
    """``views`` once the crash watch has recorded each exit in ``exited`` (2 s at most)."""
    for _ in range(8):
        if all(v.history.since(since) for v in views if v.name in exited):
            break
        time.sleep(0.25)
        views, _ = observe(supervisor, services, restarts)
    return views


def check(args: argparse.Namespace, out: TextIO) -> int:
    """After a start: wait until every service answers, then check it is still the same
    process, still answering, ``--settle`` seconds later."""
    services = [Service.parse(s) for s in args.service]
    supervisor = Supervisor.at_socket(args.socket)
    restarts = Path(args.restarts)
    since = math.floor(time.time())  # restarts.json holds whole seconds (supervisord's)
    window = "since this start"
    deadline = time.monotonic() + args.wait
    announced: set[str] = set()
    while True:
        views, down = observe(supervisor, services, restarts)
        why = {v.name: p for v in views if (p := problems(v, since, window))}
        for v in views:
            if v.health and v.health.ok and v.name not in announced:
                announced.add(v.name)
                print(f"ndxp: {v.name} ready — http://127.0.0.1:{v.service.port}/health", file=out)
        exited = ended(why)
        if exited and not down:  # the report then names the exit's cause and the restarts
            views = settle(supervisor, services, restarts, views, exited, since)
            why = {v.name: p for v in views if (p := problems(v, since, window))}
            exited = ended(why) or exited
        if down or exited:
            if down:
                print(f"ndxp: {down}", file=out)
            loud(views, exited or why, out, logs=True)
            return 1
        if not why:
            break
        if time.monotonic() > deadline:
            print(f"ndxp: not ready after {args.wait:g} s", file=out)
            loud(views, why, out, logs=True)
            return 1
        time.sleep(0.5)
    pids = {v.name: v.info.pid for v in views if v.info}
    time.sleep(args.settle)
    views, down = observe(supervisor, services, restarts)
    why = {v.name: p for v in views if (p := problems(v, since, window))}
    for v in views:
        if v.info and pids.get(v.name) != v.info.pid and v.name not in why:
            why[v.name] = [f"restarted (pid {pids.get(v.name)} -> {v.info.pid})"]
    if down or why:
        if down:
            print(f"ndxp: {down}", file=out)
        loud(views, why, out, logs=True)
        return 1
    print(
        f"ndxp: {', '.join(v.name for v in views)} running and healthy, and still so "
        f"{args.settle:g} s later",
        file=out,
    )
    return 0
