import sys, uuid, time
sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/round2")
from common import *  # noqa
CLIENT = "VN:GOV:000.00.00.H41:motcua"
H41_IN, H41_OUT = "ndxp.in.000.00.00.H41", "ndxp.out.000.00.00.H41"
G01_IN, G01_OUT = "ndxp.in.000.00.01.G01", "ndxp.out.000.00.01.G01"
REJ = "ndxp.rejected"

def real_request(p, key=CLIENT.encode(), client=CLIENT, service=POP, mid=None, topic=H41_IN, prov=None):
    """Send a request, return (id, ticket seen on the provider's copy, copy)."""
    mid = mid or f"rq-{uuid.uuid4().hex[:12]}"
    prov = prov or "ndxp.out." + service.split(":")[2]
    t = tap([prov, REJ])
    p.produce(topic, key=key, value=b"{}", headers=request(mid, client, service))
    p.flush()
    got = collect(t, 20, lambda ms: any(h(m, "ndxp-id") == mid for m in ms))
    t.close()
    for m in got:
        if h(m, "ndxp-id") == mid:
            return mid, h(m, "ndxp-ticket"), m
    return mid, None, None

def outcome(ids, secs=15, extra_topics=()):
    """For each response id: where it ended (routed topic or rejected code+detail)."""
    t = tap([H41_OUT, REJ, *extra_topics])
    return t

def wait(t, ids, secs=20):
    res = {}
    end = time.time() + secs
    while time.time() < end and len(res) < len(ids):
        for m in t.consume(num_messages=1000, timeout=0.2):
            if m.error(): continue
            i = h(m, "ndxp-id")
            if i in ids and i not in res:
                if m.topic() == REJ:
                    res[i] = f"REJECTED {h(m,'ndxp-error')}: {h(m,'ndxp-error-detail')[:150]}"
                else:
                    res[i] = f"ROUTED to {m.topic()} ticket-on-copy={h(m,'ndxp-ticket')!r}"
    for i in ids:
        res.setdefault(i, "NOTHING SEEN")
    return res
