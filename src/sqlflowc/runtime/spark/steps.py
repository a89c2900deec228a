"""Running one plan step on Spark: `run_step(session, warehouse, step, ctx)`, the Spark
counterpart of `runtime/steps.run_step`, with the same outcomes, codes and masking.

- `Load`: the source is read (`io.read_source`) into the step's `read` view; then as
  `CreateTable`.
- `CreateTable`: REPLACE writes the query's rows and swaps them in (`IF NOT EXISTS`: an
  existing table is left alone); the other modes run `loads.run_load`.
- `CreateView`: a temporary view of the session.
- `Export`: the query's rows written as one file (`io.write_export`).
- `TableUdf`: the UDF called once on the whole input as Arrow (`udfs.table_udf`), its output
  written as a table (a `temporary` one is a view of the session only).
- `Sql`: `CREATE TABLE t (columns)` writes an empty table; `DROP TABLE|VIEW` drops it.
With schema capture (`ctx.schemas`, `runtime/drift.py`), a `Load`'s source is captured before
it (a `fail` policy stops it there) and every table a step wrote after it, from the table's
Spark schema in DuckDB's type names, as on DuckDB runs.
Every table is written to a staging directory and swapped in whole, so a failed step leaves
the tables as they were. Spark's analysis and execution errors, a load's checks, a UDF's
failure and file errors are FAILED outcomes.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, assert_never

from sqlflowc.backend.plan import (
    CreateTable,
    CreateView,
    Export,
    Load,
    Replace,
    Sql,
    Step,
    TableUdf,
)
from sqlflowc.diagnostics import Code, StepFailure
from sqlflowc.names import table_key
from sqlflowc.runtime.load_modes import LoadCounts
from sqlflowc.runtime.report import StepOutcome, os_error_text, step_outcome
from sqlflowc.runtime.steps import StepContext, StepError

if TYPE_CHECKING:
    from collections.abc import Callable

    from duckdb import DuckDBPyConnection
    from pyspark.sql import SparkSession

    from sqlflowc.runtime.spark.tables import Warehouse

__all__ = ["run_spark_step"]


def run_spark_step(
    session: SparkSession,
    warehouse: Warehouse,
    step: Step,
    ctx: StepContext,
    discovery: Callable[[], DuckDBPyConnection],
) -> StepOutcome:
    """Run one step; its outcome, with any error message masked. `discovery` gives a DuckDB
    connection for the connectors' schema discovery (the source's snapshot, `ctx.schemas`)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    t0 = time.perf_counter()
    error: str | None = None
    code: Code | None = None
    help = ""
    notes: tuple[str, ...] = ()
    rows: int | None = None
    load: LoadCounts | None = None
    try:
        if ctx.schemas is not None and isinstance(step, Load):
            ctx.schemas.before_load(discovery(), step, ctx.secrets.substitute)
        rows, load = _execute(session, warehouse, step, ctx)
        if ctx.schemas is not None:
            ctx.schemas.capture_tables(step, warehouse.columns)
    except StepFailure as err:  # a load's checks, a drift stop, a UDF
        error, code, help, notes = err.message, err.code, err.help, err.notes
    except StepError as err:
        error = str(err)
    except (PySparkException, Py4JJavaError) as err:
        error = _spark_message(err)
        if "PythonException" in str(err) or "An exception was thrown from the Python" in error:
            code = Code.UDF_FAILED
    except OSError as err:
        error = os_error_text(err)
    return step_outcome(
        step.id,
        t0,
        ctx.secrets.mask,
        error,
        code=code,
        help=help,
        notes=notes,
        rows=rows,
        statement_rows=(rows,),
        load=load,
    )


def _spark_message(err: BaseException) -> str:
    """Spark's message, without the JVM stack trace."""
    lines = [line for line in str(err).splitlines() if line.strip()]
    keep = [line for line in lines if not line.lstrip().startswith(("at ", "File ", "..."))]
    return " ".join(keep[:3])[:1000] if keep else type(err).__name__


def _execute(
    session: SparkSession, warehouse: Warehouse, step: Step, ctx: StepContext
) -> tuple[int | None, LoadCounts | None]:
    sub = ctx.secrets.substitute
    match step:
        case Load() if step.read is not None:
            from sqlflowc.runtime.spark.io import read_source

            params = {k: sub(v) if isinstance(v, str) else v for k, v in step.source.params.items()}
            frame = read_source(session, step.source.connector, params, ctx.project_dir)
            frame.createOrReplaceTempView(step.read)
            try:
                return _execute(session, warehouse, dataclasses.replace(step, read=None), ctx)
            finally:
                session.catalog.dropTempView(step.read)
        case Load() | CreateTable():
            rows = ctx.secrets.substitute_sql(step.sql[0]).text
            if isinstance(step.mode, Replace):
                keep = isinstance(step, CreateTable) and step.if_not_exists
                if keep and warehouse.exists(step.target):
                    return 0, None
                return warehouse.write(step.target, session.sql(rows)), None
            from sqlflowc.runtime.spark.loads import run_load

            load = run_load(session, warehouse, step.target, step.mode, rows)
            return load.rows, load
        case CreateView():
            session.sql(ctx.secrets.substitute_sql(step.sql).text)
            return None, None
        case Export():
            from sqlflowc.connectors import get_connector
            from sqlflowc.runtime.spark.io import write_export

            connector = get_connector(step.format)
            if connector is None:
                raise StepError(f"internal error: export format {step.format!r}; please report")
            frame = session.sql(ctx.secrets.substitute_sql(step.query).text)
            options = {k: sub(v) if isinstance(v, str) else v for k, v in step.options.items()}
            written = write_export(frame, step.format, options, sub(step.uri), ctx.project_dir)
            return written, None
        case TableUdf():
            from sqlflowc.runtime.spark.udfs import table_udf

            if ctx.udfs is None:
                raise StepError(f"internal error: no UDFs loaded for step `{step.id}`")
            frame = table_udf(session, ctx.udfs.get(step.udf), step, sub(step.query))
            if step.temporary:
                frame.cache().createOrReplaceTempView(table_key(step.target))
                return frame.count(), None
            return warehouse.write(step.target, frame), None
        case Sql():
            return _ddl(session, warehouse, ctx.secrets.substitute_sql(step.sql).text), None
        case _:
            assert_never(step)


def _ddl(session: SparkSession, warehouse: Warehouse, sql: str) -> int | None:
    """`CREATE TABLE t (columns)` or `DROP TABLE|VIEW t` (what `backend/spark.py` lets by)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="spark")
    if isinstance(tree, exp.Drop):
        name = tree.this.name
        if str(tree.args.get("kind", "")).upper() == "VIEW":
            session.catalog.dropTempView(table_key(name))
        elif not warehouse.drop(name) and not tree.args.get("exists"):
            raise StepError(f"table `{name}` does not exist")
        return None
    assert isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema)
    name = tree.this.this.name
    if warehouse.exists(name):
        if tree.args.get("exists"):
            return None
        raise StepError(f"table `{name}` already exists")
    columns = ", ".join(
        f"{c.this.sql(dialect='spark')} {c.args['kind'].sql(dialect='spark')}"
        for c in tree.this.expressions
        if isinstance(c, exp.ColumnDef)
    )
    warehouse.write(name, session.createDataFrame([], columns))
    return None
