import uuid, time, random
from common import *
p = producer()
c = tap(["ndxp.rejected", "ndxp.out.000.00.00.G22"])
rnd = random.Random(1)
to = sorted({f"000.00.{rnd.randint(1,99):02d}.Z{rnd.randint(10,99)}" for _ in range(200)})[:128]
val = b"x" * (700 * 1024)
mid = f"fan-{uuid.uuid4()}"
doc_id = f"000.00.00.G22,2026/12/05,{rnd.randint(1,10**9)}/VPCP"
p.produce("ndxp.in.000.00.00.G22", key=b"VN:GOV:000.00.00.G22:lgsp", value=val,
          headers=document(mid, "VN:GOV:000.00.00.G22:lgsp", doc_id, to))
p.flush()
ms = collect(c, 20, until=lambda o: sum(1 for m in o if m.topic()=="ndxp.rejected") >= 128)
rej = [m for m in ms if m.topic() == "ndxp.rejected"]
print("sent 1 record of", len(val), "bytes with", len(to), "unknown receivers")
print("dead letters:", len(rej), "bytes of values:", sum(len(m.value() or b"") for m in rej))
print("error notices:", sum(1 for m in ms if m.topic()!="ndxp.rejected"))
print(set(h(m,"ndxp-error") for m in rej))
