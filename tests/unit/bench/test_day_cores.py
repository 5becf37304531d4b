"""What the national day reports of the cores each process used (bench.day.Cores)."""

import os
import time
from typing import Any

from ndxp.bench.day import Cores


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
    cores = Cores({"me": me, "restarted": restarted}, broker=None)
    assert cores.cores() == {}  # nothing sampled yet
    cores.sample()
    assert cores.cores() == {}  # one sample is no interval
    busy(0.3)
    restarted.exits.append({"code": -9})
    cores.sample()
    used = cores.cores()
    assert set(used) == {"me"}
    assert 0.1 < used["me"] <= 1.05  # busy for most of the interval (on a loaded box, less)
