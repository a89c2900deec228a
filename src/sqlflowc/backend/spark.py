"""Lower a program to the plan for Apache Spark (docs/engines.md).

Requires: the DuckDB plan of the same program (`backend/duckdb.to_plan`), whose steps are the
program's statements in order: ids, dependencies, locations, load modes and connector parameters
are the engine's business of neither backend, so the Spark plan keeps them and replaces only
what is DuckDB SQL.

`spark_problems(prog, reporter)` reports (SF1001) every construct of a SQL body Spark cannot run
(`backend/spark_sql.unsupported`) at its place in the `.sf` file, and every plain SQL statement
but `CREATE TABLE t (columns)` and `DROP TABLE|VIEW` (INSERT, UPDATE, DELETE, ...): Spark's
tables here are Parquet files, which such statements cannot change.

`to_spark_plan(plan, prog)` then gives the plan with `engine = "spark"`:
- a `Load` reads its source through Spark's readers at run time (`read`), and its `sql` selects
  from that relation;
- SQL bodies are transpiled (`spark_sql.to_spark`), Python UDF calls renamed for Spark;
- a `Load` or `CreateTable` has as `sql` the query whose rows are written, then (MERGE,
  INCREMENTAL) the key checks and the query of the target rows that are kept
  (`sqlbuild/spark.py`); the executor writes the rows and swaps them in. A `LOAD ... MODE
  INCREMENTAL`'s rows are those past `:watermark`, the target's high-water mark, which the
  executor reads (`sqlbuild.spark.watermark_of`) and binds;
- a view is a temporary view of the run's Spark session.
"""

from __future__ import annotations

import dataclasses
from typing import assert_never

from sqlflowc.backend import plan as p
from sqlflowc.backend.spark_sql import TranspileError, runs_on_spark, to_spark, unsupported
from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import program as ir
from sqlflowc.sqlbuild import spark as build
from sqlflowc.sqlbuild.macros import bind_macros

__all__ = ["spark_problems", "to_spark_plan"]


def spark_problems(prog: ir.Program, reporter: Reporter) -> None:
    """Report what of `prog` cannot run on Spark (SF1001), at its place in the sources."""
    for stmt in prog.statements:
        body = ir.sql_body(stmt)
        if body is None:
            continue
        problems = unsupported(body.text)
        for problem in problems:
            reporter.error(
                Code.ENGINE_UNSUPPORTED,
                f"{problem.construct} cannot run on Spark: {problem.reason}",
                body.span_of(problem.start, problem.end),
                label="not supported on Spark",
                help=problem.help,
                notes=("run this pipeline on DuckDB, or rewrite this part",),
            )
        if problems:
            continue
        if isinstance(stmt, ir.SqlStatement) and not runs_on_spark(body.display):
            reporter.error(
                Code.ENGINE_UNSUPPORTED,
                f"this {stmt.verb.upper()} statement cannot run on Spark: its tables are "
                "Parquet files, which only a whole write changes",
                stmt.span,
                label="not supported on Spark",
                help="write the table with CREATE TABLE ... AS and a load mode "
                "(MODE APPEND, MODE MERGE KEY (...)) instead",
            )
        else:
            _check_transpiles(body, reporter)


def _check_transpiles(body: ir.Sql, reporter: Reporter) -> None:
    try:
        to_spark(body.display)
    except TranspileError as err:
        reporter.error(
            Code.ENGINE_UNSUPPORTED,
            f"this SQL cannot be written for Spark: {err}",
            body.span,
            label="not supported on Spark",
            help="run this pipeline on DuckDB, or simplify this query",
        )


def to_spark_plan(plan: p.Plan, prog: ir.Program) -> p.Plan:
    """The Spark plan of `prog`, from its DuckDB `plan` (same steps, same order); requires
    `spark_problems` found nothing."""
    assert len(plan.steps) == len(prog.statements)
    steps = tuple(_step(s, stmt) for s, stmt in zip(plan.steps, prog.statements, strict=True))
    return dataclasses.replace(plan, engine="spark", steps=steps)


def _step(step: p.Step, stmt: ir.Statement) -> p.Step:
    match step, stmt:
        case p.Load(), ir.Load():
            read = f"_sqlflow_read_{step.id}"
            sql = _writes(step.target, step.mode, build.select_all(read))
            return dataclasses.replace(step, read=read, sql=sql)
        case p.CreateTable(), ir.CreateTable():
            text = stmt.query.display
            if isinstance(step.mode, p.Incremental):
                text = bind_macros(text)[0]
            sql = _writes(step.target, step.mode, to_spark(text, step.udfs))
            return dataclasses.replace(step, sql=sql, if_not_exists=stmt.if_not_exists)
        case p.CreateView(), ir.CreateView():
            query = to_spark(stmt.query.display, step.udfs)
            view = f"CREATE OR REPLACE TEMPORARY VIEW {build.quote(step.view)} AS {query}"
            return dataclasses.replace(step, sql=view)
        case p.Export(), ir.Export():
            return dataclasses.replace(step, query=to_spark(stmt.query.display, step.udfs))
        case p.Sql(), ir.SqlStatement():
            return dataclasses.replace(step, sql=to_spark(stmt.sql.display))
        case p.TableUdf(), ir.TableUdf():
            return dataclasses.replace(step, query=build.select_all(step.input))
        case _:
            raise AssertionError(f"step `{step.id}` cannot run on Spark ({step.kind})")


def _writes(target: str, mode: p.LoadMode, query: str) -> tuple[str, ...]:
    """The statements of a write: the rows, then the checks and the kept rows of a rewrite."""
    match mode:
        case p.Replace() | p.Append():
            return (query,)
        case p.Merge():
            return (query, *_merge(target, mode.stage, mode.keys))
        case p.Incremental():
            stage = build.incremental_stage(query, mode.by)
            if mode.keys:
                return (stage, *_merge(target, mode.stage, mode.keys))
            return (stage, build.window_kept(target, mode.by))
        case p.IncrementalLoad():
            inclusive = mode.lookback is not None
            stage = build.watermark_stage(query, mode.by, inclusive=inclusive)
            if mode.keys:
                return (stage, *_merge(target, mode.stage, mode.keys))
            if inclusive:
                return (stage, build.watermark_kept(target, mode.by))
            return (stage,)
        case _:
            assert_never(mode)


def _merge(target: str, stage: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    return (
        build.null_keys(stage, keys),
        build.duplicate_keys(stage, keys),
        build.matched_counts(target, stage, keys),
        build.kept_rows(target, stage, keys),
    )
