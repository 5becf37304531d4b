"""The gateway's log of requests that are not HTTP: a line now and then, no tracebacks."""

from __future__ import annotations

import logging
import sys

from aiohttp.http_exceptions import BadStatusLine

from ndxp.gateway.bad_requests import BadRequests


def record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord(
        "aiohttp.server",
        logging.ERROR,
        __file__,
        1,
        "Error handling request from %s",
        ("10.0.0.1",),
        info,
    )


def test_a_flood_of_bad_requests_is_one_line_now_and_then() -> None:
    bad = BadRequests(every_s=3600)
    first = record(BadStatusLine("GARBAGE\r\nX-Forged: line"))
    assert bad.filter(first)
    assert first.levelno == logging.WARNING and first.exc_info is None
    said = first.getMessage()
    assert said.startswith("Error handling request from 10.0.0.1: BadStatusLine: ")
    assert "\n" not in said and "\r" not in said  # the client cannot forge a log line
    assert not any(bad.filter(record(BadStatusLine("x"))) for _ in range(1000))
    assert bad.seen == 1001 and bad.unlogged == 1000
    bad.last -= 3600  # the window has passed
    later = record(BadStatusLine("y"))
    assert bad.filter(later) and "(1000 more since the last line)" in later.getMessage()


def test_the_gateways_own_faults_are_logged_as_they_are() -> None:
    bad = BadRequests()
    own = record(KeyError("a bug of ours"))
    assert bad.filter(own) and bad.filter(record(KeyError("again")))
    assert own.levelno == logging.ERROR and own.exc_info is not None and bad.seen == 0
