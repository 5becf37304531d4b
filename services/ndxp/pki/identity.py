"""The member a client certificate speaks for.

The rule (schemas/WIRE.md, "Callers over HTTP: certificates"): the subject has exactly one
common name, the member id in its canonical text (``VN:GOV:000.00.00.H41``), and the
certificate has exactly one URI subject alternative name of the form ``urn:ndxp:member:`` +
the same member id. A certificate whose two disagree, that lacks either, carries more than
one, or names an id that does not parse (or parses to other text) speaks for no one.

The URI SAN is there because RFC 6125 deprecates identities in the CN and X-Road-style tools
read SANs; the CN is there because ``openssl x509 -subject``, logs and people read CNs.
Requiring both to agree means neither can be swapped alone.

Whether the certificate was issued by the platform CA is not decided here: the TLS handshake
does that (:mod:`ndxp.pki.tls`), or :func:`ndxp.pki.authority.verify_issued`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import MemberId
from ndxp.pki.errors import CertificateError

MEMBER_URI_PREFIX = "urn:ndxp:member:"

# What a peer certificate may arrive as: ssl's getpeercert() dict (aiohttp's
# get_extra_info("peercert")), getpeercert(binary_form=True)'s DER bytes, or parsed.
PeerCert = x509.Certificate | bytes | Mapping[str, Any]


def parse_member(text: str) -> MemberId:
    """``text`` as a member id, or :class:`~ndxp.core.errors.InvalidIdentifier` with the
    reason (ndxp's own parser: the same rule as on the wire)."""
    return MemberId.parse(text)


def member_uri(member: MemberId) -> str:
    return f"{MEMBER_URI_PREFIX}{member}"


def member_of(cert: PeerCert) -> str:
    """The member id ``cert`` speaks for (canonical text), or :class:`CertificateError`."""
    if isinstance(cert, Mapping):
        common_names, uris = _names_of_dict(cert)
    else:
        parsed = x509.load_der_x509_certificate(cert) if isinstance(cert, bytes) else cert
        common_names, uris = _names_of_cert(parsed)
    if len(common_names) != 1:
        raise CertificateError(f"expected one subject CN, found {len(common_names)}")
    members = [u.removeprefix(MEMBER_URI_PREFIX) for u in uris if u.startswith(MEMBER_URI_PREFIX)]
    if len(members) != 1:
        raise CertificateError(f"expected one {MEMBER_URI_PREFIX}… URI SAN, found {len(members)}")
    cn, san = common_names[0], members[0]
    if cn != san:
        raise CertificateError(f"subject CN {cn!r} and URI SAN member {san!r} disagree")
    try:
        member = MemberId.parse(cn)
    except InvalidIdentifier as exc:
        raise CertificateError(f"certificate names an invalid member: {exc}") from None
    if str(member) != cn:  # pragma: no cover - the parser gives back the exact text
        raise CertificateError(f"member id {cn!r} is not in canonical form")
    return cn


@functools.lru_cache(maxsize=4096)
def member_of_der(der: bytes) -> str:
    """:func:`member_of` for a certificate's DER bytes, remembered (51 µs a parse): the
    gateway reads the certificate of each connection and again of each call on it, and a
    platform has a few hundred. A certificate it refuses is parsed again each time."""
    return member_of(der)


def _names_of_cert(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    common_names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return common_names, []
    return common_names, san.get_values_for_type(x509.UniformResourceIdentifier)


def _names_of_dict(cert: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """ssl's dict form: ``subject`` is a tuple of RDNs, each a tuple of (name, value) pairs;
    ``subjectAltName`` a tuple of (type, value) pairs."""
    common_names = [
        str(value) for rdn in cert.get("subject", ()) for name, value in rdn if name == "commonName"
    ]
    uris = [str(value) for kind, value in cert.get("subjectAltName", ()) if kind == "URI"]
    return common_names, uris
