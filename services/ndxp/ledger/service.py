"""``ndxp ledger run``: the sink plus a local HTTP endpoint (health and read-only SQL).

With the embedded engine only one process may open the ledger's directory, so this
process answers analysts' queries while it runs: ``ndxp sql`` and ``ndxp report`` find it
on ``127.0.0.1:<NDXP_LEDGER_WEB_PORT>`` with the token in ``$NDXP_VAR/secrets`` (see
:mod:`ndxp.ledger.web`), and the queries run on threads and engine clients of their own
(:mod:`ndxp.ledger.analyst`) so that they never hold up the ingest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from ndxp.core.dsn import redact_dsn
from ndxp.kafka.security import ensure_password
from ndxp.ledger.analyst import AnalystPool
from ndxp.ledger.sink import LedgerSink
from ndxp.ledger.store import LedgerStore
from ndxp.ledger.web import LedgerWeb
from ndxp.settings import LedgerSettings

log = logging.getLogger("ndxp.ledger")


async def serve(settings: LedgerSettings) -> None:
    db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
    loop = asyncio.get_running_loop()
    store = await loop.run_in_executor(db, LedgerStore, settings.ledger_dsn)
    applied = await loop.run_in_executor(db, store.migrate)
    log.info(
        "ledger %s: schema up to date (%d migration(s) applied now)",
        redact_dsn(settings.ledger_dsn),
        len(applied),
    )
    t0 = time.perf_counter()
    sources = await loop.run_in_executor(db, store.recall)
    log.info(
        "ledger holds rows of %d ingress partitions (read in %.2f s)",
        sources,
        time.perf_counter() - t0,
    )
    sink = LedgerSink(settings, store, db)
    # analysts' queries: clients and threads of their own, never the ingest's `db` thread
    analysts = await loop.run_in_executor(db, AnalystPool, settings)
    token, made = ensure_password(settings.sql_token_file)
    if made:
        log.info("ledger service: SQL token made in %s (mode 0600)", settings.sql_token_file)
    runner = web.AppRunner(LedgerWeb(settings, sink, analysts, token).app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.web_port).start()
    log.info(
        "ledger service: health on http://127.0.0.1:%d, SQL (token in %s) on POST /sql",
        settings.web_port,
        settings.sql_token_file,
    )
    try:
        await sink.run()
    finally:
        await runner.cleanup()
        await loop.run_in_executor(None, analysts.close)
        await loop.run_in_executor(db, store.close)
        db.shutdown(wait=True)
