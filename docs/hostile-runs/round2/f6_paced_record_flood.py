"""Finding: a member's flood of small records paced UNDER secured mode's broker byte quota
(4 MiB/s per member, the README's bound on "a flood of any shape") still puts the router, the
gateway's answers and the ledger behind for everyone: the router's cost is per record, and
refused records (FORBIDDEN, QUOTA_EXCEEDED, ...) and responses are counted by no quota.
Mode 'forbidden': requests to a service the telecom has no grant for (refused, each with an
error notice, dead letter and ledger row). Mode 'response': unsolicited responses to H40.

Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f6_paced_record_flood.py forbidden|response [seconds] [MiB/s] [none|zstd]
"""
import statistics, sys, threading, time, uuid
from common import *

MODE = sys.argv[1] if len(sys.argv) > 1 else "forbidden"
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 10
RATE = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
CODEC = sys.argv[4] if len(sys.argv) > 4 else "none"
WIRE_B = 4.0 if CODEC == "zstd" else None  # bytes a record takes compressed (f6b_compressed_ratio.py)
A = "0100100079"; A_CLIENT = f"VN:COM:{A}:xacthuc"; A_SERVICE = f"VN:COM:{A}:xacthuc:thong-bao-thue-bao:v1"
V_CLIENT = "VN:GOV:000.00.00.H40:motcua"

def ledger_delay():
    mid = f"probe-{uuid.uuid4()}"
    p = producer(); p.produce("ndxp.in.000.00.00.H40", key=V_CLIENT.encode(), value=b"{}", headers=request(mid, V_CLIENT, POP)); p.flush()
    t0 = time.time()
    while time.time() - t0 < 300:
        if sql(f"SELECT count() c FROM ndxp.ledger WHERE message_id='{mid}'").split("\n")[2] == "1":
            return round(time.time() - t0, 1)
        time.sleep(0.5)
    return ">300"

def sample(lat, stop):
    while not stop.is_set():
        lat.append(gw_call("VN/GOV/000.00.00.H40/motcua", timeout=60)); time.sleep(0.2)

def summary(lat):
    ms = sorted(m for _, m in lat)
    return f"{len(lat)} calls, median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms)*.9)]:.0f} ms, max {ms[-1]:.0f} ms, codes {sorted(set(str(c) for c, _ in lat))}"

def record(tag, i):
    if MODE == "response":
        return hdrs({"ndxp-id": f"{tag}-{i}", "ndxp-kind": "response", "ndxp-client": V_CLIENT,
                     "ndxp-service": A_SERVICE, "ndxp-correlation-id": "x"})
    return request(f"{tag}-{i}", A_CLIENT, POP)  # no grant: FORBIDDEN

t1 = time.time()
while (health(ROUTER_PORT)["lag"] > 0 or health(LEDGER_PORT)["lag"] > 0) and time.time() - t1 < 300: time.sleep(1)
time.sleep(3)
lat, stop = [], threading.Event()
t = threading.Thread(target=sample, args=(lat, stop)); t.start(); time.sleep(6); stop.set(); t.join()
print(f"before: H40 gateway calls {summary(lat)} | H40 request -> ledger row {ledger_delay()} s")
tag = uuid.uuid4().hex[:8]
size = WIRE_B or (sum(len(k) + len(v) + 2 for k, v in record(tag, 0)) + len(A) + 20)  # record bytes as the broker counts them, roughly
per_s = int(RATE * 1024 * 1024 / size)
p = producer(**{"linger.ms": 20, "compression.type": CODEC, "batch.size": 1_000_000})
lat, stop = [], threading.Event()
t = threading.Thread(target=sample, args=(lat, stop)); t.start()
t0 = time.time(); n = 0
while time.time() - t0 < SECS:
    target = int((time.time() - t0) * per_s)
    while n < target:
        p.produce(f"ndxp.in.{A}", key=A.encode(), value=b"", headers=record(tag, n)); n += 1
        if n % 5000 == 0: p.poll(0)
    time.sleep(0.01)
p.flush()
sent_s = time.time() - t0
time.sleep(2); stop.set(); t.join()
print(f"attacker ({MODE}, {CODEC}): {n:,} records of ~{size} B = {n*size/sent_s/2**20:.2f} MiB/s for {sent_s:.1f} s ({n/sent_s:,.0f} records/s)")
print(f"during: H40 gateway calls {summary(lat)}")
h = health(ROUTER_PORT); print("router health right after:", {k: h[k] for k in ("ready", "caught_up", "lag")})
print(f"H40 request -> ledger row {ledger_delay()} s")
t1 = time.time()
while health(ROUTER_PORT)["lag"] > 0 and time.time() - t1 < 300: time.sleep(1)
print(f"router caught up {time.time()-t0:.0f} s after the flood began ({sent_s:.0f} s of flood)")
print(sql(f"SELECT outcome, error, count() n FROM ndxp.ledger WHERE startsWith(message_id,'{tag}') GROUP BY ALL"))
