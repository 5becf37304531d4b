"""Where ``ndxp sql`` and ``ndxp report`` read the ledger: the running ledger service (which
owns the embedded engine), or the ledger directly when it is stopped or is a server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Protocol

from ndxp.core.errors import NdxpError
from ndxp.settings import LedgerSettings


class Reader(Protocol):
    def read(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...


class ServiceReader:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def read(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        req = urllib.request.Request(
            f"{self.url}/sql",
            data=json.dumps({"sql": sql}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            raise NdxpError(json.loads(exc.read()).get("error", str(exc))) from None
        return body["columns"], [tuple(row) for row in body["rows"]]


def open_reader(settings: LedgerSettings) -> Reader:
    if settings.embedded:
        service = ServiceReader(settings.web_port)
        if service.alive():
            return service
    from ndxp.ledger.store import LedgerStore

    store = LedgerStore(settings.ledger_dsn)
    store.migrate()
    return store
