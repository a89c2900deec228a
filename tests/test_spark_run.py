"""Runs on Apache Spark (marked `spark`: `nox -s spark`): one shared local[2] session for the
test session. Differential: example pipelines run on DuckDB and on Spark, and every table they
write is compared (same rows, same types up to the mapping of docs/engines.md); a MERGE's key
checks; the SQL the backend emits is accepted by Spark's own parser."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from spark_pipelines import duck_tables, export_rows, spark_engine
from sqlflowc.api import compile_file, run
from sqlflowc.backend.plan import step_statements

pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _engine(project: Path) -> Any:
    return spark_engine(project)


def _copy(tmp_path: Path, name: str) -> Path:
    work = tmp_path / name
    shutil.copytree(EXAMPLES / name, work, ignore=shutil.ignore_patterns("target"))
    return work


def _rows(values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(values, key=repr)


def _pipelines() -> list[Path]:
    return [
        p
        for p in sorted(EXAMPLES.rglob("pipelines/*.sf"))
        if "target" not in p.parts and not p.is_relative_to(EXAMPLES / "connectors")
    ]


_tables = duck_tables
_exports = export_rows


@pytest.mark.parametrize("pipeline", _pipelines(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_gives_the_same_tables_and_exports(
    spark: Any, tmp_path: Path, pipeline: Path
) -> None:
    """On DuckDB and on Spark: the same tables (rows, and types up to the mapping) and the same
    export files; a pipeline Spark cannot run fails to compile for it (SF1001) and runs on
    DuckDB."""
    from sqlflowc.diagnostics import Code, CompileError
    from sqlflowc.runtime.spark.types import duckdb_type

    example = pipeline.relative_to(EXAMPLES).parts[0]
    project = _copy(tmp_path, example)
    path = project / pipeline.relative_to(EXAMPLES / example)
    db = str(tmp_path / "duck.db")
    duck = run(compile_file(path).plan, database=db)
    assert duck.ok, duck.failures
    expected_exports = _exports(project)
    shutil.rmtree(project / "target", ignore_errors=True)
    try:
        plan = compile_file(path, engine="spark").plan
    except CompileError as err:
        assert {d.code for d in err.diagnostics} == {Code.ENGINE_UNSUPPORTED}
        return
    result = run(plan, engine=_engine(project))
    assert result.ok, result.failures
    assert [o.rows for o in result.outcomes] == [o.rows for o in duck.outcomes]
    for table, (types, expected) in _tables(db).items():
        frame = spark.read.parquet(str(project / "target" / "wh" / table))
        got = [tuple(row) for row in frame.collect()]
        assert _rows(got) == _rows(expected), table
        assert [duckdb_type(f.dataType) for f in frame.schema] == types, table
    assert _exports(project) == expected_exports


def test_merge_refuses_duplicate_keys_and_leaves_the_table(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,v\n1,a\n2,b\n")
    (tmp_path / "b.csv").write_text("id,v\n2,x\n2,y\n")
    pipeline = tmp_path / "p.sf"
    pipeline.write_text(
        'SOURCE a TYPE CSV PARAMS {"path": "a.csv"};\nSOURCE b TYPE CSV PARAMS {"path": "b.csv"};\n'
        "LOAD t FROM a;\nLOAD t FROM b MODE MERGE KEY (id);\n"
    )
    result = run(compile_file(pipeline, engine="spark").plan, engine=_engine(tmp_path))
    assert not result.ok
    (failure,) = result.failures
    assert failure.code.value == "SF0609" and "duplicate keys (id): 2 (2 rows)" in failure.message
    rows = spark.read.parquet(str(tmp_path / "target" / "wh" / "t")).collect()
    assert sorted(tuple(r) for r in rows) == [(1, "a"), (2, "b")]


def test_merge_refuses_duplicate_keys_in_the_target_it_touches(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,v\n1,a\n1,b\n2,c\n")
    (tmp_path / "b.csv").write_text("id,v\n1,x\n")
    pipeline = tmp_path / "p.sf"
    pipeline.write_text(
        'SOURCE a TYPE CSV PARAMS {"path": "a.csv"};\nSOURCE b TYPE CSV PARAMS {"path": "b.csv"};\n'
        "LOAD t FROM a MODE APPEND;\nLOAD t FROM b MODE MERGE KEY (id);\n"
    )
    result = run(compile_file(pipeline, engine="spark").plan, engine=_engine(tmp_path))
    (failure,) = result.failures
    assert failure.code.value == "SF0610" and "(id): 1 (2 rows)" in failure.message
    rows = spark.read.parquet(str(tmp_path / "target" / "wh" / "t")).collect()
    assert sorted(tuple(r) for r in rows) == [(1, "a"), (1, "b"), (2, "c")]


def test_a_table_write_is_one_job_counted_as_it_runs(spark: Any, tmp_path: Path) -> None:
    """A table's rows are counted by the write itself and the table is registered with the
    schema it was written with: one Spark job, no second one to count or read the schema back;
    the view's schema is the one Spark reads from the files (every column nullable)."""
    from sqlflowc.runtime.spark.counts import Counted
    from sqlflowc.runtime.spark.tables import Warehouse

    warehouse = Warehouse(spark, str(tmp_path / "wh"))
    frame = spark.sql(
        "SELECT id, named_struct('a', id, 'b', array(id)) AS s, map('k', id) AS m "
        "FROM range(1000) WHERE id % 3 = 0"
    )
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup(None))
    assert warehouse.write("t", frame) == 334
    assert len(set(tracker.getJobIdsForGroup(None)) - before) == 1
    assert spark.table("t").schema == spark.read.parquet(warehouse.location("t")).schema
    assert spark.table("t").count() == 334
    # no action ran: no count (the caller counts what was written), rather than a wait
    assert Counted(frame).rows() is None


