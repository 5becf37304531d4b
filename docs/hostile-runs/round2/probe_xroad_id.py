"""Probe: repeated X-Road-Id (concurrent, same route / other route), thousands of distinct ids; waiting map after."""
import collections, concurrent.futures as cf, json, urllib.request
from common import *
def health_gw(): return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{GW_PORT}/health").read())
with cf.ThreadPoolExecutor(64) as ex:
    same = list(ex.map(lambda i: gw_call("VN/GOV/000.00.00.H41/motcua", extra={"X-Road-Id": "dup-1"})[0], range(64)))
    other = list(ex.map(lambda i: gw_call(["VN/GOV/000.00.00.H41/motcua", "VN/GOV/001.01.01.H41/motcua", "VN/GOV/000.00.00.H40/motcua"][i % 3], extra={"X-Road-Id": "dup-2"})[0], range(60)))
    many = list(ex.map(lambda i: gw_call("VN/GOV/000.00.00.H41/motcua", extra={"X-Road-Id": f"id-{i}"})[0], range(3000)))
print("64 concurrent, same id, same client:", collections.Counter(same))
print("60 concurrent, same id, H41 / its unit / H40:", collections.Counter(other))
print("3000 distinct ids:", collections.Counter(many))
print("gateway health after:", health_gw(), "RSS", rss("gateway"))
