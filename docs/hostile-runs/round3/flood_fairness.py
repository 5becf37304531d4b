"""Fair scheduling between members: one member (the telecom VN:COM:0100100079) floods the router
with small zstd-compressed requests it has no grant for (refused FORBIDDEN, ~4 B a record on the
wire: far under the broker's byte quota), at a fixed rate for a fixed time, so every run floods
alike (round2's f6 produced as fast as its producer could, 0.26 M to 9.5 M records a run).
Meanwhile another member (Hanoi, H40) calls the population database through the gateway five
times a second; its latencies before and during the flood are printed, with the router's lag.

Run: cd docs/hostile-runs/round3 && ../../../.venv/bin/python flood_fairness.py [records/s] [seconds]
(on a platform of its own: see ../README.md)"""
import statistics, sys, threading, time, uuid

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/round2")
from common import *  # noqa: E402,F403

RATE = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 10
A = "0100100079"; A_CLIENT = f"VN:COM:{A}:xacthuc"
V = "VN/GOV/000.00.00.H40/motcua"


def sample(lat, stop):
    while not stop.is_set():
        lat.append(gw_call(V, timeout=60)); time.sleep(0.2)


def summary(lat):
    ms = sorted(m for _, m in lat)
    return (f"{len(lat)} calls, median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms) * .9)]:.0f} ms, "
            f"max {ms[-1]:.0f} ms, codes {sorted(set(str(c) for c, _ in lat))}")


t1 = time.time()
while health(ROUTER_PORT)["lag"] > 0 and time.time() - t1 < 300:
    time.sleep(1)
time.sleep(3)
lat, stop = [], threading.Event()
t = threading.Thread(target=sample, args=(lat, stop)); t.start(); time.sleep(6); stop.set(); t.join()
print(f"before: H40 gateway calls {summary(lat)}")
tag = uuid.uuid4().hex[:8]
p = producer(**{"linger.ms": 20, "compression.type": "zstd", "batch.size": 1_000_000})
lat, stop = [], threading.Event()
t = threading.Thread(target=sample, args=(lat, stop)); t.start()
t0 = time.time(); n = 0; total = int(RATE * SECS)
while n < total:
    target = min(total, int((time.time() - t0) * RATE))
    while n < target:
        p.produce(f"ndxp.in.{A}", key=A.encode(), value=b"", headers=request(f"{tag}-{n}", A_CLIENT, POP)); n += 1
        if n % 5000 == 0: p.poll(0)
    time.sleep(0.01)
p.flush()
sent_s = time.time() - t0
lags = []
while health(ROUTER_PORT)["lag"] > 0 and time.time() - t0 < 600:
    lags.append(health(ROUTER_PORT)["lag"]); time.sleep(1)
caught_up = time.time() - t0
stop.set(); t.join()
print(f"attacker: {n:,} refused requests in {sent_s:.1f} s ({n / sent_s:,.0f} records/s), zstd")
print(f"during (flood and backlog): H40 gateway calls {summary(lat)}")
print(f"router: most lag {max(lags or [0]):,}, caught up {caught_up:.0f} s after the flood began")
