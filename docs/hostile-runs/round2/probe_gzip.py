import gzip, threading
from common import *
bomb = gzip.compress(b"\0" * (512 * 1024 * 1024), 9)
print("bomb", len(bomb), "bytes; gateway RSS", rss("gateway"))
res = []
def one():
    res.append(gw_call("VN/GOV/000.00.00.H41/motcua", body=bomb, extra={"Content-Encoding": "gzip"}, timeout=60))
ts = [threading.Thread(target=one) for _ in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(res, "gateway RSS", rss("gateway"))
print("small gzip body:", gw_call("VN/GOV/000.00.00.H41/motcua", body=gzip.compress(b'{"a":1}'), extra={"Content-Encoding": "gzip"}))
