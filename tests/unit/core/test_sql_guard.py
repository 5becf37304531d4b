"""The analysts' SQL guard on the engine's parse, without an engine: the EXPLAIN AST texts
below are chdb 4.4's (ClickHouse 26.9) own output for the statements named."""

from __future__ import annotations

import pytest

from ndxp.core.sql_guard import (
    AstNode,
    ReadOnlyError,
    Refusal,
    check_ast,
    check_format,
    check_function,
    check_outfile,
    check_system_table,
    parse_ast,
    words_outside_quotes,
)


def ast(text: str) -> list[AstNode]:
    return parse_ast(text.strip("\n").splitlines())


def refusal(nodes: list[AstNode]) -> Refusal:
    with pytest.raises(ReadOnlyError) as info:
        check_ast(nodes)
    assert "\n" not in str(info.value)  # a one-line reason
    return info.value.code


# SELECT * FROM file('/etc/passwd') AS f JOIN numbers(3) n ON 1
FILE_JOIN_NUMBERS = """
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Asterisk
   TablesInSelectQuery (children 2)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      Function file (alias f) (children 1)
       ExpressionList (children 1)
        Literal '/etc/passwd'
    TablesInSelectQueryElement (children 2)
     TableExpression (children 1)
      Function numbers (alias n) (children 1)
       ExpressionList (children 1)
        Literal UInt64_3
     TableJoin (children 1)
      Literal UInt64_1
 Identifier Native
"""

# WITH x AS (SELECT 1) SELECT * FROM x, system.one, ndxp.t
TABLES = """
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 3)
   ExpressionList (children 1)
    WithElement (children 1)
     Subquery (children 1)
      SelectWithUnionQuery (children 1)
       ExpressionList (children 1)
        SelectQuery (children 1)
         ExpressionList (children 1)
          Literal UInt64_1
   ExpressionList (children 1)
    Asterisk
   TablesInSelectQuery (children 3)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier x
    TablesInSelectQueryElement (children 2)
     TableExpression (children 1)
      TableIdentifier system.one
     TableJoin
    TablesInSelectQueryElement (children 2)
     TableExpression (children 1)
      TableIdentifier ndxp.t
     TableJoin
 Identifier Native
"""

# SELECT 1 IN url('http://x', CSV, 'a Int')  — a table function in a scalar position
URL_IN = """
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 1)
   ExpressionList (children 1)
    Function in (children 1)
     ExpressionList (children 2)
      Literal UInt64_1
      Function url (children 1)
       ExpressionList (children 3)
        Literal 'http://x'
        Identifier CSV
        Literal 'a Int'
 Identifier Native
"""

# SELECT 1 UNION ALL SELECT 2 INTO OUTFILE 'f' APPEND COMPRESSION 'gzip' LEVEL 3
OUTFILE = """
SelectWithUnionQuery (children 5)
 ExpressionList (children 2)
  SelectQuery (children 1)
   ExpressionList (children 1)
    Literal UInt64_1
  SelectQuery (children 1)
   ExpressionList (children 1)
    Literal UInt64_2
 Literal 'f'
 Literal 'gzip'
 Literal UInt64_3
 Identifier Native
"""

# EXPLAIN indexes = 1 SELECT 1
EXPLAIN_OPTIONS = """
Explain EXPLAIN (children 3)
 Set
 SelectWithUnionQuery (children 1)
  ExpressionList (children 1)
   SelectQuery (children 1)
    ExpressionList (children 1)
     Literal UInt64_1
 Identifier Native
"""

# SELECT 1 SETTINGS max_threads = 1 (as a session that may change settings parses it)
SETTINGS = """
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Literal UInt64_1
   Set
 Identifier Native
"""

# EXPLAIN AST INSERT INTO FUNCTION file('/tmp/o.csv') SELECT 1
EXPLAIN_INSERT = """
Explain EXPLAIN AST (children 1)
 InsertQuery   (children 2)
  Function file (children 1)
   ExpressionList (children 1)
    Literal '/tmp/o.csv'
  SelectWithUnionQuery (children 1)
"""

