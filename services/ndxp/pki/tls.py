"""``ssl.SSLContext`` for mutual TLS between a member's client and the gateway.

The server requires a client certificate and trusts the platform CA alone (not the system's
store: a certificate from any public CA is refused at the handshake); the client presents
its member certificate and trusts the platform CA alone, checking the server's host name.
TLS 1.2 at least, both ways. Who the caller is comes afterwards from its certificate:
:func:`ndxp.pki.identity.member_of` on ``ssl_object.getpeercert(binary_form=True)``.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def server_ssl_context(cert_file: Path, key_file: Path, ca_file: Path) -> ssl.SSLContext:
    """The gateway's side: its certificate and key (``gateway/server.crt``/``.key``), and the
    platform CA (``ca/ca.crt``) as the only trust anchor for client certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(ca_file))
    context.load_cert_chain(str(cert_file), str(key_file))
    return context


def client_ssl_context(cert_file: Path, key_file: Path | None, ca_file: Path) -> ssl.SSLContext:
    """A member's side: its certificate and key (or ``key_file=None`` with the ``.pem``
    bundle as ``cert_file``), trusting only the platform CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, host names checked
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=str(ca_file))
    context.load_cert_chain(str(cert_file), None if key_file is None else str(key_file))
    return context
