"""What analysts' SQL may do on the ledger, decided on the engine's own parse of it.

The ledger's engine parses the analyst's text twice, and runs neither: as a *parameter* of
``formatQuerySingleLine`` (one statement or a syntax error, comments dropped, keywords in
capitals: the text that is checked and then run), then as ``EXPLAIN AST`` of that text.
This module decides on those two outputs; it holds no I/O and imports no engine.

Refused, each with a one-line reason (a stable :class:`Refusal` code):

- anything that is not a read: the AST's root must be a SELECT, SHOW TABLES/COLUMNS/INDEXES,
  DESCRIBE, EXISTS, SHOW CREATE TABLE or an EXPLAIN of a SELECT;
- ``INTO OUTFILE`` in any spelling (chdb's embedded client writes the file itself, even
  under ``readonly=1``), and ``FORMAT`` (the reader picks the output format);
- ``SETTINGS`` clauses (the limits are the service's; the engine refuses them too);
- a table function not on :data:`TABLE_FUNCTIONS` (``file``, ``url``, ``s3``, ``remote``,
  ``cluster``, ``executable``, ``input``, ``python``, ``dictionary``, ``mysql`` …: everything
  that reads outside the ledger's own tables), in a FROM clause or anywhere else;
- scalar functions that reach outside the query: ``file`` (reads any file the process can,
  and ``readonly=1`` does not stop it), every ``dict*`` function (a dictionary may have an
  external source), ``joinGet``, ``hasColumnInTable`` (may name a remote server), the
  embedded-dictionary ``region*`` functions, ``naiveBayes*``, ``catboostEvaluate``,
  ``getClientHTTPHeader``, and the engine's internal ``__*`` functions;
- a table named by a path or a URL (a name with ``/``): clickhouse-local's default database
  maps such names to files;
- a table of the ``system`` database not on :data:`SYSTEM_TABLES`: the engine's catalog and
  reference tables are readable, but not what shows the server's paths (``disks``,
  ``tables``, ``parts``, ``databases`` …), other sessions' queries (``processes``,
  ``user_query_log``, ``query_cache`` …), its users, grants or configuration
  (``server_settings``, also ``getServerSetting``). A table's size and rows are in
  ``information_schema.tables`` and ``system.columns``.

The engine enforces the rest (``readonly=1``, time, memory and row limits):
:mod:`ndxp.ledger.analyst`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ndxp.core.errors import NdxpError


class Refusal(enum.StrEnum):
    """Why an analyst's statement was not run. The value is the stable code."""

    EMPTY = "EMPTY"
    UNPARSABLE = "UNPARSABLE"  # includes more than one statement
    NOT_A_READ = "NOT_A_READ"
    OUTFILE = "OUTFILE"
    FORMAT = "FORMAT"
    SETTINGS = "SETTINGS"
    TABLE_FUNCTION = "TABLE_FUNCTION"
    OUTSIDE_FUNCTION = "OUTSIDE_FUNCTION"
    PATH_AS_TABLE = "PATH_AS_TABLE"
    SYSTEM_TABLE = "SYSTEM_TABLE"


class ReadOnlyError(NdxpError):
    """An analyst's statement refused before it ran: :attr:`code` says why."""

    def __init__(self, code: Refusal, detail: str) -> None:
        super().__init__(f"refused ({code}): {detail}")
        self.code = code
        self.detail = detail


# Roots of the statements analysts may run, as EXPLAIN AST names them (first word).
READ_ROOTS = frozenset(
    {
        "SelectWithUnionQuery",
        "SelectIntersectExceptQuery",
        "ShowTables",  # SHOW TABLES / DATABASES / DICTIONARIES / SETTINGS / CLUSTERS
        "ShowColumns",
        "ShowIndexes",
        "DescribeQuery",
        "ExistsTableQuery",
        "ShowCreateTableQuery",
        "Explain",
    }
)
SELECT_ROOTS = frozenset({"SelectWithUnionQuery", "SelectIntersectExceptQuery"})
# What an EXPLAIN's root holds besides the SELECT: its options (Set) and its FORMAT.
_EXPLAIN_PARTS = SELECT_ROOTS | {"Set", "Identifier", "Literal"}

# Table functions analysts may use: they make rows or wrap a subquery, nothing else.
TABLE_FUNCTIONS = frozenset(
    {"numbers", "numbers_mt", "generate_series", "generateseries", "values", "sqlstandardvalues"}
    | {"view"}
)

