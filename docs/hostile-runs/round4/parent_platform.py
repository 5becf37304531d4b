"""Answers to requests routed via a provider's parent platform, and by a unit's client."""
from lib import *
p = producer()
tag = uuid.uuid4().hex[:6]
HOTICH = "VN:GOV:000.00.01.H41:hotich:xac-nhan-tinh-trang-hon-nhan:v1"   # unit below H41, not connected
UNITC = "VN:GOV:000.01.01.H41:motcua"                                      # unit client below H41
t_rej = tap([REJ])
# 1. H41 asks its own unit's service: the copy goes to H41's egress
rid1, T1, c1 = real_request(p, client=CLIENT, service=HOTICH, topic=H41_IN, prov=H41_OUT)
print("hotich request copy on", c1.topic() if c1 else None, "ticket", T1)
# 2. a unit client of H41 asks the population database
rid2, T2, c2 = real_request(p, key=UNITC.encode(), client=UNITC, service=POP, topic=H41_IN)
print("unit client's request copy ticket", T2)
t = outcome(None)
def resp(mid, client, service, corr, ticket, topic):
    p.produce(topic, key=client.encode(), value=b"{}", headers=hdrs({"ndxp-id": mid, "ndxp-kind": "response",
      "ndxp-client": client, "ndxp-service": service, "ndxp-correlation-id": corr, "ndxp-ticket": ticket}))
cases = {
 f"{tag}-h41-answers-unit": (CLIENT, HOTICH, rid1, T1, H41_IN),
 f"{tag}-g01-answers-unit-svc": (CLIENT, HOTICH, rid1, T1, G01_IN),
 f"{tag}-g01-answers-unitclient": (UNITC, POP, rid2, T2, G01_IN),
 f"{tag}-unitclient-ticket-as-h41": (CLIENT, POP, rid2, T2, G01_IN),
 f"{tag}-ticket1-on-svc2": (UNITC, POP, rid1, T1, G01_IN),
}
for mid, a in cases.items(): resp(mid, *a)
mid = f"{tag}-ticket-on-status"
p.produce(H41_IN, key=CLIENT.encode(), value=b"", headers=status(mid, CLIENT, "000.00.00.G09-2026-00001", "000.00.00.H41", "03", **{"ndxp-ticket": T1}))
cases[mid] = None
p.flush()
for k, v in sorted(wait(t, set(cases), 15).items()): print(k, v)
