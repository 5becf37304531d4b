"""The router's version guard (ndxp.versions): the installed faust-streaming,
mode-streaming and aiokafka pass; another version, a missing attribute, a changed signature,
an attribute no longer set, or a call site gone each give one line naming it and exit 78;
``ndxp router`` refuses to start with that line before touching the broker; and every private
attribute ndxp reads or sets on another object is in the guard's table."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from ndxp import env, versions
from ndxp.versions import (
    EX_CONFIG,
    Assigned,
    Attribute,
    Calls,
    Distribution,
    Method,
    check,
    guard,
    refusal,
    shape,
)

REPO = Path(__file__).resolve().parents[2]
HERE = __name__  # targets below point at the fakes of this module


class FakeConsumer:
    """Stands in for a library class as the table sees it: by name, methods, source."""

    flow_active = True

    def __init__(self) -> None:
        self._acked: dict[Any, list[int]] = defaultdict(list)  # annotated: checked too
        self._thread = None

    def _new_offset(self, tp: Any) -> int | None:
        return None

    async def perform_seek(self) -> None:
        return None

    async def getmany(self, timeout: float) -> Any:
        yield None

    def _drain(self) -> None:
        getmany = self.getmany
        getmany(timeout=1.0)


def _one(mismatches: list[str]) -> str:
    assert len(mismatches) == 1, mismatches
    return mismatches[0]


def test_the_installed_versions_and_internals_pass() -> None:
    assert check() == []


def test_every_expectation_belongs_to_a_checked_distribution() -> None:
    packages = {d.package for d in versions.DISTRIBUTIONS}
    assert {e.target.partition(":")[0].partition(".")[0] for e in versions.EXPECTED} <= packages
    assert {d.name: d.version for d in versions.DISTRIBUTIONS} == {
        "faust-streaming": "0.15.3",
        "mode-streaming": "0.7.1",
        "aiokafka": "0.14.0",
        "cramjam": "2.14.0",
    }


def test_another_version_is_refused_naming_it_and_who_relies_on_it() -> None:
    def installed(name: str) -> str:
        verified = {"faust-streaming": "0.15.3", "cramjam": "2.14.0"}
        return "0.15.0" if name == "aiokafka" else verified.get(name, "0.7.1")

    assert _one(check(installed=installed)) == (
        "aiokafka 0.15.0 installed, ndxp was verified with 0.14.0 "
        "(kafka/fair_drain.py, kafka/fetch_buffer.py, kafka/fetch_plan.py, kafka/fetch_session.py, "
        "kafka/fetch_state.py, kafka/io.py, kafka/records.py, kafka/zstd_level.py, "
        "router/faust_fixes.py, router/in_order.py, router/outbox.py, router/recovery_watch.py "
        "patch or read its internals)"
    )


def test_a_distribution_not_installed_is_refused() -> None:
    dists = (Distribution("ndxp-no-such-distribution", "1.0", "nosuch"),)
    assert _one(check(dists, ())) == (
        "ndxp-no-such-distribution is not installed, ndxp was verified with 1.0"
    )


def test_a_missing_attribute_is_refused() -> None:
    table = (
        Method(f"{HERE}:FakeConsumer._gone", "def(self)", "router/x.py replaces it"),
        Attribute(f"{HERE}:FakeConsumer.flow_paused", "router/x.py reads it"),
        Attribute("ndxp_no_such_module:Thing.x", "router/x.py reads it"),
        Attribute(f"{HERE}:FakeConsumer.flow_active", "router/x.py reads it"),  # present
    )
    assert check((), table) == [
        f"{HERE}:FakeConsumer._gone is gone (router/x.py replaces it)",
        f"{HERE}:FakeConsumer.flow_paused is gone (router/x.py reads it)",
        "ndxp_no_such_module:Thing.x is gone (router/x.py reads it)",
    ]


def test_a_module_that_no_longer_imports_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ndxp_broken_release.py").write_text("raise TypeError('needs aiokafka>=1')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    table = (Attribute("ndxp_broken_release:Consumer.x", "router/x.py reads it"),)
    assert _one(check((), table)) == (
        "ndxp_broken_release:Consumer.x cannot be imported (TypeError: needs aiokafka>=1) "
        "(router/x.py reads it)"
    )


def test_a_changed_signature_is_refused_with_both_shapes() -> None:
    table = (
        Method(f"{HERE}:FakeConsumer._new_offset", "def(self, tp, force=)", "router/x.py"),
        Method(f"{HERE}:FakeConsumer.perform_seek", "def(self)", "router/x.py"),
        Method(f"{HERE}:FakeConsumer.getmany", "async def(self, timeout)", "router/x.py"),
        Method(f"{HERE}:FakeConsumer.flow_active", "def(self)", "router/x.py"),
        Method(f"{HERE}:FakeConsumer._new_offset", "def(self, tp)", "router/x.py"),  # as is
    )
    assert check((), table) == [
        f"{HERE}:FakeConsumer._new_offset is now def(self, tp), ndxp expects "
        "def(self, tp, force=) (router/x.py)",
        f"{HERE}:FakeConsumer.perform_seek is now async def(self), ndxp expects def(self) "
        "(router/x.py)",
        f"{HERE}:FakeConsumer.getmany is now async generator(self, timeout), ndxp expects "
        "async def(self, timeout) (router/x.py)",
        f"{HERE}:FakeConsumer.flow_active is no longer a function (router/x.py)",
    ]


def test_an_instance_attribute_no_longer_set_or_of_another_type_is_refused() -> None:
    init = f"{HERE}:FakeConsumer.__init__"
    table = (
        Assigned(init, "_acked", "router/x.py clears it", "defaultdict(list)"),  # as is
        Assigned(init, "_thread", "router/x.py reads it"),  # as is
        Assigned(init, "_acked_index", "router/x.py clears it"),
        Assigned(init, "_acked", "router/x.py clears it", "defaultdict(set)"),
    )
    assert check((), table) == [
        f"{init} no longer sets self._acked_index (router/x.py clears it)",
        f"{init} no longer sets self._acked = defaultdict(set) (router/x.py clears it)",
    ]


def test_a_call_site_gone_is_refused() -> None:
    drain = f"{HERE}:FakeConsumer._drain"
    table = (
        Calls(drain, "getmany = self.getmany", "router/x.py"),  # as is
        Calls(drain, "getmany( timeout = ", "router/x.py"),  # whitespace does not matter
        Calls(drain, "self.wait_first(callback(message), self.suspend_flow.wait())", "r/x.py"),
    )
    assert _one(check((), table)) == (
        f"{drain} no longer runs `self.wait_first(callback(message), "
        "self.suspend_flow.wait())` (r/x.py)"
    )


def test_the_real_table_catches_a_changed_library_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table's own entries, against the real classes changed in memory as a new release
    might change them."""
    from aiokafka.producer.message_accumulator import MessageAccumulator
    from faust.transport.consumer import Consumer

    monkeypatch.delattr(MessageAccumulator, "_append_batch")
    assert _one(check()) == (
        "aiokafka.producer.message_accumulator:MessageAccumulator._append_batch is gone "
        "(router/outbox.py opens batches)"
    )
    monkeypatch.undo()

    def new_offset(self: Any, tp: Any, *, force: bool = False) -> None: ...

    monkeypatch.setattr(Consumer, "_new_offset", new_offset)
    assert _one(check()) == (
        "faust.transport.drivers.aiokafka:Consumer._new_offset is now "
        "def(self, tp, *, force=), ndxp expects def(self, tp) "
        "(router/in_order.py replaces it: commit only what the agent processed in order)"
    )


