"""The load test's one-screen summary says how many calls were cut off when the run ended."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from ndxp.paths import REPO

sys.path.insert(0, str(REPO / "loadtest"))

from run import print_summary


def summary(sent: int, delivered: int, send_failed: int = 0) -> dict[str, Any]:
    return {
        "profile": "steady",
        "duration_s": 15.0,
        "processes": 1,
        "run_id": "t",
        "report": "var/loadtest/t",
        "failures_by_code": {},
        "locust": {
            "sent": sent,
            "delivered": delivered,
            "send_failed": send_failed,
            "answered": delivered,
            "refused": 0,
            "timed_out": 0,
            "notices_sent": 0,
            "notices_delivered": 0,
        },
        "ledger": {
            "requests_in_ledger": delivered,
            "routed": delivered,
            "rejected": 0,
            "responses_in_ledger": delivered,
            "notices_in_ledger": 0,
            "notices_routed": 0,
            "lost": 0,
            "duplicated": 0,
            "routed_without_response": 0,
        },
    }


def test_calls_cut_off_at_the_end_are_said(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(summary(287, 286))
    assert "cut off when the run ended: 1 " in capsys.readouterr().out


def test_failed_sends_are_not_cut_off_calls(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(summary(287, 285, send_failed=2))
    out = capsys.readouterr().out
    assert "cut off" not in out
    assert "PASS: nothing lost" in out
