"""An end-entity certificate signed by the platform CA (a member's or the gateway's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ndxp.pki.authority import BACKDATE, Authority
from ndxp.pki.errors import CertificateError

CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def build_leaf(
    authority: Authority,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    alt_names: Sequence[x509.GeneralName],
    usage: x509.ObjectIdentifier,
    days: int,
    now: dt.datetime,
) -> x509.Certificate:
    """A certificate for ``key``: subject CN ``common_name``, the SANs ``alt_names``, one
    extended key usage, valid ``days`` days from ``now`` (and a few minutes before) — never
    past the CA's own expiry, which would make it fail validation earlier than it says."""
    if days < 1:
        raise CertificateError(f"validity must be at least 1 day, not {days}")
    not_after = min(now + dt.timedelta(days=days), authority.cert.not_valid_after_utc)
    public = key.public_key()
    ca_ski = authority.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(authority.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(list(alt_names)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as ``openssl x509 -fingerprint -sha256`` shows it."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()
