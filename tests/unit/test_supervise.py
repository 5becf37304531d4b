"""The crash watch's arithmetic and bookkeeping (ndxp.supervise), without supervisord: the
integration test (tests/integration/test_platform.py) runs the real one."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from ndxp.supervise.listener import CrashWatch, listen, load, parse
from ndxp.supervise.report import Health, Service, View, describe, problems
from ndxp.supervise.restarts import (
    Backoff,
    Exit,
    Histories,
    History,
    exit_cause,
    from_json,
    to_json,
)
from ndxp.supervise.rpc import ProcessInfo

T0 = 1_800_000_000.0


def test_delays_double_from_the_base_up_to_the_cap() -> None:
    b = Backoff(base_s=1, cap_s=60, window_s=600)
    assert [b.delay_s(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert b.delay_s(10_000) == 60


def test_exits_older_than_the_window_no_longer_slow_the_restart() -> None:
    b = Backoff(base_s=1, cap_s=60, window_s=600)
    h = History()
    for t in (0, 10, 20, 30):
        h = h.after(Exit(T0 + t, 70, "exit status 70"))
    assert b.next_delay_s(h, T0 + 31) == 8  # four exits in ten minutes
    assert b.next_delay_s(h, T0 + 615) == 2  # those at +20 s and +30 s remain
    assert b.next_delay_s(h, T0 + 700) == 0
    assert h.restarts == 4


def test_the_history_keeps_the_last_exits_and_survives_its_file() -> None:
    h = History()
    for t in range(80):
        h = h.after(Exit(T0 + t, -1, "terminated by SIGKILL", 3.5))
    assert len(h.exits) == 50 and h.exits[0].at == T0 + 30 and h.restarts == 80
    back = from_json(to_json(Histories({"router": h}), T0))
    assert back.of("router") == h
    assert back.of("ledger") == History()


def test_the_exit_cause_is_read_from_supervisords_last_line_for_that_program() -> None:
    log = (
        "2026-12-02 04:50:56,718 WARN exited: router (exit status 70; not expected)\n"
        "2026-12-02 04:50:57,001 WARN exited: ledger (exit status 1; not expected)\n"
        "2026-12-02 04:51:04,852 WARN exited: router (terminated by SIGKILL; not expected)\n"
    )
    assert exit_cause(log, "router") == "terminated by SIGKILL"
    assert exit_cause(log, "ledger") == "exit status 1"
    assert exit_cause(log, "simulator") is None


def info(
    name: str, state: str, *, status: int = 0, start: float = T0, stop: float = T0
) -> ProcessInfo:
    return ProcessInfo(name, state, 0, start, stop, stop, status, "", "")


@dataclass
class FakeSupervisor:
    """Answers like supervisord's XML-RPC interface for the states the test sets."""

    states: dict[str, ProcessInfo]
    started: list[str] = field(default_factory=list)
    serverurl: str = "unix:///nowhere"

    def info(self, name: str) -> ProcessInfo:
        return self.states[name]

    def all(self) -> dict[str, ProcessInfo]:
        return dict(self.states)

    def start(self, name: str) -> None:
        self.started.append(name)
        self.states[name] = info(name, "RUNNING")

    def log_tail(self, nbytes: int = 16384) -> str:
        return "x WARN exited: router (exit status 70; not expected)\n"


def test_each_exit_is_recorded_and_the_restart_waits_longer_each_time(tmp_path: Path) -> None:
    sup = FakeSupervisor({"router": info("router", "RUNNING")})
    path = tmp_path / "restarts.json"
    watch = CrashWatch(sup, ["router"], path, Backoff(1, 60, 600))  # type: ignore[arg-type]
    now = T0
    for expected_delay in (1, 2, 4, 8):
        sup.states["router"] = info("router", "EXITED", status=70, start=now - 40, stop=now)
        watch.on_event(
            *parse(
                b"ver:3.0 eventname:PROCESS_STATE_EXITED len:0\n",
                b"processname:router groupname:router from_state:RUNNING expected:0 pid:1",
            ),
            now,
        )
        assert watch.next_due() == now + expected_delay
        before = len(sup.started)
        watch.start_due(now + expected_delay - 0.5)
        assert len(sup.started) == before  # not yet
        watch.start_due(now + expected_delay)
        assert len(sup.started) == before + 1 and watch.next_due() is None
        now += expected_delay + 1
    saved = load(path).of("router")
    assert saved.restarts == 4
    assert [e.cause for e in saved.exits] == ["exit status 70"] * 4
    assert saved.exits[0].uptime_s == 40


def test_a_stop_on_request_cancels_the_pending_restart(tmp_path: Path) -> None:
    sup = FakeSupervisor({"router": info("router", "EXITED", status=70)})
    watch = CrashWatch(sup, ["router"], tmp_path / "r.json", Backoff())  # type: ignore[arg-type]
    watch.on_event("PROCESS_STATE_EXITED", {"processname": "router"}, T0)
    assert watch.next_due() == T0 + 1
    sup.states["router"] = info("router", "STOPPED")
    watch.on_event("PROCESS_STATE_STOPPED", {"processname": "router"}, T0 + 0.5)
    assert watch.next_due() is None
    watch.start_due(T0 + 5)
    assert sup.started == []


