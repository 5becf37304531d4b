"""``ndxp ledger run|synth|migrate``, ``ndxp sql`` and ``ndxp report``."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

import orjson

from ndxp.logs import configure
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.settings import LedgerSettings


def register(sub: Any) -> None:
    led = sub.add_parser("ledger", help="the transaction ledger (ClickHouse)")
    led_sub = led.add_subparsers(dest="ledger_command", required=True)
    run = led_sub.add_parser("run", help="run the ledger service (Kafka → ClickHouse)")
    run.add_argument("--dsn", help="chdb:///dir (default var/ledger) or http://host:8123")
    run.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    run.add_argument("--web-port", type=int, help="health/SQL port ($NDXP_LEDGER_WEB_PORT)")
    run.set_defaults(func=run_cmd)
    mig = led_sub.add_parser("migrate", help="apply schema migrations (schemas/clickhouse)")
    mig.add_argument("--dsn")
    mig.set_defaults(func=migrate_cmd)
    syn = led_sub.add_parser("synth", help="fill the ledger with a synthetic history")
    syn.add_argument(
        "--scale", type=float, default=0.01, help="fraction of the published volume (default 1/100)"
    )
    syn.add_argument("--from", dest="first", default="2021-01", help="first month (2021-01)")
    syn.add_argument("--to", dest="last", default="2023-05", help="last month (2023-05)")
    syn.add_argument(
        "--no-documents",
        dest="documents",
        action="store_false",
        help="without the document exchange axis's history (documents, deliveries, statuses)",
    )
    syn.add_argument("--dsn")
    syn.set_defaults(func=synth_cmd)

    sql = sub.add_parser(
        "sql",
        help="read-only SQL on the ledger (through the running ledger service with the token "
        "in $NDXP_VAR/secrets, or directly): reads only, time/memory/row limits",
    )
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "json", "csv"), default="table")
    sql.add_argument("--dsn")
    sql.set_defaults(func=sql_cmd)

    rep = sub.add_parser("report", help="the statistics the national reports publish")
    when = rep.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", help="YYYY-MM")
    when.add_argument("--quarter", help="YYYYQn")
    when.add_argument("--from", dest="start", help="YYYY-MM-DD (with --to, inclusive)")
    rep.add_argument("--to", dest="end", help="YYYY-MM-DD")
    rep.add_argument("--format", choices=("table", "json", "csv"), default="table")
    rep.add_argument("--chart", metavar="FILE.png", help="write a chart of daily volume")
    rep.add_argument("--top", type=int, default=10)
    rep.add_argument(
        "--documents",
        action="store_true",
        help="the document exchange axis: documents sent, deliveries, statuses, sent → done",
    )
    rep.add_argument("--dsn")
    rep.set_defaults(func=report_cmd)


def _settings(args: argparse.Namespace) -> LedgerSettings:
    return LedgerSettings.from_env(
        dsn=getattr(args, "dsn", None),
        bootstrap=getattr(args, "bootstrap", None),
        web_port=getattr(args, "web_port", None),
    )


async def run_cmd(args: argparse.Namespace) -> int:
    from ndxp.ledger.service import serve
    from ndxp.versions import guard

    guard()  # the ledger's consumer reads through ndxp.kafka.records: aiokafka's internals

    settings = _settings(args)
    configure(settings.log_level)
    await serve(settings)
    return 0


def migrate_cmd(args: argparse.Namespace) -> int:
    from ndxp.core.dsn import redact_dsn
    from ndxp.ledger.store import LedgerStore

    settings = _settings(args)
    applied = LedgerStore(settings.ledger_dsn).migrate()
    dsn = redact_dsn(settings.ledger_dsn)
    print(f"{dsn}: {len(applied)} migration(s) applied: {', '.join(applied)}")
    return 0


def synth_cmd(args: argparse.Namespace) -> int:
    from ndxp.ledger.store import LedgerStore
    from ndxp.ledger.synth import parse_month, synthesize
    from ndxp.registry_file import load_registry

    settings = _settings(args)
    store = LedgerStore(settings.ledger_dsn)
    store.migrate()
    registry = load_registry(DEFAULT_REGISTRY)
    first, last = parse_month(args.first), parse_month(args.last)
    synthesize(store, registry, args.scale, first, last)
    if args.documents:
        from ndxp.ledger.doc_synth import synthesize_documents

        synthesize_documents(store, registry, args.scale, first, last)
    return 0


def sql_cmd(args: argparse.Namespace) -> int:
    from ndxp.ledger.reader import open_reader
    from ndxp.ledger.web import dumps

    columns, rows = open_reader(_settings(args)).read(args.query)
    if args.format == "json":
        sys.stdout.write(dumps([dict(zip(columns, r, strict=True)) for r in rows]).decode() + "\n")
    elif args.format == "csv":
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(columns)
        w.writerows(_plain(r) for r in rows)
        sys.stdout.write(out.getvalue())
    else:
        print(table(columns, [_plain(r) for r in rows]))
    return 0


def report_cmd(args: argparse.Namespace) -> int:
    from ndxp.ledger import report
    from ndxp.ledger.reader import open_reader
    from ndxp.registry_file import load_registry

    period = report.parse_period(args.month, args.quarter, args.start, args.end)
    settings = _settings(args)
    if args.documents:
        return _document_report(args, open_reader(settings), period)
    result = report.build(open_reader(settings), period, load_registry(DEFAULT_REGISTRY), args.top)
    if args.format == "json":
        slim = {k: v for k, v in result.items() if k != "daily_last_year"}
        sys.stdout.write(orjson.dumps(slim, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "csv":
        sys.stdout.write(report.render_csv(result))
    else:
        print(report.render_table(result))
    if args.chart:
        report.chart(result, args.chart)
        print(f"chart: {args.chart}", file=sys.stderr)
    return 0


def _document_report(args: argparse.Namespace, reader: Any, period: Any) -> int:
    from ndxp.ledger import doc_report
    from ndxp.registry_file import load_registry

    result = doc_report.build(reader, period, load_registry(DEFAULT_REGISTRY), args.top)
    if args.format == "table":
        print(doc_report.render_table(result))
    else:
        slim = {k: v for k, v in result.items() if k != "daily_last_year"}
        sys.stdout.write(orjson.dumps(slim, option=orjson.OPT_INDENT_2).decode() + "\n")
    if args.chart:
        doc_report.chart(result, args.chart)
        print(f"chart: {args.chart}", file=sys.stderr)
    return 0


def _plain(row: tuple[Any, ...]) -> list[str]:
    return [v.hex() if isinstance(v, bytes) else str(v) for v in row]


def table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [len(c) for c in columns]
    for r in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, r, strict=True)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