def test_emitted_sql_parses_with_sparks_parser(spark: Any) -> None:
    parser = spark._jsparkSession.sessionState().sqlParser()
    from sqlflowc.diagnostics import CompileError

    parsed = 0
    for pipeline in _pipelines():
        try:
            plan = compile_file(pipeline, engine="spark").plan
        except CompileError:
            continue  # SF1001: what Spark cannot run is not emitted
        parsed += 1
        for step in plan.steps:
            for sql in step_statements(step):
                parser.parsePlan(sql)  # raises a ParseException for SQL Spark cannot read
    assert parsed >= 8


def _both(tmp_path: Path, pipeline: Path, runs: list[str]) -> None:
    """Run `pipeline` once per CSV text of `runs` (written to data.csv before each run) on
    DuckDB and on Spark, in two copies of the project; after every run the same counts and,
    at the end, the same tables."""
    duck_dir, spark_dir = tmp_path / "duck", tmp_path / "spark"
    for d in (duck_dir, spark_dir):
        d.mkdir()
        shutil.copy(pipeline, d / "p.sf")
    db = str(duck_dir / "d.duckdb")
    for text in runs:
        for d in (duck_dir, spark_dir):
            (d / "data.csv").write_text(text)
        duck = run(compile_file(duck_dir / "p.sf").plan, database=db)
        assert duck.ok, duck.failures
        sparked = run(
            compile_file(spark_dir / "p.sf", engine="spark").plan, engine=_engine(spark_dir)
        )
        assert sparked.ok, sparked.failures
        assert [str(o.load) for o in sparked.outcomes] == [str(o.load) for o in duck.outcomes]
    from sqlflowc.runtime.spark.types import duckdb_type

    sp = pyspark.sql.SparkSession.getActiveSession()
    for table, (types, expected) in _tables(db).items():
        frame = sp.read.parquet(str(spark_dir / "target" / "wh" / table))
        assert _rows([tuple(r) for r in frame.collect()]) == _rows(expected), table
        assert [duckdb_type(f.dataType) for f in frame.schema] == types, table


