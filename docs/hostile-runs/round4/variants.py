"""Many malformed/equivalent-looking tickets and identifiers on answers to one real request."""
from lib import *
p = producer()
rid, T, _ = real_request(p)
print("real request", rid, "ticket", T)
def resp(mid, client=CLIENT, service=POP, corr=rid, ticket=T, extra=()):
    hs = [("ndxp-id", mid.encode()), ("ndxp-kind", b"response"), ("ndxp-client", client.encode()),
          ("ndxp-service", service.encode()), ("ndxp-correlation-id", corr.encode())]
    if ticket is not ...:
        hs.append(("ndxp-ticket", ticket.encode() if isinstance(ticket, str) else ticket))
    return hs + list(extra)
tag = uuid.uuid4().hex[:6]
t = outcome(None)
V = {
 "exact": {},
 "upper-hex": dict(ticket=T[:3] + T[3:].upper()),
 "upper-prefix": dict(ticket="T1." + T[3:]),
 "trailing-space": dict(ticket=T + " "),
 "leading-space": dict(ticket=" " + T),
 "trailing-newline": dict(ticket=T + "\n"),
 "truncated": dict(ticket=T[:-1]),
 "empty": dict(ticket=b""),
 "none": dict(ticket=None),
 "non-utf8": dict(ticket=T.encode()[:-2] + b"\xff\xfe"),
 "non-utf8-tail": dict(ticket=T.encode() + b"\xff"),
 "long": dict(ticket=T * 1500),
 "fullwidth-digit": dict(ticket=T[:-1] + "\uff10"),
 "nul": dict(ticket=T[:-1] + "\x00"),
 "absent": dict(ticket=...),
 "repeated-same": dict(extra=[("ndxp-ticket", T.encode())]),
 "repeated-none-then": dict(ticket=..., extra=[("ndxp-ticket", None), ("ndxp-ticket", T.encode())]),
 "case-name-only": dict(ticket=..., extra=[("Ndxp-Ticket", T.encode())]),
 "name-trailing-space": dict(ticket=..., extra=[("ndxp-ticket ", T.encode())]),
 "client-lowercase": dict(client=CLIENT.lower()),
 "client-unit-below": dict(client="VN:GOV:000.01.01.H41:motcua"),
 "client-trailing-space": dict(client=CLIENT + " "),
 "client-trailing-colon": dict(client=CLIENT + ":"),
 "service-lower": dict(service=POP.lower()),
 "service-v2": dict(service=POP.replace(":v1", ":v2")),
 "service-other-of-G01": dict(service="VN:GOV:000.00.01.G01:dancu:tra-cuu-ho-gia-dinh:v1"),
 "service-trailing": dict(service=POP + " "),
 "corr-trailing-dot": dict(corr=rid + "."),
 "corr-upper": dict(corr=rid.upper()),
 "other-corr": dict(corr="never-asked-" + tag),
}
ids = {}
for name, kw in V.items():
    mid = f"{tag}-{name}"
    ids[mid] = name
    try:
        p.produce(G01_IN, key=CLIENT.encode(), value=b'{"v":"%s"}' % name.encode(), headers=resp(mid, **kw))
    except Exception as e:
        print(name, "could not produce:", e); ids.pop(mid)
# a ticket on other kinds
for kind in ("request", "notice"):
    mid = f"{tag}-on-{kind}"; ids[mid] = f"ticket-on-{kind}"
    p.produce(H41_IN, key=CLIENT.encode(), value=b"{}", headers=request(mid, CLIENT, POP, **{"ndxp-kind": kind, "ndxp-ticket": T}))
mid = f"{tag}-on-document"; ids[mid] = "ticket-on-document"
p.produce(H41_IN, key=CLIENT.encode(), value=b"{}", headers=document(mid, CLIENT, "000.00.00.H41-2026-00001", ["000.00.00.G09"], **{"ndxp-ticket": T}))
p.flush()
res = wait(t, set(ids), 25)
for mid, name in ids.items():
    print(f"{name:24s} {res[mid]}")
