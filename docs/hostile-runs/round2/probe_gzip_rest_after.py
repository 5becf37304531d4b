"""After-fix probe (new, not a product change): the gateway forwards a gzip body as it came; does the
REST path (ndxp provide -> `ndxp simulate --http` on :9300) inflate it? 4 bombs, sequential."""
import gzip, time, threading, statistics
from common import *
BOMB = gzip.compress(b"\0" * (512 * 1024 * 1024), 9)
REST = "/r1/VN/GOV/000.00.18.G12/api/nghia-vu-tai-chinh~v1/nghia-vu-tai-chinh"  # its handler reads the body
V = "VN/GOV/001.01.01.H41/motcua"  # a unit of H41 (granted with descendants)
print("plain REST call (H41):", gw_call("VN/GOV/000.00.00.H41/motcua", path=REST, body=b'{"gia_tri": 1000000}'))
print("http-simulator RSS", rss("simulate --http"))
lat = []; stop = threading.Event()
def s():
    while not stop.is_set(): lat.append(gw_call(V, path=REST, body=b'{"gia_tri": 1000000}', timeout=60)); time.sleep(0.1)
base = [gw_call(V, path=REST, body=b'{"gia_tri": 1000000}') for _ in range(10)]
print("victim REST before: median", statistics.median(m for _, m in base), "codes", {c for c, _ in base})
t = threading.Thread(target=s); t.start()
for i in range(4):
    print("bomb", i, gw_call("VN/GOV/000.00.00.H41/motcua", path=REST, body=BOMB, extra={"Content-Encoding": "gzip"}, timeout=60))
stop.set(); t.join()
ms = sorted(m for _, m in lat)
print(f"victim REST during: {len(lat)} calls, median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms, codes {sorted({c for c,_ in lat})}")
print("http-simulator RSS", rss("simulate --http"))
