"""udfs: Python UDFs through sqlflowc against the same functions registered by hand with duckdb.

- Row-at-a-time scalar UDF (`s.lower()`) over 10M rows: the `CREATE TABLE ... AS SELECT udf(s)`
  step as the executor runs it (its UDFs registered by sqlflowc), against the same function
  registered by hand with `create_function` (native, default NULL handling) and the same CTAS
  in one transaction. Target: at least 0.9x the throughput by hand (time ratio <= 1.11).
- Vectorized scalar UDF (`pyarrow.compute.utf8_lower`) over 10M rows, against
  `create_function(..., type="arrow")` by hand. Target: at least 0.9x.
- Each is also shown against the built-in `lower(s)` for context (no target).
- Table UDF over 1M rows (a computed column with pyarrow): the `table_udf` step against doing
  the same by hand: read the input as Arrow, call the function, `register` the result and
  `CREATE TABLE ... AS SELECT * FROM` it, in one transaction. Target: at least 0.8x
  (ratio <= 1.25).

Both sides use the same Python function objects, an in-memory database with the input table
already there (created untimed), and DuckDB's default threads; sqlflowc runs a step that calls
scalar UDFs with one thread (faster here), so "by hand, 1 thread" is shown too, on a detail
line. Ours is the step's time from the executor's events (wall, and the process's CPU time over
the step); registering the UDFs before the first step is measured apart and shown on a detail
line. BENCH_SCALE scales the rows.

    python benchmarks/run.py udfs
"""

from __future__ import annotations

import resource
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import Clock, Context, Row, Timing, interleaved, log, log_sample, median, walls

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan

NAME = "udfs"
TITLE = "Python UDFs: scalar on 10M rows (row-at-a-time, vectorized), table UDF on 1M rows"
SCALAR_ROWS = 10_000_000
TABLE_ROWS = 1_000_000
REPEATS = 5
TABLE_REPEATS = 7
SCALAR_TARGET = 0.9  # throughput relative to by hand
TABLE_TARGET = 0.8

MODULE = """
import pyarrow as pa
import pyarrow.compute as pc

from sqlflowc.udf import python_scalar_udf, python_table_udf


@python_scalar_udf
def lower_row(s: str) -> str:
    return s.lower()


@python_scalar_udf(vectorized=True)
def lower_vec(s: str) -> str:
    return pc.utf8_lower(s)


@python_table_udf(output_schema={"id": "BIGINT", "s": "VARCHAR", "x2": "DOUBLE"})
def doubled(t: pa.Table) -> pa.Table:
    return pa.table({"id": t["id"], "s": t["s"], "x2": pc.multiply(t["x"], 2.0)})
"""


