"""The router's thread switch interval follows the run it has just routed."""

from __future__ import annotations

from ndxp.core.switching import BUSY_RUN_RECORDS, switch_interval_s


def test_a_quiet_platforms_runs_keep_the_short_interval() -> None:
    for records in (1, 2, 10, BUSY_RUN_RECORDS - 1):
        assert switch_interval_s(records, 0.2, 5.0) == 0.0002


def test_a_run_behind_a_backlog_takes_the_busy_interval() -> None:
    for records in (BUSY_RUN_RECORDS, 180, 1000):
        assert switch_interval_s(records, 0.2, 5.0) == 0.005


def test_the_intervals_are_the_settings_given() -> None:
    assert switch_interval_s(1, 1.0, 2.0) == 0.001
    assert switch_interval_s(BUSY_RUN_RECORDS, 1.0, 2.0) == 0.002
