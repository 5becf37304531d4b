"""supervisord's XML-RPC interface over its UNIX socket (``$NDXP_VAR/run/supervisord.sock``).

The calls used (``getProcessInfo``, ``getAllProcessInfo``, ``startProcess``, ``readLog``,
``getPID``) are supervisord's documented API. Two things are not documented API, and are
listed in :data:`RELIED_ON` (tests/unit/test_supervise.py checks them against the installed
supervisor): the transport ``supervisorctl`` and ``supervisor.childutils`` use for a UNIX
socket (``supervisor.xmlrpc.SupervisorTransport``), and the wording of supervisord's log line
on an exit (``exited: NAME (terminated by SIGKILL; not expected)``), read by
:func:`ndxp.supervise.restarts.exit_cause` because the exit status alone is -1 for any signal.
"""

from __future__ import annotations

import socket
import xmlrpc.client
from dataclasses import dataclass
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport  # type: ignore[import-untyped]

SUPERVISOR_VERSION = "4.3.0"  # pinned in pyproject.toml; RELIED_ON checked against it
RELIED_ON = (
    "supervisor.xmlrpc.SupervisorTransport(username, password, serverurl)",
    'supervisor.process.Subprocess.finish logs "exited: %s (%s)" % (name, msg + "; ...")',
)
RUNNING = "RUNNING"
# states in which supervisord will not start the program by itself: the listener must
WAITING_FOR_US = ("EXITED", "FATAL")


@dataclass(frozen=True)
class ProcessInfo:
    """What supervisord knows of one program (a subset of ``getProcessInfo``)."""

    name: str
    state: str  # RUNNING, STARTING, BACKOFF, EXITED, FATAL, STOPPED, STOPPING, UNKNOWN
    pid: int
    start: float  # epoch seconds of the last start (0: never started)
    stop: float  # of the last exit or stop
    now: float
    exitstatus: int
    spawnerr: str
    logfile: str

    @property
    def uptime_s(self) -> float | None:
        return self.now - self.start if self.state == RUNNING and self.start else None

    @classmethod
    def from_rpc(cls, d: dict[str, Any]) -> ProcessInfo:
        return cls(
            name=str(d["name"]),
            state=str(d["statename"]),
            pid=int(d["pid"]),
            start=float(d["start"]),
            stop=float(d["stop"]),
            now=float(d["now"]),
            exitstatus=int(d["exitstatus"]),
            spawnerr=str(d["spawnerr"]),
            logfile=str(d["stdout_logfile"]),
        )


class Supervisor:
    """A client of one supervisord. Every call raises :class:`OSError` when it is not
    running (no socket, connection refused) and ``xmlrpc.client.Fault`` on a refused call."""

    def __init__(self, serverurl: str, timeout_s: float = 10.0) -> None:
        self.serverurl = serverurl
        self._timeout_s = timeout_s

    @classmethod
    def at_socket(cls, path: str) -> Supervisor:
        return cls(f"unix://{path}")

    def _proxy(self) -> Any:
        # a new connection per call: the listener lives for days and supervisord may restart
        transport = SupervisorTransport(None, None, self.serverurl)
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def _call(self, method: str, *args: Any) -> Any:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(self._timeout_s)
        try:
            return getattr(self._proxy().supervisor, method)(*args)
        finally:
            socket.setdefaulttimeout(previous)

    def pid(self) -> int:
        return int(self._call("getPID"))

    def info(self, name: str) -> ProcessInfo:
        return ProcessInfo.from_rpc(cast(dict[str, Any], self._call("getProcessInfo", name)))

    def all(self) -> dict[str, ProcessInfo]:
        infos = cast(list[dict[str, Any]], self._call("getAllProcessInfo"))
        return {i.name: i for i in map(ProcessInfo.from_rpc, infos)}

    def start(self, name: str) -> None:
        self._call("startProcess", name, False)

    def log_tail(self, nbytes: int = 16384) -> str:
        """The end of supervisord's own log (its lines on each exit name the signal)."""
        try:
            return str(self._call("readLog", -nbytes, 0))
        except xmlrpc.client.Fault:  # shorter than nbytes: read it whole
            return str(self._call("readLog", 0, 0))