def test_guard_prints_one_line_and_exits_78(capsys: pytest.CaptureFixture[str]) -> None:
    dists = (Distribution("aiokafka", "0.13.0", "aiokafka"),)
    table = (
        Method(
            "aiokafka.producer.message_accumulator:MessageAccumulator._append_batch",
            "def(self, builder, tp)",
            "router/outbox.py opens batches",
        ),
        Attribute(f"{HERE}:FakeConsumer.gone", "router/x.py reads it"),
    )
    with pytest.raises(SystemExit) as exit_:
        guard(dists, table)
    assert exit_.value.code == EX_CONFIG == 78
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "ndxp: refusing to start: aiokafka 0.14.0 installed, ndxp was verified with 0.13.0 "
        "(router/outbox.py patch or read its internals); and 1 more "
        "(python -m ndxp.versions lists them)\n"
    )


def test_guard_is_silent_when_all_is_as_expected(capsys: pytest.CaptureFixture[str]) -> None:
    guard()
    assert capsys.readouterr() == ("", "")


def test_refusal_is_one_line() -> None:
    assert refusal(["a changed"]) == "ndxp: refusing to start: a changed"
    assert refusal(["x (Error: line 1\nline 2)", "b", "c"]) == (
        "ndxp: refusing to start: x (Error: line 1 line 2); and 2 more "
        "(python -m ndxp.versions lists them)"
    )


