"""The ``ndxp`` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

from ndxp.core.errors import NdxpError


def main(argv: list[str] | None = None) -> int:
    from aiokafka.errors import KafkaError

    from ndxp.cli import (
        certs_cmd,
        client,
        doc_cmd,
        gateway_cmd,
        ledger_cmd,
        provide_cmd,
        registry_cmd,
        router_cmd,
        secure_cmd,
        simulate,
    )

    parser = argparse.ArgumentParser(
        prog="ndxp", description="National data exchange router on Kafka."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (
        router_cmd,
        client,
        doc_cmd,
        simulate,
        registry_cmd,
        ledger_cmd,
        secure_cmd,
        gateway_cmd,
        certs_cmd,
        provide_cmd,
    ):
        module.register(sub)
    args = parser.parse_args(argv)
    import os

    from ndxp import env
    from ndxp.kafka import fetch_buffer, fetch_session, records

    # Every consumer ndxp runs (the router's, the ledger's, the simulator's, ndxp tail/send
    # --wait) reads a record whose header names are not UTF-8 instead of stopping on it,
    # fetches with incremental fetch sessions (unless NDXP_FETCH_SESSIONS=off), plans its next
    # fetch once a consumer woken by the last has taken its records (unless
    # NDXP_FETCH_HAND_OVER=off), plans it in one pass (unless NDXP_FETCH_PLAN=aiokafka) with a
    # long poll when it holds nothing back (NDXP_FETCH_IDLE_WAIT_MS), and holds at most
    # NDXP_FETCH_BUFFER_BYTES fetched and not yet consumed (kafka/fetch_buffer.py), and shares
    # each poll's records fairly between topics (kafka/fair_drain.py; NDXP_FETCH_FAIR=off:
    # aiokafka's first come, first served).
    records.install()
    fetch_session.install(
        sessions=os.environ.get(env.FETCH_SESSIONS, "on").lower() != "off",
        buffer_budget=int(os.environ.get(env.FETCH_BUFFER_BYTES, fetch_buffer.DEFAULT_BUDGET)),
        hand_over=os.environ.get(env.FETCH_HAND_OVER, "on").lower() != "off",
        one_pass=os.environ.get(env.FETCH_PLAN, "one-pass").lower() != "aiokafka",
        fair=os.environ.get(env.FETCH_FAIR, "on").lower() != "off",
        idle_wait_ms=int(
            os.environ.get(env.FETCH_IDLE_WAIT_MS, fetch_session.DEFAULT_IDLE_WAIT_MS)
        ),
    )
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = run_async(result)
        return int(result or 0)
    except NdxpError as exc:
        print(f"ndxp: {exc}", file=sys.stderr)
        return 2
    except KafkaError as exc:  # e.g. refused by a secured broker: wrong password, no ACL
        print(f"ndxp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a command on uvloop. SIGTERM cancels it, so its ``finally`` blocks run: consumers
    leave their group at once (a restarted service is assigned its partitions without waiting
    for the old member's session to time out) and nothing uncommitted is committed."""
    import signal

    import uvloop

    async def main() -> Any:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coro
        except asyncio.CancelledError:
            return 128 + signal.SIGTERM

    return uvloop.run(main())


if __name__ == "__main__":
    sys.exit(main())
