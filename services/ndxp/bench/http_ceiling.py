"""The ceiling of Python HTTP on this box, for the gateway bench: a plain aiohttp reverse proxy
(uvloop, no access log) that takes the same ``/r1/…`` calls as the gateway and forwards each
straight to the REST API it names (the registry's ``http.url``, as ``ndxp provide`` would call
it): one HTTP hop in, one out — no Kafka, no router, no checks, no ledger."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from ndxp.core import xroad
from ndxp.core.registry import Registry
from ndxp.core.xroad import provider_url
from ndxp.registry_file import load_registry

REGISTRY = web.AppKey("registry", Registry)
SESSION = web.AppKey("session", aiohttp.ClientSession)
PASSED = ("Content-Type", "Accept")


async def forward(request: web.Request) -> web.Response:
    call = xroad.parse_call(request.raw_path)
    endpoint = request.app[REGISTRY].endpoints.get(str(call.service.subsystem))
    url = provider_url(endpoint.url, call.path, call.query) if endpoint is not None else None
    if url is None:
        return web.Response(status=404, text="no REST API for that service")
    headers = {h: request.headers[h] for h in PASSED if h in request.headers}
    body = await request.read()
    async with request.app[SESSION].request(
        request.method, url, data=body or None, headers=headers, allow_redirects=False
    ) as r:
        answer = await r.read()
        return web.Response(
            status=r.status, body=answer, headers={"Content-Type": r.headers["Content-Type"]}
        )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def session(app: web.Application) -> AsyncIterator[None]:
    app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    yield
    await app[SESSION].close()


def main() -> None:
    import uvloop

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--registry", type=Path, required=True, help="where the REST APIs are")
    a = ap.parse_args()
    app = web.Application(client_max_size=2**20 + 1)
    app[REGISTRY] = load_registry(a.registry)
    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/r1/{tail:.*}", forward)
    app.router.add_get("/health", health)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=a.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
