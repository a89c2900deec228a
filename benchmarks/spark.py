"""spark: the Spark engine's overhead. The same pipelines run through sqlflowc on Spark, as
`sqlflowc run` runs them (compiled, every source's and table's schema captured, the run
recorded in target/runs/), and as hand-written PySpark issuing the same Spark SQL (the SQL of
the compiled plan's steps) in the same local[2] session. Both sides do the same work for the
same result, checked after the warm-up (the same tables, rows and schemas; the same export
files): each source read with its schema given (sqlflowc's discovery gives Spark's readers the
types; the script has them written out), each step's rows written as a Parquet table and
registered as a view, each export written as one file at its path (one part, moved there). The
ratio is what sqlflowc adds: compiling, staging and swapping each table, schema snapshots, run
records, events. sqlflowc also counts every step's rows exactly, which the script does not
need to; it takes the count from the write itself (a Spark Observation), so that costs no job.
DuckDB's time for the same pipeline (sqlflowc on DuckDB) is shown beside them for context.

Workloads: `chain100` (a CSV of 2,000 rows loaded, then 100 tables each selecting from the one
before) and `tpch` (the TPC-H tables at scale factor BENCH_SCALE — SF1 by default: 6 million
lineitems — generated deterministically with DuckDB, since its tpch extension cannot be
installed offline; the columns the queries use: 8 loads from Parquet, 6 queries shaped like
TPC-H Q1, Q3, Q5, Q6, Q10 and Q12, 2 exports). Each side runs once at full size first, not
counted (the JVM's JIT, the page cache, Spark's first jobs), then BENCH_SPARK_SAMPLES samples
of each (default 4, an even number so that each side goes first as often; 1 when
BENCH_SCALE < 0.5), interleaved, the order alternating.

Time is wall time and CPU time: this process's (the driver's Python) plus the JVM's (user +
sys of the Spark driver process from /proc; the executors are its threads with local[2]).
Skipped when PySpark is not installed.
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import _tpch
from _common import Context, Row, Timing, fmt_ratio, fmt_time, log, median

NAME = "spark"
TITLE = "Spark engine: sqlflowc vs hand-written PySpark on one local[2] session"
TARGET = 1.10
SAMPLES = 4  # even: each side goes first as often as the other
CONF = {"spark.sql.shuffle.partitions": "4"}  # both sides' session


def _chain_project(root: Path) -> Path:
    root.mkdir(parents=True)
    rows = "\n".join(f"{i},{i % 7},{i * 0.5}" for i in range(2000))
    (root / "data.csv").write_text("id,k,v\n" + rows + "\n", encoding="utf-8")
    lines = ['SOURCE s TYPE CSV PARAMS {"path": "data.csv"};', "LOAD t0 FROM s;"]
    lines += [
        f"CREATE TABLE t{i} AS SELECT id, k, v + 1 AS v FROM t{i - 1};" for i in range(1, 101)
    ]
    (root / "chain.sf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "chain.sf"


def _jvm_cpu(session: Any) -> float:
    """CPU seconds (user + sys) of the Spark driver's JVM so far (0 where /proc is missing)."""
    pid = session.sparkContext._gateway.proc.pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def _cpu(session: Any) -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + _jvm_cpu(session)


def _sqlflowc(session: Any, pipeline: Path, warehouse: Path) -> Timing:
    """A run as `sqlflowc run` makes it: compiled, schemas captured, the run recorded."""
    from sqlflowc.api import compile_file, run
    from sqlflowc.runtime.spark import SparkEngine

    shutil.rmtree(warehouse, ignore_errors=True)
    c0, t0 = _cpu(session), time.perf_counter()
    plan = compile_file(pipeline, engine="spark").plan
    engine = SparkEngine("local[2]", str(warehouse), CONF, stop=False)
    result = run(plan, engine=engine, capture_schemas=True, record=True)
    elapsed, cpu = time.perf_counter() - t0, _cpu(session) - c0
    if not result.ok:
        raise RuntimeError(f"sqlflowc on Spark failed: {result.failures}")
    return Timing(elapsed, cpu)


