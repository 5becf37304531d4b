"""A ledger DSN fit to print: ``http://user:pass@host:8123`` carries a password, and health
output, logs and command output show the DSN."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "***"
# query parameters of a DSN that hold a secret (clickhouse-connect reads password= and
# access_token= from the DSN's query)
_SECRET_PARAMS = ("password", "secret", "token", "key")


def redact_dsn(dsn: str) -> str:
    """``dsn`` with the password of its user part and every secret-looking query parameter
    replaced by ``***``; the rest (scheme, user, host, port, path, other parameters) kept."""
    try:
        parts = urlsplit(dsn)
        has_password = parts.password is not None
    except ValueError:  # not a URL we can take apart: show nothing of it
        return HIDDEN
    netloc = parts.netloc
    if has_password:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{HIDDEN}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, HIDDEN if any(s in k.lower() for s in _SECRET_PARAMS) else v) for k, v in pairs],
            safe="*",
        )
    if (netloc, query) == (parts.netloc, parts.query):
        return dsn  # nothing to hide (urlunsplit would also drop chdb:///'s empty host)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
