"""The document state the router keeps for each delivery is held at its own size: what
``orjson.dumps`` returns holds the ~4 KiB buffer it wrote into (glibc cannot give the rest
back), and 276,000 deliveries held the router at 1.26 GB (0.21 GB kept as copies)."""

from __future__ import annotations

import subprocess
import sys

from ndxp.router.quota_changelog import kept

PROBE = """
import sys, orjson
from ndxp.router.quota_changelog import kept
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
state = {"s": "delivered", "r": "000.00.00.H41", "d": "000.00.00.G22,2026/12/05,1/VPCP",
         "t": [[1764900000000, "01", "x" * 40]] * 3, "o": ["ndxp.in.000.00.00.G22", 2, 0]}
held = []
before = rss()
for i in range(40_000):
    state["o"][2] = i
    encoded = orjson.dumps(state)
    held.append(kept(encoded) if sys.argv[1] == "kept" else encoded)
print((rss() - before) * 1024 // len(held))
"""


def _bytes_per_state(how: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, how], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_a_kept_state_is_an_equal_copy() -> None:
    encoded = b'{"s":"delivered"}'
    copy = kept(encoded)
    assert copy == encoded and type(copy) is bytes


def test_kept_states_cost_their_size_not_orjsons_buffer() -> None:
    as_dumped, as_kept = _bytes_per_state("dumped"), _bytes_per_state("kept")
    assert as_dumped > 2_000  # the premise (orjson 3.13 on glibc): ~4 KiB each
    assert as_kept < 1_000, as_kept  # ~370 bytes each: the state and its object
