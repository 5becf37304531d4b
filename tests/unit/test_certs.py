"""The platform CA, member client certificates and mutual TLS (ndxp.pki, ndxp certs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ndxp import env
from ndxp.core.errors import InvalidIdentifier
from ndxp.pki import (
    CertificateError,
    ca_files,
    client_ssl_context,
    ensure_ca,
    issue_member,
    issue_server,
    load_ca,
    member_files,
    member_of,
    server_files,
    server_ssl_context,
    verify_issued,
)
from ndxp.pki.files import read_cert
from ndxp.pki.leaf import CLIENT_AUTH, build_leaf, new_key

H41 = "VN:GOV:000.00.00.H41"
G22 = "VN:GOV:000.00.00.G22"


def cert_of(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the CA -------------------------------------------------------------------------------


def test_ca_is_made_once_then_reused(tmp_path: Path) -> None:
    first, made = ensure_ca(tmp_path)
    assert made
    key_bytes = ca_files(tmp_path).key.read_bytes()
    again, made_again = ensure_ca(tmp_path)
    assert not made_again
    assert again.cert == first.cert
    assert ca_files(tmp_path).key.read_bytes() == key_bytes  # never overwritten
    issued = issue_member(tmp_path, H41)
    assert not issued.ca_created
    verify_issued(read_cert(issued.paths.cert), first.cert)


def test_ca_profile(tmp_path: Path) -> None:
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    ca = ensure_ca(tmp_path, now)[0].cert
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ndxp platform CA"
    assert ca.issuer == ca.subject
    public = ca.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert ca.not_valid_after_utc == dt.datetime(2036, 3, 1, 12, tzinfo=dt.UTC)


def test_ca_key_without_certificate_is_refused(tmp_path: Path) -> None:
    ensure_ca(tmp_path)
    ca_files(tmp_path).cert.unlink()
    with pytest.raises(CertificateError, match="remove both"):
        load_ca(tmp_path)


# --- member certificates ------------------------------------------------------------------


def test_member_certificate_names_its_member(tmp_path: Path) -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    issued = issue_member(tmp_path, H41, days=730, now=now)
    assert issued.ca_created and not issued.rotated
    assert issued.paths == member_files(tmp_path, "000.00.00.H41")
    cert = cert_of(issued.paths.cert)
    assert cert.subject.rfc4514_string() == f"CN={H41}"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"urn:ndxp:member:{H41}"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.not_valid_after_utc == now + dt.timedelta(days=730)
    assert member_of(cert) == H41
    assert member_of(cert.public_bytes(Encoding.DER)) == H41
    # the bundle is the key then the certificate
    bundle = issued.paths.bundle
    assert bundle is not None
    text = bundle.read_bytes()
    assert text.index(b"PRIVATE KEY") < text.index(b"CERTIFICATE")
    assert x509.load_pem_x509_certificate(text) == cert


def test_member_of_reads_ssl_dict_form() -> None:
    # what ssl's getpeercert() (aiohttp's get_extra_info("peercert")) gives
    peercert = {
        "subject": ((("commonName", H41),),),
        "subjectAltName": (("URI", f"urn:ndxp:member:{H41}"),),
    }
    assert member_of(peercert) == H41
    wrong = {**peercert, "subjectAltName": (("URI", f"urn:ndxp:member:{G22}"),)}
    with pytest.raises(CertificateError, match="disagree"):
        member_of(wrong)


def test_reissue_rotates_the_key(tmp_path: Path) -> None:
    first = issue_member(tmp_path, H41)
    old_key = first.paths.key.read_bytes()
    old_public = cert_of(first.paths.cert).public_key()
    second = issue_member(tmp_path, H41, days=30)
    assert second.rotated
    assert second.paths.key.read_bytes() != old_key
    assert second.fingerprint != first.fingerprint
    assert cert_of(second.paths.cert).public_key() != old_public
    assert member_of(cert_of(second.paths.cert)) == H41


def test_member_code_of_another_member_is_not_overwritten(tmp_path: Path) -> None:
    issue_member(tmp_path, H41)
    with pytest.raises(CertificateError, match=f"belongs to {H41}"):
        issue_member(tmp_path, "VN-TEST:GOV:000.00.00.H41")
    assert member_of(cert_of(member_files(tmp_path, "000.00.00.H41").cert)) == H41


def test_invalid_member_id_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(InvalidIdentifier, match="'H00' must not be numbered 00"):
        issue_member(tmp_path, "VN:GOV:000.00.00.H00")
    with pytest.raises(InvalidIdentifier, match="member class 'XYZ' must be one of GOV, COM"):
        issue_member(tmp_path, "VN:XYZ:000.00.00.H41")
    assert not (tmp_path / "members").exists()
    assert not ca_files(tmp_path).key.exists()


def test_keys_and_bundles_are_0600(tmp_path: Path) -> None:
    issued = issue_member(tmp_path, H41)
    server = issue_server(tmp_path)
    assert issued.paths.bundle is not None
    for secret in (ca_files(tmp_path).key, issued.paths.key, issued.paths.bundle, server.paths.key):
        assert mode(secret) == 0o600, secret
    for folder in (tmp_path / "ca", tmp_path / "members", tmp_path / "gateway"):
        assert mode(folder) == 0o700, folder
    assert not list(tmp_path.rglob(".*.tmp"))


# --- what member_of and verify_issued refuse ----------------------------------------------


def forged(tmp_path: Path, cn: str, uris: list[str]) -> x509.Certificate:
    """A certificate signed by the real platform CA whose names are chosen here."""
    authority = ensure_ca(tmp_path)[0]
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
    now = dt.datetime.now(dt.UTC)
    return build_leaf(authority, new_key(), cn, names, CLIENT_AUTH, 30, now)


def test_cn_and_san_that_disagree_are_refused(tmp_path: Path) -> None:
    cert = forged(tmp_path, H41, [f"urn:ndxp:member:{G22}"])
    verify_issued(cert, load_ca(tmp_path).cert)  # the chain is fine: the identity is not
    with pytest.raises(CertificateError, match="disagree"):
        member_of(cert)


@pytest.mark.parametrize(
    ("cn", "uris", "reason"),
    [
        (H41, [], "found 0"),
        (H41, ["urn:other:VN:GOV:000.00.00.H41"], "found 0"),
        (H41, [f"urn:ndxp:member:{H41}", f"urn:ndxp:member:{G22}"], "found 2"),
        ("VN:GOV:000.00.00.H00", ["urn:ndxp:member:VN:GOV:000.00.00.H00"], "invalid member"),
    ],
)
def test_certificates_that_name_no_single_member_are_refused(
    tmp_path: Path, cn: str, uris: list[str], reason: str
) -> None:
    with pytest.raises(CertificateError, match=reason):
        member_of(forged(tmp_path, cn, uris))


def test_certificate_from_another_ca_is_refused(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ca = ensure_ca(ours)[0].cert
    mine = cert_of(issue_member(ours, H41).paths.cert)
    stranger = cert_of(issue_member(theirs, H41).paths.cert)
    verify_issued(mine, ca)
    assert member_of(stranger) == H41  # names alone prove nothing ...
    with pytest.raises(CertificateError, match="not issued by the platform CA"):
        verify_issued(stranger, ca)  # ... the chain decides


def test_expired_and_server_certificates_are_refused_as_clients(tmp_path: Path) -> None:
    ca = ensure_ca(tmp_path)[0].cert
    member = cert_of(issue_member(tmp_path, H41, days=1).paths.cert)
    with pytest.raises(CertificateError):
        verify_issued(member, ca, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    server = cert_of(issue_server(tmp_path).paths.cert)
    with pytest.raises(CertificateError):
        verify_issued(server, ca)


# --- the gateway's certificate ------------------------------------------------------------


def test_server_certificate_names(tmp_path: Path) -> None:
    issued = issue_server(tmp_path, ["gw.ndxp.example", "10.1.2.3", "LOCALHOST"])
    assert issued.names == ["localhost", "127.0.0.1", "gw.ndxp.example", "10.1.2.3"]
    cert = cert_of(issued.paths.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "gw.ndxp.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.1.2.3"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    with pytest.raises(CertificateError, match="neither an IP address nor a DNS host name"):
        issue_server(tmp_path, ["bad name!"])


# --- the command --------------------------------------------------------------------------


def test_cli_issues_and_shows_without_key_material(tmp_path: Path) -> None:
    environ = {**os.environ, env.VAR: str(tmp_path)}

    def ndxp(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ndxp.cli.main", "certs", *args]
        return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=60)

    issued = ndxp("issue", H41, "--days", "90")
    assert issued.returncode == 0, issued.stderr
    assert "made the platform CA" in issued.stdout and ": issued," in issued.stdout
    assert "rotated" in ndxp("issue", H41).stdout
    shown = ndxp("show")
    assert shown.returncode == 0, shown.stderr
    assert str(tmp_path / "secrets" / "ca" / "ca.crt") in shown.stdout
    assert f"  {H41}  until " in shown.stdout
    bad = ndxp("issue", "VN:GOV:nope")
    assert bad.returncode == 2 and "invalid member id" in bad.stderr
    for out in (issued, shown, bad):
        assert "PRIVATE KEY" not in out.stdout + out.stderr
        assert "BEGIN" not in out.stdout + out.stderr


# --- mutual TLS over a real socket --------------------------------------------------------


async def _call(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> tuple[str, list[str]]:
    """Connect with ``client_ctx`` to a server using ``server_ctx``; what the client read back
    (the member the server saw, or how it failed) and the members the server saw."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        if der is None:  # a handshake without a client certificate must never get here
            member = "anonymous"
        else:
            member = member_of(der)
            assert member_of(writer.get_extra_info("peercert")) == member  # dict form agrees
        seen.append(member)
        writer.write(member.encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=client_ctx), 10
            )
        except (ssl.SSLError, ConnectionError) as exc:
            return f"refused: {exc}", seen
        try:
            # TLS 1.3: the client's handshake ends before the server has checked its
            # certificate; the server's refusal arrives as an alert on the first read
            answer = await asyncio.wait_for(reader.read(), 10)
        except (ssl.SSLError, ConnectionError) as exc:
            return f"refused: {exc}", seen
        finally:
            writer.close()
        return (answer.decode() if answer else "refused: closed"), seen
    finally:
        server.close()
        await server.wait_closed()


