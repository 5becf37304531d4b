"""What ndxp replaces, wraps, calls or reads inside faust-streaming, mode-streaming and
aiokafka, and the check at start (of the router and of the ledger) that all of it is still
there.

The router works around message-loss races in faust-streaming and skips its per-record
machinery (:mod:`ndxp.router.in_order`, :mod:`ndxp.router.faust_fixes`, :mod:`ndxp.router.runs`,
:mod:`ndxp.router.outbox`, :mod:`ndxp.router.quota_changelog`, :mod:`ndxp.router.app`) by
reaching into private attributes of these libraries. A new release may rename one (a patch that
no longer takes effect: Faust's loss bugs come back, silently) or change its shape (the hot path
crashes). So :func:`guard`, called first thing by ``ndxp router``, checks:

- the exact version of each distribution (:data:`DISTRIBUTIONS`): the crash tests were run
  against these, and only these;
- every internal in :data:`EXPECTED`, without a broker: a method with these parameters
  (:class:`Method`), a class attribute (:class:`Attribute`), an instance attribute that a
  method's source sets (:class:`Assigned`), a call site that makes a replacement take effect
  (:class:`Calls`: the library must look the name up on the instance, where ndxp put its own).

On any mismatch it prints one line naming what changed and exits 78 (``EX_CONFIG``).
``python -m ndxp.versions`` lists every mismatch, one per line. To adopt a new release,
install it on a branch, list what changed, adapt the patching modules and this table, and run
the crash tests (``make soak-quota``, ``tests/faults``) before raising the versions here.

A check costs about 45 ms once per start, mostly reading the source of 19 functions (its own
time, after importing what the worker imports anyway: 44.6-45.5 ms in 5 runs on an idle
2-core machine, 52-145 ms with both cores busy).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

from ndxp.internals import DISTRIBUTIONS, EXPECTED
from ndxp.internals.kinds import (
    Assigned,
    Attribute,
    Calls,
    Distribution,
    Expectation,
    Method,
)

__all__ = [  # the table's types and entries are ndxp.internals'; named here for the check's users
    "DISTRIBUTIONS",
    "EXPECTED",
    "EX_CONFIG",
    "Assigned",
    "Attribute",
    "Calls",
    "Distribution",
    "Method",
    "check",
    "guard",
    "refusal",
    "shape",
]

EX_CONFIG = 78  # sysexits.h: "something was found in an unconfigured or misconfigured state"
_FILE = re.compile(r"[\w/]+\.py")  # the ndxp modules an expectation's user names


def check(
    distributions: Sequence[Distribution] | None = None,
    expected: Sequence[Expectation] | None = None,
    installed: Callable[[str], str] = metadata.version,
) -> list[str]:
    """Every mismatch between what is installed and what ndxp was verified with (by default
    :data:`DISTRIBUTIONS` and :data:`EXPECTED`), as one sentence each, versions first; empty
    when all is as expected."""
    dists = DISTRIBUTIONS if distributions is None else distributions
    table = EXPECTED if expected is None else expected
    found = [m for d in dists if (m := _version_mismatch(d, table, installed))]
    found.extend(m for e in table if (m := _mismatch(e)))
    return found


def refusal(mismatches: Sequence[str]) -> str:
    """The one line printed when the router refuses to start."""
    line = "ndxp: refusing to start: " + " ".join(mismatches[0].split())
    if len(mismatches) > 1:
        line += f"; and {len(mismatches) - 1} more (python -m ndxp.versions lists them)"
    return line


def guard(
    distributions: Sequence[Distribution] | None = None,
    expected: Sequence[Expectation] | None = None,
) -> None:
    """Exit with :data:`EX_CONFIG` and one line on stderr unless everything is as expected."""
    mismatches = check(distributions, expected)
    if mismatches:
        print(refusal(mismatches), file=sys.stderr, flush=True)
        raise SystemExit(EX_CONFIG)


def shape(fn: Any) -> str:
    """How a function is called: ``async def(self, tp, *, timeout=)``."""
    if inspect.isasyncgenfunction(fn):
        kind = "async generator"
    elif inspect.iscoroutinefunction(fn):
        kind = "async def"
    else:
        kind = "def"
    params: list[str] = []
    keyword_only = False
    parameters = inspect.signature(fn).parameters.values()
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            params.append(f"*{p.name}")
            keyword_only = True
        elif p.kind is p.VAR_KEYWORD:
            params.append(f"**{p.name}")
        else:
            if p.kind is p.KEYWORD_ONLY and not keyword_only:
                params.append("*")
                keyword_only = True
            params.append(p.name + ("=" if p.default is not p.empty else ""))
            if p.kind is p.POSITIONAL_ONLY and not _more_positional_only(parameters, p):
                params.append("/")
    return f"{kind}({', '.join(params)})"


def _more_positional_only(parameters: Any, after: inspect.Parameter) -> bool:
    names = [p.name for p in parameters if p.kind is p.POSITIONAL_ONLY]
    return names.index(after.name) < len(names) - 1


def _version_mismatch(
    dist: Distribution, expected: Sequence[Expectation], installed: Callable[[str], str]
) -> str | None:
    try:
        version = installed(dist.name)
    except metadata.PackageNotFoundError:
        return f"{dist.name} is not installed, ndxp was verified with {dist.version}"
    if version == dist.version:
        return None
    users = sorted(
        {f for e in expected if _package(e.target) == dist.package for f in _FILE.findall(e.user)}
    )
    why = f" ({', '.join(users)} patch or read its internals)" if users else ""
    return f"{dist.name} {version} installed, ndxp was verified with {dist.version}{why}"


def _package(target: str) -> str:
    """The package that defines the target (``Consumer.wait_first`` is mode's), else the
    one named by it."""
    try:
        obj = _resolve(target)
    except _Gone:
        obj = None
    obj = getattr(obj, "fget", obj)  # a property: its getter
    # a function's or class's own module; any other value (aiokafka's zstd_encode once
    # kafka/zstd_level.py has replaced it by an Encoder) belongs to the module named
    defined = inspect.isroutine(obj) or inspect.isclass(obj)
    module = getattr(obj, "__module__", None) if defined else None
    name = module if isinstance(module, str) else target.partition(":")[0]
    return name.partition(".")[0]


class _Gone(Exception):
    pass


def _resolve(target: str) -> Any:
    module, _, qualname = target.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise _Gone("is gone") from exc
    except Exception as exc:  # a release that does not import with the others installed
        raise _Gone(f"cannot be imported ({type(exc).__name__}: {exc})") from exc
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise _Gone("is gone") from exc
    return obj


def _mismatch(e: Expectation) -> str | None:
    try:
        obj = _resolve(e.target)
    except _Gone as gone:
        return f"{e.target} {gone} ({e.user})"
    if isinstance(e, Attribute):
        return None
    if isinstance(e, Method):
        try:
            actual = shape(obj)
        except (TypeError, ValueError):
            return f"{e.target} is no longer a function ({e.user})"
        if actual != e.shape:
            return f"{e.target} is now {actual}, ndxp expects {e.shape} ({e.user})"
        return None
    try:
        source = inspect.getsource(getattr(obj, "fget", obj))  # a property: its getter's
    except (OSError, TypeError):
        return f"{e.target} has no source to check ({e.user})"
    if isinstance(e, Assigned):
        # self.x = v, or self.x: T = v on one line; never self.x == v
        value = r"\s*".join(re.escape(c) for c in "".join(e.value.split()))
        if re.search(rf"self\.{re.escape(e.name)}\s*(?::[^=\n]+)?=(?!=)\s*{value}", source):
            return None
        sets = f"self.{e.name} = {e.value}" if e.value else f"self.{e.name}"
        return f"{e.target} no longer sets {sets} ({e.user})"
    if "".join(e.code.split()) in "".join(source.split()):
        return None
    return f"{e.target} no longer runs `{e.code}` ({e.user})"


def main() -> int:
    mismatches = check()
    for line in mismatches:
        print(line)
    if mismatches:
        return EX_CONFIG
    versions = ", ".join(f"{d.name} {d.version}" for d in DISTRIBUTIONS)
    print(f"ok: {versions}; {len(EXPECTED)} internals as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
