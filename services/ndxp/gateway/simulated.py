"""``ndxp simulate --http``: provider systems with REST APIs, for the provider adapter
(``ndxp provide``) to call. Synthetic answers, never real data, after a realistic service time:

- the national population database: ``GET|POST /dancu/cong-dan?so_dinh_danh=<12 digits>``
  (a citizen's record; 404 for an id ending in 000; 400 for a malformed id), 5 ms;
- a province's land information system: ``GET /datdai/thua-dat?so_to=N&so_thua=N`` (a parcel),
  15 ms;
- the tax department: ``POST /thue/nghia-vu-tai-chinh`` with ``{"gia_tri": <VND>}`` (the financial
  obligations of a land transfer: personal income tax 2 %, registration fee 0.5 %), 10 ms;
- a province's one-stop-shop system: ``POST /motcua/ho-so`` (a case registered: 201), 8 ms.

Point a subsystem's ``http.url`` at ``http://127.0.0.1:<port>/dancu`` (and so on)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import zlib
from typing import Any

import orjson
from aiohttp import web

SERVICE_MS = {"dancu": 5.0, "datdai": 15.0, "thue": 10.0, "motcua": 8.0}
MAX_BODY = 2**20  # the platform's value limit: a body, inflated or not, is at most this
# how the server runs: bodies are inflated by :func:`body`, within the limit, not by aiohttp
RUNNER: dict[str, Any] = {"access_log": None, "auto_decompress": False}
SCALE = web.AppKey("scale", float)
_ID = re.compile(r"[0-9]{12}")

log = logging.getLogger("ndxp.simulate")


def _json(document: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(document),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )


async def _wait(request: web.Request, system: str) -> None:
    await asyncio.sleep(SERVICE_MS[system] * request.app[SCALE] / 1000)


async def body(request: web.Request) -> bytes:
    """The request's body, inflated when it comes gzip- or deflate-encoded (the gateway and
    the adapter pass bodies as they came), to at most :data:`MAX_BODY` bytes: 413 past it,
    415 for another encoding. Inflated by this bound, never by aiohttp (``auto_decompress``
    is off): half a megabyte of gzip is 512 MiB of zeros, and aiohttp inflated all of it on
    the one event loop, stalling every other caller's call (1.3 s median beside four such
    bombs)."""
    raw = await request.read()
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "identity":
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise web.HTTPUnsupportedMediaType(text=f"Content-Encoding {encoding} is not taken")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, by their headers
    try:
        out = inflater.decompress(raw, MAX_BODY + 1)
    except zlib.error:
        raise web.HTTPBadRequest(text=f"the body is not {encoding}") from None
    if len(out) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(out))
    return out


async def citizen(request: web.Request) -> web.Response:
    await _wait(request, "dancu")
    pid = request.query.get("so_dinh_danh", "")
    if _ID.fullmatch(pid) is None:
        return _json({"error": "so_dinh_danh must be 12 digits"}, 400)
    if pid.endswith("000"):
        return _json({"error": "no citizen with that id"}, 404)
    seed = hashlib.sha256(pid.encode()).digest()
    return _json(
        {
            "so_dinh_danh": pid,
            "ho_ten": "Nguyễn Văn (giả lập)",  # synthetic
            "nam_sinh": 1950 + seed[0] % 55,
            "gioi_tinh": "Nam" if seed[1] % 2 else "Nữ",
            "noi_thuong_tru": f"Tỉnh mã {pid[:3]}",
            "simulated": True,
        }
    )


async def parcel(request: web.Request) -> web.Response:
    await _wait(request, "datdai")
    sheet, number = request.query.get("so_to", ""), request.query.get("so_thua", "")
    if not (sheet.isdigit() and number.isdigit()):
        return _json({"error": "so_to and so_thua must be numbers"}, 400)
    seed = hashlib.sha256(f"{sheet}/{number}".encode()).digest()
    return _json(
        {
            "so_to": int(sheet),
            "so_thua": int(number),
            "dien_tich_m2": 50 + int.from_bytes(seed[:2], "big") % 950,
            "muc_dich_su_dung": "ONT" if seed[2] % 2 else "CLN",
            "simulated": True,
        }
    )


async def obligations(request: web.Request) -> web.Response:
    await _wait(request, "thue")
    try:
        value = int(orjson.loads(await body(request))["gia_tri"])
    except (ValueError, KeyError, TypeError):
        return _json({"error": 'the body must be {"gia_tri": <VND>}'}, 400)
    if value <= 0:
        return _json({"error": "gia_tri must be positive"}, 400)
    return _json(
        {
            "gia_tri": value,
            "thue_thu_nhap_ca_nhan": value * 2 // 100,
            "le_phi_truoc_ba": value * 5 // 1000,
            "simulated": True,
        }
    )


async def case(request: web.Request) -> web.Response:
    await _wait(request, "motcua")
    content = await body(request)
    code = hashlib.sha256(content + request.headers.get("X-Road-Id", "").encode()).hexdigest()[:10]
    return _json({"ma_ho_so": f"HS-{code.upper()}", "trang_thai": "da_tiep_nhan"}, 201)


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


def application(scale: float = 1.0) -> web.Application:
    app = web.Application(client_max_size=2**20 + 1)
    app[SCALE] = scale
    app.router.add_route("GET", "/dancu/cong-dan", citizen)
    app.router.add_route("POST", "/dancu/cong-dan", citizen)
    app.router.add_get("/datdai/thua-dat", parcel)
    app.router.add_post("/thue/nghia-vu-tai-chinh", obligations)
    app.router.add_post("/motcua/ho-so", case)
    app.router.add_get("/health", health)
    return app


async def serve(host: str, port: int, scale: float) -> None:
    runner = web.AppRunner(application(scale), **RUNNER)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        # once it listens: what whoever started it waits for (a call before would be refused)
        log.info("REST providers on http://%s:%d (dancu, datdai, thue, motcua)", host, port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
