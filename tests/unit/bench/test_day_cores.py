"""What the national day reports of the cores each process used (procs.CpuMeter.cores, and
bench.day.unrestarted)."""

import os
import time
from typing import Any

from ndxp.bench import procs
from ndxp.bench.day import unrestarted


class FakeProc:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exits: list[dict[str, Any]] = []


def busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_busy_process_counts_its_cores_and_a_restarted_one_is_left_out() -> None:
    me, restarted = FakeProc(os.getpid()), FakeProc(os.getpid())
    meter = procs.CpuMeter({"me": me.pid, "restarted": restarted.pid})
    busy(0.3)
    restarted.exits.append({"code": -9})
    used = unrestarted(meter.cores(), {"me": me, "restarted": restarted})  # type: ignore[dict-item]
    assert set(used) == {"me"}
    # 0.3 s of this process's CPU went by: more than none, never more than its one busy thread
    assert 0 < used["me"] <= 1.1
    assert unrestarted({"broker": 0.2}, {"me": me}) == {"broker": 0.2}  # not watched: kept
