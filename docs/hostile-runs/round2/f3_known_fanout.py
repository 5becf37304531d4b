"""Finding: a document to every connected agency costs the router ~84x its bytes and is counted
once by quotas; at 1.4 MiB/s (a third of secured mode's 4 MiB/s per-member broker byte quota,
and 2 records/s, far inside any limit) it slows every other member's routing. The previous
fix (1af5ea2) covered unknown receivers only; known receivers each get the whole document.

Measures a well-behaved sender (H40's one-stop shop -> population lookup, 8,000 requests)
drained with and without the attacker (G22 sending 700 KiB documents to 84 connected agencies).
Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f3_known_fanout.py [docs_per_s] [random]
("random": incompressible documents, which the router's zstd copies cannot shrink; 2026-12-06,
against the byte limit, f3_random_output.txt)
"""
import json
import sys, threading, time, uuid, random
from confluent_kafka import Consumer, TopicPartition
from common import *

RANDOM = sys.argv[2:3] == ["random"]
RATE = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0   # 2 x 700 KiB/s = 1.4 MiB/s, a third of the 4 MiB/s broker quota
N = 8_000  # within the client burst (10,000) of provinces-citizen-lookup
VICTIM = "VN:GOV:000.00.00.H40:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
OUT = "ndxp.out.000.00.01.G01"
REJ = "ndxp.rejected"
REG = json.load(open(f"{ROOT}/infra/registry/vn-sample.json"))
RECEIVERS = [m["id"].split(":")[-1] for m in REG["members"] if m.get("connected") and ":GOV:" in m["id"] and not m["id"].endswith("G22")]
COPIES = "ndxp.out.000.00.00.H41"

def ends(topic):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "x", "enable.auto.commit": False})
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    s = sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    c.close()
    return s

def count_victim(ids_prefix, base):
    # requests routed to the population database since base (only the victim sends there)
    return ends(OUT) - base

def attacker(stop, sent):
    p = producer()
    rnd = random.Random()
    val = b"x" * (700 * 1024)
    if RANDOM:
        val = random.Random(7).randbytes(700 * 1024)
    nxt = time.time()
    while not stop.is_set():
        to = RECEIVERS
        doc_id = f"000.00.00.G22,2026/12/05,{rnd.randint(1, 10**12)}/VPCP"
        p.produce("ndxp.in.000.00.00.G22", key=b"VN:GOV:000.00.00.G22:lgsp", value=val,
                  headers=document(f"a-{uuid.uuid4()}", "VN:GOV:000.00.00.G22:lgsp", doc_id, to))
        sent[0] += 1
        p.poll(0)
        nxt += 1 / RATE
        time.sleep(max(0, nxt - time.time()))
    p.flush(30)

def drain(label):
    base = ends(OUT)
    p = producer()
    t0 = time.time()
    for i in range(N):
        p.produce("ndxp.in.000.00.00.H40", key=VICTIM.encode(), value=b'{"so_dinh_danh":"1"}',
                  headers=request(f"v-{uuid.uuid4()}", VICTIM, POP))
        if i % 1000 == 0:
            p.poll(0)
    p.flush(60)
    t_prod = time.time() - t0
    while True:
        got = ends(OUT) - base
        if got >= N or time.time() - t0 > 300:
            break
        time.sleep(0.25)
    dt = time.time() - t0
    print(f"{label}: {got} of {N} victim requests routed in {dt:.1f} s -> {got/dt:,.0f} records/s (produced in {t_prod:.1f} s)")
    return got / dt

r0 = drain("baseline (no attack)")
time.sleep(3)
stop, sent = threading.Event(), [0]
rej0 = ends(COPIES)
th = threading.Thread(target=attacker, args=(stop, sent)); th.start()
time.sleep(5)  # let the attack settle
r1 = drain(f"with attacker ({RATE:g} documents/s of 700 KiB, {len(RECEIVERS)} connected receivers each)")
stop.set(); th.join()
time.sleep(5)
print(f"attacker sent {sent[0]} records ({sent[0]*700/1024:.0f} MiB); copies on H41 egress alone: {ends(COPIES)-rej0}; receivers per document: {len(RECEIVERS)}")
print(f"victim slowdown: {r0/r1:.1f}x")
import re
m = metrics(ROUTER_PORT)
lag = re.search(r'ndxp_router_member_lag_records\{member="000.00.00.G22"\} (\S+)', m)
print("router lag on the attacker's ingress after it stopped:", lag.group(1) if lag else "?", "documents")
