"""The arithmetic of the capacity benchmark's figures: round-trip legs, the loss and duplicate
count of a national day in the ledger, and the copies a drain is measured by."""

from __future__ import annotations

from ndxp.bench.copies import Copies, tally
from ndxp.bench.day import reconcile
from ndxp.bench.roundtrip import LEGS, breakdown, percentiles
from ndxp.core import wire


def row(n: int, sent: float, legs: list[float], kind: str = "response") -> list:
    """A caller's row whose stamps are ``sent`` then each leg's duration after the last."""
    t = [sent]
    for d in legs:
        t.append(t[-1] + d)
    _, receipt, routed, created, receipt2, routed2, received = t
    return [f"rt-m{n}", sent, [receipt, routed], [received, created, receipt2, routed2, kind]]


def test_the_legs_add_up_to_the_round_trip_and_each_is_where_its_stamps_say() -> None:
    rows = [row(n, 1000.0 * n, [3, 10 + n % 5, 4, 2, 0, 6]) for n in range(100)]
    b = breakdown(rows)
    assert b["answered"] == 100
    assert [name for name, _, _ in LEGS] == list(b["legs_ms"])
    assert b["legs_ms"]["request in"]["p50"] == 3
    assert b["legs_ms"]["router, request"]["max"] == 14
    assert b["legs_ms"]["back to the caller"]["p99"] == 6
    assert b["round_trip_ms"]["p50"] == 3 + 12 + 4 + 2 + 6
    assert b["round_trip_ms"]["max"] == 3 + 14 + 4 + 2 + 6


def test_unanswered_refused_or_unseen_requests_are_not_round_trips() -> None:
    rows = [
        row(0, 0.0, [1, 1, 1, 1, 1, 1]),
        row(1, 0.0, [1, 1, 1, 1, 1, 1], kind="error"),  # a refusal's notice
        ["rt-m2", 0.0, [1, 2], None],  # routed, never answered
        ["rt-m3", 0.0, None, [9, 1, 2, 3, "response"]],  # its request copy not seen
    ]
    assert breakdown(rows)["answered"] == 1


def test_percentiles_of_nothing_are_none_and_of_one_value_that_value() -> None:
    assert percentiles([]) == {"p50": None, "p90": None, "p99": None, "max": None}
    assert percentiles([7.0]) == {"p50": 7.0, "p90": 7.0, "p99": 7.0, "max": 7.0}
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {"p50": 51.0, "p90": 91.0, "p99": 100.0, "max": 100.0}


def test_a_day_fully_in_the_ledger_once_loses_and_duplicates_nothing() -> None:
    expected = {("ndxp.in.A", 0): (10, 20), ("ndxp.in.A", 1): (0, 5)}
    got = {("ndxp.in.A", 0): (10, 10, 10, 19), ("ndxp.in.A", 1): (5, 5, 0, 4)}
    assert reconcile(expected, got) == {
        "in_ledger": 15,
        "lost": 0,
        "duplicated": 0,
        "partitions_with_rows_outside_the_day": 0,
    }


def test_missing_rows_repeated_rows_and_rows_of_other_records_are_counted() -> None:
    expected = {("ndxp.in.A", 0): (10, 20), ("ndxp.in.A", 1): (0, 5), ("ndxp.in.B", 0): (0, 3)}
    got = {
        ("ndxp.in.A", 0): (9, 11, 10, 19),  # one offset missing, two rows twice
        ("ndxp.in.A", 1): (5, 5, 0, 5),  # offset 5 is not the day's
        ("ndxp.in.C", 2): (1, 1, 0, 0),  # a partition the day never wrote to
    }  # ndxp.in.B[0]: nothing at all
    r = reconcile(expected, got)
    assert r["lost"] == 1 + 0 + 3
    assert r["duplicated"] == 2
    assert r["partitions_with_rows_outside_the_day"] == 2


def copy_headers(offset: int, routed_at: int, kind: bytes = b"request") -> list:
    return [
        (wire.H_ID, b"x"),
        (wire.H_KIND, kind),
        (wire.H_ROUTED_AT, str(routed_at).encode()),
        (wire.H_SOURCE_TOPIC, b"ndxp.in.A"),
        (wire.H_SOURCE_PARTITION, b"0"),
        (wire.H_SOURCE_OFFSET, str(offset).encode()),
    ]


def test_copies_count_routed_refused_and_duplicates_by_ingress_record() -> None:
    c = Copies()
    for offset in range(10):
        tally(c, "ndxp.out.B", copy_headers(offset, 1000 + 100 * offset), 0)
    tally(c, "ndxp.out.B", copy_headers(3, 5000), 0)  # a redelivered record: routed again
    refused = [
        *copy_headers(10, 1500),
        (wire.H_ERROR, b"QUOTA_EXCEEDED"),
        (wire.H_QUOTA_LIMIT, b"companies-overall"),
    ]
    tally(c, wire.REJECTED_TOPIC, refused, 0)
    notice = [(wire.H_KIND, b"error"), (wire.H_ROUTED_AT, b"1500"), (wire.H_ERROR, b"X")]
    tally(c, "ndxp.out.A", notice, 0)  # answers the refusal: not a record of its own
    assert (c.routed, c.dead_letters, c.notices) == (11, 1, 1)
    assert c.by_code == {"QUOTA_EXCEEDED (companies-overall)": 1}
    assert (c.decided, c.distinct, c.duplicated) == (12, 11, 1)
    assert (c.first_ms, c.last_ms) == (1000, 5000)
    assert c.rate() == 11 / 4.0


