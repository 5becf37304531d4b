"""``ndxp ledger run``: the sink plus a local HTTP endpoint (health and read-only SQL).

With the embedded engine only one process may open the ledger's directory, so this
process answers analysts' queries while it runs: ``ndxp sql`` and ``ndxp report`` find it
on ``127.0.0.1:<NDXP_LEDGER_WEB_PORT>``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from aiohttp import web

from ndxp.core.errors import NdxpError
from ndxp.ledger.sink import LedgerSink
from ndxp.ledger.store import LedgerStore
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


async def serve(settings: LedgerSettings) -> None:
    db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
    loop = asyncio.get_running_loop()
    store = await loop.run_in_executor(db, LedgerStore, settings.ledger_dsn)
    applied = await loop.run_in_executor(db, store.migrate)
    log.info(
        "ledger %s: schema up to date (%d migration(s) applied now)",
        settings.ledger_dsn,
        len(applied),
    )
    sink = LedgerSink(settings, store, db)
    started = time.time()

    async def health(request: web.Request) -> web.Response:
        behind = int(sum(v for _, v in sink.lag()))
        body = {
            "status": "ok",
            "caught_up": behind <= settings.caught_up_lag,
            "lag": behind,
            "dsn": settings.ledger_dsn,
            "uptime_s": round(time.time() - started, 1),
            **sink.stats,
        }
        return web.Response(body=dumps(body), content_type="application/json")

    async def sql(request: web.Request) -> web.Response:
        payload = await request.json()
        try:
            columns, rows = await loop.run_in_executor(db, store.read, str(payload.get("sql", "")))
        except NdxpError as exc:
            return web.Response(
                status=400, body=dumps({"error": str(exc)}), content_type="application/json"
            )
        except Exception as exc:
            return web.Response(
                status=400,
                body=dumps({"error": str(exc).strip()[:2000]}),
                content_type="application/json",
            )
        return web.Response(
            body=dumps({"columns": columns, "rows": rows}), content_type="application/json"
        )

    app = web.Application(client_max_size=1024 * 1024)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=sink.metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE}
        )

    app.add_routes(
        [web.get("/health", health), web.get("/metrics", metrics), web.post("/sql", sql)]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.web_port).start()
    log.info("ledger service: health and SQL on http://127.0.0.1:%d", settings.web_port)
    try:
        await sink.run()
    finally:
        await runner.cleanup()
        await loop.run_in_executor(db, store.close)
        db.shutdown(wait=True)
