"""Compiling for Spark (docs/engines.md), without PySpark: the profile's `engine: {type:
spark}` and `--engine spark` give a plan of Spark SQL; what Spark cannot run is SF1001 at its
place in the `.sf` file; the compile side never imports pyspark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sqlflowc.api import compile_source
from sqlflowc.backend.plan import CreateTable, Load, Merge
from sqlflowc.backend.plan_io import load_plan
from sqlflowc.backend.spark_sql import spark_udf_name, to_spark
from sqlflowc.cli import cli
from sqlflowc.diagnostics import Code, CompileError
from sqlflowc.profiles import load_profile

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(
        "id,amount,at\n1,2.5,2024-01-01 10:00:00\n2,3.5,2024-01-02 11:00:00\n"
    )
    return tmp_path


def _compile(project: Path, body: str) -> tuple[str, object]:
    text = 'SOURCE o TYPE CSV PARAMS {"path": "data/orders.csv"};\nLOAD orders FROM o;\n' + body
    comp = compile_source(text, str(project / "p.sf"), project_dir=project, engine="spark")
    return text, comp.plan


@pytest.mark.parametrize(
    ("sql", "marked", "construct"),
    [
        ("SELECT * FROM read_csv('data/orders.csv')", "read_csv", "read_csv(...)"),
        ("SELECT * FROM read_parquet('data/orders.parquet')", "read_parquet", "read_parquet(...)"),
        ("SELECT * FROM 'data/orders.csv'", "'data/orders.csv'", "FROM 'data/orders.csv'"),
        ("SELECT CAST(id AS HUGEINT) AS h FROM orders", "HUGEINT", "HUGEINT"),
        ("SELECT id::UBIGINT AS h FROM orders", "UBIGINT", "UBIGINT"),
        (
            "SELECT id FROM orders UNION BY NAME SELECT id FROM orders",
            "UNION BY NAME",
            "UNION BY NAME",
        ),
        ("SELECT MAP {'a': 1} AS m FROM orders", "MAP {", "MAP {...}"),
        (
            "SELECT a.id FROM orders a ASOF JOIN orders b ON a.at >= b.at",
            "ASOF",
            "ASOF JOIN",
        ),
    ],
)
def test_duckdb_only_constructs_are_errors_at_their_place(
    project: Path, sql: str, marked: str, construct: str
) -> None:
    """The pipeline runs on DuckDB; for Spark it is SF1001 at the construct's place."""
    import duckdb

    from sqlflowc.api import run

    body = f"CREATE TABLE t AS\n  {sql};\n"
    text = 'SOURCE o TYPE CSV PARAMS {"path": "data/orders.csv"};\nLOAD orders FROM o;\n' + body
    duckdb.sql(f"COPY (FROM '{project}/data/orders.csv') TO '{project}/data/orders.parquet'")
    # DuckDB runs it
    ran = run(
        compile_source(text, str(project / "p.sf"), project_dir=project).plan, database=":memory:"
    )
    assert ran.ok, ran.failures
    with pytest.raises(CompileError) as caught:
        compile_source(text, str(project / "p.sf"), project_dir=project, engine="spark")
    (diag,) = caught.value.diagnostics
    assert diag.code is Code.ENGINE_UNSUPPORTED
    assert diag.message.startswith(f"{construct} cannot run on Spark")
    assert diag.span is not None
    start = text.index(marked)
    assert (diag.span.start, diag.span.end) == (start, start + len(marked))


def test_on_conflict_and_dml_are_errors(project: Path) -> None:
    body = (
        "CREATE TABLE t AS SELECT id FROM orders;\n"
        "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;\n"
        "UPDATE t SET id = 2;\n"
    )
    text = 'SOURCE o TYPE CSV PARAMS {"path": "data/orders.csv"};\nLOAD orders FROM o;\n' + body
    with pytest.raises(CompileError) as caught:
        compile_source(text, str(project / "p.sf"), project_dir=project, engine="spark")
    got = [(d.code, d.span.start if d.span else -1) for d in caught.value.diagnostics]
    assert got == [
        (Code.ENGINE_UNSUPPORTED, text.index("ON CONFLICT")),
        (Code.ENGINE_UNSUPPORTED, text.index("UPDATE")),
    ]


def test_spark_plan_holds_spark_sql(project: Path) -> None:
    _, plan = _compile(
        project,
        "CREATE TABLE IF NOT EXISTS t AS SELECT id, CAST(at AS TIMESTAMP) AS at FROM orders;\n"
        "CREATE TABLE m MODE MERGE KEY (id) AS SELECT id, amount FROM orders;\n"
        "CREATE TABLE e (id BIGINT, name VARCHAR);\n",
    )
    assert plan.engine == "spark"  # type: ignore[attr-defined]
    load, table, merge, create = plan.steps  # type: ignore[attr-defined]
    assert isinstance(load, Load) and load.read == "_sqlflow_read_load_orders"
    assert load.sql == ("SELECT * FROM `_sqlflow_read_load_orders`",)
    assert isinstance(table, CreateTable) and table.if_not_exists
    assert table.sql == ("SELECT id, CAST(at AS TIMESTAMP_NTZ) AS at FROM orders",)
    assert isinstance(merge, CreateTable) and isinstance(merge.mode, Merge)
    assert merge.sql[0] == "SELECT id, amount FROM orders"
    assert "LEFT ANTI JOIN" in merge.sql[-1]
    assert create.sql == "CREATE TABLE e (id BIGINT, name STRING)"


