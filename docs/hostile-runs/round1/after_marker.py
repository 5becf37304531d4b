import uuid, time, subprocess
from common import *
TOPIC="ndxp.in.000.00.00.H41"; CLIENT="VN:GOV:000.00.00.H41:motcua"; POP="VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
tag = f"late{uuid.uuid4().hex[:6]}"
p = producer()
for i in range(20):
    p.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-{i}", CLIENT, POP))
p.flush()
time.sleep(20)
print(subprocess.run([f"{ROOT}/.venv/bin/ndxp","sql",f"SELECT count() FROM ndxp.ledger WHERE startsWith(message_id,'{tag}')"],capture_output=True,text=True).stdout)
