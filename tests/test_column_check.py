"""Column-level checks before any data moves (check_columns): unknown and ambiguous column
references, reported at the column's own place in the .sf file, with the schemas known from the
project database, the sources' metadata, earlier statements and accepted snapshots — and never a
false error where a schema cannot be known."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import compile_text, sql, sqlflowc
from sqlflowc.api import Compilation, compile_source
from sqlflowc.diagnostics import Code, CompileError, Diagnostic, Severity, render_text
from sqlflowc.schema import Column
from sqlflowc.schema.snapshot import Snapshot
from sqlflowc.schema.store import SnapshotStore

CUSTOMERS = "id,name,country\n1,Ada,UK\n2,Grace,US\n"
ORDERS = "order_id,customer_id,amount\n10,1,2.5\n11,2,4.0\n"
HEAD = """\
SOURCE customers_csv TYPE CSV PARAMS {"path": "data/customers.csv"};
SOURCE orders_csv TYPE CSV PARAMS {"path": "data/orders.csv"};
LOAD customers FROM customers_csv;
LOAD orders FROM orders_csv;
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "dev.yml").write_text("variables: {}\n")
    (tmp_path / "data" / "customers.csv").write_text(CUSTOMERS)
    (tmp_path / "data" / "orders.csv").write_text(ORDERS)
    return tmp_path


def checked(text: str, root: Path, **settings: object) -> Compilation:
    """Compile as `check` and `run` do (`verify_sql`: the column check runs)."""
    return compile_text(text, root, verify_sql=True, **settings)


def column_diagnostics(text: str, root: Path, **kwargs: object) -> tuple[list[Diagnostic], str]:
    """The SF0711/SF0712 diagnostics of compiling `text` in `root`, and all of them rendered."""
    try:
        comp = checked(text, root, **kwargs)
        diags, sources = list(comp.warnings), comp.sources
    except CompileError as err:
        assert err.sources is not None
        diags, sources = list(err.diagnostics), err.sources
    ours = [d for d in diags if d.code in (Code.UNKNOWN_COLUMN, Code.AMBIGUOUS_COLUMN)]
    others = [d for d in diags if d.is_error and d not in ours]
    assert not others, render_text(others, sources)
    return ours, render_text(diags, sources)


def where(d: Diagnostic, text: str) -> str:
    """The text a diagnostic points at."""
    assert d.span is not None
    return text[d.span.start : d.span.end]


def test_a_misspelt_column_fails_check_at_its_place_with_did_you_mean(project: Path) -> None:
    (project / "pipelines").mkdir()
    body = HEAD + "CREATE TABLE t AS SELECT nmae FROM customers;\n"
    (project / "pipelines" / "p.sf").write_text(body)
    result = sqlflowc("check", str(project / "pipelines" / "p.sf"))
    assert result.exit_code == 1
    assert "p.sf:5:26: error[SF0711]: unknown column `nmae`" in result.output
    assert "did you mean `name`?" in result.output
    assert "`customers` has columns id, name, country" in result.output
    assert "Traceback" not in result.output


def test_compile_leaves_the_column_check_to_check_and_run(project: Path) -> None:
    text = HEAD + "CREATE TABLE t AS SELECT nmae FROM customers;\n"
    comp = compile_source(text, str(project / "p.sf"), project_dir=project, environ={})
    assert not [d for d in comp.warnings if d.code is Code.UNKNOWN_COLUMN]
    with pytest.raises(CompileError):
        checked(text, project)


