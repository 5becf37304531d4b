from ndxp.core.recovery import stalled


def test_a_partition_with_records_left_and_nothing_read_since_the_start_is_stalled() -> None:
    assert stalled(100.0, 60.0, {}, {"p1": 4}, 30.0) == {"p1": 40.0}


def test_one_read_recently_is_not() -> None:
    assert stalled(100.0, 10.0, {"p1": 80.0}, {"p1": 4}, 30.0) == {}
    assert stalled(100.0, 10.0, {"p1": 60.0}, {"p1": 4}, 30.0) == {"p1": 40.0}


def test_a_partition_read_to_its_end_is_not_stalled_however_long_ago() -> None:
    assert stalled(1000.0, 0.0, {}, {"p0": 0, "p1": 2}, 30.0) == {"p1": 1000.0}


def test_a_recovery_just_started_is_not_stalled() -> None:
    assert stalled(100.0, 90.0, {}, {"p1": 4}, 30.0) == {}


def test_events_of_an_earlier_recovery_do_not_count() -> None:
    # a time before this recovery started: the quiet time counts from the start
    assert stalled(100.0, 50.0, {"p1": 5.0}, {"p1": 4}, 30.0) == {"p1": 50.0}
