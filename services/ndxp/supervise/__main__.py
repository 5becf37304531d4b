"""``python -m ndxp.supervise listen|status|check`` (run by supervisord and infra/platform.sh)."""

from __future__ import annotations

import argparse
import sys


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ndxp.supervise", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--socket", required=True, help="supervisord's UNIX socket")
    common.add_argument("--restarts", required=True, help="the exits file (restarts.json)")
    common.add_argument(
        "--service", action="append", required=True, help="NAME or NAME=HEALTH_PORT (repeat)"
    )
    listen = sub.add_parser("listen", parents=[common], help="the crash watch (event listener)")
    listen.add_argument("--base-s", type=float, default=1.0, help="delay after a first exit")
    listen.add_argument("--cap-s", type=float, default=60.0, help="longest delay")
    listen.add_argument("--window-min", type=float, default=10.0, help="exits older don't count")
    status = sub.add_parser("status", parents=[common], help="services, exits, health")
    status.add_argument("--window-min", type=float, default=10.0, help="exits in this window")
    status.add_argument("--log-dir", default="", help="where the services' logs are (shown)")
    status.add_argument(
        "--problem", action="append", default=[], help="NAME: WHAT, found by the caller (Kafka)"
    )
    check = sub.add_parser("check", parents=[common], help="after a start: healthy and steady")
    check.add_argument("--wait", type=float, default=120.0, help="seconds to become healthy")
    check.add_argument("--settle", type=float, default=5.0, help="then still so this later")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "listen":
        from ndxp.supervise.listener import main as listen

        return listen(args)
    from ndxp.supervise.report import check, status

    return (status if args.command == "status" else check)(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
