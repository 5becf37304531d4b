"""The crash watch: a supervisord event listener that restarts the services with backoff.

supervisord runs the services with ``autorestart=false`` and ``startsecs=0``
(``infra/supervisor/platform.conf.in``), so every end it did not ask for is a
``PROCESS_STATE_EXITED`` event (a failed spawn a ``BACKOFF``, then ``FATAL``). For each, this
listener records the exit (time, exit status, supervisord's cause, uptime) in
``restarts.json``, writes one loud line to the service's own log and to its own, and starts
the service again after :meth:`~ndxp.supervise.restarts.Backoff.next_delay_s` (1 s, 2, 4 …
capped). A stop the operator asked for (``STOPPING``/``STOPPED``) cancels a pending start.

Protocol (supervisord's event listener protocol): write ``READY\\n`` on stdout, read a header
line and ``len`` bytes of payload from stdin, answer ``RESULT 2\\nOK``. Between events the
listener waits on stdin with a timeout, the next due start: one thread, no timers. Its own
log goes to stderr (supervisord writes it to ``$NDXP_VAR/log/supervise.log``); stdout is the
protocol's. On start it loads ``restarts.json`` and schedules every service it finds EXITED or
FATAL, so a restarted listener loses no pending start.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import sys
import time
import xmlrpc.client
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from ndxp.logs import JsonFormatter, configure
from ndxp.supervise.restarts import Backoff, Exit, Histories, exit_cause, ordinal
from ndxp.supervise.restarts import from_json as histories_from_json
from ndxp.supervise.restarts import to_json as histories_to_json
from ndxp.supervise.rpc import WAITING_FOR_US, Supervisor

log = logging.getLogger("ndxp.supervise")

READY = b"READY\n"
OK = b"RESULT 2\nOK"
CRASH_LOOP = 3  # exits in the window from which the log line says CRASH LOOP


class CrashWatch:
    """Records exits and schedules restarts for the named services of one supervisord."""

    def __init__(
        self, supervisor: Supervisor, services: Sequence[str], path: Path, backoff: Backoff
    ) -> None:
        self.supervisor = supervisor
        self.services = tuple(services)
        self.path = path
        self.backoff = backoff
        self.histories = load(path)

    # events ---------------------------------------------------------------------------------

    def on_event(self, event: str, payload: dict[str, str], now: float) -> None:
        name = payload.get("processname", "")
        if name not in self.services:
            return
        if event in ("PROCESS_STATE_EXITED", "PROCESS_STATE_BACKOFF"):
            self.exited(name, event.rsplit("_", 1)[1], now)
        elif event == "PROCESS_STATE_FATAL":
            self.schedule(name, now, "supervisord gave up spawning it (FATAL)")
        elif event in ("PROCESS_STATE_STOPPING", "PROCESS_STATE_STOPPED"):
            self.cancel(name, "stopped on request")

    def exited(self, name: str, how: str, now: float) -> None:
        info = self.supervisor.info(name)
        if how == "BACKOFF":  # a failed spawn: no exit status, supervisord says why
            ended = Exit(now, None, info.spawnerr or "could not spawn", None)
        else:
            cause = exit_cause(self.supervisor.log_tail(), name) or (
                f"exit status {info.exitstatus}"
            )
            uptime = info.stop - info.start if info.start and info.stop >= info.start else None
            ended = Exit(info.stop or now, info.exitstatus, cause, uptime)
        self.histories = self.histories.with_(name, self.histories.of(name).after(ended))
        # a failed spawn is retried by supervisord itself (then FATAL, which we schedule)
        delay = None if how == "BACKOFF" else self.schedule(name, now, None)
        self.save(now)
        self.announce(name, info.logfile, ended, delay, now)

    def schedule(self, name: str, now: float, why: str | None) -> float:
        history = self.histories.of(name)
        delay = self.backoff.next_delay_s(history, now)
        self.histories = self.histories.with_(name, replace(history, next_start_at=now + delay))
        self.save(now)
        if why:
            log.error("%s: %s; starting it again in %.0f s", name, why, delay)
        return delay

    def cancel(self, name: str, why: str) -> None:
        history = self.histories.of(name)
        if history.next_start_at is not None:
            log.info("%s: %s, its pending restart is cancelled", name, why)
            self.histories = self.histories.with_(name, replace(history, next_start_at=None))
            self.save(time.time())

    def announce(
        self, name: str, logfile: str, ended: Exit, delay: float | None, now: float
    ) -> None:
        """One loud line in the listener's log and at the end of the service's own log."""
        recent = len(self.histories.of(name).since(now - self.backoff.window_s))
        minutes = self.backoff.window_s / 60
        ran = "" if ended.uptime_s is None else f" after {ended.uptime_s:.0f} s"
        then = "supervisord retries it" if delay is None else f"restarting in {delay:.0f} s"
        loop = "CRASH LOOP: " if recent >= CRASH_LOOP else ""
        message = (
            f"{loop}{name} exited ({ended.cause}){ran}: its {ordinal(recent)} exit in the last "
            f"{minutes:.0f} min; {then} (history: {self.path})"
        )
        log.error(message)
        if logfile:
            record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, (), None)
            handlers = logging.getLogger().handlers  # as configure() set it: the services' format
            formatter = (handlers[0].formatter if handlers else None) or JsonFormatter()
            try:
                with open(logfile, "a", encoding="utf-8") as f:
                    f.write(formatter.format(record) + "\n")
            except OSError as exc:
                log.warning("could not append to %s: %s", logfile, exc)

    # restarts -------------------------------------------------------------------------------

    def reconcile(self, now: float) -> None:
        """At start: schedule every service supervisord will not start by itself."""
        for name, info in self.supervisor.all().items():
            waiting = name in self.services and info.state in WAITING_FOR_US
            if waiting and self.histories.of(name).next_start_at is None:
                self.schedule(name, now, f"found {info.state} at the listener's start")

    def next_due(self) -> float | None:
        due = [h.next_start_at for h in self.histories.services.values() if h.next_start_at]
        return min(due) if due else None

    def start_due(self, now: float) -> None:
        """Start each service whose time has come, unless it runs again already (started by
        hand). supervisord not answering: try again in a second."""
        for name, history in sorted(self.histories.services.items()):
            if history.next_start_at is None or history.next_start_at > now:
                continue
            retry: float | None = None
            try:
                state = self.supervisor.info(name).state
                if state in WAITING_FOR_US:
                    self.supervisor.start(name)
                    log.warning("%s started again (restart %d)", name, history.restarts)
                else:
                    log.info("%s is %s: no restart needed", name, state)
            except xmlrpc.client.Fault as exc:  # e.g. SHUTDOWN_STATE: supervisord is stopping
                log.error("%s not started again: %s", name, exc.faultString)
            except OSError as exc:
                log.warning("%s not started again yet (%s): retrying in 1 s", name, exc)
                retry = now + 1.0
            self.histories = self.histories.with_(name, replace(history, next_start_at=retry))
            self.save(now)

    # state ----------------------------------------------------------------------------------

    def save(self, now: float) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(histories_to_json(self.histories, now), indent=1) + "\n")
        os.replace(tmp, self.path)


def load(path: Path) -> Histories:
    try:
        return histories_from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return Histories()
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring an unreadable %s: %s", path, exc)
        return Histories()


def parse(header_line: bytes, body: bytes) -> tuple[str, dict[str, str]]:
    """The event's name and its payload's first line of ``key:value`` tokens."""
    headers = dict(t.split(":", 1) for t in header_line.decode().split())
    first = body.decode(errors="replace").split("\n", 1)[0]
    return headers.get("eventname", ""), dict(t.split(":", 1) for t in first.split() if ":" in t)


def listen(watch: CrashWatch, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The protocol loop; returns when supervisord closes stdin (it is shutting down)."""
    try:
        watch.reconcile(time.time())
    except (OSError, xmlrpc.client.Error) as exc:
        log.warning("could not look at the services at start: %s", exc)
    stdout.write(READY)
    stdout.flush()
    while True:
        due = watch.next_due()
        timeout = None if due is None else max(0.0, due - time.time())
        readable, _, _ = select.select([stdin], [], [], timeout)
        if not readable:
            watch.start_due(time.time())
            continue
        header = stdin.readline()
        if not header:
            return
        length = int(dict(t.split(":", 1) for t in header.decode().split())["len"])
        body = stdin.read(length)
        try:
            watch.on_event(*parse(header, body), time.time())
        except (OSError, xmlrpc.client.Error) as exc:  # supervisord busy or going down
            log.warning("event not handled: %s", exc)
        stdout.write(OK)
        stdout.write(READY)
        stdout.flush()


def main(args: argparse.Namespace) -> int:
    configure("INFO")
    services: list[str] = args.service
    path = Path(args.restarts)
    backoff = Backoff(args.base_s, args.cap_s, 60.0 * args.window_min)
    watch = CrashWatch(Supervisor.at_socket(args.socket), services, path, backoff)
    log.info(
        "crash watch on %s: restarts after %.0f s doubling up to %.0f s; history in %s",
        ", ".join(services),
        backoff.base_s,
        backoff.cap_s,
        path,
    )
    listen(watch, sys.stdin.buffer, sys.stdout.buffer)
    return 0
