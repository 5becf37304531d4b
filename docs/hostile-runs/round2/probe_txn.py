"""Probe: an open transaction (producer killed -9), 300 one-record transactions, an aborted transaction of 3,000
records, on H41's ingress partition; then a victim's requests on the same partition. Checks ledger, offsets, health."""
import os, signal, subprocess, sys, time, uuid
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "../../../services"))
from confluent_kafka import Producer
from common import *
from ndxp.core.topology import key_partition

MEMBER = "000.00.00.H41"; TOPIC = f"ndxp.in.{MEMBER}"; CLIENT = f"VN:GOV:{MEMBER}:motcua"
PART = key_partition(CLIENT.encode(), 3)
tag = uuid.uuid4().hex[:8]
if len(sys.argv) > 1 and sys.argv[1] == "open":
    tp = Producer({"bootstrap.servers": BOOT, "transactional.id": f"open-{sys.argv[2]}", "transaction.timeout.ms": 900000})
    tp.init_transactions(); tp.begin_transaction()
    for i in range(50):
        tp.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{sys.argv[2]}-open-{i}", CLIENT, POP), partition=PART)
    tp.flush(); print("open txn written", flush=True); time.sleep(600)
    sys.exit()
child = subprocess.Popen([sys.executable, __file__, "open", tag], stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip()); os.kill(child.pid, signal.SIGKILL); child.wait()
print("open-txn producer killed -9")
t0 = time.time()
tp = Producer({"bootstrap.servers": BOOT, "transactional.id": f"tiny-{tag}"})
tp.init_transactions()
for i in range(300):
    tp.begin_transaction()
    tp.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-tiny-{i}", CLIENT, POP), partition=PART)
    tp.commit_transaction()
print(f"300 one-record transactions in {time.time()-t0:.1f}s")
tp = Producer({"bootstrap.servers": BOOT, "transactional.id": f"ab-{tag}"})
tp.init_transactions()
tp.begin_transaction()
for i in range(3000):
    tp.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-ab-{i}", CLIENT, POP), partition=PART)
    if i % 500 == 0: tp.poll(0)
tp.flush(); tp.abort_transaction()
print("aborted transaction of 3000 records")
lat = [gw_call("VN/GOV/001.01.01.H41/motcua") for _ in range(5)]
print("gateway calls of a unit routed via H41 (same ingress topic):", lat)
p = producer()
for i in range(50):
    p.produce(TOPIC, key=CLIENT.encode(), value=b"{}", headers=request(f"{tag}-victim-{i}", CLIENT, POP), partition=PART)
p.flush()
time.sleep(15)
print(sql(f"SELECT countIf(message_id LIKE '{tag}-open-%') open50, countIf(message_id LIKE '{tag}-tiny-%') tiny300, countIf(message_id LIKE '{tag}-ab-%') ab3000, countIf(message_id LIKE '{tag}-victim-%') victim50 FROM ndxp.ledger"))
subprocess.run([sys.executable, "groupoffs.py", "ndxp-router", TOPIC])
hh = health(ROUTER_PORT); print("router health:", {k: hh[k] for k in ("ready", "caught_up", "lag", "delivery_holes")})
print([l for l in metrics(ROUTER_PORT).splitlines() if "transaction_markers" in l and not l.startswith("#")])