# Every table function chdb 4.4 (ClickHouse 26.9) knows and the allow-list leaves out, as
# ``SELECT name FROM system.table_functions`` lists them (lower case). A name here is refused
# in a scalar position too (``1 IN url(...)``); an unknown one there is the engine's to reject.
# tests/integration/test_analyst.py checks that this list covers the engine's.
_OTHER_TABLE_FUNCTION_NAMES = """
    arrowstream azureblobstorage azureblobstoragecluster bigquery cluster clusterallreplicas
    cosn deltalake deltalakeazure deltalakeazurecluster deltalakecluster deltalakelocal
    deltalakes3 deltalakes3cluster dictionary eval executable file filecluster filesystem
    format fuzzjson fuzzquery gcs generaterandom hdfs hdfscluster hudi hudicluster iceberg
    icebergazure icebergazurecluster icebergcluster iceberghdfs iceberghdfscluster
    iceberglocal iceberglocalcluster icebergs3 icebergs3cluster input jdbc loop merge
    mergetreeanalyzeindexes mergetreeanalyzeindexesuuid mergetreecodecblockcounts
    mergetreeindex mergetreeprojection mergetreetextindex mongodb mysql null odbc oss paimon
    paimonazure paimonazurecluster paimoncluster paimonhdfs paimonhdfscluster paimonlocal
    paimons3 paimons3cluster postgresql primes prometheusquery prometheusqueryrange python
    redis remote remotesecure s3 s3cluster sqlite timeseriesdata timeseriesmetricfamilies
    timeseriesmetrics timeseriessamples timeseriesselector timeseriestags url urlcluster
    viewexplain viewifpermitted ytsaurus zeros zeros_mt
"""
OTHER_TABLE_FUNCTIONS = frozenset(_OTHER_TABLE_FUNCTION_NAMES.split())
# Table function names that are also ordinary scalar functions (``format('{}', x)``).
SCALAR_TOO = frozenset({"format"})

# Scalar functions that read outside the statement's tables (lower case), and prefixes.
OUTSIDE_FUNCTIONS = frozenset(
    {
        "file",
        "joinget",
        "joingetornull",
        "hascolumnintable",
        "catboostevaluate",
        "getclienthttpheader",
        "getserversetting",  # the server's configuration: its data and temporary paths
    }
)
OUTSIDE_PREFIXES = ("dict", "region", "naivebayes", "__")

# The ``system`` tables analysts may read: the engine's catalog (``columns`` of the tables
# they may read, their sizes included) and reference lists, none with a server path, another
# session's query, a user or the server's configuration. Every other system table is refused
# (chdb 4.4 has 130: ``processes``, ``user_query_log``, ``disks``, ``tables`` (data paths),
# ``parts``, ``databases``, ``server_settings``, ``users``, ``grants`` …).
SYSTEM_TABLES = frozenset(
    {
        "one",
        "numbers",
        "numbers_mt",
        "zeros",
        "zeros_mt",
        "primes",
        "columns",
        "functions",
        "table_functions",
        "table_engines",
        "database_engines",
        "formats",
        "data_type_families",
        "aggregate_function_combinators",
        "settings",
        "settings_changes",
        "merge_tree_settings",
        "time_zones",
        "collations",
        "keywords",
        "codecs",
        "data_skipping_index_types",
    }
)


@dataclass(frozen=True)
class AstNode:
    """One line of ``EXPLAIN AST``: its depth (indentation), kind and, for functions and
    identifiers, the name."""

    depth: int
    kind: str
    name: str


def parse_ast(lines: Iterable[str]) -> list[AstNode]:
    """``EXPLAIN AST`` output, one row per node, indented one space per level, as
    ``Kind [name] [(alias a)] [(children n)]``."""
    nodes = []
    for line in lines:
        text = line.rstrip()
        if not text.strip():
            continue
        depth = len(text) - len(text.lstrip(" "))
        words = text.strip().split(" ", 2)
        name = words[1] if len(words) > 1 and not words[1].startswith("(") else ""
        if words[0] in ("TableIdentifier", "Identifier") and len(words) > 1:
            name = _strip_suffix(text.strip().split(" ", 1)[1])
        nodes.append(AstNode(depth, words[0], name))
    return nodes


def _strip_suffix(rest: str) -> str:
    """An identifier's name without the ``(alias x)`` / ``(children n)`` that may follow."""
    return re.sub(r"( \((alias [^)]*|children \d+)\))+$", "", rest)


def check_ast(nodes: Sequence[AstNode]) -> None:
    """Raise :class:`ReadOnlyError` unless the parsed statement is a read that stays inside
    the engine's tables."""
    if not nodes:
        raise ReadOnlyError(Refusal.UNPARSABLE, "the engine returned no parse")
    root = nodes[0]
    if root.kind not in READ_ROOTS:
        raise ReadOnlyError(
            Refusal.NOT_A_READ,
            "only reads are allowed (SELECT, WITH, SHOW TABLES/COLUMNS, DESCRIBE, EXISTS, "
            f"SHOW CREATE TABLE, EXPLAIN); this is {root.kind}",
        )
    parents: list[AstNode] = []
    for node in nodes[1:]:
        del parents[node.depth :]
        parent = parents[-1] if parents else root
        _check_node(root, parent, node)
        parents.append(node)