def test_load_incremental_reads_past_the_watermark_as_on_duckdb(spark: Any, tmp_path: Path) -> None:
    """LOAD ... MODE INCREMENTAL on Spark: plain (only newer rows appended), with LOOKBACK
    (rows at or past the mark replaced) and with KEY (merged): the same counts after each run
    and the same tables as DuckDB, over three runs with late and changed rows."""
    pipeline = tmp_path / "p.sf"
    pipeline.write_text(
        'SOURCE s TYPE CSV PARAMS {"path": "data.csv"};\n'
        "LOAD plain FROM s MODE INCREMENTAL BY at;\n"
        "LOAD back FROM s MODE INCREMENTAL BY at LOOKBACK '1 day';\n"
        "LOAD keyed FROM s MODE INCREMENTAL BY at LOOKBACK '1 day' KEY (id);\n"
        "LOAD by_id FROM s MODE INCREMENTAL BY id;\n"
    )
    head = "id,at,v\n"
    first = head + "1,2024-01-01 10:00:00,a\n2,2024-01-02 10:00:00,b\n"
    # a late row for Jan 1 (before every mark), a corrected Jan 2 row, a new day
    second = (
        first + "3,2024-01-01 12:00:00,late\n2,2024-01-02 11:00:00,b2\n4,2024-01-03 09:00:00,d\n"
    )
    second = second.replace("2,2024-01-02 10:00:00,b\n", "")
    third = second + "5,2024-01-03 09:00:00,e\n"
    _both(tmp_path, pipeline, [first, second, third])


