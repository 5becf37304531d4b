"""The gateway's HTTP server (aiohttp on uvloop): the routes, and start/stop of what the
handlers share (the producer, the reply consumer)."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from ndxp import heap
from ndxp.core import wire
from ndxp.core.registry import Registry
from ndxp.core.xroad import XRoadError
from ndxp.gateway import bad_requests, metaservices
from ndxp.gateway.bodies import Bodies
from ndxp.gateway.calls import GATEWAY, Gateway, call, error_response
from ndxp.gateway.connections import Connections, caller_of, gate
from ndxp.gateway.replies import Replies
from ndxp.kafka.io import producer
from ndxp.pki import ca_files, issue_server, server_files, server_ssl_context
from ndxp.settings import GatewaySettings

log = logging.getLogger("ndxp.gateway")
CONNECTIONS = web.AppKey("connections", Connections)
Handler = Callable[[web.Request], Awaitable[web.Response]]


async def dispatch(request: web.Request) -> web.StreamResponse:
    """``/r1/…``: a metaservice of a provider subsystem, or a call to a service."""
    target = request.raw_path.partition("?")[0]
    parts = target.split("/")[2:]  # "", "r1", ...
    if len(parts) == 5 and parts[4] in metaservices.METHODS:
        return await metaservices.meta(request, parts[:4], parts[4])
    return await call(request)


async def elsewhere(request: web.Request) -> web.Response:
    """What no other route serves, in X-Road's error form, not aiohttp's plain-text page: any
    other path (another protocol version such as ``/r2/…``, a typo), 404; a method other than
    GET on a path read with GET (:data:`READ`), 405, as the metaservices under ``/r1/``
    answer it."""
    given = request.headers.get("X-Road-Id") or ""
    request_id = given if wire.valid_message_id(given) else str(uuid.uuid4())
    if request.path in READ:
        err = XRoadError(405, "Client.BadRequest", f"{request.path} is read with GET")
    else:
        message = "no such path: the gateway serves X-Road's REST protocol r1 under /r1/"
        err = XRoadError(404, "Client.BadRequest", message)
    return error_response(err, request_id)


async def health(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    return web.json_response(
        {
            "status": "ok",
            "registry": gw.registry.version,
            "waiting": len(gw.replies.waiting),
            "answers_read_on": len(gw.replies.watched),
            "late_answers": gw.replies.late,
            "connections": request.app[CONNECTIONS].open,
            "connections_refused": request.app[CONNECTIONS].refused,
        }
    )


READ: dict[str, Handler] = {"/listClients": metaservices.list_clients_view, "/health": health}
# the paths read with GET, besides /r1/…'s metaservices


def server_context(settings: GatewaySettings) -> ssl.SSLContext:
    """The gateway's TLS: its server certificate (issued by the platform CA at first start),
    and client certificates required, of the platform CA only."""
    files = server_files(settings.secrets)
    if not files.cert.exists():
        local = settings.host in ("127.0.0.1", "localhost")  # always in the certificate
        issue_server(settings.secrets, [] if local else [settings.host])
    return server_ssl_context(files.cert, files.key, ca_files(settings.secrets).cert)


def bodies(settings: GatewaySettings) -> Bodies:
    return Bodies(settings.max_body_bytes_per_member, settings.max_body_bytes)


def application(gw: Gateway) -> web.Application:
    # a body one byte over the limit is still read, to be refused in X-Road's form (413)
    app = web.Application(client_max_size=gw.settings.max_value_bytes + 1)
    app[GATEWAY] = gw
    settings = gw.settings
    app[CONNECTIONS] = Connections(settings.max_connections, settings.max_connections_per_caller)
    for path, view in READ.items():
        app.router.add_get(path, view)
    app.router.add_route("*", "/r1/{tail:.*}", dispatch)
    app.router.add_route("*", "/{tail:.*}", elsewhere)  # last: what no route above serves
    return app


async def serve(settings: GatewaySettings, registry: Registry) -> None:
    """Run until cancelled."""
    bad_requests.install()
    replies = Replies(settings)
    p = producer(settings.bootstrap, settings.auth, linger_ms=0)
    await p.start()
    try:
        await replies.start()
        # no access log: a line per call cost 14 % of the gateway's CPU at 1,000 calls/s, and
        # the ledger records every call the gateway writes (its id, client, service, outcome).
        # aiohttp closes a connection still without a complete request head after the
        # keep-alive timeout (from its start, or from the previous answer): the idle timeout.
        app = application(Gateway(settings, registry, p, replies, bodies(settings)))
        runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=settings.idle_timeout_s,
            # a body travels as it came, its Content-Encoding with it (X-Road does not decode
            # either): aiohttp inflated it, on the one event loop, and 0.5 MB of gzip are
            # 512 MiB of zeros (callers of four such bodies held every other call 7 s)
            auto_decompress=False,
        )
        await runner.setup()
        try:
            tls = server_context(settings) if settings.tls else None
            # aiohttp's TCPSite, with each connection counted first (gateway/connections.py)
            assert runner.server is not None  # set up
            factory = functools.partial(gate, runner.server, app[CONNECTIONS], caller_of)
            heap.settle()  # before it listens: no call waits on the collection
            listening = await asyncio.get_running_loop().create_server(
                factory,
                settings.host,
                settings.port,
                ssl=tls,
                backlog=settings.backlog,
                # a connection is counted once its handshake is done: one that never finishes
                # it holds a descriptor only this long (asyncio's default: 60 s)
                ssl_handshake_timeout=settings.handshake_timeout_s if tls else None,
            )
            scheme = "https (mutual TLS)" if tls else "http (plain: local work only)"
            log.info("X-Road REST gateway, %s, on %s:%d/r1/", scheme, settings.host, settings.port)
            try:
                await asyncio.Event().wait()  # until cancelled (SIGTERM)
            finally:
                listening.close()
        finally:
            await runner.cleanup()
    finally:
        await replies.stop()
        await p.stop()
