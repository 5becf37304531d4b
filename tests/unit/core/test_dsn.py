from ndxp.core.dsn import redact_dsn


def test_the_password_of_a_server_dsn_is_hidden() -> None:
    dsn = "http://ledger:s3cr%40t@ch.example:8123/ndxp?secure=1&password=p2&access_token=t0k"
    shown = redact_dsn(dsn)
    assert shown == "http://ledger:***@ch.example:8123/ndxp?secure=1&password=***&access_token=***"
    for secret in ("s3cr", "p2", "t0k"):
        assert secret not in shown


def test_dsns_without_secrets_are_shown_as_they_are() -> None:
    for dsn in ("chdb:///srv/ndxp/var/ledger", "http://ch:8123", "https://ledger@ch:8443?x=1"):
        assert redact_dsn(dsn) == dsn


def test_a_dsn_that_does_not_parse_is_not_shown() -> None:
    assert redact_dsn("http://u:pw@[::1") == "***"
