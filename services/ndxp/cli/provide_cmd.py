"""``ndxp provide``: the provider adapter (:mod:`ndxp.gateway.provider`)."""

from __future__ import annotations

import argparse
from typing import Any

from ndxp.logs import configure
from ndxp.registry_file import load_registry
from ndxp.settings import ProviderSettings


def register(sub: Any) -> None:
    p = sub.add_parser(
        "provide",
        help="call the subsystems the registry reaches over HTTP with the requests routed to them",
    )
    p.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    p.add_argument("--registry", help="registry file ($NDXP_REGISTRY)")
    p.add_argument("--group", help="consumer group (ndxp-provider)")
    p.set_defaults(func=provide_cmd)


async def provide_cmd(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ndxp.gateway.provider import serve

    settings = ProviderSettings.from_env(
        bootstrap=args.bootstrap,
        registry_path=Path(args.registry) if args.registry else None,
        group=args.group,
    )
    configure(settings.log_level)
    await serve(settings, load_registry(settings.registry_path))
    return 0