# SELECT * FROM `/etc/passwd` (clickhouse-local's default database maps it to the file)
PATH_TABLE = """
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Asterisk
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier /etc/passwd
 Identifier Native
"""


def scalar(name: str) -> list[AstNode]:
    """SELECT <name>('x')"""
    return ast(f"""
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 1)
   ExpressionList (children 1)
    Function {name} (children 1)
     ExpressionList (children 1)
      Literal 'x'
 Identifier Native
""")


def from_function(name: str) -> list[AstNode]:
    """SELECT * FROM <name>('x')"""
    return ast(f"""
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Asterisk
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      Function {name} (children 1)
       ExpressionList (children 1)
        Literal 'x'
 Identifier Native
""")


def test_ast_lines_give_depth_kind_and_name() -> None:
    nodes = ast(FILE_JOIN_NUMBERS)
    assert nodes[0] == AstNode(0, "SelectWithUnionQuery", "")
    assert AstNode(6, "Function", "file") in nodes  # the alias does not hide the name
    assert nodes[-1] == AstNode(1, "Identifier", "Native")
    assert AstNode(6, "TableIdentifier", "system.one") in ast(TABLES)


def test_reads_of_tables_and_allowed_table_functions_pass() -> None:
    check_ast(ast(TABLES))
    check_ast(ast(EXPLAIN_OPTIONS))  # EXPLAIN's own options are not SETTINGS
    for name in ("numbers", "numbers_mt", "generate_series", "generateSeries", "values", "view"):
        check_ast(from_function(name))
    check_ast(scalar("format"))  # the string function, not the table function


@pytest.mark.parametrize(
    "name",
    [
        *("file", "url", "s3", "hdfs", "remote", "remoteSecure", "cluster", "clusterAllReplicas"),
        *("executable", "input", "python", "Python", "mysql", "postgresql", "jdbc", "odbc"),
        *("sqlite", "mongodb", "redis", "dictionary", "iceberg", "deltaLake", "azureBlobStorage"),
        *("gcs", "merge", "loop", "filesystem", "eval", "fuzzJSON", "generateRandom", "zeros"),
    ],
)
def test_table_functions_off_the_allow_list_are_refused(name: str) -> None:
    assert refusal(from_function(name)) == Refusal.TABLE_FUNCTION
    assert refusal(scalar(name)) in (Refusal.TABLE_FUNCTION, Refusal.OUTSIDE_FUNCTION)


def test_a_table_function_in_a_scalar_position_is_refused() -> None:
    assert refusal(ast(URL_IN)) == Refusal.TABLE_FUNCTION
    assert refusal(ast(FILE_JOIN_NUMBERS)) == Refusal.TABLE_FUNCTION


@pytest.mark.parametrize(
    "name",
    [
        *("file", "dictGet", "dictGetString", "dictGetOrDefault", "dictHas", "dictIsIn", "DICTGET"),
        *("joinGet", "joinGetOrNull", "hasColumnInTable", "regionToName", "naiveBayesClassifier"),
        *("catboostEvaluate", "getClientHTTPHeader", "__getScalar", "getServerSetting"),
    ],
)
def test_scalar_functions_that_reach_outside_are_refused(name: str) -> None:
    assert refusal(scalar(name)) == Refusal.OUTSIDE_FUNCTION


@pytest.mark.parametrize("name", ["count", "toDate", "uniqExact", "quantiles", "sipHash64"])
def test_ordinary_functions_pass(name: str) -> None:
    check_function(name, as_table=False)


@pytest.mark.parametrize(
    "name",
    ["system.processes", "system.disks", "system.tables", "system.processes.query", "system.x"],
)
def test_system_tables_off_the_allow_list_are_refused(name: str) -> None:
    with pytest.raises(ReadOnlyError) as info:
        check_system_table(name)
    assert info.value.code == Refusal.SYSTEM_TABLE


@pytest.mark.parametrize(
    "name",
    [
        *("system.one", "system.columns", "system.one.dummy", "system", "ndxp.ledger"),
        *("processes", "information_schema.tables", "Identifier_system.disks", "t.system"),
    ],
)
def test_catalog_tables_and_other_names_pass(name: str) -> None:
    check_system_table(name)