def test_plan_file_round_trips(project: Path, tmp_path: Path) -> None:
    _, plan = _compile(project, "CREATE TABLE IF NOT EXISTS t AS SELECT id FROM orders;\n")
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json())  # type: ignore[attr-defined]
    data = json.loads(path.read_text())
    assert data["engine"] == "spark" and data["steps"][1]["if_not_exists"] is True
    assert load_plan(path) == plan


def test_udf_names_for_spark() -> None:
    name = "python_udfs.text.normalize_code/1"
    assert spark_udf_name(name) == "sqlflow_python_udfs_text_normalize_code_1"
    sql = to_spark(f'SELECT "{name}"(code) AS c FROM t', [name])
    assert sql == "SELECT SQLFLOW_PYTHON_UDFS_TEXT_NORMALIZE_CODE_1(code) AS c FROM t"


def test_profile_engine_spark(project: Path) -> None:
    (project / "profiles").mkdir()
    (project / "profiles" / "cluster.yml").write_text(
        "engine:\n  type: spark\n  master: spark://head:7077\n  warehouse: wh\n"
        "  conf: {spark.sql.shuffle.partitions: 8, spark.sql.ansi.enabled: true}\n"
    )
    engine = load_profile(project, "cluster").engine
    assert (engine.type, engine.master, engine.warehouse) == (
        "spark",
        "spark://head:7077",
        str(project / "wh"),
    )
    assert engine.conf == {"spark.sql.shuffle.partitions": "8", "spark.sql.ansi.enabled": "true"}
    (project / "profiles" / "bad.yml").write_text("engine: {type: flink}\n")
    with pytest.raises(CompileError) as caught:
        load_profile(project, "bad")
    assert "the engines are duckdb and spark" in caught.value.diagnostics[0].message
    (project / "profiles" / "connect.yml").write_text(
        "engine: {type: spark, remote: 'sc://head:15002', warehouse: /shared/wh}\n"
    )
    connect = load_profile(project, "connect").engine
    assert (connect.remote, connect.warehouse) == ("sc://head:15002", "/shared/wh")
    (project / "profiles" / "http.yml").write_text(
        "engine: {type: spark, remote: 'http://head:15002'}\n"
    )
    with pytest.raises(CompileError) as caught:
        load_profile(project, "http")
    assert "expected a Spark Connect URL, `sc://host:port`" in caught.value.diagnostics[0].message


def test_cli_compile_engine_spark_without_pyspark() -> None:
    """`compile --engine spark` shows Spark SQL and never imports pyspark."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from sqlflowc.cli import cli\n"
        "r = CliRunner().invoke(cli, ['compile', '--engine', 'spark', sys.argv[1]])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'LEFT ANTI JOIN' in r.output, r.output\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')]\n"
    )
    pipeline = ROOT / "examples" / "load_modes" / "pipelines" / "basic_modes.sf"
    subprocess.run([sys.executable, "-c", code, str(pipeline)], check=True)


def test_cli_check_engine_spark_reports_sf1001(project: Path) -> None:
    pipeline = project / "p.sf"
    pipeline.write_text(
        'SOURCE o TYPE CSV PARAMS {"path": "data/orders.csv"};\nLOAD orders FROM o;\n'
        "CREATE TABLE t AS SELECT CAST(id AS HUGEINT) AS h FROM orders;\n"
    )
    ok = CliRunner().invoke(cli, ["check", str(pipeline)])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(cli, ["check", "--engine", "spark", str(pipeline)])
    assert bad.exit_code == 1
    assert "p.sf:3:37: error[SF1001]: HUGEINT cannot run on Spark" in bad.output


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT * FROM read_json('x.json')", "read_json(...)"),
        ("SELECT * FROM 'x.parquet'", "FROM 'file.parquet'"),
        ("SELECT CAST(1 AS UINTEGER)", "UINTEGER"),
        ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "ON CONFLICT"),
        ("SELECT 1 AS a INTERSECT BY NAME SELECT 1 AS a", "`INTERSECT`"),
        ("SELECT MAP {'a': 1}", "MAP {'a': 1}"),
        ("SELECT * FROM a POSITIONAL JOIN b", "POSITIONAL JOIN"),
        ("CREATE TABLE t (a INT DEFAULT 1)", "`DEFAULT`"),
    ],
)
def test_docs_list_what_spark_does_not_support(sql: str, named: str) -> None:
    """docs/engines.md names every construct the backend refuses, and each is refused."""
    from sqlflowc.backend.spark_sql import unsupported

    assert unsupported(sql), sql
    docs = (ROOT / "docs" / "engines.md").read_text(encoding="utf-8")
    assert named in docs
