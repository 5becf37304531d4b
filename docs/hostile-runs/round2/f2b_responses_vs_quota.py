"""Companion to f2: the same telecom, 5,000 small requests vs 5,000 small unsolicited responses to
a province it has no grant to, as fast as it can: requests are held to its 200/s limit
(QUOTA_EXCEEDED), responses all routed.
Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f2b_responses_vs_quota.py"""
import time, uuid
from common import *
A = "0100100079"; TOPIC = f"ndxp.in.{A}"; CLIENT = f"VN:COM:{A}:xacthuc"
A_SERVICE = f"VN:COM:{A}:xacthuc:thong-bao-thue-bao:v1"
tag = uuid.uuid4().hex[:8]
p = producer()
t0 = time.time()
for i in range(5000):
    p.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-req-{i}", CLIENT, "VN:GOV:000.00.01.G01:dancu:xac-thuc-cong-dan:v1"))
    p.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=hdrs({"ndxp-id": f"{tag}-resp-{i}", "ndxp-kind": "response",
        "ndxp-client": "VN:GOV:000.00.00.H40:motcua", "ndxp-service": A_SERVICE, "ndxp-correlation-id": f"made-up-{i}"}))
    p.poll(0)
p.flush(); print(f"sent in {time.time()-t0:.1f} s"); time.sleep(12)
print(sql(f"SELECT kind, outcome, error, count() n FROM ndxp.ledger WHERE startsWith(message_id,'{tag}') GROUP BY kind, outcome, error ORDER BY kind, outcome"))
