"""What aiohttp logs of requests that are not HTTP, kept to a line now and then.

aiohttp logs every request it cannot parse (a bad request line, a header over its limits,
broken chunking) at ERROR with its traceback, ~40 lines each: anyone who can open a
connection could fill the gateway's log at the cost of a few bytes a line. The caller gets
aiohttp's 400 either way; the log keeps one line (no traceback) for the first, then at most
one every ``every_s`` saying how many came since. Anything else aiohttp logs (a fault of the
gateway's own) passes untouched."""

from __future__ import annotations

import logging
import time

from aiohttp.http_exceptions import HttpProcessingError


class BadRequests(logging.Filter):
    """A filter for the ``aiohttp.server`` logger."""

    def __init__(self, every_s: float = 10.0) -> None:
        super().__init__()
        self.every_s = every_s
        self.seen = 0  # bad requests since the server started
        self.unlogged = 0  # ... since the last line
        self.last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        self.seen += 1
        now = time.monotonic()
        if now - self.last < self.every_s:
            self.unlogged += 1
            return False
        more = f" ({self.unlogged} more since the last line)" if self.unlogged else ""
        said = (exc.message.splitlines() or [""])[0][:200]  # the client's bytes: quoted
        record.msg = f"{record.getMessage()}: {type(exc).__name__}: {said!r}{more}"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        self.last, self.unlogged = now, 0
        return True


def install(every_s: float = 10.0) -> BadRequests:
    """Put the filter on aiohttp's server logger (once: a second call returns the first)."""
    logger = logging.getLogger("aiohttp.server")
    for existing in logger.filters:
        if isinstance(existing, BadRequests):
            return existing
    bad = BadRequests(every_s)
    logger.addFilter(bad)
    return bad