def test_a_listener_started_late_schedules_what_supervisord_will_not_start(tmp_path: Path) -> None:
    sup = FakeSupervisor(
        {
            "router": info("router", "EXITED", status=70),
            "ledger": info("ledger", "RUNNING"),
            "simulator": info("simulator", "FATAL"),
        }
    )
    watch = CrashWatch(sup, ["router", "ledger", "simulator"], tmp_path / "r.json", Backoff())  # type: ignore[arg-type]
    watch.reconcile(T0)
    watch.start_due(T0 + 1)
    assert sorted(sup.started) == ["router", "simulator"]


def test_unhealthy_means_not_running_restarted_or_not_answering() -> None:
    running = info("router", "RUNNING")
    ok = Health(True, "ready, caught up, lag 0")
    quiet = History()
    crashed = History().after(Exit(T0, 70, "exit status 70"))
    window = "in the last 10 min"
    assert problems(View(Service("router", 1), running, quiet, ok), T0 - 600, window) == []
    assert problems(View(Service("router", 1), running, crashed, ok), T0 - 600, window) == [
        "restarted once in the last 10 min (last exit: exit status 70)"
    ]
    assert problems(View(Service("router", 1), running, crashed, ok), T0 + 1, window) == []
    failing = Health(False, "HTTP 503: NOT READY (no partitions assigned)")
    assert problems(View(Service("router", 1), running, quiet, failing), T0, window) == [
        "health failing: HTTP 503: NOT READY (no partitions assigned)"
    ]
    fatal = View(Service("ledger"), info("ledger", "FATAL"), quiet, None)
    assert problems(fatal, T0, window) == ["FATAL"]
    assert problems(View(Service("ledger"), None, quiet, None), T0, window) == ["not running"]


def test_a_supervisord_not_answering_delays_the_restart_by_a_second(tmp_path: Path) -> None:
    class Unreachable(FakeSupervisor):
        def info(self, name: str) -> ProcessInfo:
            raise ConnectionRefusedError("no socket")

    sup = Unreachable({"router": info("router", "EXITED", status=70)})
    watch = CrashWatch(sup, ["router"], tmp_path / "r.json", Backoff())  # type: ignore[arg-type]
    watch.reconcile(T0)
    watch.start_due(T0 + 1)
    assert watch.next_due() == T0 + 2 and sup.started == []


def test_the_listener_speaks_supervisords_protocol(tmp_path: Path) -> None:
    """READY, then for each event a RESULT OK and READY again; it returns when stdin closes."""
    sup = FakeSupervisor({"router": info("router", "EXITED", status=70, start=T0 - 5, stop=T0)})
    watch = CrashWatch(sup, ["router"], tmp_path / "r.json", Backoff(base_s=3600))  # type: ignore[arg-type]
    payload = b"processname:router groupname:router from_state:RUNNING expected:0 pid:7"
    header = b"ver:3.0 server:supervisor serial:21 pool:crashwatch poolserial:10 "
    header += b"eventname:PROCESS_STATE_EXITED len:%d\n" % len(payload)
    stdin = tmp_path / "stdin"
    stdin.write_bytes(header + payload)
    out = io.BytesIO()
    with stdin.open("rb") as f:
        listen(watch, f, out)
    assert out.getvalue() == b"READY\nRESULT 2\nOKREADY\n"
    [exit] = load(tmp_path / "r.json").of("router").exits
    assert exit.cause == "exit status 70" and exit.uptime_s == 5


def test_what_the_crash_watch_relies_on_is_still_in_the_installed_supervisor() -> None:
    """rpc.RELIED_ON: the UNIX-socket transport and the wording of the exit log line."""
    import inspect

    import supervisor.options
    import supervisor.process
    import supervisor.xmlrpc

    from ndxp.supervise.rpc import SUPERVISOR_VERSION

    assert supervisor.options.VERSION == SUPERVISOR_VERSION
    params = inspect.signature(supervisor.xmlrpc.SupervisorTransport).parameters
    assert list(params) == ["username", "password", "serverurl"]
    source = inspect.getsource(supervisor.process.Subprocess.finish)
    assert 'msg = "exited: %s (%s)" % (processname, msg + "; not expected")' in source
    assert 'msg = "terminated by %s" % signame(sig)' in inspect.getsource(
        supervisor.options.decode_wait_status
    )


def test_the_health_line_names_the_members_a_router_holds_for_their_refusals() -> None:
    body = {"ready": True, "caught_up": False, "lag": 41_000, "held": {"0100100079": 1.2}}
    assert describe(body) == "ready, behind, lag 41000, held for refusals: 0100100079"
    assert describe({**body, "held": {}}) == "ready, behind, lag 41000"
    assert describe({"ready": True}) == "ready"  # the ledger's: no holds
