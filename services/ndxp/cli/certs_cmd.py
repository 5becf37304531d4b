"""``ndxp certs issue|server|show``: the platform CA and the certificates callers of the HTTP
gateway authenticate with (mutual TLS). Everything is in ``$NDXP_VAR/secrets`` (keys mode
0600); nothing printed here is key material."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ndxp.settings import ClientSettings


def register(sub: Any) -> None:
    certs = sub.add_parser(
        "certs", help="the platform CA, member client certificates and the gateway's certificate"
    )
    certs_sub = certs.add_subparsers(dest="certs_command", required=True)
    issue = certs_sub.add_parser(
        "issue", help="a new key and client certificate for a member (again: rotates the key)"
    )
    issue.add_argument("member", help="member id, e.g. VN:GOV:000.00.00.H41")
    issue.add_argument("--days", type=int, default=730, help="validity in days (default 730)")
    _secrets(issue)
    issue.set_defaults(func=issue_cmd)
    server = certs_sub.add_parser(
        "server", help="the gateway's server certificate (localhost, 127.0.0.1 and --name)"
    )
    server.add_argument(
        "--name", action="append", default=[], help="another DNS name or IP address (repeat)"
    )
    server.add_argument("--days", type=int, default=730, help="validity in days (default 730)")
    _secrets(server)
    server.set_defaults(func=server_cmd)
    show = certs_sub.add_parser("show", help="the CA and the issued certificates (no keys)")
    _secrets(show)
    show.set_defaults(func=show_cmd)


def _secrets(p: Any) -> None:
    p.add_argument("--secrets", type=Path, help="secrets folder (default $NDXP_VAR/secrets)")


def _secrets_dir(args: argparse.Namespace) -> Path:
    if args.secrets is not None:
        return Path(args.secrets)
    return ClientSettings.from_env().var / "secrets"


def issue_cmd(args: argparse.Namespace) -> int:
    from ndxp.pki import files
    from ndxp.pki.member import issue_member

    secrets_dir = _secrets_dir(args)
    issued = issue_member(secrets_dir, args.member, days=args.days)
    if issued.ca_created:
        print(f"ndxp: made the platform CA {files.ca_files(secrets_dir).cert}")
    verb = "rotated (new key; the old certificate stays valid until it expires)"
    print(
        f"ndxp: {issued.member}: {verb if issued.rotated else 'issued'}, "
        f"valid until {issued.not_after:%Y-%m-%d %H:%M} UTC, SHA-256 {issued.fingerprint}"
    )
    assert issued.paths.bundle is not None
    print(f"  key {issued.paths.key} (0600), certificate {issued.paths.cert}")
    print(f"  for curl --cert: {issued.paths.bundle} (0600, key + certificate)")
    return 0


def server_cmd(args: argparse.Namespace) -> int:
    from ndxp.pki import files
    from ndxp.pki.server import issue_server

    secrets_dir = _secrets_dir(args)
    issued = issue_server(secrets_dir, args.name, days=args.days)
    if issued.ca_created:
        print(f"ndxp: made the platform CA {files.ca_files(secrets_dir).cert}")
    print(
        f"ndxp: gateway server certificate {'rotated' if issued.rotated else 'issued'} for "
        f"{', '.join(issued.names)}, valid until {issued.not_after:%Y-%m-%d %H:%M} UTC, "
        f"SHA-256 {issued.fingerprint}"
    )
    print(f"  key {issued.paths.key} (0600), certificate {issued.paths.cert}")
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    from ndxp.pki.inventory import inventory

    secrets_dir = _secrets_dir(args)
    found = inventory(secrets_dir)
    if found.ca is None:
        print(f"no platform CA in {secrets_dir / 'ca'} yet (ndxp certs issue MEMBER makes it)")
        return 0
    for title, entry in (("CA", found.ca), ("gateway", found.server)):
        if entry is None:
            print(f"{title}: none")
        else:
            print(f"{title}: {entry.cert}  until {entry.not_after:%Y-%m-%d}  {entry.fingerprint}")
    print(f"members: {len(found.members)}")
    for entry in found.members:
        print(f"  {entry.name}  until {entry.not_after:%Y-%m-%d}  {entry.fingerprint}")
    return 0