def test_shape() -> None:
    def plain(a: int, /, b: int, *, c: int = 0) -> None: ...

    async def varargs(self: Any, *coros: Any, timeout: float | None = None, **kw: Any) -> None:
        return None

    assert shape(plain) == "def(a, /, b, *, c=)"
    assert shape(varargs) == "async def(self, *coros, timeout=, **kw)"


def test_main_lists_every_mismatch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert versions.main() == 0
    assert capsys.readouterr().out.startswith("ok: faust-streaming 0.15.3")
    monkeypatch.setattr(
        versions,
        "EXPECTED",
        (
            Attribute(f"{HERE}:FakeConsumer.a", "router/x.py"),
            Attribute(f"{HERE}:FakeConsumer.b", "router/x.py"),
        ),
    )
    assert versions.main() == EX_CONFIG
    assert capsys.readouterr().out.splitlines() == [
        f"{HERE}:FakeConsumer.a is gone (router/x.py)",
        f"{HERE}:FakeConsumer.b is gone (router/x.py)",
    ]


# Names ndxp reads or sets on objects that are not Faust's, mode's or aiokafka's.
NOT_THEIRS = {
    "_rss_kb": "ndxp.bench.routing's own helper",
    "_from_parts": "ndxp.core.identifiers' own constructor",
    "_exit": "os._exit, documented",
    "_asyncio_future_blocking": "asyncio's future protocol (faust_fixes._resume)",
    "registry": "ndxp.core.routing.Router.registry (app.py)",
    "assigned": "ndxp.router.in_order.InOrder.assigned",
    "cause": "ndxp.kafka.placeholders.Unreadable's own (set in __new__)",
    "reason": "ndxp.kafka.placeholders.Unreadable's own (set in __new__)",
    "kind": "ndxp.kafka.placeholders.Marker's own (set in __new__)",
    "producer_id": "ndxp.kafka.placeholders.Marker's own (set in __new__)",
    "markers": "ndxp.kafka.records.LenientMemoryRecords' own class attribute (pass_markers)",
    "written": "ndxp.gateway.replies.Waiting's own field",
    "early": "ndxp.gateway.replies.Waiting's own field",
    # the bench's own: the Locust client's hooks it taps, its tally of copies
    "_answer": "loadtest/kafka_client.KafkaClient's own (ndxp.bench.caller taps it)",
    "_delivered": "loadtest/kafka_client.KafkaClient's own (ndxp.bench.caller taps it)",
    "verify_mode": "ssl.SSLContext's documented attribute (ndxp.pki.tls)",
    "minimum_version": "ssl.SSLContext's documented attribute (ndxp.pki.tls)",
    **{
        f: "ndxp.gateway.provider_call.Provided's own field" for f in ("calls", "failed", "session")
    },
    "_ndxp_sessions": "ndxp.kafka.fetch_session's own attribute on aiokafka's fetcher",
    "_ndxp_short_polls": "ndxp.kafka.fetch_session's own attribute on aiokafka's fetcher",
    "__wrapped__": "functools' convention, set on ndxp.kafka.fetch_session's own function",
    **{
        f: "logging.LogRecord's documented attributes (ndxp.gateway.bad_requests)"
        for f in ("msg", "args", "exc_info", "exc_text", "levelno", "levelname")
    },
    "held_back": "ndxp.core.fetch_session.SessionStats' own field",
    "sent": "ndxp.cli.doc_agencies.Agencies' own field",
    "client_list": "ndxp.gateway.calls.Gateway's own field",
    "recovery_started_at": "ndxp.router.recovery_watch.Nudged's own field",
    **{
        f: "ndxp.core.fetch_session.SessionStats' own field"
        for f in ("full", "incremental", "dropped", "handed_over")
    },
    **{
        f: "ndxp.bench.copies.Copies' own field"
        for f in ("routed", "notices", "dead_letters", "first_ms", "last_ms", "without_source")
    },
}


