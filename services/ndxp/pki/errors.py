"""The one error type of the PKI."""

from __future__ import annotations

from ndxp.core.errors import NdxpError


class CertificateError(NdxpError, ValueError):
    """A certificate ndxp refuses (wrong issuer, identity, expired) or cannot make."""
