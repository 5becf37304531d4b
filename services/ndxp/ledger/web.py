"""The ledger service's HTTP side, on 127.0.0.1: ``/health`` and ``/metrics`` for whoever
is on the host, ``POST /sql`` for holders of the token.

``POST /sql`` takes ``{"sql": "…"}`` with ``Content-Type: application/json`` (415
otherwise) and ``Authorization: Bearer <token>`` (401 otherwise, compared in constant time),
a body of at most ``sql_max_body_bytes`` (413). A refused statement is a 400 whose ``error``
says why and whose ``refused`` is the :class:`~ndxp.core.sql_guard.Refusal` code; a query
the engine stopped (a limit) is a 400 with the engine's reason. Queries run on the
:class:`~ndxp.ledger.analyst.AnalystPool`'s threads, never the ingest's.

The token is made on the service's first start in ``$NDXP_VAR/secrets/ledger-sql.token``
(random, mode 0600, folder 0700) and is never printed or logged; nor is the DSN's password
(:func:`ndxp.core.dsn.redact_dsn`).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hmac
import logging
import time
import uuid
from typing import Any

import orjson
from aiohttp import web

from ndxp.core.dsn import redact_dsn
from ndxp.core.errors import NdxpError
from ndxp.core.sql_guard import ReadOnlyError
from ndxp.ledger.analyst import AnalystPool
from ndxp.ledger.sink import LedgerSink
from ndxp.metrics import CONTENT_TYPE
from ndxp.settings import LedgerSettings

log = logging.getLogger("ndxp.ledger")


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytearray | memoryview):
        return base64.b16encode(bytes(value)).decode().lower()
    raise TypeError(type(value).__name__)


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=json_default, option=orjson.OPT_NON_STR_KEYS)


def health_body(
    settings: LedgerSettings, behind: int, uptime_s: float, stats: dict[str, Any]
) -> dict[str, Any]:
    """What ``/health`` says: state, lag, the DSN without its password, the sink's counts."""
    return {
        "status": "ok",
        "caught_up": behind <= settings.caught_up_lag,
        "lag": behind,
        "dsn": redact_dsn(settings.ledger_dsn),
        "uptime_s": round(uptime_s, 1),
        **stats,
    }


def bearer_matches(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _json(status: int, body: Any, **headers: str) -> web.Response:
    return web.Response(
        status=status, body=dumps(body), content_type="application/json", headers=headers
    )


class LedgerWeb:
    def __init__(
        self, settings: LedgerSettings, sink: LedgerSink, analysts: AnalystPool, token: str
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.analysts = analysts
        self._token = token
        self.started = time.time()

    def __repr__(self) -> str:
        return f"LedgerWeb(port={self.settings.web_port})"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.sql_max_body_bytes)
        app.add_routes(
            [
                web.get("/health", self.health),
                web.get("/metrics", self.metrics),
                web.post("/sql", self.sql),
            ]
        )
        return app

    async def health(self, request: web.Request) -> web.Response:
        behind = int(sum(v for _, v in self.sink.lag()))
        body = health_body(self.settings, behind, time.time() - self.started, self.sink.stats)
        return _json(200, body)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.sink.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE}
        )

    async def sql(self, request: web.Request) -> web.Response:
        if not bearer_matches(request.headers.get("Authorization"), self._token):
            return _json(
                401,
                {"error": "POST /sql needs Authorization: Bearer <the ledger's SQL token>"},
                **{"WWW-Authenticate": "Bearer"},
            )
        if request.content_type != "application/json":
            return _json(415, {"error": "POST /sql takes Content-Type: application/json"})
        try:
            payload = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json(400, {"error": 'the body is not JSON: {"sql": "SELECT …"}'})
        sql = payload.get("sql") if isinstance(payload, dict) else None
        if not isinstance(sql, str):
            return _json(400, {"error": 'the body must be {"sql": "SELECT …"}'})
        try:
            columns, rows = await self.analysts.run(sql)
        except ReadOnlyError as exc:
            log.info("analyst statement refused (%s)", exc.code)
            return _json(400, {"error": str(exc), "refused": str(exc.code)})
        except NdxpError as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, {"columns": columns, "rows": rows})
