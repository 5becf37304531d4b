"""Probe: a status (and a document) at the very edge of the size budget -- does the sealed events
copy / fan-out copy still fit, or does the router hit a broker refusal (exit 70)?"""
import subprocess, time, uuid
from common import *
doc = f"000.00.00.H40,2026/12/05,{uuid.uuid4().int % 10**12}/UBND"
p = producer(**{"message.max.bytes": 3_000_000})
p.produce("ndxp.in.000.00.00.H40", key=b"VN:GOV:000.00.00.H40:motcua", value=b"<edXML/>",
          headers=document(f"v-{uuid.uuid4()}", "VN:GOV:000.00.00.H40:motcua", doc, ["000.00.00.H41"]))
p.flush(); time.sleep(2)
tag = uuid.uuid4().hex[:6]
key = b"k" * 4096
def pad_headers(base, total):
    used = sum(len(k) + len(v) + 2 for k, v in base)
    return base + [("x-pad", b"p" * max(0, total - used - 8))]
i = 0
for hb in (65536 - 64, 65536 - 600, 60000):
    for v in (1048576, 1048576 - 2000, 1048576 - 8000, 1048576 - 20000, 1048576 - 40000):
        h = pad_headers(status(f"{tag}-s{i}", "VN:GOV:000.00.00.H41:motcua", doc, "000.00.00.H41", "01"), hb)
        p.produce("ndxp.in.000.00.00.H41", key=key, value=b"v" * v, headers=h); i += 1
        h = pad_headers(document(f"{tag}-d{i}", "VN:GOV:000.00.00.H40:motcua", f"000.00.00.H40,2026/12/05,{uuid.uuid4().int % 10**12}/UBND", ["000.00.00.H41", "000.00.00.H42"]), hb)
        p.produce("ndxp.in.000.00.00.H40", key=key, value=b"v" * v, headers=h); i += 1
p.flush(); time.sleep(15)
print(sql(f"SELECT substring(message_id,8,1) k, outcome, error, count() n, max(payload_size) mx FROM ndxp.ledger WHERE startsWith(message_id,'{tag}') GROUP BY ALL ORDER BY k, outcome"))
print(open(f"{ROOT}/var/run/restarts.json").read()[-600:])
h = health(ROUTER_PORT); print({k: h[k] for k in ("ready", "caught_up", "lag", "uptime_s")})
