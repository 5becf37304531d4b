import hashlib
from datetime import UTC, date, datetime

from ndxp.core.ledger import COLUMNS, ledger_row, local_day, unique_rows

REQ = [
    ("ndxp-id", b"m-1"),
    ("ndxp-kind", b"request"),
    ("ndxp-client", b"VN:GOV:001.01.01.H41:motcua"),
    ("ndxp-service", b"VN:COM:0100109106-001:xacthuc:thong-bao"),
    ("ndxp-routed-at", b"1647000000456"),
    ("ndxp-route", b"0100109106"),
    ("x-other", b"\xff"),
]


def as_dict(row: tuple) -> dict:  # type: ignore[type-arg]
    return dict(zip(COLUMNS, row, strict=True))


def test_routed_request_row() -> None:
    row = ledger_row("ndxp.out.0100109106", 2, 99, 1647000000123, b"payload", REQ)
    assert row is not None
    r = as_dict(row)
    assert r["message_id"] == "m-1" and r["kind"] == "request" and r["outcome"] == "routed"
    assert (r["client_member"], r["client_level1"], r["client_subsystem"]) == (
        "001.01.01.H41",
        "H41",
        "motcua",
    )
    assert (r["service_member"], r["service_level1"], r["service_code"], r["service_version"]) == (
        "0100109106-001",
        "0100109106",
        "thong-bao",
        "",
    )
    assert r["route"] == "0100109106"
    assert r["payload_size"] == 7
    assert r["payload_sha256"] == hashlib.sha256(b"payload").digest()
    assert (r["produced_at"], r["routed_at"]) == (1647000000123, 1647000000456)
    assert (r["topic"], r["partition"], r["offset"], r["ingress_topic"]) == (
        "ndxp.out.0100109106",
        2,
        99,
        "",
    )
    assert b"payload" not in repr(row).encode()  # only its hash and size


def test_rejected_rows_keep_code_and_fall_back_to_ingress_coordinates() -> None:
    dead = [
        ("ndxp-kind", b"bogus"),
        ("ndxp-error", b"MALFORMED"),
        ("ndxp-error-detail", b"missing header ndxp-id"),
        ("ndxp-source-topic", b"ndxp.in.000.00.00.H41"),
        ("ndxp-source-partition", b"1"),
        ("ndxp-source-offset", b"77"),
        ("ndxp-routed-at", b"5"),
    ]
    r = as_dict(ledger_row("ndxp.rejected", 0, 3, 4, None, dead) or ())
    assert r["message_id"] == "ndxp.in.000.00.00.H41:1:77"
    assert (r["kind"], r["outcome"], r["error"]) == ("unknown", "rejected", "MALFORMED")
    assert r["ingress_topic"] == "ndxp.in.000.00.00.H41"
    assert r["client_member"] == "" and r["payload_size"] == 0


def test_error_notices_and_other_topics_are_not_rows() -> None:
    notice = [("ndxp-id", b"n-1"), ("ndxp-kind", b"error"), ("ndxp-correlation-id", b"m-1")]
    assert ledger_row("ndxp.out.000.00.00.H41", 0, 0, 0, b"{}", notice) is None
    assert ledger_row("ndxp.in.000.00.00.H41", 0, 0, 0, b"", REQ) is None


def test_vietnamese_days() -> None:
    def ms(*args: int) -> int:
        return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)

    epoch = date(1970, 1, 1)
    assert local_day(ms(2022, 3, 31, 16, 59, 59)) == (date(2022, 3, 31) - epoch).days
    assert local_day(ms(2022, 3, 31, 17, 0, 0)) == (date(2022, 4, 1) - epoch).days


def test_unique_rows_keeps_the_first_of_each_day_and_id() -> None:
    a = ledger_row("ndxp.out.x", 0, 1, 1000, b"a", REQ)
    b = ledger_row("ndxp.out.x", 0, 2, 2000, b"b", REQ)  # same id, same day: a redelivery
    c = ledger_row("ndxp.out.x", 0, 3, 1000 + 86_400_000, b"c", REQ)  # same id, next day
    assert unique_rows([a, b, c]) == [a, c]  # type: ignore[list-item]