def test_unknown_qualified_and_ambiguous_columns(project: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        CREATE TABLE t AS
        SELECT c.nmae, customer_id, amount
        FROM customers AS c JOIN orders AS o ON c.id = o.customer_id;
        CREATE TABLE u AS SELECT id FROM customers, customers AS again;
        """)
    found, shown = column_diagnostics(text, project)
    assert [(d.code, where(d, text)) for d in found] == [
        (Code.UNKNOWN_COLUMN, "nmae"),
        (Code.AMBIGUOUS_COLUMN, "id"),
    ]
    assert all(d.severity is Severity.ERROR for d in found)
    assert "p.sf:6:10: error[SF0711]: unknown column `nmae`" in shown
    assert "not a column of `c`" in shown
    assert "p.sf:8:26: error[SF0712]: column `id` is ambiguous" in shown
    assert "qualify it: `customers.id` or `again.id`" in shown


def test_the_position_is_mapped_back_through_variable_substitution(project: Path) -> None:
    text = (
        'SET region = "UK";\nSET col = "nmae";\n'
        + HEAD
        + ("CREATE TABLE t AS SELECT '${region}' AS r, ${col}, cuontry FROM customers;\n")
    )
    found, shown = column_diagnostics(text, project)
    assert [where(d, text) for d in found] == ["${col}", "cuontry"]
    assert "p.sf:7:44: error[SF0711]: unknown column `nmae`" in shown
    assert "p.sf:7:52: error[SF0711]: unknown column `cuontry`" in shown
    assert "did you mean `country`?" in shown


def test_tables_created_earlier_are_replayed_in_order(project: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        CREATE TABLE per_customer AS
        SELECT customer_id AS cid, sum(amount) AS total FROM orders GROUP BY customer_id;
        CREATE VIEW big AS SELECT cid FROM per_customer WHERE total > 1;
        CREATE TABLE report AS SELECT customer_id, totl FROM per_customer;
        EXPORT SELECT id FROM big TO "target/big.csv" TYPE CSV;
        """)
    found, shown = column_diagnostics(text, project)
    assert [where(d, text) for d in found] == ["customer_id", "totl", "id"]
    assert "did you mean `total`?" in shown
    assert "`per_customer` has columns cid, total; created at line 5" in shown


def test_no_cascade_from_a_broken_query(project: Path) -> None:
    text = HEAD + (
        "CREATE TABLE t AS SELECT nmae FROM customers;\nCREATE TABLE u AS SELECT id FROM t;\n"
    )
    found, _ = column_diagnostics(text, project)
    assert [where(d, text) for d in found] == ["nmae"]


def test_parquet_footer_gives_the_columns(project: Path) -> None:
    pq.write_table(pa.table({"sku": [1, 2], "price": [1.5, 2.5]}), project / "data" / "p.parquet")
    text = (
        'SOURCE items_src TYPE PARQUET PARAMS {"path": "data/p.parquet"};\n'
        "LOAD items FROM items_src;\n"
        "CREATE TABLE t AS SELECT sku, prcie FROM items;\n"
    )
    found, shown = column_diagnostics(text, project)
    assert [where(d, text) for d in found] == ["prcie"]
    assert "did you mean `price`?" in shown


def test_tables_of_the_project_database(project: Path) -> None:
    db = project / "target" / "sqlflow.duckdb"
    db.parent.mkdir()
    sql(db, "CREATE TABLE existing AS SELECT 1 AS id, 'x' AS label")
    text = "CREATE TABLE t AS SELECT id, lable FROM existing;\n"
    found, shown = column_diagnostics(text, project)
    assert [where(d, text) for d in found] == ["lable"]
    assert "did you mean `label`?" in shown
    assert f"as it is in {db}" in shown


