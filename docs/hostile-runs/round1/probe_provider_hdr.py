import sys, uuid, time
from common import *
SVC = "VN:GOV:000.00.18.G12:api:nghia-vu-tai-chinh:v1"
CLIENT = "VN:GOV:000.00.00.H41:motcua"
p = producer()
c = tap(["ndxp.out.000.00.00.H41", "ndxp.rejected"])
names = sys.argv[1:] or ["x-a\r\nx-injected", "x a", "x:y", "bad(name)"]
ids = {}
for n in names:
    mid = f"hdr-{uuid.uuid4()}"
    ids[mid] = n
    p.produce("ndxp.in.000.00.00.H41", key=CLIENT.encode(), value=b'{"gia_tri":1}',
              headers=request(mid, CLIENT, SVC) + [(n, b"v")])
p.flush()
ms = collect(c, 20, until=lambda o: sum(1 for m in o if h(m,"ndxp-correlation-id") in ids) >= len(ids))
for m in ms:
    cid = h(m, "ndxp-correlation-id") or h(m, "ndxp-id")
    if cid in ids:
        print(repr(ids[cid]), m.topic(), h(m,"ndxp-kind"), h(m,"ndxp-http-status"), h(m,"ndxp-error"), (m.value() or b"")[:300])
missing = set(ids) - {h(m,"ndxp-correlation-id") for m in ms}
print("no answer for:", [ids[i] for i in missing])
