import sys, uuid, time
from common import *
p = producer()
c = tap(["ndxp.rejected", "ndxp.out.000.00.00.G22"])
ids = []
for i in range(3):
    rcv = f"000.00.{10+i:02d}.Z{10+i}"
    mid = f"probe-{uuid.uuid4()}"
    ids.append(mid)
    p.produce("ndxp.in.000.00.00.G22", key=b"k", value=b"", headers=status(mid, "VN:GOV:000.00.00.G22:lgsp", "000.00.00.G22,2022/03/15,1/X", rcv, "01"))
p.flush()
ms = collect(c, 8)
for m in ms:
    print(m.topic(), m.partition(), h(m,"ndxp-id"), h(m,"ndxp-error"), h(m,"ndxp-error-detail"), h(m,"ndxp-doc-receiver"))
