"""Where ``ndxp sql`` and ``ndxp report`` read the ledger: the running ledger service (which
owns the embedded engine), or the ledger directly when it is stopped or is a server — the
same guard and limits either way (:mod:`ndxp.ledger.analyst`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from ndxp.core.errors import NdxpError
from ndxp.settings import LedgerSettings


class Reader(Protocol):
    def read(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...


def read_token(path: Path) -> str:
    """The bearer token of the ledger's ``POST /sql`` (made by the service on its first
    start, mode 0600): its error names the file, never a byte of it."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise NdxpError(
            f"cannot read the ledger's SQL token {path}: {exc.strerror} (the ledger service "
            "makes it on its first start; only its user may read it)"
        ) from None
    if not token:
        raise NdxpError(f"the ledger's SQL token {path} is empty")
    return token


class ServiceReader:
    """``POST /sql`` of the ledger service on this host, with the bearer token read from
    ``token_file`` at each query (the service makes the file when it first starts)."""

    def __init__(self, port: int, token_file: Path, timeout_s: float = 600) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.token_file = token_file
        self.timeout_s = timeout_s

    @classmethod
    def of(cls, settings: LedgerSettings) -> ServiceReader:
        """The reader of the service ``settings`` describe (its port, its var's token)."""
        return cls(settings.web_port, settings.sql_token_file)

    def alive(self, timeout_s: float = 5.0) -> bool:
        """Whether the service runs here. A service too busy to answer ``/health`` in time
        still runs, and holds the embedded engine: a reader that opened the engine itself then
        found it held and crashed (CI, 2026-12-04, ``ndxp report`` beside a busy ledger). Only
        a refused or failed connection says it does not run."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout_s) as r:
                return bool(r.status == 200)
        except urllib.error.HTTPError:
            return True  # it answered
        except TimeoutError:
            return True
        except urllib.error.URLError as exc:
            return isinstance(exc.reason, TimeoutError)
        except OSError:
            return False

    def read(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        req = urllib.request.Request(
            f"{self.url}/sql",
            data=json.dumps({"sql": sql}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {read_token(self.token_file)}",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            raise NdxpError(_error_of(exc)) from None
        return body["columns"], [tuple(row) for row in body["rows"]]


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error", exc))
    except ValueError:
        return f"HTTP {exc.code} {exc.reason}"


class DirectReader:
    """The ledger read in this process: schema brought up to date, then each statement on
    an :class:`~ndxp.ledger.analyst.Analyst` (its own read-only, limited client)."""

    def __init__(self, settings: LedgerSettings) -> None:
        from ndxp.ledger.analyst import Analyst
        from ndxp.ledger.store import LedgerStore

        store = LedgerStore(settings.ledger_dsn)
        try:
            store.migrate()
            self.analyst = Analyst(settings)
        finally:
            store.close()

    def read(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        return self.analyst.read(sql)

    def close(self) -> None:
        self.analyst.close()


def open_reader(settings: LedgerSettings) -> Reader:
    """The running ledger service if it owns the embedded engine, else the ledger itself."""
    if settings.embedded:
        service = ServiceReader.of(settings)
        if service.alive():
            return service
    return DirectReader(settings)
