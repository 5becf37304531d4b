"""``ndxp router``: run a router worker (Faust on uvloop)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from ndxp import heap
from ndxp.core.topology import internal_topics, registry_topic, seal_topic, topics_for
from ndxp.logs import configure
from ndxp.registry_file import load_registry
from ndxp.settings import RouterSettings


def register(sub: Any) -> None:
    p = sub.add_parser("router", help="run a router worker")
    p.add_argument("--registry", type=Path, help="registry file ($NDXP_REGISTRY)")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers ($NDXP_BOOTSTRAP)")
    p.add_argument("--web-port", type=int, help="health endpoint port ($NDXP_ROUTER_WEB_PORT)")
    p.add_argument("--group", help="consumer group / Faust app id ($NDXP_ROUTER_GROUP)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ndxp.versions import guard

    guard()  # exits 78 unless the Faust and aiokafka internals the router patches are there
    import uvloop
    from faust.worker import Worker

    from ndxp.kafka.admin import check_topics, ensure_topics
    from ndxp.kafka.io import wait_for_topics
    from ndxp.kafka.seal import seal_key
    from ndxp.router.app import create_app

    settings = RouterSettings.from_env(
        registry_path=args.registry,
        bootstrap=args.bootstrap,
        web_port=args.web_port,
        group=args.group,
    )
    registry = load_registry(settings.registry_path)  # refuses an invalid file, every error
    configure(settings.log_level)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    specs = [
        *topics_for(registry, settings.partitions, settings.topic_config),
        *internal_topics(settings.group, settings.partitions),
        registry_topic(settings.registry_topic),
    ]
    loop.run_until_complete(
        ensure_topics(settings.bootstrap, specs, settings.auth, settings.replication)
    )
    loop.run_until_complete(
        check_topics(settings.bootstrap, specs, settings.auth, settings.replication)
    )
    # subscribe only once every topic is in the metadata (topics just created may not be yet)
    names = [s.name for s in specs]
    loop.run_until_complete(wait_for_topics(settings.bootstrap, names, settings.auth))
    (settings.var / "faust").mkdir(parents=True, exist_ok=True)
    seal = loop.run_until_complete(
        seal_key(settings.bootstrap, seal_topic(settings.group), settings.auth)
    )
    if settings.compression == "zstd":
        from ndxp.kafka import zstd_level

        zstd_level.install()  # level 1, not aiokafka's 3: half what compressing costs
    app = create_app(settings, registry, seal)
    logging.getLogger("ndxp.router").info(
        "router %s: registry %s (%d ingress topics), broker %s, health http://127.0.0.1:%d/health",
        settings.group,
        registry.version,
        len(registry.ingress),
        settings.bootstrap,
        settings.web_port,
    )
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
    worker = Worker(app, loglevel=settings.log_level, loop=loop, override_logging=False)
    heap.settle()  # the app and its modules, out of every later full collection's walk
    worker.execute_from_commandline()
    return 0
