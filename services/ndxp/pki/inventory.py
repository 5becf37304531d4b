"""What the secrets folder holds: the CA, the gateway's certificate and each member's, with
their fingerprints and expiry (``ndxp certs show``). Certificates only: keys are never read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ndxp.pki import files
from ndxp.pki.errors import CertificateError
from ndxp.pki.identity import member_of
from ndxp.pki.leaf import fingerprint


@dataclass(frozen=True)
class Entry:
    name: str  # the CA's subject, "gateway", or a member id (or why it is not one)
    cert: Path
    fingerprint: str
    not_after: dt.datetime


@dataclass(frozen=True)
class Inventory:
    ca: Entry | None
    server: Entry | None
    members: list[Entry]


def inventory(secrets_dir: Path) -> Inventory:
    ca_path = files.ca_files(secrets_dir).cert
    server_path = files.server_files(secrets_dir).cert
    member_certs = sorted((secrets_dir / "members").glob("*.crt"))
    return Inventory(
        _entry(ca_path, "") if ca_path.exists() else None,
        _entry(server_path, "gateway") if server_path.exists() else None,
        [_entry(path, None) for path in member_certs],
    )


def _entry(path: Path, name: str | None) -> Entry:
    cert = files.read_cert(path)
    if name is None:
        name = _member_name(cert)
    elif not name:
        name = cert.subject.rfc4514_string()
    return Entry(name, path, fingerprint(cert), cert.not_valid_after_utc)


def _member_name(cert: x509.Certificate) -> str:
    try:
        return member_of(cert)
    except CertificateError as exc:
        return f"(no member: {exc})"
