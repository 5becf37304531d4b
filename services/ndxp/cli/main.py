"""The ``ndxp`` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

from ndxp.core.errors import NdxpError


def main(argv: list[str] | None = None) -> int:
    from ndxp.cli import client, ledger_cmd, registry_cmd, router_cmd, simulate

    parser = argparse.ArgumentParser(
        prog="ndxp", description="National data exchange router on Kafka."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (router_cmd, client, simulate, registry_cmd, ledger_cmd):
        module.register(sub)
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = run_async(result)
        return int(result or 0)
    except NdxpError as exc:
        print(f"ndxp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    import uvloop

    return uvloop.run(coro)


if __name__ == "__main__":
    sys.exit(main())
