"""Finding: a call that ends removes whatever waits under its (egress topic, X-Road-Id) key, even a
NEWER call with the same id. Replies._answer() drops the key when the answer is read; the
handler's `finally: replies.forget(route, id)` runs a loop turn later and pops it again -- by
then another call with that id (the same client retrying, or ANOTHER member sharing the route:
a platform and its units) may have been admitted by expect(). That call never gets its answer
(it is counted "late") and is answered 504 after the service timeout (30 s), not 409.

Here H41's one-stop shop and its commune 001.01.01.H41 (another member, same route) call the
population lookup with the same X-Road-Id, a few at a time, for 10 s.
Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f10_same_id_race.py"""
import collections, threading, time
from common import *
ID = f"shared-{int(time.time())}"
CALLERS = {"H41": "VN/GOV/000.00.00.H41/motcua", "commune 001.01.01.H41": "VN/GOV/001.01.01.H41/motcua"}
out = collections.defaultdict(collections.Counter); slow = []
def loop(name, client, until):
    while time.time() < until:
        code, ms = gw_call(client, extra={"X-Road-Id": ID}, timeout=60)
        out[name][code] += 1
        if ms > 5000: slow.append((name, code, ms))
until = time.time() + 10
ts = [threading.Thread(target=loop, args=(n, c, until)) for n, c in CALLERS.items() for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
for n in CALLERS: print(f"{n}: {dict(out[n])}")
print("calls over 5 s:", [(n, c, round(ms / 1000, 1)) for n, c, ms in slow])
