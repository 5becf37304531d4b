"""The platform's own PKI: one CA, a client certificate per member, the gateway's server
certificate, and the TLS contexts for mutual TLS between them.

Callers of the HTTP gateway authenticate with a client certificate issued by the platform CA;
the member a certificate speaks for is its subject CN and, the same text, its URI SAN
``urn:ndxp:member:<member id>`` (:mod:`ndxp.pki.identity`, schemas/WIRE.md). Everything lives
in the secrets folder (``$NDXP_VAR/secrets``): private keys in files of mode 0600, never
printed (:mod:`ndxp.pki.files`).

- :mod:`ndxp.pki.authority`: the CA, made once and never overwritten; chain checks
- :mod:`ndxp.pki.member`: a member's client certificate (re-issuing rotates its key)
- :mod:`ndxp.pki.server`: the gateway's server certificate
- :mod:`ndxp.pki.identity`: the member id in a certificate, written and read back
- :mod:`ndxp.pki.tls`: ``ssl.SSLContext`` for the server and for a member's client
- :mod:`ndxp.pki.inventory`: what has been issued (``ndxp certs show``), no key material
"""

from ndxp.pki.authority import Authority, ensure_ca, load_ca, verify_issued
from ndxp.pki.errors import CertificateError
from ndxp.pki.files import ca_files, member_files, server_files
from ndxp.pki.identity import MEMBER_URI_PREFIX, member_of, member_of_der, member_uri
from ndxp.pki.inventory import inventory
from ndxp.pki.member import IssuedMember, issue_member
from ndxp.pki.server import IssuedServer, issue_server
from ndxp.pki.tls import client_ssl_context, server_ssl_context

__all__ = [
    "MEMBER_URI_PREFIX",
    "Authority",
    "CertificateError",
    "IssuedMember",
    "IssuedServer",
    "ca_files",
    "client_ssl_context",
    "ensure_ca",
    "inventory",
    "issue_member",
    "issue_server",
    "load_ca",
    "member_files",
    "member_of",
    "member_of_der",
    "member_uri",
    "server_files",
    "server_ssl_context",
    "verify_issued",
]