class _Hand:
    """The plan's Spark SQL, issued by hand: what a PySpark script would write for the same
    tables and files, with the schemas of its sources written out (the same types sqlflowc's
    discovery gives Spark's readers, so neither side infers them)."""

    def __init__(self, pipeline: Path, out: str) -> None:
        from sqlflowc.api import compile_file
        from sqlflowc.backend.plan import Load
        from sqlflowc.connectors import get_connector
        from sqlflowc.runtime.spark.types import spark_ddl

        self.plan = compile_file(pipeline, engine="spark").plan
        self.out = out  # exports go to target/<out>/, beside sqlflowc's target/
        self.ddl: dict[str, str] = {}
        for step in self.plan.steps:
            if isinstance(step, Load):
                connector = get_connector(step.source.connector)
                assert connector is not None
                found = connector.discover_schema(step.source.params, Path(self.plan.project_dir))
                self.ddl[step.id] = spark_ddl([(c.name, c.type) for c in found or ()])

    def run(self, session: Any, warehouse: Path) -> Timing:
        from sqlflowc.backend.plan import CreateTable, Export, Load

        plan = self.plan
        project = Path(plan.project_dir)
        shutil.rmtree(warehouse, ignore_errors=True)
        c0, t0 = _cpu(session), time.perf_counter()
        for step in plan.steps:
            if isinstance(step, Load):
                path = str(project / str(step.source.params["path"]))
                reader = session.read.schema(self.ddl[step.id])
                frame = (
                    reader.option("header", True).csv(path)
                    if step.source.connector == "csv"
                    else reader.parquet(path)
                )
                frame.createOrReplaceTempView(step.read)
            if isinstance(step, Load | CreateTable):
                location = str(warehouse / step.target)
                session.sql(step.sql[0]).write.mode("overwrite").parquet(location)
                session.read.parquet(location).createOrReplaceTempView(step.target)
            elif isinstance(step, Export):  # one file at the path, as sqlflowc writes it
                target = project / self.out / Path(step.uri).relative_to("target")
                parts = target.parent / f".{target.name}.parts"
                writer = session.sql(step.query).coalesce(1).write.mode("overwrite")
                if step.format == "csv":
                    writer.option("header", bool(step.options.get("header"))).csv(str(parts))
                else:
                    writer.parquet(str(parts))
                (part,) = parts.glob("part-*")
                os.replace(part, target)
                shutil.rmtree(parts)
        return Timing(time.perf_counter() - t0, _cpu(session) - c0)


