"""Each service's exits and the delay before its next start: plain data, no I/O.

supervisord's own backoff only covers a program that dies within ``startsecs`` (1, 2, 3 s,
then FATAL); a service that ran a while and then died is restarted at once, forever: a router
that reads a poison record, dies, restarts and reads it again would loop as fast as it can
start. So supervisord restarts nothing itself here (``autorestart=false``, ``startsecs=0``:
every exit is an EXITED event with its exit status) and :mod:`ndxp.supervise.listener`
starts the service again after :meth:`Backoff.delay_s` of the exits in the window: 1 s after
a first exit, then 2, 4, 8 … capped (60 s by default); an exit older than the window no longer
counts, so a service that ran ten quiet minutes is restarted after 1 s again.

The history is what ``$NDXP_VAR/run/restarts.json`` holds (:func:`to_json`/:func:`from_json`):
``{"services": {"router": {"restarts": 3, "next_start_at": 1767..., "exits": [{"at": ...,
"time": "2026-...Z", "status": 70, "cause": "exit status 70", "uptime_s": 41.8}]}}}``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

KEPT_EXITS = 50  # per service in the file: enough to read a crash loop, bounded in size


@dataclass(frozen=True)
class Exit:
    """One end of a service the operator did not ask for."""

    at: float  # epoch seconds
    status: int | None  # the exit status; -1 when killed by a signal (cause names it)
    cause: str  # supervisord's words: "exit status 70", "terminated by SIGKILL", spawn error
    uptime_s: float | None = None  # how long it had run

    def to_json(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 3),
            "time": iso(self.at),
            "status": self.status,
            "cause": self.cause,
            "uptime_s": None if self.uptime_s is None else round(self.uptime_s, 1),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Exit:
        return cls(float(d["at"]), d.get("status"), str(d.get("cause", "")), d.get("uptime_s"))


@dataclass(frozen=True)
class History:
    """One service's recorded exits (the last :data:`KEPT_EXITS`) and its pending start."""

    exits: tuple[Exit, ...] = ()
    restarts: int = 0  # exits since supervisord started (each followed by a start)
    next_start_at: float | None = None  # a start the listener has scheduled

    def after(self, exit: Exit) -> History:
        return replace(self, exits=(*self.exits, exit)[-KEPT_EXITS:], restarts=self.restarts + 1)

    def since(self, t: float) -> list[Exit]:
        return [e for e in self.exits if e.at >= t]

    @property
    def last(self) -> Exit | None:
        return self.exits[-1] if self.exits else None


@dataclass(frozen=True)
class Backoff:
    """Exponential restart delays: ``base_s * 2**(n-1)`` for the n-th exit in the window,
    at most ``cap_s``."""

    base_s: float = 1.0
    cap_s: float = 60.0
    window_s: float = 600.0

    def delay_s(self, exits_in_window: int) -> float:
        if exits_in_window <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(exits_in_window - 1, 30))

    def next_delay_s(self, history: History, now: float) -> float:
        return self.delay_s(len(history.since(now - self.window_s)))


@dataclass(frozen=True)
class Histories:
    """Every service's history: the content of ``restarts.json``."""

    services: Mapping[str, History] = field(default_factory=dict)

    def of(self, name: str) -> History:
        return self.services.get(name, History())

    def with_(self, name: str, history: History) -> Histories:
        return Histories({**self.services, name: history})


def to_json(histories: Histories, now: float | None = None) -> dict[str, Any]:
    t = time.time() if now is None else now
    return {
        "updated": iso(t),
        "services": {
            name: {
                "restarts": h.restarts,
                "next_start_at": h.next_start_at,
                "next_start": None if h.next_start_at is None else iso(h.next_start_at),
                "exits": [e.to_json() for e in h.exits],
            }
            for name, h in sorted(histories.services.items())
        },
    }


def from_json(doc: Mapping[str, Any]) -> Histories:
    services = doc.get("services", {})
    return Histories(
        {
            str(name): History(
                tuple(Exit.from_json(e) for e in h.get("exits", [])),
                int(h.get("restarts", 0)),
                h.get("next_start_at"),
            )
            for name, h in services.items()
        }
    )


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def exit_cause(log_tail: str, name: str) -> str | None:
    """The cause supervisord logged for ``name``'s last exit ("exit status 70", "terminated
    by SIGKILL"): its exit status alone is -1 for any signal. ``log_tail`` is the end of
    supervisord's own log, lines like ``... WARN exited: router (terminated by SIGKILL; not
    expected)``."""
    marker = f"exited: {name} ("
    for line in reversed(log_tail.splitlines()):
        at = line.find(marker)
        if at >= 0:
            cause = line[at + len(marker) :].rstrip(")")
            return cause.split(";", 1)[0].strip()
    return None


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
