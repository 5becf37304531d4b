"""``ndxp users``, ``ndxp acls show|apply`` and ``ndxp quotas``: secured mode's principals,
their ACLs and the byte rate each member may write.

Run as a super user (``NDXP_KAFKA_USER=ndxp-admin``,
``NDXP_KAFKA_PASSWORD_FILE=$NDXP_VAR/secrets/ndxp-admin.password``) against the secured
broker (``infra/kafka/secure.sh``). Passwords are never printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ndxp.core.acl import (
    GATEWAY_USER,
    LEDGER_USER,
    MEMBER_BYTES_PER_S,
    ROUTER_USER,
    ServicePrincipals,
    acl_entries,
    member_quotas,
    users,
)
from ndxp.registry_file import load_registry
from ndxp.settings import ClientSettings, LedgerSettings, RouterSettings


def register(sub: Any) -> None:
    u = sub.add_parser(
        "users",
        help="secured mode: a SCRAM user per connected member, plus ndxp-router, -ledger, -gateway",
    )
    _common(u)
    u.add_argument("--secrets", type=Path, help="password files folder (default $NDXP_VAR/secrets)")
    u.add_argument(
        "--prune", action="store_true", help="delete SCRAM users that are not in the registry"
    )
    u.set_defaults(func=users_cmd)

    acls = sub.add_parser("acls", help="secured mode: the broker ACLs derived from the registry")
    acls_sub = acls.add_subparsers(dest="acls_command", required=True)
    show = acls_sub.add_parser("show", help="print the ACLs the registry implies (no broker)")
    _common(show)
    show.set_defaults(func=show_cmd)
    apply = acls_sub.add_parser("apply", help="create the missing ACLs on the broker")
    _common(apply)
    apply.add_argument(
        "--prune", action="store_true", help="also delete every ACL that is not derived"
    )
    apply.set_defaults(func=apply_cmd)

    q = sub.add_parser(
        "quotas",
        help="secured mode: the bytes a second each member may write (the broker throttles it)",
    )
    _common(q)
    q.add_argument(
        "--bytes-per-s",
        type=int,
        default=MEMBER_BYTES_PER_S,
        help=f"each member's producer_byte_rate (default {MEMBER_BYTES_PER_S:,})",
    )
    q.add_argument(
        "--prune", action="store_true", help="remove the quotas of users that are not members"
    )
    q.set_defaults(func=quotas_cmd)


def _common(p: Any) -> None:
    p.add_argument("--registry", type=Path, help="registry file ($NDXP_REGISTRY or the sample)")
    p.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")


def _principals() -> ServicePrincipals:
    """The router's and the ledger's principals as their own settings name them (consumer
    groups, registry topic), read from the environment the services start with."""
    router = RouterSettings.from_env()
    return ServicePrincipals(
        router_group=router.group,
        ledger_group=LedgerSettings.from_env().group,
        registry_topic=router.registry_topic,
    )


def users_cmd(args: argparse.Namespace) -> int:
    from ndxp.kafka.security import apply_users

    settings = ClientSettings.from_env(registry_path=args.registry, bootstrap=args.bootstrap)
    registry = load_registry(settings.registry_path)
    secrets_dir = args.secrets or settings.var / "secrets"
    names = users(registry, _principals())
    result = apply_users(settings.bootstrap, settings.auth, names, secrets_dir, args.prune)
    print(
        f"ndxp: {len(result.upserted)} SCRAM-SHA-512 users set on {settings.bootstrap} "
        f"({len(result.upserted) - 3} members, ndxp-router, ndxp-ledger, ndxp-gateway); "
        f"{len(result.new_passwords)} new password file(s) in {secrets_dir}"
        + (f"; deleted {', '.join(result.deleted)}" if result.deleted else "")
    )
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    settings = ClientSettings.from_env(registry_path=args.registry)
    for entry in acl_entries(load_registry(settings.registry_path), _principals()):
        print(entry)
    return 0


def apply_cmd(args: argparse.Namespace) -> int:
    from ndxp.kafka.security import apply_acls

    settings = ClientSettings.from_env(registry_path=args.registry, bootstrap=args.bootstrap)
    entries = acl_entries(load_registry(settings.registry_path), _principals())
    result = apply_acls(settings.bootstrap, settings.auth, entries, args.prune)
    print(
        f"ndxp: {len(entries)} ACLs derived from the registry: {len(result.created)} created, "
        f"{result.kept} already there"
        + (f", {len(result.deleted)} others deleted" if args.prune else "")
    )
    return 0


def quotas_cmd(args: argparse.Namespace) -> int:
    from ndxp.kafka.quotas import apply_quotas

    settings = ClientSettings.from_env(registry_path=args.registry, bootstrap=args.bootstrap)
    wanted = member_quotas(load_registry(settings.registry_path), args.bytes_per_s)
    held, removed = apply_quotas(settings.bootstrap, settings.auth, wanted, args.prune)
    own = [u for u in (ROUTER_USER, LEDGER_USER, GATEWAY_USER) if u in held]
    print(
        f"ndxp: {len(wanted)} members may write {args.bytes_per_s:,} bytes a second each "
        f"on {settings.bootstrap} (the broker holds {len(held)} user quotas); "
        + (
            f"{', '.join(own)} also have one (ndxp quotas --prune removes it)"
            if own
            else f"{ROUTER_USER}, {LEDGER_USER} and {GATEWAY_USER} have none"
        )
        + (f"; removed {', '.join(removed)}" if removed else "")
    )
    return 0
