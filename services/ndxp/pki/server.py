"""The gateway's server certificate, issued by the platform CA: SAN DNS ``localhost`` and IP
``127.0.0.1`` always, plus the names given; extended key usage serverAuth.
Files: ``gateway/server.key`` (0600) and ``gateway/server.crt``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ndxp.pki import files
from ndxp.pki.authority import ensure_ca, utc_now
from ndxp.pki.errors import CertificateError
from ndxp.pki.leaf import SERVER_AUTH, build_leaf, fingerprint, new_key

SERVER_NAME = "ndxp gateway"
SERVER_DAYS = 730
DEFAULT_NAMES = ("localhost", "127.0.0.1")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True)
class IssuedServer:
    names: list[str]
    paths: files.KeyPair
    not_after: dt.datetime
    fingerprint: str
    rotated: bool
    ca_created: bool


def issue_server(
    secrets_dir: Path,
    names: Iterable[str] = (),
    days: int = SERVER_DAYS,
    now: dt.datetime | None = None,
) -> IssuedServer:
    """A new key and server certificate for the gateway (replacing any previous one)."""
    wanted = list(dict.fromkeys(n.lower() for n in (*DEFAULT_NAMES, *names)))
    alt_names = [alt_name(n) for n in wanted]
    paths = files.server_files(secrets_dir)
    rotated = paths.cert.exists()
    when = now or utc_now()
    authority, ca_created = ensure_ca(secrets_dir, when)
    key = new_key()
    cert = build_leaf(authority, key, SERVER_NAME, alt_names, SERVER_AUTH, days, when)
    files.write_file(paths.key, files.key_pem(key), files.SECRET_MODE)
    files.write_file(paths.cert, files.cert_pem(cert), files.PUBLIC_MODE)
    return IssuedServer(
        wanted, paths, cert.not_valid_after_utc, fingerprint(cert), rotated, ca_created
    )


def alt_name(name: str) -> x509.GeneralName:
    """An IP address as an IP SAN, a host name as a DNS SAN; anything else refused."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    if len(name) > 253 or _DNS.fullmatch(name) is None:
        raise CertificateError(f"{name!r} is neither an IP address nor a DNS host name")
    return x509.DNSName(name.lower())
