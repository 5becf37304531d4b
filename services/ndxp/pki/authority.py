"""The platform CA: made on first use, never overwritten, and the judge of what it issued.

EC P-256 key, self-signed, subject CN "ndxp platform CA", valid 10 years;
basicConstraints CA:true, pathlen 0 (it signs leaves only), keyUsage keyCertSign + cRLSign.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from ndxp.pki import files
from ndxp.pki.errors import CertificateError

CA_NAME = "ndxp platform CA"
CA_YEARS = 10
# a certificate is valid from a few minutes before it was made: clocks of callers drift
BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ensure_ca(secrets_dir: Path, now: dt.datetime | None = None) -> tuple[Authority, bool]:
    """The CA in ``secrets_dir/ca``, made now if there is none; and whether it was made now.
    An existing CA is never replaced (two processes racing: one wins, both use its CA)."""
    paths = files.ca_files(secrets_dir)
    if not paths.key.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _self_signed(key, now or utc_now())
        # the key decides who won; its certificate follows (a loser's is never written)
        if files.create_file(paths.key, files.key_pem(key), files.SECRET_MODE):
            files.write_file(paths.cert, files.cert_pem(cert), files.PUBLIC_MODE)
            return Authority(key, cert), True
    return load_ca(secrets_dir), False


def load_ca(secrets_dir: Path) -> Authority:
    paths = files.ca_files(secrets_dir)
    if not paths.key.exists():
        raise CertificateError(f"no platform CA in {paths.key.parent} (ndxp certs issue makes it)")
    if not paths.cert.exists():
        raise CertificateError(f"{paths.key} has no {paths.cert.name} beside it: remove both")
    authority = Authority(files.read_key(paths.key), files.read_cert(paths.cert))
    if authority.key.public_key() != authority.cert.public_key():
        raise CertificateError(f"{paths.cert} is not the certificate of {paths.key}")
    return authority


def verify_issued(
    cert: x509.Certificate, ca: x509.Certificate, now: dt.datetime | None = None
) -> None:
    """Refuse (:class:`CertificateError`) ``cert`` unless it is a client certificate that the
    CA ``ca`` issued and that is valid at ``now``: signature, validity, key usage and
    extended key usage (clientAuth), as RFC 5280 path validation checks them."""
    verifier = PolicyBuilder().store(Store([ca])).time(now or utc_now()).build_client_verifier()
    try:
        verifier.verify(cert, [])
    except VerificationError as exc:
        raise CertificateError(f"not issued by the platform CA: {exc}") from None


def add_years(when: dt.datetime, years: int) -> dt.datetime:
    """``when`` ``years`` later (29 February becomes 28 February)."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)


def _self_signed(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(add_years(now, CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