def _server_ctx(secrets: Path) -> ssl.SSLContext:
    files = server_files(secrets)
    return server_ssl_context(files.cert, files.key, ca_files(secrets).cert)


def test_mutual_tls_identifies_the_member(tmp_path: Path) -> None:
    issue_server(tmp_path)
    paths = issue_member(tmp_path, H41).paths
    client = client_ssl_context(paths.cert, paths.key, ca_files(tmp_path).cert)
    answer, seen = asyncio.run(_call(_server_ctx(tmp_path), client))
    assert (answer, seen) == (H41, [H41])
    # the bundle alone works too (curl --cert style)
    assert paths.bundle is not None
    bundled = client_ssl_context(paths.bundle, None, ca_files(tmp_path).cert)
    assert asyncio.run(_call(_server_ctx(tmp_path), bundled)) == (H41, [H41])


def test_mutual_tls_refuses_a_client_without_certificate(tmp_path: Path) -> None:
    issue_server(tmp_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(ca_files(tmp_path).cert))
    answer, seen = asyncio.run(_call(_server_ctx(tmp_path), client))
    assert answer.startswith("refused"), answer
    assert seen == []


def test_mutual_tls_refuses_a_certificate_from_another_ca(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    issue_server(ours)
    stranger = issue_member(theirs, H41).paths  # same member id, another CA
    client = client_ssl_context(stranger.cert, stranger.key, ca_files(ours).cert)
    answer, seen = asyncio.run(_call(_server_ctx(ours), client))
    assert answer.startswith("refused"), answer
    assert seen == []


def test_client_refuses_a_server_from_another_ca(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    issue_server(theirs)
    paths = issue_member(ours, H41).paths
    client = client_ssl_context(paths.cert, paths.key, ca_files(ours).cert)
    answer, seen = asyncio.run(_call(_server_ctx(theirs), client))
    assert "CERTIFICATE_VERIFY_FAILED" in answer
    assert seen == []
