"""Probe: can another member change what the sender sees of its document?"""
import subprocess, time, uuid
from common import *
doc = f"000.00.00.H40,2026/12/05,{uuid.uuid4().int % 10**12}/UBND"
p = producer()
p.produce("ndxp.in.000.00.00.H40", key=b"VN:GOV:000.00.00.H40:motcua", value=b"<edXML/>",
          headers=document(f"v-{uuid.uuid4()}", "VN:GOV:000.00.00.H40:motcua", doc, ["000.00.00.H41", "001.01.01.H41", "000.00.00.H42"]))
p.flush(); time.sleep(1)
tag = uuid.uuid4().hex[:6]
tries = [
  ("H43 gives 06 for receiver H41", "ndxp.in.000.00.00.H43", "VN:GOV:000.00.00.H43:motcua", "000.00.00.H41", "06"),
  ("H43 gives 02 (refused) for receiver H42", "ndxp.in.000.00.00.H43", "VN:GOV:000.00.00.H43:motcua", "000.00.00.H42", "02"),
  ("H43 recalls (13) from H41", "ndxp.in.000.00.00.H43", "VN:GOV:000.00.00.H43:motcua", "000.00.00.H41", "13"),
  ("H43 writes as H41's client on its own topic", "ndxp.in.000.00.00.H43", "VN:GOV:000.00.00.H41:motcua", "000.00.00.H41", "01"),
  ("H43 writes on H41's topic as H41", "ndxp.in.000.00.00.H41", "VN:GOV:000.00.00.H41:motcua", "000.00.00.H41", "01"),
  ("unit 001.01.01.H41 gives 02 for receiver H41", "ndxp.in.000.00.00.H41", "VN:GOV:001.01.01.H41:motcua", "000.00.00.H41", "02"),
  ("H42 gives 02 for H42 with receiver '000.00.00.h42' (case)", "ndxp.in.000.00.00.H42", "VN:GOV:000.00.00.H42:motcua", "000.00.00.h42", "02"),
]
for i, (label, topic, client, recv, code) in enumerate(tries):
    p.produce(topic, key=client.encode(), value=b"", headers=status(f"{tag}-{i}", client, doc, recv, code))
p.flush(); time.sleep(6)
print(sql(f"SELECT message_id, outcome, error, substring(error_detail,1,90) d FROM ndxp.ledger WHERE startsWith(message_id,'{tag}') ORDER BY message_id"))
for i, t in enumerate(tries): print(i, t[0])
print(subprocess.run([f"{ROOT}/.venv/bin/ndxp", "doc", "status", doc], capture_output=True, text=True, env=ENV).stdout)