def base_sql(rows: int) -> str:
    return (
        "CREATE TABLE base AS SELECT range AS id, 'Item ' || (range % 1000) || ' OF Stock' AS s, "
        f"range::DOUBLE AS x FROM range({rows})"
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_step(plan: Plan, step_id: str) -> Timing:
    """Run the plan on `:memory:`; the wall and CPU time of one step, from the events."""
    from sqlflowc.runtime.executor import EventKind, RunEvent, run_plan

    marks: dict[str, float] = {}

    def events(event: RunEvent) -> None:
        if event.step_id != step_id:
            return
        if event.kind is EventKind.STARTED:
            marks["cpu"] = _cpu()
            marks["wall"] = time.perf_counter()
        elif event.kind is EventKind.FINISHED:
            marks["cpu_end"] = _cpu()
            marks["wall_end"] = time.perf_counter()

    result = run_plan(plan, database=":memory:", events=events)
    if not result.ok:
        raise RuntimeError(f"sqlflowc run failed: {result.failures[0].message}")
    duration = result.outcome(step_id).duration_ms / 1000
    return Timing(duration, marks["cpu_end"] - marks["cpu"])


def time_by_hand(
    rows: int,
    register: Callable[[Any], None],
    body: Callable[[Any], None],
    threads: int | None = None,
) -> Timing:
    """A fresh in-memory database with the input table; `body` timed in one transaction."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute(base_sql(rows))
        if threads is not None:
            con.execute(f"SET threads = {threads}")
        register(con)
        with Clock() as clock:
            con.execute("BEGIN TRANSACTION")
            body(con)
            con.execute("COMMIT")
        return clock.timing
    finally:
        con.close()


def compile_plan(project: Path, name: str, text: str) -> Plan:
    from sqlflowc.api import compile_source

    path = project / "pipelines" / f"{name}.sf"
    path.write_text(text, encoding="utf-8")
    return compile_source(text, str(path), project_dir=project).plan


def registration_time(plan: Plan) -> float:
    """Seconds to load (discovery is cached) and register a plan's UDFs on a connection."""
    import duckdb

    from sqlflowc.runtime.udfs import UdfRuntime

    con = duckdb.connect(":memory:")
    try:
        t0 = time.perf_counter()
        UdfRuntime.load(plan).register(con)
        return time.perf_counter() - t0
    finally:
        con.close()


def mrows(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:.1f} Mrows/s"


def run(ctx: Context) -> list[Row]:
    from sqlflowc.udf.discovery import discover_udfs

    project = ctx.workdir / NAME
    (project / "python_udfs").mkdir(parents=True)
    (project / "pipelines").mkdir()
    (project / "python_udfs" / "bench.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    catalog, problems = discover_udfs(project)
    if problems:
        raise RuntimeError(problems[0].message)
    fn = {u.name: u.function for u in catalog.udfs}
    scalar_rows = ctx.scaled(SCALAR_ROWS, 10_000)
    table_rows = ctx.scaled(TABLE_ROWS, 10_000)
    base = base_sql(scalar_rows) + ";\n"
    plans = {
        "row": compile_plan(
            project, "row", base + "CREATE TABLE out AS SELECT lower_row(s) AS v FROM base;\n"
        ),
        "vec": compile_plan(
            project, "vec", base + "CREATE TABLE out AS SELECT lower_vec(s) AS v FROM base;\n"
        ),
        "table": compile_plan(
            project,
            "table",
            base_sql(table_rows) + ";\nCREATE TABLE out AS SELECT * FROM doubled(base);\n",
        ),
    }

    def ctas(expr: str) -> Callable[[Any], None]:
        return lambda con: con.execute(
            f"CREATE OR REPLACE TABLE out AS SELECT {expr} AS v FROM base"
        )

    def table_by_hand(con: Any) -> None:
        table = con.sql("SELECT * FROM base").to_arrow_table()
        con.register("udf_result", fn["doubled"](table))
        con.execute("CREATE OR REPLACE TABLE out AS SELECT * FROM udf_result")
        con.unregister("udf_result")

    def hand_row(con: Any) -> None:
        con.create_function("lower_row", fn["lower_row"], ["VARCHAR"], "VARCHAR")

    def hand_vec(con: Any) -> None:
        con.create_function("lower_vec", fn["lower_vec"], ["VARCHAR"], "VARCHAR", type="arrow")

    def nothing(con: Any) -> None:
        del con

    log(f"  scalar UDFs over {scalar_rows:,} rows, table UDF over {table_rows:,} rows")
    scalar = interleaved(
        {
            "row_ours": lambda: time_step(plans["row"], "table_out"),
            "row_hand": lambda: time_by_hand(scalar_rows, hand_row, ctas("lower_row(s)")),
            "row_hand_1": lambda: time_by_hand(scalar_rows, hand_row, ctas("lower_row(s)"), 1),
            "vec_ours": lambda: time_step(plans["vec"], "table_out"),
            "vec_hand": lambda: time_by_hand(scalar_rows, hand_vec, ctas("lower_vec(s)")),
            "vec_hand_1": lambda: time_by_hand(scalar_rows, hand_vec, ctas("lower_vec(s)"), 1),
            "builtin": lambda: time_by_hand(scalar_rows, nothing, ctas("lower(s)")),
        },
        repeats=REPEATS,
    )
    table = interleaved(
        {
            "table_ours": lambda: time_step(plans["table"], "table_out"),
            "table_hand": lambda: time_by_hand(table_rows, nothing, table_by_hand),
        },
        repeats=TABLE_REPEATS,
    )
    samples = {**scalar, **table}
    labels = {
        "row_ours": ("row-at-a-time, sqlflowc", scalar_rows),
        "row_hand": ("row-at-a-time, by hand", scalar_rows),
        "row_hand_1": ("  by hand, 1 thread", scalar_rows),
        "vec_ours": ("vectorized, sqlflowc", scalar_rows),
        "vec_hand": ("vectorized, by hand", scalar_rows),
        "vec_hand_1": ("  by hand, 1 thread", scalar_rows),
        "builtin": ("built-in lower(s)", scalar_rows),
        "table_ours": ("table UDF, sqlflowc", table_rows),
        "table_hand": ("table UDF, by hand", table_rows),
    }
    for key, (label, n) in labels.items():
        log_sample(label, samples[key], f"  {mrows(n, median(walls(samples[key])))}")
    reg = [registration_time(plans["row"]) for _ in range(5)]
    log(f"  registering a plan's UDFs before the first step: {median(reg) * 1000:.1f} ms")

    def scalar_row(kind: str, what: str, target: float) -> Row:
        row = Row.measured(
            NAME,
            f"udf {what} ({scalar_rows:,} rows)",
            f"CTAS with a {what} Python UDF: sqlflowc step vs create_function by hand",
            samples[f"{kind}_ours"],
            samples[f"{kind}_hand"],
            extra={"rows": scalar_rows},
        )
        limit = 1 / target
        row.target = f"ratio <= {limit:.2f} (>= {target:g}x speed)"
        row.met = (row.ratio or 0) <= limit
        return row

    rows = [
        scalar_row("row", "row-at-a-time", SCALAR_TARGET),
        Row.measured(
            NAME,
            "  row-at-a-time vs built-in",
            "the same sqlflowc step against the built-in lower(s), for context",
            samples["row_ours"],
            samples["builtin"],
        ),
        scalar_row("vec", "vectorized", SCALAR_TARGET),
        Row.measured(
            NAME,
            "  vectorized vs built-in",
            "the same sqlflowc step against the built-in lower(s), for context",
            samples["vec_ours"],
            samples["builtin"],
        ),
    ]
    table_row = Row.measured(
        NAME,
        f"table udf ({table_rows:,} rows)",
        "table_udf step vs Arrow in, function, register(pa.Table) + CTAS by hand",
        samples["table_ours"],
        samples["table_hand"],
        extra={"rows": table_rows},
    )
    limit = 1 / TABLE_TARGET
    table_row.target = f"ratio <= {limit:.2f} (>= {TABLE_TARGET:g}x speed)"
    table_row.met = (table_row.ratio or 0) <= limit
    rows.append(table_row)
    return rows


if __name__ == "__main__":  # a standalone run of this group only
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import run as runner

    sys.exit(runner.main([NAME, *sys.argv[1:]]))
