"""Finding (with f2): kinds no quota counts -- responses nobody asked for, and refused records --
are free for the sender, so one member can put the router and the ledger behind for everyone.
The telecom VN:COM:0100100079 (200 requests/s) writes N tiny responses to H40's one-stop shop
(it has no grant and there were no calls). Meanwhile another member's (H40) gateway calls are
timed, and how long its Kafka request takes to appear in the ledger.

Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f5_unquoted_flood_lag.py [N]
"""
import statistics, sys, threading, time, uuid
from common import *

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
CODEC = sys.argv[2] if len(sys.argv) > 2 else "none"  # zstd: ~4 B a record on the wire (f6b)
A = "0100100079"; A_SERVICE = f"VN:COM:{A}:xacthuc:thong-bao-thue-bao:v1"
V_CLIENT = "VN:GOV:000.00.00.H40:motcua"

def ledger_delay():
    mid = f"probe-{uuid.uuid4()}"
    p = producer(); p.produce("ndxp.in.000.00.00.H40", key=V_CLIENT.encode(), value=b"{}", headers=request(mid, V_CLIENT, POP)); p.flush()
    t0 = time.time()
    while time.time() - t0 < 240:
        if sql(f"SELECT count() c FROM ndxp.ledger WHERE message_id='{mid}'").split("\n")[2] == "1":
            return round(time.time() - t0, 1)
        time.sleep(0.5)
    return ">240"

def calls(n=10):
    lat = [gw_call("VN/GOV/000.00.00.H40/motcua", timeout=60) for _ in range(n)]
    ms = sorted(m for _, m in lat)
    return f"median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms, codes {sorted(set(str(c) for c, _ in lat))}"

t1 = time.time()
while (health(ROUTER_PORT)["lag"] > 0 or health(LEDGER_PORT)["lag"] > 0) and time.time() - t1 < 300: time.sleep(1)
time.sleep(3)
print("before: H40 gateway calls", calls(), "| H40 request -> ledger row in", ledger_delay(), "s")
tag = uuid.uuid4().hex[:8]
p = producer(**{"linger.ms": 50, "compression.type": CODEC, "batch.size": 1_000_000})
t0 = time.time()
for i in range(N):
    p.produce(f"ndxp.in.{A}", key=A.encode(), value=b"", headers=hdrs({"ndxp-id": f"{tag}-{i}", "ndxp-kind": "response",
              "ndxp-client": V_CLIENT, "ndxp-service": A_SERVICE, "ndxp-correlation-id": "x"}))
    if i % 10000 == 0: p.poll(0)
p.flush()
print(f"attacker: {N:,} unsolicited responses ({CODEC}) produced in {time.time()-t0:.1f} s")
print("during: H40 gateway calls", calls(), "| H40 request -> ledger row in", ledger_delay(), "s")
h = health(ROUTER_PORT); print("router health:", {k: h[k] for k in ("ready", "caught_up", "lag")})
print(f"since the flood began: {time.time()-t0:.0f} s")
t1 = time.time()
while health(ROUTER_PORT)["lag"] > 0 and time.time() - t1 < 300: time.sleep(1)
print(f"router caught up {time.time()-t0:.0f} s after the flood began")
