"""Finding (memory): every delivery a document makes is a record in the router's memory (the
document state table) until it is done/refused/withdrawn AND 7 days have passed; a delivery
its receiver never walks stays for ever.  A document counts ONCE against its sender's quota
but makes up to 128 deliveries, so a sender inside its quota grows every router worker's
memory by ~128 records per quota unit.  Measures router RSS per 100,000 open deliveries.
(The script stops the simulated receiving agencies first so that nobody walks the deliveries,
as with receivers that never report; it starts them again at the end.)

Run: cd docs/hostile-runs/round1 && ../../../.venv/bin/python f5_open_deliveries_memory.py [documents]
"""
import json, subprocess, sys, time, uuid, random
from common import *

DOCS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
SV = [f"{ROOT}/.venv/bin/supervisorctl", "-c", f"{ROOT}/var/run/supervisord.conf"]
reg = json.load(open(f"{ROOT}/infra/registry/vn-sample.json"))
to = [m["id"].split(":")[2] for m in reg["members"]
      if m["id"].startswith("VN:GOV:") and m.get("connected") and not m["id"].endswith("G22")][:99]

def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
def router_pid():
    return int(subprocess.run(SV + ["pid", "router"], capture_output=True, text=True).stdout.strip())

subprocess.run(SV + ["stop", "doc-agencies"], capture_output=True)
pid = router_pid()
time.sleep(3)
r0 = rss(pid)
import re
m0 = re.search(r'ndxp_router_messages_total\{code="",member="000.00.00.G22",outcome="routed"\} (\S+)', metrics(6066))
base = float(m0.group(1)) if m0 else 0.0
p = producer()
tag = uuid.uuid4().hex[:6]
for i in range(DOCS):
    doc_id = f"000.00.00.G22,2026/12/05,{random.randint(1, 10**12)}/VPCP-{tag}"
    p.produce("ndxp.in.000.00.00.G22", key=b"VN:GOV:000.00.00.G22:lgsp", value=b"<edXML/>",
              headers=document(f"d-{uuid.uuid4()}", "VN:GOV:000.00.00.G22:lgsp", doc_id, to))
    if i % 100 == 0:
        p.poll(0)
p.flush()
t0 = time.time()
while time.time() - t0 < 600:
    import re
    m = re.search(r'ndxp_router_messages_total\{code="",member="000.00.00.G22",outcome="routed"\} (\S+)', metrics(6066))
    if m and float(m.group(1)) >= base + DOCS * len(to):
        break
    time.sleep(2)
time.sleep(5)
r1 = rss(pid)
print(f"{DOCS} documents x {len(to)} receivers = {DOCS*len(to):,} open deliveries, routed in {time.time()-t0:.0f} s")
print(f"router RSS {r0} MB -> {r1} MB: +{r1-r0} MB, {((r1-r0)*1e5/(DOCS*len(to))):.0f} MB per 100,000 deliveries")
subprocess.run(SV + ["restart", "router"], capture_output=True)
time.sleep(40)
print(f"after a router restart (state read back from its changelog): RSS {rss(router_pid())} MB")
print("(doc-agencies left stopped; start it with: supervisorctl -c var/run/supervisord.conf start doc-agencies)")
