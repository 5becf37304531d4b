"""Keep a box busy: ``python -m ndxp.bench.busy --procs 2 --duty 0.9`` burns ``duty`` of a core
in each of ``procs`` processes until stopped (SIGTERM, Ctrl-C). A shared CI runner is often
this busy; races that need a slow box show up beside it (``make soak-quota BUSY=1``). The
takeover's recovery stall was reproduced so: 3 times in 54 runs before its fix, none in 72
after."""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import signal
import time


def burn(duty: float, period_s: float = 0.1) -> None:
    """Busy for ``duty`` of each period, asleep for the rest, for ever."""
    while True:
        start = time.monotonic()
        while time.monotonic() - start < duty * period_s:
            pass
        time.sleep((1 - duty) * period_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--duty", type=float, default=0.9, help="share of each core, 0..1")
    args = parser.parse_args(argv)
    if not 0 < args.duty <= 1:
        parser.error("--duty must be in (0, 1]")
    workers = [
        multiprocessing.Process(target=burn, args=(args.duty,), daemon=True)
        for _ in range(args.procs)
    ]
    for w in workers:
        w.start()
    signal.signal(signal.SIGTERM, lambda *_: None)  # wake the wait below, then stop the burners
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()
    for w in workers:
        w.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
