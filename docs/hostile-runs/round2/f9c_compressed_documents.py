"""f9 with documents (f3): a 760 KiB document of zeros, zstd, to every connected agency.
Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f9c_compressed_documents.py [N]"""
import glob, json, os, sys, time, uuid
from common import *
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5
REG = json.load(open(f"{ROOT}/infra/registry/vn-sample.json"))
RECEIVERS = [m["id"].split(":")[-1] for m in REG["members"] if m.get("connected") and ":GOV:" in m["id"] and not m["id"].endswith("G22")]
def disk(pattern):
    return sum(os.path.getsize(f) for f in glob.glob(f"{ROOT}/var/kafka-19392/data/{pattern}/*.log"))
i0, o0 = disk("ndxp.in.000.00.00.G22-*"), disk("ndxp.out.*")
p = producer(**{"compression.type": "zstd", "linger.ms": 100, "batch.size": 24 * 1024 * 1024})
for i in range(N):
    p.produce("ndxp.in.000.00.00.G22", key=b"VN:GOV:000.00.00.G22:lgsp", value=bytes(760 * 1024),
              headers=document(f"z-{uuid.uuid4()}", "VN:GOV:000.00.00.G22:lgsp", f"000.00.00.G22,2026/12/05,{uuid.uuid4().int % 10**15}/VPCP", RECEIVERS))
p.flush(); t0 = time.time(); time.sleep(2)
w = disk("ndxp.in.000.00.00.G22-*") - i0
while health(ROUTER_PORT)["lag"] > 0 and time.time() - t0 < 300: time.sleep(1)
time.sleep(3)
o = disk("ndxp.out.*") - o0
print(f"{N} documents of 760 KiB to {len(RECEIVERS)} agencies: {w:,} bytes written by the sender; egress topics grew {o:,} bytes ({o/max(w,1):,.0f}x); quota units used: {N}")
