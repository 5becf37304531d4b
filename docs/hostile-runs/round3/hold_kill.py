"""The refusal allowance under kill -9: one member (the telecom VN:COM:0100100079) writes N
refused zstd requests at once; while its ingress topic is held (10,000 refusals at first, then
1,000 a second), the router is killed with SIGKILL mid-hold and the platform restarts it. Then
every one of the N must be in the ledger exactly once (by its ingress coordinates), refused
FORBIDDEN, and the member's own lookup sent behind the flood routed once the flood is worked
off. Prints the counts and when the flood's refusals were decided.

Run: cd docs/hostile-runs/round3 && ../../../.venv/bin/python hold_kill.py [records] [kill after s]
(on a platform of its own: see ../README.md)"""
import os, signal, subprocess, sys, time, uuid

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/round2")
from common import *  # noqa: E402,F403

N = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
KILL_AFTER = float(sys.argv[2]) if len(sys.argv) > 2 else 15
A = "0100100079"; A_CLIENT = f"VN:COM:{A}:xacthuc"; TOPIC = f"ndxp.in.{A}"


def row(q):
    """The first row of ``ndxp sql``'s table, as its fields."""
    lines = [l for l in sql(q).splitlines() if l.strip()]
    return lines[2].split() if len(lines) > 2 else lines


def router_pid():
    out = subprocess.run(["pgrep", "-f", f"{ROOT}/.venv/bin/ndxp router"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


rows_before = int(row(f"SELECT count() FROM ndxp.ledger WHERE source_topic = '{TOPIC}'")[0])
tag = uuid.uuid4().hex[:8]
p = producer(**{"linger.ms": 20, "compression.type": "zstd", "batch.size": 1_000_000})
t0 = time.time()
for n in range(N):
    p.produce(TOPIC, key=A.encode(), value=b"", headers=request(f"{tag}-{n}", A_CLIENT, POP)); n += 1
    if n % 5000 == 0: p.poll(0)
own = f"{tag}-own"  # the member's own call behind its flood: a citizen check it is granted
p.produce(TOPIC, key=A.encode(), value=b"{}", headers=request(own, A_CLIENT, "VN:GOV:000.00.01.G01:dancu:xac-thuc-cong-dan:v1"))
p.flush()
print(f"sent {N:,} refused requests and one of its own in {time.time() - t0:.1f} s")
time.sleep(max(0.0, KILL_AFTER - (time.time() - t0)))
pid = router_pid()
held = [l for l in metrics(ROUTER_PORT).splitlines() if l.startswith("ndxp_router_refusal_holds_total")]
lag = health(ROUTER_PORT)["lag"]
os.kill(pid, signal.SIGKILL)
print(f"{time.time() - t0:.0f} s: router {pid} killed with SIGKILL, lag {lag:,}, holds {held}")
while True:
    time.sleep(2)
    try:
        h = health(ROUTER_PORT)
        if router_pid() not in (None, pid) and h.get("ready") and h["lag"] == 0:
            break
    except OSError:
        pass
    if time.time() - t0 > 600:
        print("not caught up in 600 s"); break
print(f"{time.time() - t0:.0f} s: a new router ({router_pid()}) caught up")
time.sleep(10)  # the ledger's batches
q = (f"SELECT count(), uniqExact(source_offset), countIf(error = 'FORBIDDEN'), "
     f"min(routed_at), max(routed_at) FROM ndxp.ledger WHERE source_topic = '{TOPIC}' "
     f"AND startsWith(message_id, '{tag}-') AND message_id != '{own}'")
print("flood in the ledger (rows, distinct offsets, FORBIDDEN, first and last decided):", row(q))
print("its own call in the ledger:", row(f"SELECT outcome, error, routed_at FROM ndxp.ledger WHERE message_id = '{own}'"))
print(f"rows of {TOPIC} before the run: {rows_before:,}")
