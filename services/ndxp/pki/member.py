"""A member's client certificate: issued by the platform CA, rotated on re-issue.

Files: ``members/<member code>.key`` (0600), ``.crt``, and ``.pem`` (0600: key then
certificate, for ``curl --cert``). The file name is the member code, as the member's Kafka
principal is; a member code already issued to a member of another instance or class is refused
rather than overwritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ndxp.pki import files
from ndxp.pki.authority import ensure_ca, utc_now
from ndxp.pki.errors import CertificateError
from ndxp.pki.identity import member_of, member_uri, parse_member
from ndxp.pki.leaf import CLIENT_AUTH, build_leaf, fingerprint, new_key

MEMBER_DAYS = 730  # two years


@dataclass(frozen=True)
class IssuedMember:
    member: str
    paths: files.KeyPair
    serial: int
    not_after: dt.datetime
    fingerprint: str
    rotated: bool  # a previous certificate (and key) of this member was replaced
    ca_created: bool  # the platform CA was made by this call


def issue_member(
    secrets_dir: Path, member_id: str, days: int = MEMBER_DAYS, now: dt.datetime | None = None
) -> IssuedMember:
    """A new key and client certificate for ``member_id`` (refused with the parser's reason if
    it is not a valid member id), making the CA first if there is none. Issuing again rotates:
    a new key, a new certificate, the old files replaced (the old certificate stays valid
    until it expires: there is no revocation list yet)."""
    member = parse_member(member_id)
    text = str(member)
    paths = files.member_files(secrets_dir, str(member.code))
    rotated = paths.cert.exists()
    if rotated:
        holder = member_of(files.read_cert(paths.cert))
        if holder != text:
            raise CertificateError(
                f"{paths.cert} belongs to {holder}, not {text}: one member code, one file name"
            )
    when = now or utc_now()
    authority, ca_created = ensure_ca(secrets_dir, when)
    key = new_key()
    alt_names = [x509.UniformResourceIdentifier(member_uri(member))]
    cert = build_leaf(authority, key, text, alt_names, CLIENT_AUTH, days, when)
    key_pem, cert_pem = files.key_pem(key), files.cert_pem(cert)
    files.write_file(paths.key, key_pem, files.SECRET_MODE)
    files.write_file(paths.cert, cert_pem, files.PUBLIC_MODE)
    assert paths.bundle is not None
    files.write_file(paths.bundle, key_pem + cert_pem, files.SECRET_MODE)
    return IssuedMember(
        text,
        paths,
        cert.serial_number,
        cert.not_valid_after_utc,
        fingerprint(cert),
        rotated,
        ca_created,
    )
