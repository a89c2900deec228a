"""Python UDFs at run time, on real DuckDB databases: registration, types and NULLs, vectorized
and table UDFs, failures with their codes, plan files run in a fresh process, the example."""

from __future__ import annotations

import datetime
import decimal
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import rows, sqlflowc_process
from sqlflowc.api import compile_source
from sqlflowc.cli import cli
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.executor import RunResult, StepStatus, run_plan

ROOT = Path(__file__).resolve().parents[1]

MODULES = {
    "python_udfs/types.py": """
        import datetime
        import decimal
        from typing import Optional

        from sqlflowc.udf import python_scalar_udf

        @python_scalar_udf
        def next_int(x: int) -> int:
            return x + 1

        @python_scalar_udf
        def half(x: float) -> float:
            return x / 2

        @python_scalar_udf
        def shout(text: str) -> str:
            return text.upper() + "!"

        @python_scalar_udf
        def negate(flag: bool) -> bool:
            return not flag

        @python_scalar_udf
        def next_day(day: datetime.date) -> datetime.date:
            return day + datetime.timedelta(days=1)

        @python_scalar_udf
        def next_hour(ts: datetime.datetime) -> datetime.datetime:
            return ts + datetime.timedelta(hours=1)

        @python_scalar_udf
        def noon(t: datetime.time) -> datetime.time:
            return datetime.time(12, t.minute)

        @python_scalar_udf
        def third(x: decimal.Decimal) -> decimal.Decimal:
            return x / 3

        @python_scalar_udf
        def size(b: bytes) -> int:
            return len(b)

        @python_scalar_udf
        def labelled(x: Optional[int], label: str) -> str:
            return f"{label}={x}"

        @python_scalar_udf
        def scaled(x: float, factor: float = 10.0) -> float:
            return x * factor

        @python_scalar_udf(return_type="INTEGER", param_types=["VARCHAR"])
        def char_count(text):
            return len(text)
    """,
    "python_udfs/vec.py": """
        import pyarrow as pa
        import pyarrow.compute as pc

        from sqlflowc.udf import python_scalar_udf

        @python_scalar_udf(vectorized=True)
        def plus(a: float, b: float) -> float:
            return pc.add(a, b)

        @python_scalar_udf(vectorized=True)
        def as_list(a: int) -> int:
            return [v * 2 for v in a.to_pylist()]

        @python_scalar_udf(vectorized=True)
        def short(a: int) -> int:
            return pa.array([1], pa.int64())

        @python_scalar_udf(vectorized=True)
        def nulls_seen(a: "int | None") -> int:
            return pa.array([a.null_count] * len(a), pa.int64())
    """,
    "python_udfs/failing.py": """
        from sqlflowc.udf import python_scalar_udf

        @python_scalar_udf
        def fragile(x: int) -> int:
            if x == 7:
                raise ValueError(f"seven is unlucky")
            return x

        @python_scalar_udf
        def liar(x: int) -> int:
            return "not a number"
    """,
    "python_udfs/tables.py": """
        import pyarrow as pa
        import pyarrow.compute as pc

        from sqlflowc.udf import python_table_udf

        @python_table_udf(output_schema={"id": "INTEGER", "score": "DOUBLE", "label": "VARCHAR"})
        def score(t: pa.Table, factor: float = 1.0, label: str = "x") -> pa.Table:
            return pa.table({
                "id": t["id"],  # BIGINT in, declared INTEGER: cast
                "score": pc.multiply(pc.cast(t["value"], pa.float64()), factor),
                "label": pa.array([label] * t.num_rows, pa.string()),
            })

        @python_table_udf(output_schema={"id": "BIGINT", "score": "DOUBLE"})
        def wrong(t: pa.Table) -> pa.Table:
            return pa.table({"id": pa.array(["a"]), "z": pa.array([1.0])})

        @python_table_udf(required_columns=["id", "missing_col"])
        def picky(t: pa.Table) -> pa.Table:
            return t

        @python_table_udf
        def raises(t: pa.Table) -> pa.Table:
            raise RuntimeError("no table for you")

        @python_table_udf
        def nothing(t: pa.Table) -> pa.Table:
            return None

        @python_table_udf(output_schema={"id": "BIGINT"})
        def streamed(t: pa.Table) -> pa.RecordBatchReader:
            batches = t.select(["id"]).to_batches(max_chunksize=2)
            return pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches))

        @python_table_udf(output_schema={"id": "BIGINT"})
        def batch(t: pa.Table) -> pa.RecordBatch:
            return t.select(["id"]).combine_chunks().to_batches()[0]

        @python_table_udf
        def legacy_frame(df: "pd.DataFrame") -> "pd.DataFrame":
            return df
    """,
}