def test_append_gives_the_table_the_columns_of_both(project: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        CREATE TABLE t AS SELECT id FROM customers;
        CREATE TABLE t MODE APPEND AS SELECT id, name FROM customers;
        CREATE TABLE u AS SELECT id, name FROM t;
        """)
    found, _ = column_diagnostics(text, project, schema_policy="evolve")
    assert found == []


def test_an_accepted_snapshot_stands_in_for_a_source_not_readable_now(project: Path) -> None:
    store = SnapshotStore(project)
    snap = Snapshot.capture(
        "source:remote_src",
        [Column("id", "BIGINT"), Column("amount", "DOUBLE")],
        origin="CSV s3://bucket/x.csv",
    )
    store.record(snap)
    store.accept(snap, by="first capture")
    text = (
        'SOURCE remote_src TYPE CSV PARAMS {"path": "s3://bucket/x.csv"};\n'
        "LOAD remote FROM remote_src;\n"
        "CREATE TABLE t AS SELECT id, amuont FROM remote;\n"
    )
    found, shown = column_diagnostics(text, project)
    assert [(d.severity, where(d, text)) for d in found] == [(Severity.WARNING, "amuont")]
    assert f"its accepted snapshot {snap.short}" in shown
    assert "did you mean `amount`?" in shown


@pytest.mark.parametrize(
    "statements",
    [
        # a raw statement creating a table from something sqlglot cannot see into
        "CREATE TABLE dyn AS SELECT * FROM read_csv('data/customers.csv');\n"
        "CREATE TABLE t AS SELECT anything FROM dyn;",
        # SELECT * from a table nobody knows
        "CREATE TABLE t AS SELECT * FROM somewhere_else;\n"
        "CREATE TABLE u AS SELECT whatever FROM t;",
        # an unaliased expression: DuckDB names it, not us
        "CREATE TABLE t AS SELECT count(*) FROM customers;\n"
        'CREATE TABLE u AS SELECT "count_star()" FROM t;',
        # a table UDF without declared output
        'CREATE TABLE t AS SELECT * FROM PYTHON_FUNC("text.everyone", customers);\n'
        "CREATE TABLE u AS SELECT whatever FROM t;",
        # an ordering barrier: anything may have changed after it
        "CALL dbgen(sf = 0);\nCREATE TABLE u AS SELECT whatever FROM customers;",
        # DuckDB's own names: rowid, lambdas, struct fields, lateral aliases, table as a row
        "CREATE TABLE t AS SELECT rowid, list_transform([1], x -> x + id) AS l, "
        "{'a': name} AS s, name AS n, n || '!' AS m, customers AS r FROM customers;\n"
        "CREATE TABLE u AS SELECT s.a, l, m FROM t;",
        # a correlated subquery, USING and NATURAL joins, GROUP BY ALL, QUALIFY
        "CREATE TABLE t AS SELECT name FROM customers c WHERE EXISTS "
        "(SELECT 1 FROM orders o WHERE o.customer_id = c.id AND country = 'UK');\n"
        "CREATE TABLE u AS SELECT id, name FROM customers JOIN customers AS b USING (id, name);\n"
        "CREATE TABLE v AS SELECT * FROM customers NATURAL JOIN customers AS b;\n"
        "CREATE TABLE w AS SELECT country, count(*) AS n FROM customers GROUP BY ALL "
        "QUALIFY row_number() OVER (ORDER BY n) = 1;",
    ],
)
def test_unknowable_schemas_make_the_check_silent(project: Path, statements: str) -> None:
    udfs = project / "python_udfs"
    udfs.mkdir()
    (udfs / "text.py").write_text(
        "import pyarrow as pa\n"
        "from sqlflowc.udf import python_table_udf\n\n"
        "@python_table_udf\n"
        "def everyone(people: pa.Table) -> pa.Table:\n"
        "    return people\n"
    )
    comp = checked(HEAD + statements + "\n", project)  # compiles: no error at all
    assert not [d for d in comp.warnings if d.code in (Code.UNKNOWN_COLUMN, Code.AMBIGUOUS_COLUMN)]


def test_a_table_udf_with_declared_output_is_checked(project: Path) -> None:
    udfs = project / "python_udfs"
    udfs.mkdir()
    (udfs / "text.py").write_text(
        "import pyarrow as pa\n"
        "from sqlflowc.udf import python_table_udf\n\n"
        '@python_table_udf(output_schema={"id": "BIGINT", "name": "VARCHAR"})\n'
        "def named(people: pa.Table) -> pa.Table:\n"
        '    return people.select(["id", "name"])\n'
    )
    text = HEAD + (
        'CREATE TABLE t AS SELECT * FROM PYTHON_FUNC("text.named", customers);\n'
        "CREATE TABLE u AS SELECT id, country FROM t;\n"
    )
    found, _ = column_diagnostics(text, project)
    assert [where(d, text) for d in found] == ["country"]


def test_a_secret_is_never_shown(project: Path) -> None:
    text = HEAD + "CREATE TABLE t AS SELECT id, ${col_secret} FROM customers;\n"
    found, shown = column_diagnostics(text, project, cli_vars={"col_secret": "hidden_name"})
    assert found == []  # a name inside a secret's value is not reported (it would be shown)
    assert "hidden_name" not in shown


def test_a_column_gone_upstream_is_drift_for_the_run_not_a_typo(project: Path) -> None:
    store = SnapshotStore(project)
    snap = Snapshot.capture(
        "source:orders_csv",
        [Column("order_id", "BIGINT"), Column("customer_id", "BIGINT"), Column("total", "DOUBLE")],
    )
    store.record(snap)
    store.accept(snap, by="first capture")
    text = HEAD + "CREATE TABLE t AS SELECT order_id, total, amuont FROM orders;\n"
    found, shown = column_diagnostics(text, project)
    assert [(d.severity, where(d, text)) for d in found] == [
        (Severity.WARNING, "total"),  # the source had it: drift, judged by the run's policy
        (Severity.ERROR, "amuont"),  # never there: a typo
    ]
    assert "column `total` is gone from source `orders_csv`" in shown
