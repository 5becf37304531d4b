"""The sample REST providers (``ndxp simulate --http``) take encoded bodies within a bound:
inflated by ndxp's own reader, never by aiohttp, and never past the value limit."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import orjson
from aiohttp.test_utils import TestClient, TestServer

from ndxp.gateway.simulated import MAX_BODY, RUNNER, application


async def post(body: bytes, encoding: str | None) -> tuple[int, bytes]:
    headers = {"Content-Encoding": encoding} if encoding else {}
    server = TestServer(application(scale=0.0))
    await server.start_server(**RUNNER)  # as serve() runs it
    async with TestClient(server) as client:
        r = await client.post("/thue/nghia-vu-tai-chinh", data=body, headers=headers)
        return r.status, await r.read()


def test_encoded_bodies_are_inflated_within_the_limit() -> None:
    plain = b'{"gia_tri": 1000000000}'
    for body, encoding in (
        (plain, None),
        (gzip.compress(plain), "gzip"),
        (zlib.compress(plain), "deflate"),
    ):
        status, answer = asyncio.run(post(body, encoding))
        assert status == 200, (encoding, answer)
        assert orjson.loads(answer)["thue_thu_nhap_ca_nhan"] == 20_000_000


def test_a_bomb_is_refused_before_it_is_inflated_past_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), 9)  # 64 MiB of zeros in ~64 KB
    assert len(bomb) < MAX_BODY
    status, _ = asyncio.run(post(bomb, "gzip"))
    assert status == 413


def test_other_encodings_and_garbage_are_refused() -> None:
    assert asyncio.run(post(b"\x28\xb5\x2f\xfd", "zstd"))[0] == 415
    assert asyncio.run(post(b"not gzip", "gzip"))[0] == 400