BASE = "CREATE TABLE nums AS SELECT range AS id, range * 10 AS value FROM range(10);\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in MODULES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    (root / "profiles").mkdir()
    return root


def run(project: Path, text: str, db: Path | None = None) -> tuple[RunResult, Path]:
    comp = compile_source(
        BASE + text, str(project / "pipelines" / "p.sf"), project_dir=project, environ={}
    )
    database = db or project / "target" / "test.duckdb"
    result = run_plan(comp.plan, database=str(database))
    return result, database


def test_row_at_a_time_types_and_nulls(project: Path) -> None:
    result, db = run(
        project,
        """
        CREATE TABLE typed AS SELECT
          next_int(41) AS i, half(3.0) AS f, shout('hey') AS s, negate(true) AS b,
          next_day(DATE '2024-02-28') AS d, next_hour(TIMESTAMP '2024-01-01 23:30:00') AS ts,
          noon(TIME '08:15:00') AS t, third(1.00::DECIMAL(10, 2)) AS dec,
          size('\\xAA\\xBB'::BLOB) AS n, char_count('four') AS len,
          scaled(2.0) AS sc1, scaled(2.0, 3.0) AS sc3;
        CREATE TABLE nulls AS SELECT
          next_int(NULL::BIGINT) AS i, shout(NULL) AS s,
          labelled(NULL, 'x') AS opt, labelled(1, NULL) AS strict;
        CREATE TABLE column_nulls AS
          SELECT id, labelled(CASE WHEN id % 2 = 0 THEN NULL ELSE id END, 'v') AS a,
                 labelled(id, CASE WHEN id % 3 = 0 THEN NULL ELSE 'w' END) AS b
          FROM nums ORDER BY id;
        """,
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM typed") == [
        (
            42,
            1.5,
            "HEY!",
            False,
            datetime.date(2024, 2, 29),
            datetime.datetime(2024, 1, 2, 0, 30),
            datetime.time(12, 15),
            decimal.Decimal("0.3333333333"),
            2,
            4,
            20.0,
            6.0,
        )
    ]
    assert rows(db, "SELECT * FROM nulls") == [(None, None, "x=None", None)]
    got = rows(db, "SELECT a, b FROM column_nulls ORDER BY id")
    assert got[:4] == [("v=None", None), ("v=1", "w=1"), ("v=None", "w=2"), ("v=3", None)]
    types = dict(
        rows(db, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'typed'")
    )
    assert types["dec"] == "DECIMAL(38,10)" and types["len"] == "INTEGER"


def test_vectorized_udfs(project: Path) -> None:
    result, db = run(
        project,
        """
        CREATE TABLE v AS SELECT id, plus(value, 0.5) AS p, as_list(id) AS l,
          nulls_seen(CASE WHEN id < 3 THEN NULL ELSE id END) AS seen
        FROM nums ORDER BY id;
        CREATE TABLE strict_nulls AS SELECT plus(CASE WHEN id < 3 THEN NULL ELSE value END, 1)
          AS p FROM nums ORDER BY id;
        """,
    )
    assert result.ok, result.failures
    got = rows(db, "SELECT p, l, seen FROM v ORDER BY id")
    assert got[:2] == [(0.5, 0, 3), (10.5, 2, 3)]
    assert rows(db, "SELECT p FROM strict_nulls")[:4] == [(None,), (None,), (None,), (31.0,)]


def failure(result: RunResult) -> tuple[Code, str]:
    assert not result.ok
    (first,) = result.failures
    return first.code, first.message


def test_a_udf_that_raises_fails_its_step_naming_the_udf_and_the_row(project: Path) -> None:
    result, db = run(project, "CREATE TABLE t AS SELECT 1 AS keep;\n")
    assert result.ok
    result, db = run(
        project, "CREATE OR REPLACE TABLE t AS SELECT fragile(id) AS x FROM nums;\n", db
    )
    code, message = failure(result)
    assert code is Code.UDF_FAILED
    head, where = message.splitlines()
    assert head == (
        "UDF `python_udfs.failing.fragile` raised ValueError: seven is unlucky on input (7)"
    )
    # The place in the user's module that raised: its last traceback frame there.
    assert where.startswith("raised at ")
    assert where.endswith(
        'python_udfs/failing.py:6 in fragile: raise ValueError(f"seven is unlucky")'
    )
    assert result.failures[0].location is not None
    assert result.failures[0].location.line == 2
    assert rows(db, "SELECT * FROM t") == [(1,)]  # nothing half-written


def test_wrong_return_values(project: Path) -> None:
    result, _ = run(project, "CREATE TABLE t AS SELECT liar(id) FROM nums;\n")
    code, message = failure(result)
    assert code is Code.UDF_FAILED
    assert message.startswith("UDF `python_udfs.failing.liar` returned a value that is not BIGINT")
    result, _ = run(project, "CREATE TABLE t AS SELECT short(id) FROM nums;\n")
    code, message = failure(result)
    assert code is Code.UDF_FAILED
    assert "returned 1 values for a batch of 10 rows" in message


def test_table_udfs(project: Path) -> None:
    result, db = run(
        project,
        """
        CREATE TABLE scored AS SELECT * FROM score(nums);
        CREATE TABLE tripled AS
          SELECT id, score FROM PYTHON_FUNC("tables.score", nums, 3, label := 'z')
          WHERE id < 3 ORDER BY id;
        CREATE TABLE streamed_out AS SELECT * FROM streamed(nums);
        CREATE TABLE batch_out AS SELECT * FROM batch(nums);
        """,
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT count(*), sum(score) FROM scored") == [(10, 450.0)]
    assert rows(db, "SELECT * FROM tripled") == [(0, 0.0), (1, 30.0), (2, 60.0)]
    # The table the call inside the larger query wrote was a temporary one of the run: it is
    # not left in the user's database.
    assert rows(db, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'udf_%'") == []
    types = rows(
        db,
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'scored' "
        "ORDER BY column_index",
    )
    assert types == [("id", "INTEGER"), ("score", "DOUBLE"), ("label", "VARCHAR")]
    assert rows(db, "SELECT count(*) FROM streamed_out") == [(10,)]
    assert rows(db, "SELECT count(*) FROM batch_out") == [(10,)]
    outcome = result.outcome("table_scored")
    assert outcome.status is StepStatus.OK and outcome.rows == 10


def test_a_table_udf_returning_the_wrong_columns_fails_and_writes_nothing(project: Path) -> None:
    result, db = run(project, "CREATE TABLE out AS SELECT 42 AS id, 1.0 AS score;\n")
    assert result.ok
    result, db = run(project, "CREATE OR REPLACE TABLE out AS SELECT * FROM wrong(nums);\n", db)
    code, message = failure(result)
    assert code is Code.TABLE_UDF_OUTPUT
    assert message == (
        "table UDF `python_udfs.tables.wrong` returned columns that do not match its "
        "output_schema: missing `score`; not declared `z`; `id` is VARCHAR, declared BIGINT"
    )
    assert rows(db, "SELECT * FROM out") == [(42, decimal.Decimal("1.0"))]
    assert not [r for r in rows(db, "SHOW TABLES") if r[0].startswith("__sqlflowc")]


@pytest.mark.parametrize(
    ("call", "code", "text"),
    [
        (
            "picky(nums)",
            Code.UDF_FAILED,
            "requires column(s) `missing_col`; its input has id, value",
        ),
        (
            "raises(nums)",
            Code.UDF_FAILED,
            "table UDF `python_udfs.tables.raises` raised RuntimeError: no table for you "
            "(input: 10 rows, columns id, value)",
        ),
        ("nothing(nums)", Code.TABLE_UDF_OUTPUT, "returned NoneType; it must return a pyarrow"),
    ],
)
def test_table_udf_failures(project: Path, call: str, code: Code, text: str) -> None:
    result, _ = run(project, f"CREATE TABLE out AS SELECT * FROM {call};\n")
    got_code, message = failure(result)
    assert got_code is code
    assert text in message


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("pandas") is not None, reason="pandas is installed"
)
def test_a_dataframe_table_udf_without_pandas(project: Path) -> None:
    result, _ = run(project, "CREATE TABLE out AS SELECT * FROM legacy_frame(nums);\n")
    code, message = failure(result)
    assert code is Code.UDF_FAILED
    assert "takes a pandas DataFrame, but pandas is not installed" in message


def test_earlier_releases_modules_run_unchanged(tmp_path: Path) -> None:
    (tmp_path / "python_udfs").mkdir()
    (tmp_path / "python_udfs" / "old.py").write_text(
        textwrap.dedent(
            """
            from sqlflow.udfs import python_scalar_udf

            @python_scalar_udf
            def add_tax(price: float, tax_rate: float = 0.1) -> float:
                return price * (1 + tax_rate)
            """
        ),
        encoding="utf-8",
    )
    result, db = run(
        tmp_path,
        'CREATE TABLE taxed AS SELECT PYTHON_FUNC("python_udfs.old.add_tax", 100.0) AS a,\n'
        "  add_tax(100.0, 0.2) AS b;\n",
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT round(a, 6), round(b, 6) FROM taxed") == [(110.0, 120.0)]
    assert "sqlflow" not in sys.modules


# -- whole runs through the command line ----------------------------------------------------------


FRESH = {"PYTHONDONTWRITEBYTECODE": "1"}  # a fresh process: nothing cached from this one


def test_a_compiled_plan_runs_in_a_fresh_process(project: Path) -> None:
    (project / "pipelines").mkdir()
    (project / "pipelines" / "p.sf").write_text(
        BASE
        + "CREATE TABLE shouted AS SELECT shout('a' || id) AS s FROM nums;\n"
        + "CREATE TABLE scored AS SELECT * FROM score(nums, 2);\n",
        encoding="utf-8",
    )
    compiled = sqlflowc_process(
        "compile", "pipelines/p.sf", "-o", "target/plan.json", cwd=project, env=FRESH
    )
    assert compiled.returncode == 0, compiled.stderr
    plan = json.loads((project / "target" / "plan.json").read_text(encoding="utf-8"))
    assert [s.get("udfs") for s in plan["steps"]] == [None, ["python_udfs.types.shout"], None]
    assert plan["steps"][2]["op"] == "table_udf"
    assert plan["steps"][2]["udf"] == "python_udfs.tables.score"
    ran = sqlflowc_process(
        "run", "target/plan.json", "--db", "target/plan.duckdb", cwd=project, env=FRESH
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    db = project / "target" / "plan.duckdb"
    assert rows(db, "SELECT count(*), max(s) FROM shouted") == [(10, "A9!")]
    assert rows(db, "SELECT sum(score) FROM scored") == [(900.0,)]

    # the plan names a UDF the module no longer defines: SF0810, nothing runs
    tables = project / "python_udfs" / "tables.py"
    tables.write_text(tables.read_text(encoding="utf-8").replace("def score(", "def scor("))
    ran = sqlflowc_process(
        "run", "target/plan.json", "--db", "target/other.duckdb", cwd=project, env=FRESH
    )
    assert ran.returncode == 3
    assert "error[SF0810]" in ran.stderr and "python_udfs.tables.score" in ran.stderr
    assert "skipped" in ran.stdout and "✓" not in ran.stdout

    # a module that no longer imports: SF0804
    (project / "python_udfs" / "zz_broken.py").write_text("raise ImportError('gone')\n")
    ran = sqlflowc_process(
        "run", "target/plan.json", "--db", "target/other.duckdb", cwd=project, env=FRESH
    )
    assert ran.returncode == 3
    assert "error[SF0804]" in ran.stderr and "zz_broken.py:1" in ran.stderr


def test_run_failure_through_the_cli(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "pipelines").mkdir()
    (project / "pipelines" / "p.sf").write_text(
        BASE + "CREATE TABLE t AS\n  SELECT fragile(id) AS x FROM nums;\n", encoding="utf-8"
    )
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["run", "pipelines/p.sf", "--db", "target/x.duckdb"])
    assert result.exit_code == 3
    assert "pipelines/p.sf:2:1: error[SF0808]: step `table_t` failed: UDF " in result.output
    assert "on input (7)" in result.output


# -- the example project --------------------------------------------------------------------------


def test_the_python_udfs_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "python_udfs"
    shutil.copytree(
        ROOT / "examples" / "python_udfs",
        work,
        ignore=shutil.ignore_patterns("target", "__pycache__"),
    )
    monkeypatch.chdir(work)
    result = CliRunner().invoke(
        cli, ["run", "pipelines/udf_demo.sf", "--db", str(tmp_path / "demo.duckdb")]
    )
    assert result.exit_code == 0, result.output
    customers = (work / "target" / "customers_clean.csv").read_text(encoding="utf-8")
    assert customers.splitlines() == [
        "customer_id,name,domain,code",
        "1,Ada Lovelace,example.org,C-AB12",
        "2,Grace Hopper,navy.mil,C-CD34",
        "3,Alan Turing,,C-EF56",
        "4,Edsger W. Dijkstra,utexas.edu,",
    ]
    outliers = (work / "target" / "outliers.csv").read_text(encoding="utf-8")
    assert outliers.splitlines() == [
        "sensor,reading_id,celsius,z_score",
        "north,10,35.5,3.15",
        "south,17,2.0,-3.14",
        "east,36,40.0,3.15",
    ]
    db = tmp_path / "demo.duckdb"
    assert rows(db, "SELECT count(*), count(*) FILTER (WHERE is_outlier) FROM flagged") == [(36, 3)]
    assert rows(db, "SELECT fahrenheit FROM readings_f WHERE reading_id = 10") == [(96.0,)]
    listed = CliRunner().invoke(cli, ["udf", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert {u["name"] for u in json.loads(listed.output)} == {
        "clean_name",
        "email_domain",
        "normalize_code",
        "to_fahrenheit",
        "round_to",
        "flag_outliers",
    }


def test_a_failure_swallowed_by_try_does_not_explain_a_later_one(project: Path) -> None:
    result, _ = run(
        project,
        "CREATE TABLE ok AS SELECT TRY(fragile(id)) AS x FROM nums;\n"
        "CREATE TABLE bad AS SELECT 1 / 0 AS x, error('plain failure') AS y;\n",
    )
    assert result.outcome("table_ok").status is StepStatus.OK
    code, message = failure(result)
    assert code is Code.STEP_FAILED
    assert "plain failure" in message and "fragile" not in message
