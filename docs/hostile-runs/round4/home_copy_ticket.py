"""Requests of H41's one-stop shop keyed by other things than the client id (the quota stage's
home-copy path): does the provider's copy carry a ticket, and does the echoed answer route?"""
from lib import *
p = producer()
tag = uuid.uuid4().hex[:6]
t_in = tap([H41_IN]); t_prov = tap([G01_OUT])
ids = [f"{tag}-hc{i}" for i in range(8)]
for i, mid in enumerate(ids):
    p.produce(H41_IN, key=f"some-other-key-{i}".encode(), value=b"{}", headers=request(mid, CLIENT, POP))
p.flush()
copies = {h(m, "ndxp-id"): m for m in collect(t_prov, 20, lambda ms: sum(h(m,"ndxp-id") in ids for m in ms) >= len(ids)) if h(m, "ndxp-id") in ids}
ins = collect(t_in, 3)
homecopies = {h(m, "ndxp-id") for m in ins if (m.headers() or [])[-1][0] == "ndxp-x-seal"}
t = outcome(None)
for mid in ids:
    c = copies.get(mid)
    tk = h(c, "ndxp-ticket") if c else None
    print(mid, "home copy" if mid in homecopies else "direct   ", "provider copy:", "yes" if c else "NO", "ticket:", tk)
    if tk:
        p.produce(G01_IN, key=CLIENT.encode(), value=b"{}", headers=hdrs({"ndxp-id": mid + "-ans", "ndxp-kind": "response",
                  "ndxp-client": CLIENT, "ndxp-service": POP, "ndxp-correlation-id": mid, "ndxp-ticket": tk}))
p.flush()
for k, v in sorted(wait(t, {m + "-ans" for m in ids}, 15).items()):
    print(k, v)
