"""``ndxp gateway``: the X-Road REST gateway (:mod:`ndxp.gateway`)."""

from __future__ import annotations

import argparse
from typing import Any

from ndxp.logs import configure
from ndxp.registry_file import load_registry
from ndxp.settings import GatewaySettings


def register(sub: Any) -> None:
    p = sub.add_parser(
        "gateway", help="X-Road REST gateway: /r1/... calls for members without a Kafka client"
    )
    p.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    p.add_argument("--host", help="address to listen on ($NDXP_GATEWAY_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port ($NDXP_GATEWAY_PORT, 8080)")
    p.add_argument("--timeout", type=float, help="seconds a call waits ($NDXP_GATEWAY_TIMEOUT_S)")
    p.set_defaults(func=gateway_cmd)


async def gateway_cmd(args: argparse.Namespace) -> int:
    from ndxp.gateway.server import serve

    settings = GatewaySettings.from_env(
        bootstrap=args.bootstrap, host=args.host, port=args.port, timeout_s=args.timeout
    )
    configure(settings.log_level)
    await serve(settings, load_registry(settings.registry_path))
    return 0
