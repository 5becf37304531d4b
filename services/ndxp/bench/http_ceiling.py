"""The ceiling of Python HTTP on this box, for the gateway bench: an aiohttp server (uvloop, no
access log) that answers every ``/r1/…`` call at once with a small JSON body, as the gateway
would with a provider of service time 0 — no Kafka, no router, no provider."""

from __future__ import annotations

import argparse

from aiohttp import web

BODY = b'{"status":"ok","simulated":true}'


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=BODY, headers={"Content-Type": "application/json"})


def main() -> None:
    import uvloop

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    app = web.Application(client_max_size=2**20 + 1)
    app.router.add_route("*", "/r1/{tail:.*}", answer)
    app.router.add_get("/health", lambda _r: answer(_r))
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=a.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
