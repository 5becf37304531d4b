"""Where the PKI keeps its files in the secrets folder, and how it writes them.

Layout under ``secrets_dir`` (``$NDXP_VAR/secrets``), folders mode 0700::

    ca/ca.key  ca/ca.crt                       the platform CA
    members/<member code>.key  .crt  .pem      a member's key, certificate, and both (bundle)
    gateway/server.key  gateway/server.crt     the gateway's server certificate

Keys and bundles are written mode 0600 (created that way, never chmod-ed after the fact), and
replaced atomically; certificates are public (0644).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ndxp.pki.errors import CertificateError

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
FOLDER_MODE = 0o700


@dataclass(frozen=True)
class KeyPair:
    """The files of one certificate: its key, the certificate, and the bundle (key + cert)
    when there is one."""

    key: Path
    cert: Path
    bundle: Path | None = None


def ca_files(secrets_dir: Path) -> KeyPair:
    return KeyPair(secrets_dir / "ca" / "ca.key", secrets_dir / "ca" / "ca.crt")


def member_files(secrets_dir: Path, member_code: str) -> KeyPair:
    folder = secrets_dir / "members"
    return KeyPair(
        folder / f"{member_code}.key", folder / f"{member_code}.crt", folder / f"{member_code}.pem"
    )


def server_files(secrets_dir: Path) -> KeyPair:
    return KeyPair(secrets_dir / "gateway" / "server.key", secrets_dir / "gateway" / "server.crt")


def make_folder(path: Path) -> None:
    """``path``, a folder of the secrets folder (``ca``, ``members``, ``gateway``): it and the
    secrets folder are made mode 0700 when missing (``mkdir -p`` would give the parents the
    default mode); the folders above (``$NDXP_VAR``) as usual."""
    path.parent.parent.mkdir(parents=True, exist_ok=True)
    for folder in (path.parent, path):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, created
    with ``mode``, then renamed over ``path``)."""
    tmp = _written_aside(path, data, mode)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def create_file(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` only if ``path`` does not exist (atomically: a hard link of a
    finished temporary file, which fails if another process got there first); whether it was
    written now."""
    tmp = _written_aside(path, data, mode)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _written_aside(path: Path, data: bytes, mode: int) -> Path:
    """``data`` in a new temporary file beside ``path``, created with ``mode``, on disk."""
    make_folder(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{path}: not an EC private key")
    return key


def read_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        raise CertificateError(f"{path}: not a PEM certificate ({exc})") from None