def test_a_system_table_anywhere_in_the_parse_is_refused() -> None:
    nodes = [AstNode(0, "SelectWithUnionQuery", ""), AstNode(1, "ExpressionList", "")]
    nodes.append(AstNode(2, "Identifier", "system.processes"))
    with pytest.raises(ReadOnlyError) as info:
        check_ast(nodes)
    assert info.value.code == Refusal.SYSTEM_TABLE


def test_into_outfile_settings_and_paths_in_the_parse_are_refused() -> None:
    assert refusal(ast(OUTFILE)) == Refusal.OUTFILE
    assert refusal(ast(SETTINGS)) == Refusal.SETTINGS
    assert refusal(ast(PATH_TABLE)) == Refusal.PATH_AS_TABLE
    assert refusal(ast(EXPLAIN_INSERT)) == Refusal.NOT_A_READ


@pytest.mark.parametrize(
    "root",
    [
        "InsertQuery   (children 2)",
        "CreateQuery ndxp x (children 5)",
        "DropQuery ndxp t (children 3)",
        "AlterQuery ndxp t (children 4)",
        "DeleteQuery ndxp t (children 3)",
        "TruncateQuery ndxp t (children 3)",
        "OptimizeQuery ndxp t (children 3)",
        "KillQueryQuery Literal_UInt64_1 ASYNC (children 2)",
        "Set",
        "UseQuery ndxp (children 1)",
        "Rename (children 5)",
        "GrantQuery",
        "SHOW CREATE USER query (children 1)",
        "SHOW USERS query (children 1)",
        "ShowProcesslistQuery (children 1)",
        "BackupQuery (children 2)",
        "CreateSQLFunctionQuery f (children 2)",
    ],
)
def test_anything_but_a_read_is_refused(root: str) -> None:
    assert refusal(ast(root)) == Refusal.NOT_A_READ


@pytest.mark.parametrize(
    "root",
    [
        "ShowTables (children 2)",
        "ShowColumns (children 1)",
        "DescribeQuery (children 2)",
        "ExistsTableQuery ndxp t (children 3)",
        "ShowCreateTableQuery ndxp t (children 3)",
    ],
)
def test_show_describe_exists_pass(root: str) -> None:
    check_ast(ast(f"{root}\n Identifier ndxp\n Identifier Native"))


@pytest.mark.parametrize(
    "normalized",
    [
        "SELECT 1 INTO OUTFILE 'x'",
        "SELECT 1 INTO OUTFILE 'x' AND STDOUT",
        "SELECT 1 UNION ALL SELECT 2 INTO OUTFILE 'f' APPEND COMPRESSION 'gzip' LEVEL 3",
        "EXPLAIN SELECT 1 INTO OUTFILE '/tmp/z'",
        "SELECT 'it\\'s' INTO OUTFILE 'x'",
    ],
)
def test_into_outfile_in_the_formatted_text_is_refused(normalized: str) -> None:
    with pytest.raises(ReadOnlyError) as info:
        check_outfile(normalized)
    assert info.value.code == Refusal.OUTFILE


def test_into_outfile_inside_quotes_is_data() -> None:
    check_outfile("SELECT a FROM ndxp.t WHERE s = 'INTO OUTFILE'")
    check_outfile("SELECT 1 AS `INTO OUTFILE`")
    check_outfile("SELECT 'a''b INTO OUTFILE' AS x")
    with pytest.raises(ReadOnlyError) as info:
        check_outfile("  ")
    assert info.value.code == Refusal.EMPTY


def test_a_format_clause_is_refused_but_not_the_format_function() -> None:
    with pytest.raises(ReadOnlyError) as info:
        check_format("SELECT * FROM numbers(3) FORMAT JSON")
    assert info.value.code == Refusal.FORMAT
    check_format("SELECT format('{}-{}', 'a', 'b')")
    check_format("SELECT 1 AS FORMAT")
    check_format("SELECT 'FORMAT JSON'")


def test_quoted_spans_are_one_word() -> None:
    assert words_outside_quotes("SELECT 'a\\'b', `c d`, \"e\" FROM t") == (
        ["SELECT", "'…'", ",", "'…'", ",", "'…'", "FROM", "t"]
    )