def test_schema_snapshots_and_drift_on_spark_runs(spark: Any, tmp_path: Path) -> None:
    """`sqlflowc run --profile spark` captures the source's schema before its load and each
    table's after, as on DuckDB; a changed source is a warning under `warn` and stops its load
    under `fail` (the table left as it was); `sqlflowc schema` lists, compares (--live reads the
    warehouse) and accepts them."""
    import subprocess

    from helpers import SQLFLOWC
    from sqlflowc.profiles import load_profile
    from sqlflowc.schema.store import SnapshotStore
    from sqlflowc.source import SourceMap

    root = tmp_path
    (root / "profiles").mkdir()
    (root / "profiles" / "spark.yml").write_text(
        "engine: {type: spark, master: 'local[1]', warehouse: target/wh}\n"
    )
    (root / "data.csv").write_text("id,name\n1,a\n2,b\n")
    (root / "h.csv").write_text("x\n1\n")
    (root / "p.sf").write_text(
        'SOURCE s TYPE CSV PARAMS {"path": "data.csv"};\n'
        "LOAD t FROM s;\nCREATE TABLE n AS SELECT count(*) AS rows FROM t;\n"
        # an APPEND: the CLI's run on Spark takes no DuckDB commit marks
        'SOURCE h TYPE CSV PARAMS {"path": "h.csv"};\nLOAD hist FROM h MODE APPEND;\n'
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [SQLFLOWC, *args], cwd=root, capture_output=True, text=True, timeout=600, check=False
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    first = cli("run", "p.sf", "--profile", "spark")
    assert first.returncode == 0, first.stdout + first.stderr
    store = SnapshotStore(root)
    assert store.objects() == ["source:h", "source:s", "table:hist", "table:n", "table:t"]
    t = store.history("table:t").snapshots[0].snapshot
    assert [(c.name, c.type) for c in t.columns] == [("id", "BIGINT"), ("name", "VARCHAR")]
    assert t.origin.startswith("Spark local[1], warehouse ")
    listed = cli("schema", "list")
    assert listed.returncode == 0 and "table:t" in listed.stdout, listed.stdout

    # an added column upstream: `fail` stops the load before anything moves
    (root / "data.csv").write_text("id,name,region\n1,a,eu\n2,b,us\n3,c,eu\n")
    profile = load_profile(root, "spark", SourceMap())
    plan = compile_file(root / "p.sf", engine="spark").plan
    stopped = run(plan, engine=_engine(root), capture_schemas=True, schema_drift="fail")
    (failure,) = stopped.failures
    assert failure.code.value == "SF0709" and "source `s`" in failure.message
    table = spark.read.parquet(str(root / "target" / "wh" / "t"))
    assert table.columns == ["id", "name"] and table.count() == 2
    # `warn`: loaded, and the drift is a warning at the LOAD
    warned = run(plan, engine=_engine(root), capture_schemas=True, profile=profile)
    assert warned.ok, warned.failures
    (warning,) = [w for w in warned.warnings if w.code.value == "SF0709"]
    assert "source `s`" in warning.message and warning.location.line == 2
    assert store.history("table:t").pending
    live = cli("schema", "compare", "table:t", "--live", "--profile", "spark")
    assert live.returncode == 0, live.stdout + live.stderr
    assert "live" in live.stdout and "verdict: compatible" in live.stdout, live.stdout
    assert [line.split() for line in live.stdout.splitlines() if "region" in line] == [
        ["added", "region", "-", "VARCHAR", "compatible"]
    ]
    accepted = cli("schema", "accept", "source:s", "table:t")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert not store.history("table:t").pending
    assert [c.name for c in store.history("table:t").accepted.snapshot.columns] == [
        "id",
        "name",
        "region",
    ]


def test_postgres_and_s3_sources_without_their_jars_fail_with_sf1002(
    spark: Any, tmp_path: Path
) -> None:
    """This session has neither the PostgreSQL JDBC driver nor hadoop-aws (they cannot be
    downloaded here): each load fails with SF1002 at its statement, naming the jar to add; the
    other steps still run (--continue). The class lookup does find a class the session has."""
    from sqlflowc.runtime.spark.remote import has_class

    assert has_class(spark, "org.apache.spark.sql.SparkSession")
    assert not has_class(spark, "org.postgresql.Driver")
    (tmp_path / "a.csv").write_text("x\n1\n")
    pipeline = tmp_path / "p.sf"
    pipeline.write_text(
        'SOURCE pg TYPE POSTGRES PARAMS {"host": "127.0.0.1", "dbname": "test", '
        '"user": "postgres", "table": "public.orders"};\n'
        'SOURCE lake TYPE PARQUET PARAMS {"path": "s3://bkt/orders/*.parquet"};\n'
        'SOURCE a TYPE CSV PARAMS {"path": "a.csv"};\n'
        "LOAD orders FROM pg;\nLOAD lake_orders FROM lake;\nLOAD a FROM a;\n"
    )
    plan = compile_file(pipeline, engine="spark").plan
    result = run(plan, engine=_engine(tmp_path), fail_fast=False)
    pg, s3 = result.failures
    assert (pg.code.value, pg.location.line) == ("SF1002", 4)
    assert "no PostgreSQL JDBC driver" in pg.message
    assert "org.postgresql:postgresql" in pg.help
    assert (s3.code.value, s3.location.line) == ("SF1002", 5)
    assert "s3a://bkt/orders/*.parquet" in s3.message and "hadoop-aws" in s3.help
    assert [o.status.value for o in result.outcomes][-1] == "ok"


def test_exports_in_every_format_hold_the_rows_duckdb_writes(spark: Any, tmp_path: Path) -> None:
    """CSV, Parquet and JSON exports on Spark: one file each at the path given, whose rows
    (read back by DuckDB) are DuckDB's own export's, NULLs (a JSON column NULL in every row
    included), dates and timestamps; the step's count is the rows written."""
    results = {}
    for engine in ("duckdb", "spark"):
        project = tmp_path / engine
        project.mkdir()
        (project / "data.csv").write_text(
            "id,day,at,amount,note\n1,2024-01-01,2024-01-01 10:00:00,2.5,a\n"
            "2,2024-01-02,2024-01-02 11:30:00,,\n3,,,-1.25,\n"
        )
        (project / "p.sf").write_text(
            'SOURCE s TYPE CSV PARAMS {"path": "data.csv"};\nLOAD t FROM s;\n'
            'EXPORT SELECT * FROM t ORDER BY id TO "target/t.csv" TYPE CSV '
            'OPTIONS {"header": true};\n'
            'EXPORT SELECT * FROM t ORDER BY id TO "target/t.parquet" TYPE PARQUET;\n'
            'EXPORT SELECT * FROM t WHERE id > 1 ORDER BY id TO "target/t.json" TYPE JSON;\n'
        )
        if engine == "duckdb":
            result = run(compile_file(project / "p.sf").plan, database=":memory:")
        else:
            plan = compile_file(project / "p.sf", engine="spark").plan
            result = run(plan, engine=_engine(project))
        assert result.ok, result.failures
        assert [o.rows for o in result.outcomes] == [3, 3, 3, 2]
        results[engine] = _exports(project)
    assert sorted(results["spark"]) == ["t.csv", "t.json", "t.parquet"]
    assert results["spark"] == results["duckdb"]