def _check_node(root: AstNode, parent: AstNode, node: AstNode) -> None:
    at_top = node.depth == 1
    if at_top and node.kind == "Literal":
        # the only literal a read's root holds is INTO OUTFILE's path (or its compression)
        raise ReadOnlyError(Refusal.OUTFILE, "INTO OUTFILE writes a file")
    if at_top and root.kind == "Explain" and node.kind not in _EXPLAIN_PARTS:
        raise ReadOnlyError(
            Refusal.NOT_A_READ, f"EXPLAIN only of a SELECT; this explains {node.kind}"
        )
    if node.kind == "Set" and not (at_top and root.kind == "Explain"):
        raise ReadOnlyError(
            Refusal.SETTINGS, "SETTINGS clauses are refused: the limits are the service's"
        )
    if node.kind in ("TableIdentifier", "Identifier") and "/" in node.name:
        raise ReadOnlyError(
            Refusal.PATH_AS_TABLE, f"a path or URL as a table name is refused: {node.name}"
        )
    if node.kind in ("TableIdentifier", "Identifier"):
        check_system_table(node.name)
    if node.kind == "Function":
        check_function(node.name, as_table=parent.kind == "TableExpression")


def check_system_table(name: str) -> None:
    """Raise :class:`ReadOnlyError` for a ``system`` table off :data:`SYSTEM_TABLES`, named
    as a table (``FROM system.disks``), a set (``x IN system.processes``) or a column's
    qualifier (``system.processes.query``)."""
    parts = name.split(".")
    if len(parts) > 1 and parts[0] == "system" and parts[1] not in SYSTEM_TABLES:
        raise ReadOnlyError(
            Refusal.SYSTEM_TABLE,
            f"system.{parts[1]} is refused: it shows the server's paths, configuration or "
            "other sessions (information_schema.tables and system.columns show the tables)",
        )


def check_function(name: str, as_table: bool) -> None:
    """Raise :class:`ReadOnlyError` for a table function off the allow-list, or a function
    that reads outside the statement's tables."""
    low = name.lower()
    if as_table:
        if low not in TABLE_FUNCTIONS:
            allowed = ", ".join(sorted(TABLE_FUNCTIONS))
            raise ReadOnlyError(
                Refusal.TABLE_FUNCTION, f"table function {name} is refused (allowed: {allowed})"
            )
        return
    if low in OUTSIDE_FUNCTIONS or low.startswith(OUTSIDE_PREFIXES):
        raise ReadOnlyError(
            Refusal.OUTSIDE_FUNCTION, f"function {name} reads outside the ledger: refused"
        )
    if low in OTHER_TABLE_FUNCTIONS and low not in SCALAR_TOO:
        raise ReadOnlyError(Refusal.TABLE_FUNCTION, f"table function {name} is refused")


# A quoted span of the formatter's output: '…' strings, `…` and "…" identifiers, with
# backslash escapes and doubled quotes.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|`(?:[^`\\]|\\.|``)*`|\"(?:[^\"\\]|\\.|\"\")*\"")


def words_outside_quotes(text: str) -> list[str]:
    """The words and punctuation of ``text`` with every quoted span replaced by ``'…'``."""
    bare = _QUOTED.sub(" '…' ", text)
    return re.findall(r"'…'|\w+|[^\s\w]", bare)


def check_outfile(normalized: str) -> None:
    """Raise :class:`ReadOnlyError` for ``INTO OUTFILE`` in the formatter's one-line text
    (keywords in capitals, comments gone, one space apart): checked before anything else
    runs the text, even ``EXPLAIN``."""
    if not normalized.strip():
        raise ReadOnlyError(Refusal.EMPTY, "empty statement")
    words = words_outside_quotes(normalized)
    if any(a == "INTO" and b == "OUTFILE" for a, b in pairwise(words)):
        raise ReadOnlyError(Refusal.OUTFILE, "INTO OUTFILE writes a file")


def check_format(normalized: str) -> None:
    """Raise :class:`ReadOnlyError` for a ``FORMAT <name>`` clause (not ``format(…)``):
    the reader asks for its own format."""
    words = words_outside_quotes(normalized)
    for word, following in pairwise(words):
        if word == "FORMAT" and (following[:1].isalpha() or following[:1] == "_"):
            raise ReadOnlyError(
                Refusal.FORMAT,
                "FORMAT clauses are refused: the reader picks the format (--format)",
            )