def test_copies_without_ingress_coordinates_are_each_a_record() -> None:
    c = Copies()  # the plain baseline stamps no coordinates
    tally(c, "ndxp.out.B", [(wire.H_ROUTED_AT, b"10")], 0)
    tally(c, "ndxp.out.B", [], 20)  # no routed-at either: the copy's timestamp
    assert (c.distinct, c.duplicated, c.first_ms, c.last_ms) == (2, 0, 10, 20)


def test_document_copies_count_deliveries_by_document_and_receiver() -> None:
    c = Copies()

    def copy(receiver: bytes, routed_at: int, with_source: bool = True) -> list:
        headers = copy_headers(7, routed_at, b"document")
        if not with_source:  # the plain baseline's: no ingress coordinates
            headers = [(wire.H_ID, b"y"), (wire.H_ROUTED_AT, str(routed_at).encode())]
        return [*headers, (wire.H_KIND, b"document"), (wire.H_DOC_RECEIVER, receiver)]

    for n, receiver in enumerate((b"H40", b"H41", b"H42")):  # one ingress record, three copies
        tally(c, "ndxp.out.H", copy(receiver, 100 + n), 0)
    tally(c, "ndxp.out.H", copy(b"H41", 900), 0)  # written again after a crash
    tally(c, "ndxp.out.H", copy(b"H40", 950, with_source=False), 0)
    assert (c.routed, c.distinct, c.duplicated) == (5, 4, 1)
    assert c.rate() == 4 / 0.85


def test_the_table_says_what_was_set_aside_while_warming(capsys) -> None:
    from ndxp.bench.table import print_table
    from ndxp.paths import REPO

    legs = {name: percentiles([1.0]) for name, _, _ in LEGS}
    measured = {"p50": 30.0, "p90": 40.0, "p99": 60.0, "max": 70.0}
    x = {
        "rate": 1000.0,
        "rate_achieved": 1000.0,
        "answered": 20_000,
        "round_trip_ms": measured,
        "legs_ms": legs,
        "caller_produce_to_ack_ms": percentiles([1.0]),
        "warm_up": {"seconds": 30.0, "round_trip_ms": {**measured, "p50": 954.0, "p99": 6527.0}},
    }
    r = {
        "command": "python -m ndxp.bench.capacity",
        "started": "now",
        "machine": {"cores": 2},
        "round_trips": {"by_rate": [x]},
    }
    print_table(r, REPO / "var" / "bench" / "t.json")
    out = capsys.readouterr().out
    assert "ndxp at 1,000 req/s was measured after 30 s at that rate, set aside: p50 954.0" in out
    assert any(
        line.split()[:5] == ["ndxp", "1,000", "20,000", "30.0", "40.0"] for line in out.splitlines()
    )


def test_the_table_shows_the_quiet_round_trips_beside_a_loud_neighbour(capsys) -> None:
    from ndxp.bench.table import print_table
    from ndxp.paths import REPO

    def beside(p50: float, routed: int) -> dict[str, object]:
        return {
            "rate": 20.0,
            "rate_achieved": 20.0,
            "answered": 400,
            "round_trip_ms": {"p50": p50, "p90": 40.0, "p99": 70.0, "max": 90.0},
            "legs_ms": {name: percentiles([1.0]) for name, _, _ in LEGS},
            "flood": {
                "client": "VN:GOV:000.00.00.H59:motcua",
                "rate": 6000.0,
                "rate_achieved": 5999.9,
                "sent": 387_439,
                "routed": routed,
            },
        }

    r = {
        "command": "python -m ndxp.bench.capacity",
        "started": "now",
        "machine": {"cores": 2},
        "neighbour": {"by_rate": [beside(21.3, 387_439)]},
        "neighbour_plain": {"by_rate": [beside(48.0, 387_000)]},
    }
    print_table(r, REPO / "var" / "bench" / "t.json")
    out = capsys.readouterr().out.splitlines()
    head = [line for line in out if "a loud neighbour" in line]
    assert head and "000.00.00.H59:motcua sends the national portal 6,000 notices/s" in head[0]
    ndxp = [line for line in out if line.split()[:4] == ["ndxp", "20", "400", "21.3"]]
    plain = [line for line in out if line.split()[:4] == ["plain", "20", "400", "48.0"]]
    assert ndxp and "387,439 of 387,439 routed" in ndxp[0]
    assert plain and "387,000 of 387,439 routed" in plain[0]