def _same_results(session: Any, hand: _Hand, ours_wh: Path, hand_wh: Path) -> None:
    """Both sides made the same tables (rows, schema) and the same export files (rows)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from sqlflowc.backend.plan import CreateTable, Export, Load

    project = Path(hand.plan.project_dir)
    for step in hand.plan.steps:
        if isinstance(step, Load | CreateTable):
            a = session.read.parquet(str(ours_wh / step.target))
            b = session.read.parquet(str(hand_wh / step.target))
            if a.schema != b.schema or a.count() != b.count():
                raise RuntimeError(f"table {step.target}: sqlflowc and by hand differ")
        elif isinstance(step, Export):
            mine = project / step.uri
            theirs = project / hand.out / Path(step.uri).relative_to("target")
            read = pacsv.read_csv if step.format == "csv" else pq.read_table
            a, b = read(mine), read(theirs)
            key = [(name, "ascending") for name in a.column_names]
            if a.schema != b.schema or not a.sort_by(key).equals(b.sort_by(key)):
                raise RuntimeError(f"export {step.uri}: sqlflowc and by hand differ")


def _duckdb(pipeline: Path, database: Path) -> Timing:
    from sqlflowc.api import compile_file, run

    database.unlink(missing_ok=True)
    own = resource.getrusage(resource.RUSAGE_SELF)
    c0, t0 = own.ru_utime + own.ru_stime, time.perf_counter()
    result = run(compile_file(pipeline).plan, database=str(database))
    own = resource.getrusage(resource.RUSAGE_SELF)
    elapsed, cpu = time.perf_counter() - t0, own.ru_utime + own.ru_stime - c0
    if not result.ok:
        raise RuntimeError(f"sqlflowc on DuckDB failed: {result.failures}")
    return Timing(elapsed, cpu)


def run(ctx: Context) -> list[Row]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        log("  skipped: PySpark is not installed (pip install 'sqlflowc[spark]')")
        return []
    from sqlflowc.runtime.spark.session import start

    session = start("local[2]", CONF)
    samples = int(os.environ.get("BENCH_SPARK_SAMPLES", "0") or 0)
    samples = samples or (SAMPLES if ctx.scale >= 0.5 else 1)
    rows: list[Row] = []
    try:
        work = ctx.workdir / "spark"
        workloads = {
            "chain100": _chain_project(work / "chain"),
            f"tpch SF{ctx.scale:g}": _tpch.project(work / "tpch", ctx.scale),
        }
        for name, pipeline in workloads.items():
            ours_wh = pipeline.parent / "target" / "wh"
            hand_wh = pipeline.parent / "hand" / "wh"
            hand = _Hand(pipeline, "hand")
            warm = (_sqlflowc(session, pipeline, ours_wh), hand.run(session, hand_wh))
            log(
                f"  {name} warm-up: sqlflowc {fmt_time(warm[0].wall)}, by hand "
                f"{fmt_time(warm[1].wall)} (not counted)"
            )
            _same_results(session, hand, ours_wh, hand_wh)
            ours: list[Timing] = []
            by_hand: list[Timing] = []
            for i in range(samples):  # interleaved, the order alternating
                if i % 2:
                    by_hand.append(hand.run(session, hand_wh))
                    ours.append(_sqlflowc(session, pipeline, ours_wh))
                else:
                    ours.append(_sqlflowc(session, pipeline, ours_wh))
                    by_hand.append(hand.run(session, hand_wh))
                log(
                    f"  {name} sample {i + 1}: sqlflowc {fmt_time(ours[-1].wall)} "
                    f"(cpu {fmt_time(ours[-1].cpu)}), by hand {fmt_time(by_hand[-1].wall)} "
                    f"(cpu {fmt_time(by_hand[-1].cpu)}); load average {os.getloadavg()[0]:.1f}"
                )
            ducks = [_duckdb(pipeline, pipeline.parent / "d.duckdb") for _ in range(2)]
            duck = median([t.wall for t in ducks])
            duck_cpu = median([t.cpu for t in ducks])
            row = Row.measured(
                NAME,
                f"spark {name}",
                "sqlflowc on Spark vs the same Spark SQL by hand (same session)",
                ours,
                by_hand,
                target=f"<= {TARGET:.2f}x",
                extra={"duckdb": duck, "duckdb_cpu": duck_cpu},
            )
            row.met = row.ratio is not None and row.ratio <= TARGET
            ours_cpu, hand_cpu = median([t.cpu for t in ours]), median([t.cpu for t in by_hand])
            log(
                f"  {name}: sqlflowc {fmt_time(row.ours)}, by hand {fmt_time(row.baseline)} "
                f"({fmt_ratio(row.ratio)}); CPU {fmt_time(ours_cpu)} vs {fmt_time(hand_cpu)} "
                f"({fmt_ratio(ours_cpu / hand_cpu if hand_cpu else None)}); DuckDB "
                f"{fmt_time(duck)} (cpu {fmt_time(duck_cpu)}); load average "
                f"{os.getloadavg()[0]:.1f}"
            )
            rows.append(row)
    finally:
        session.stop()
    return rows
