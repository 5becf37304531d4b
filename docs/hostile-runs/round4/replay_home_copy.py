"""Same root cause as forge_home_copy.py: one sealed home copy, written back unchanged 200 times
by the member that owns it (read from its own ingress topic: plain mode). Each is a 'replay' of
an offset the quota stage already applied, so it is routed again, charged nothing, and the
ledger sees the same source coordinates and keeps one row."""
from lib import *
G01C = "VN:GOV:000.00.01.G01:dancu"
H41S = "VN:GOV:000.00.00.H41:lgsp:tiep-nhan-ho-so:v1"
p = producer(); tag = uuid.uuid4().hex[:6]
t_in = tap([G01_IN])
for i in range(6):
    p.produce(G01_IN, key=f"k{i}-{tag}".encode(), value=b"{}", headers=request(f"{tag}-own{i}", G01C, H41S))
p.flush()
hc = [m for m in collect(t_in, 8) if (m.headers() or [])[-1][0] == "ndxp-x-seal"]
m = hc[0]; mid = h(m, "ndxp-id"); print("replaying home copy of", mid)
t = tap([H41_OUT, REJ])
time.sleep(1)
for _ in range(200):
    p.produce(G01_IN, key=m.key(), value=m.value(), headers=m.headers(), partition=m.partition())
p.flush()
got = collect(t, 10)
print("copies of", mid, "on H41 egress:", sum(1 for r in got if r.topic() == H41_OUT and h(r, "ndxp-id") == mid),
      " refused:", sum(1 for r in got if r.topic() == REJ and h(r, "ndxp-id") == mid))
time.sleep(3)
print(sql(f"SELECT count(*) FROM ndxp.ledger WHERE message_id = '{mid}'"))
