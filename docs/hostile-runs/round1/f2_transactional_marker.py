"""Finding: one committed transaction on a member's ingress partition stops the router on that
partition for good.  The commit marker takes an offset that no consumer is ever handed;
InOrder.admit waits for exactly that offset, seeks back to it every few seconds, for ever.
Everything after it on the partition -- the member's later requests, and the X-Road gateway's
calls of the member's units whose client id hashes there -- is never routed, never refused,
never in the ledger; a restart starts again at the marker; /health stays "ok, caught_up".

Run (on a fresh `make run`): cd docs/hostile-runs/round1 && ../../../.venv/bin/python f2_transactional_marker.py
"""
import subprocess, sys, time, uuid, urllib.request
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "../../../services"))
from confluent_kafka import Producer
from common import *
from ndxp.core.topology import key_partition

MEMBER = "000.00.00.H41"
TOPIC = f"ndxp.in.{MEMBER}"
CLIENT = f"VN:GOV:{MEMBER}:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
PART = key_partition(CLIENT.encode(), 3)
COMMUNE = "VN/GOV/001.01.01.H41/motcua"   # a unit whose client id hashes to the same partition
OTHER = "VN/GOV/000.01.01.H41/motcua"     # a unit on another partition (control)

def ledger(q):
    return subprocess.run([f"{ROOT}/.venv/bin/ndxp", "sql", q], capture_output=True, text=True).stdout

def gw(client):
    req = urllib.request.Request(
        "http://127.0.0.1:8080/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1/cong-dan?so_dinh_danh=1",
        data=b"{}", method="POST", headers={"X-Road-Client": client})
    t = time.time()
    try:
        with urllib.request.urlopen(req, timeout=40) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    return code, round(time.time() - t, 1)

tag = uuid.uuid4().hex[:8]
p = producer()
p.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-pre", CLIENT, POP)); p.flush()
print("before, gateway call as", COMMUNE, "->", gw(COMMUNE))

tp = Producer({"bootstrap.servers": BOOT, "transactional.id": f"hostile-{tag}"})
tp.init_transactions(); tp.begin_transaction()
tp.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-txn", CLIENT, POP), partition=PART)
tp.commit_transaction()
print(f"one committed transaction on {TOPIC}[{PART}]")
time.sleep(5)  # the coordinator writes the marker

for i in range(20):
    p.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-post-{i}", CLIENT, POP))
p.flush()
print("after, gateway call as", COMMUNE, "(same partition) ->", gw(COMMUNE))
print("after, gateway call as", OTHER, "(other partition) ->", gw(OTHER))
time.sleep(10)
print(ledger(f"SELECT countIf(message_id='{tag}-pre') AS pre, countIf(message_id='{tag}-txn') AS txn, "
             f"countIf(startsWith(message_id,'{tag}-post')) AS post_of_20 FROM ndxp.ledger"))
subprocess.run([f"{ROOT}/.venv/bin/python", "groupoffs.py", "ndxp-router", TOPIC])
print("router /health:", health(6066))
print(subprocess.run(f"grep 'were not delivered' {ROOT}/var/log/router.log | tail -2 | cut -c1-220",
                     shell=True, capture_output=True, text=True).stdout)
