"""The router's consumer takes the fetch limits from its settings (Faust sets neither the
fetch wait nor the size of a whole fetch; ndxp.router.faust_fixes.fetch_limits does)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ndxp.core.registry import Registry
from ndxp.kafka.records import LenientMemoryRecords
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry
from ndxp.router.app import create_app
from ndxp.settings import RouterSettings

REGISTRY: Registry = load_registry(DEFAULT_REGISTRY)


def test_the_consumer_fetches_within_the_settings_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LenientMemoryRecords, "markers", False)  # create_app passes markers on
    settings = RouterSettings(fetch_max_wait_ms=17, max_fetch_total_bytes=3 << 20)

    async def made() -> Any:  # aiokafka makes its consumer inside a running loop
        app = create_app(settings, REGISTRY, b"k" * 32)
        return app.consumer._thread._create_worker_consumer(app.transport)

    consumer = asyncio.run(made())
    assert consumer._fetch_max_wait_ms == 17
    assert consumer._fetch_max_bytes == 3 << 20
    assert consumer._max_partition_fetch_bytes == settings.max_fetch_bytes


def test_a_fetch_is_bounded_by_default() -> None:
    # the bound that keeps a router with hundreds of backlogged partitions small
    assert RouterSettings().max_fetch_total_bytes == 8 << 20
