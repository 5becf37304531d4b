"""The population database (G01) turns one of its OWN sealed home copies into an answer nobody
asked for, without the seal key: the seal covers the copy's internal ndxp-x-* headers and its
owner (the record key), not the sender headers travelling with it; a home copy read back is
routed to its sealed route without being decided again.

1. G01, as client VN:GOV:000.00.01.G01:dancu, sends requests to Nghe An's
   VN:GOV:000.00.00.H41:lgsp:tiep-nhan-ho-so:v1 (granted to all-gov) keyed by something other
   than its client id; the router writes home copies on G01's own ingress topic, route
   000.00.00.H41.
2. G01 reads one back from its ingress topic (plain mode: any client reads any topic; secured
   mode: members only write their ingress topic) and writes it again with the sender headers
   replaced by a response to Nghe An's one-stop shop, no ticket, a correlation id nobody used;
   key, value-free, internal headers and seal kept.
3. A second variant: a forged *request* as another member's client (H40, never sent by it) to a
   service of H41: routed with a valid ticket for H40's client."""
from lib import *
G01C = "VN:GOV:000.00.01.G01:dancu"
H41S = "VN:GOV:000.00.00.H41:lgsp:tiep-nhan-ho-so:v1"
p = producer()
tag = uuid.uuid4().hex[:6]
t_in = tap([G01_IN])
for i in range(6):
    p.produce(G01_IN, key=f"k{i}-{tag}".encode(), value=b"{}", headers=request(f"{tag}-own{i}", G01C, H41S))
p.flush()
hc = [m for m in collect(t_in, 8) if (m.headers() or [])[-1][0] == "ndxp-x-seal"]
print(f"{len(hc)} home copies of G01's own requests read back from {G01_IN}")
if not hc:
    sys.exit("no home copy: retry")
m = hc[0]
internal = [(k, v) for k, v in m.headers() if k.startswith("ndxp-x-")]
print("internal headers kept:", [(k, v[:40]) for k, v in internal])
forged = {
  f"{tag}-forged-answer": hdrs({"ndxp-id": f"{tag}-forged-answer", "ndxp-kind": "response", "ndxp-client": CLIENT,
        "ndxp-service": POP, "ndxp-correlation-id": f"{tag}-nobody-asked"}),
  f"{tag}-forged-request": hdrs({"ndxp-id": f"{tag}-forged-request", "ndxp-kind": "request",
        "ndxp-client": "VN:GOV:000.00.00.H40:motcua", "ndxp-service": H41S}),
}
t = outcome(None, extra_topics=())
t2 = tap(["ndxp.out.000.00.00.H41", REJ])
for mid, sender in forged.items():
    p.produce(G01_IN, key=m.key(), value=b'{"ho_ten": "invented"}', headers=sender + internal, partition=m.partition())
p.flush()
res = {}
end = time.time() + 15
while time.time() < end and len(res) < 2:
    for r in t2.consume(num_messages=500, timeout=0.2):
        if r.error() is None and h(r, "ndxp-id") in forged:
            res[h(r, "ndxp-id")] = (r.topic(), h(r, "ndxp-kind"), h(r, "ndxp-client"), h(r, "ndxp-service"),
                                    h(r, "ndxp-correlation-id"), h(r, "ndxp-ticket"), h(r, "ndxp-error"),
                                    h(r, "ndxp-source-topic"), h(r, "ndxp-source-offset"))
for k in forged:
    print(k, "->", res.get(k, "NOTHING SEEN"))
print("ledger:")
time.sleep(3)
print(sql(f"SELECT message_id, kind, correlation_id, outcome, error, client, service, route, topic, source_topic, source_offset FROM ndxp.ledger WHERE message_id LIKE '{tag}-forged%' OR correlation_id = '{tag}-forged-request'"))
