"""Faust's built-in web views are off with ndxp's settings; the app's own pages stay. Only
Faust's web server is started (on a free loopback port): no broker is needed."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
from typing import Any

import faust

from ndxp.router.web_pages import built_in_views_off

BUILT_IN = ["/table/", "/table/quota/", "/router/", "/graph/", "/assignment/", "/performance/"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def page_statuses(settings: dict[str, Any]) -> dict[str, int]:
    port = free_port()
    app = faust.App(
        "ndxp-web-pages-test",
        broker="kafka://127.0.0.1:1",
        store="memory://",
        web_host="127.0.0.1",
        web_bind="127.0.0.1",
        web_port=port,
        web_in_thread=False,
        **settings,
    )
    app.Table("quota", default=int)

    @app.page("/health")
    async def health(self: Any, request: Any) -> Any:
        return self.json({"status": "ok"})

    await app.web.start()
    try:
        loop = asyncio.get_running_loop()
        paths = ["/health", "/", *BUILT_IN]
        codes = [await loop.run_in_executor(None, status, port, p) for p in paths]
        return dict(zip(paths, codes, strict=True))
    finally:
        await app.web.stop()


def test_built_in_views_are_off_and_own_pages_stay() -> None:
    default = asyncio.run(page_statuses({}))
    assert default["/table/"] == default["/router/"] == 200  # what the settings switch off
    off = asyncio.run(page_statuses(built_in_views_off()))
    assert off["/health"] == off["/"] == 200
    assert {off[p] for p in BUILT_IN} == {404}
