"""``ndxp registry check FILE`` and ``ndxp topics``: validate a registry, create its topics."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from ndxp.core.registry import Registry, RegistryError
from ndxp.core.topology import registry_topic, topics_for
from ndxp.registry_file import load_registry
from ndxp.settings import ClientSettings, RouterSettings


def register(sub: Any) -> None:
    reg = sub.add_parser("registry", help="work with registry files")
    reg_sub = reg.add_subparsers(dest="registry_command", required=True)
    check = reg_sub.add_parser("check", help="validate a registry file, list every error")
    check.add_argument("file")
    check.set_defaults(func=check_cmd)

    pub = reg_sub.add_parser(
        "publish", help="validate a registry and publish it to every router (no restart)"
    )
    pub.add_argument("file")
    pub.add_argument("--bootstrap", help="Kafka bootstrap (default: $NDXP_BOOTSTRAP)")
    pub.add_argument("--topic", help="registry topic (default: $NDXP_REGISTRY_TOPIC)")
    pub.set_defaults(func=publish_cmd)

    topics = sub.add_parser("topics", help="create the topics the registry needs")
    topics.add_argument("--registry", help="registry file (default: $NDXP_REGISTRY or sample)")
    topics.add_argument("--bootstrap", help="Kafka bootstrap (default: $NDXP_BOOTSTRAP)")
    topics.set_defaults(func=topics_cmd)


def check_cmd(args: argparse.Namespace) -> int:
    return 0 if checked(args.file) is not None else 1


def checked(path: str) -> Registry | None:
    """Load and validate a registry file, printing a summary or every error."""
    try:
        registry = load_registry(path)
    except RegistryError as exc:
        print(f"{path}: {len(exc.errors)} error(s)")
        for e in exc.errors:
            print(f"  - {e}")
        return None
    kinds = Counter(m.kind.value for m in registry.members.values())
    print(
        f"{path}: ok — version {registry.version}, {len(registry.members)} members "
        f"({len(registry.connected)} connected), {len(registry.subsystems)} subsystems, "
        f"{len(registry.services)} services"
    )
    grants = sum(a.grants for a in registry.access.values())
    default = "allow" if registry.default_allow else "deny"
    print(
        f"  access: {grants} grants on {len(registry.access)} services (default {default}); "
        f"quotas: {len(registry.limits)} limits"
    )
    for kind, n in sorted(kinds.items()):
        print(f"  {kind}: {n}")
    return registry


async def topics_cmd(args: argparse.Namespace) -> int:
    """The router's topics, as the router creates them: its settings say how (partitions,
    topic configuration, replication)."""
    from ndxp.kafka.admin import check_topics, ensure_topics
    from ndxp.kafka.io import wait_for_topics

    settings = RouterSettings.from_env(registry_path=args.registry, bootstrap=args.bootstrap)
    registry = load_registry(settings.registry_path)
    specs = topics_for(registry, settings.partitions, settings.topic_config)
    created = await ensure_topics(settings.bootstrap, specs, settings.auth, settings.replication)
    await wait_for_topics(settings.bootstrap, [s.name for s in specs], settings.auth)
    await check_topics(settings.bootstrap, specs, settings.auth, settings.replication)
    print(f"ndxp: {len(specs)} topics needed, {len(created)} created")
    return 0


async def publish_cmd(args: argparse.Namespace) -> int:
    """Refuse an invalid file (every error listed); else write it to the compacted topic."""
    from ndxp.kafka.admin import ensure_topics
    from ndxp.kafka.io import producer
    from ndxp.router.registry_feed import REGISTRY_KEY

    registry = checked(args.file)
    if registry is None:
        print(f"{args.file}: not published; the registry in force stays")
        return 1
    settings = ClientSettings.from_env(bootstrap=args.bootstrap, registry_topic=args.topic)
    await ensure_topics(
        settings.bootstrap,
        [registry_topic(settings.registry_topic)],
        settings.auth,
        settings.replication,
    )
    with open(args.file, "rb") as f:
        document = f.read()
    p = producer(settings.bootstrap, settings.auth, max_request_size=8 * 1024 * 1024)
    await p.start()
    try:
        md = await p.send_and_wait(settings.registry_topic, document, key=REGISTRY_KEY)
    finally:
        await p.stop()
    version = load_registry(args.file).version
    print(
        f"published registry version {version} to {md.topic}@{md.offset}; "
        f"every router worker applies it within seconds"
    )
    return 0
