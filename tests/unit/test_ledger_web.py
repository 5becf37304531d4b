"""The ledger's HTTP side, its pure parts: the bearer check and what /health says."""

from __future__ import annotations

import orjson

from ndxp.ledger.web import bearer_matches, health_body
from ndxp.settings import LedgerSettings

TOKEN = "a3f9" * 12


def test_only_the_exact_bearer_token_matches() -> None:
    assert bearer_matches(f"Bearer {TOKEN}", TOKEN)
    assert bearer_matches(f"bearer {TOKEN}", TOKEN)  # the scheme is case-insensitive
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", "Bearer "):
        assert not bearer_matches(header, TOKEN)
    assert not bearer_matches("Bearer ", "")  # no token configured: nobody gets in


def test_health_never_shows_the_dsn_password() -> None:
    settings = LedgerSettings(dsn="http://ledger:hunter2@ch:8123/?password=hunter3")
    body = health_body(settings, behind=3, uptime_s=1.26, stats={"rows_inserted": 7})
    text = orjson.dumps(body).decode()
    assert "hunter2" not in text and "hunter3" not in text
    assert body["dsn"] == "http://ledger:***@ch:8123/?password=***"
    assert (body["lag"], body["caught_up"], body["uptime_s"], body["rows_inserted"]) == (
        3,
        True,
        1.3,
        7,
    )


def test_settings_repr_never_shows_the_dsn() -> None:
    settings = LedgerSettings(dsn="http://ledger:hunter2@ch:8123")
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