def _touched(tree: ast.AST) -> set[str]:
    """Private attributes read or set on objects other than ``self``, and any attribute set
    on them (how a library's method is replaced: ``consumer.getmany = getmany``)."""
    names = set()

    def foreign(node: ast.Attribute) -> bool:
        return not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and foreign(node):
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if private or isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return names


def test_every_internal_ndxp_touches_is_in_the_guards_table() -> None:
    """A new patch or read of a private attribute anywhere in services/ndxp fails here until
    it has an entry in ndxp.versions.EXPECTED (or is not a library's)."""
    words = set()
    for e in versions.EXPECTED:
        for text in (e.target, getattr(e, "name", ""), getattr(e, "code", "")):
            words.update(re.findall(r"\w+", text))
    missing = {}
    for path in sorted((REPO / "services" / "ndxp").rglob("*.py")):
        for name in _touched(ast.parse(path.read_text())) - words - set(NOT_THEIRS):
            missing[name] = str(path.relative_to(REPO))
    assert missing == {}
    assert {"_read_offset", "_batches", "getmany", "flush", "_settings_extra"} <= words


def test_the_scan_sees_patches_and_private_reads() -> None:
    tree = ast.parse(
        "consumer.getmany = getmany\n"
        "x = acc._batches.get(tp)\n"
        "self._mine = 1\n"
        "y = self._own\n"
        "print(obj.public)\n"
    )
    assert _touched(tree) == {"getmany", "_batches"}


def test_ndxp_router_refuses_to_start_with_the_guards_line(tmp_path: Path) -> None:
    """The real CLI in a subprocess, told to expect another aiokafka (in the test process
    only: there is no switch for it in ndxp): exit 78 and the one line, at once, with nothing
    done on the broker (none listens at the bootstrap address)."""
    script = (
        "import sys\n"
        "from ndxp import versions\n"
        "versions.DISTRIBUTIONS = (versions.Distribution('aiokafka', '0.13.0', 'aiokafka'),)\n"
        "from ndxp.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    registry = REPO / "infra" / "registry" / "vn-sample.json"
    environ = {**os.environ, env.VAR: str(tmp_path), env.LOG_FORMAT: "text"}
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "router",
            "--bootstrap",
            "127.0.0.1:9",
            "--registry",
            str(registry),
            "--web-port",
            "9",
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == EX_CONFIG, proc.stderr
    assert proc.stderr.splitlines() == [
        "ndxp: refusing to start: aiokafka 0.14.0 installed, ndxp was verified with 0.13.0 "
        "(kafka/fair_drain.py, kafka/fetch_buffer.py, kafka/fetch_plan.py, kafka/fetch_session.py, "
        "kafka/fetch_state.py, kafka/io.py, kafka/records.py, kafka/zstd_level.py, "
        "router/faust_fixes.py, router/in_order.py, router/outbox.py, router/recovery_watch.py "
        "patch or read its internals)"
    ]
    assert proc.stdout == ""
    assert not (tmp_path / "faust").exists()
    assert time.monotonic() - started < 30
