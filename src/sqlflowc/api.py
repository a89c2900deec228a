"""The whole toolchain, stage by stage, with the passes as data:

    text ──parse──▶ ast.Pipeline ──SURFACE_PASSES──▶ ast.Pipeline ──LOWERING──▶ program.Program
         ──PROGRAM_PASSES──▶ program.Program ──BINDING──▶ program.BoundProgram
         ──RESOLVING──▶ program.ResolvedProgram ──RESOLVED_PASSES──▶ program.ResolvedProgram
         ──ORDERING──▶ program.OrderedProgram ──CHECKS──▶ program.OrderedProgram
         ──to_plan──▶ Plan ──run──▶ RunResult

`parse`, `to_program`, `to_resolved`, `to_ordered` and `to_plan` are the stages, each returning
the next stage's type (what a later pass computes is never a placeholder on an earlier type);
`compile_source` chains them and `format_source` (what `sqlflowc fmt` does) is `parse` → print.
Each pass is a function
`(ir, PassContext) -> ir` that reports what it finds on `ctx.reporter`; the chain stops after the
first pass that reported an error (`CompileError` with every diagnostic so far). The CLI is a thin
layer over these functions. `run`, `database_path` and `project_catalog` live in `runner.py`
(importable without loading a pass, for a cached plan) and are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlflowc.backend.duckdb import to_plan as lower_to_plan
from sqlflowc.diagnostics import CompileError, Diagnostic, Reporter
from sqlflowc.ir import ast
from sqlflowc.ir import program as ir
from sqlflowc.passes.bind import bind
from sqlflowc.passes.build_dag import build_dag
from sqlflowc.passes.check_columns import check_columns
from sqlflowc.passes.check_connectors import check_connectors
from sqlflowc.passes.check_load_modes import check_load_modes
from sqlflowc.passes.check_schemas import check_schemas
from sqlflowc.passes.check_splices import check_splices
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.empty_pipeline import warn_if_empty
from sqlflowc.passes.expand_includes import expand_includes
from sqlflowc.passes.fold_conditionals import fold_conditionals
from sqlflowc.passes.lower_program import lower_program
from sqlflowc.passes.mask_secrets import mask_secrets
from sqlflowc.passes.prefetch_sources import prefetch_sources
from sqlflowc.passes.resolve_udfs import resolve_udfs
from sqlflowc.passes.unused_variables import record_used_variables, unused_warnings
from sqlflowc.runner import database_path, project_catalog, run
from sqlflowc.source import SourceMap

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan
    from sqlflowc.profiles import Profile
    from sqlflowc.schema import Policy
    from sqlflowc.schema.catalog import Catalog

__all__ = [
    "BINDING",
    "CHECKS",
    "LOWERING",
    "ORDERING",
    "PROGRAM_PASSES",
    "RESOLVED_PASSES",
    "RESOLVING",
    "SURFACE_PASSES",
    "Compilation",
    "compile_context",
    "compile_file",
    "compile_source",
    "database_path",
    "format_file",
    "format_source",
    "parse",
    "project_catalog",
    "run",
    "to_ordered",
    "to_plan",
    "to_program",
    "to_resolved",
]

T = TypeVar("T")
SurfacePass = Callable[[ast.Pipeline, PassContext], ast.Pipeline]
ProgramPass = Callable[[ir.Program, PassContext], ir.Program]
ResolvedPass = Callable[[ir.ResolvedProgram, PassContext], ir.ResolvedProgram]
Check = Callable[[ir.OrderedProgram, PassContext], ir.OrderedProgram]

SURFACE_PASSES: tuple[SurfacePass, ...] = (
    expand_includes,  # no Include
    warn_if_empty,  # a file with nothing to run says so
    record_used_variables,  # every variable name any branch uses, for the unused-`--var` warning
    fold_conditionals,  # no If: only the active branches
)
LOWERING: Callable[[ast.Pipeline, PassContext], ir.Program] = lower_program
PROGRAM_PASSES: tuple[ProgramPass, ...] = (
    mask_secrets,  # secrets in parameters and options become placeholders
    check_splices,  # no spliced value changes a SQL body's structure
)
BINDING: Callable[[ir.Program, PassContext], ir.BoundProgram] = bind  # trees; tables read/written
# Python UDF calls rewritten to registered names (`udfs`: what each statement calls); table UDF
# calls become statements
RESOLVING: Callable[[ir.BoundProgram, PassContext], ir.ResolvedProgram] = resolve_udfs
RESOLVED_PASSES: tuple[ResolvedPass, ...] = (
    check_load_modes,  # INCREMENTAL macros only where they mean something
    check_connectors,  # sources and exports fit their connectors
)
ORDERING: Callable[[ir.ResolvedProgram, PassContext], ir.OrderedProgram] = build_dag  # deps
CHECKS: tuple[Check, ...] = (
    prefetch_sources,  # the catalog reads the sources the checks will ask for together
    check_schemas,  # APPEND/MERGE/INCREMENTAL loads fit their targets
    check_columns,  # every column a query names exists, once (check and run: verify_sql)
)


@dataclass(frozen=True, slots=True)
class Compilation:
    """A successful compilation: the plan, the program it came from, and any warnings."""

    plan: Plan
    program: ir.OrderedProgram
    sources: SourceMap
    warnings: tuple[Diagnostic, ...]
    profile: Profile
    project_dir: Path
    used_variables: frozenset[str]


def compile_context(
    *,
    project_dir: Path | None = None,
    sources: SourceMap | None = None,
    **settings: Any,
) -> PassContext:
    """A fresh context for the passes: a new reporter, `sources` (a new map by default), the
    current directory as the project, and `settings` (the other `PassContext` fields)."""
    return PassContext(
        sources=sources if sources is not None else SourceMap(),
        reporter=Reporter(),
        project_dir=(project_dir or Path.cwd()).resolve(),
        **settings,
    )


def parse(
    text: str,
    path: str = "<string>",
    *,
    sources: SourceMap | None = None,
    reporter: Reporter | None = None,
) -> ast.Pipeline:
    """Stage 1, text → surface IR; raises CompileError with every syntax error.

    `path` names the text in diagnostics; it is registered in `sources` (a new map by default).
    Errors go to `reporter` (a new one by default), and the CompileError carries everything it
    holds. A text with errors is never returned, even where lowering recovered (a MERGE
    without KEY is dropped from the IR, so printing it would lose it).

    >>> [type(s).__name__ for s in parse("SET x = 1; CREATE TABLE t AS SELECT ${x};").statements]
    ['Set', 'CreateTable']
    """
    from sqlflowc.syntax.lower import parse_pipeline

    sources = sources if sources is not None else SourceMap()
    reporter = reporter if reporter is not None else Reporter()
    file_id = sources.add(path, text)
    pipeline = parse_pipeline(text, file_id, reporter)
    if pipeline is None or reporter.has_errors:
        raise CompileError(reporter.diagnostics, sources)
    return pipeline


def to_program(
    surface: ast.Pipeline,
    ctx: PassContext,
    *,
    surface_passes: tuple[SurfacePass, ...] = SURFACE_PASSES,
    program_passes: tuple[ProgramPass, ...] = PROGRAM_PASSES,
) -> ir.Program:
    """Stage 2, surface IR → program: the surface passes, `LOWERING`, the program passes.
    Raises CompileError after the first pass that reports an error; a test may run a prefix of
    the passes.

    >>> ctx = compile_context(cli_vars={"n": 2})
    >>> prog = to_program(parse("CREATE TABLE t AS SELECT ${n} AS n;", sources=ctx.sources), ctx)
    >>> prog.statements[0].query.text
    'SELECT 2 AS n'
    """

    surface = _chain(surface, surface_passes, ctx)
    return _chain(_checked(LOWERING(surface, ctx), ctx), program_passes, ctx)


def to_resolved(
    prog: ir.Program,
    ctx: PassContext,
    *,
    resolved_passes: tuple[ResolvedPass, ...] = RESOLVED_PASSES,
) -> ir.ResolvedProgram:
    """Stage 3, program → bound, resolved program: `BINDING`, `RESOLVING`, then the resolved
    passes (CompileError as in `to_program`).

    >>> ctx = compile_context()
    >>> prog = to_program(parse("CREATE TABLE t AS SELECT * FROM a;", sources=ctx.sources), ctx)
    >>> resolved = to_resolved(prog, ctx)
    >>> sorted(resolved.bindings[0].reads), resolved.udfs
    (['a'], ((),))
    """
    bound = _checked(BINDING(prog, ctx), ctx)
    return _chain(_checked(RESOLVING(bound, ctx), ctx), resolved_passes, ctx)


def to_ordered(
    resolved: ir.ResolvedProgram, ctx: PassContext, *, checks: tuple[Check, ...] = CHECKS
) -> ir.OrderedProgram:
    """Stage 4, resolved program → ordered, checked program: `ORDERING`, then the checks that
    need every statement's place known (a dependency cycle is reported before them).

    >>> ctx = compile_context()
    >>> text = "CREATE TABLE a AS SELECT 1 AS x; CREATE TABLE b AS SELECT x FROM a;"
    >>> prog = to_program(parse(text, sources=ctx.sources), ctx)
    >>> to_ordered(to_resolved(prog, ctx), ctx).deps
    ((), (0,))
    """
    return _chain(_checked(ORDERING(resolved, ctx), ctx), checks, ctx)


def _checked(stage: T, ctx: PassContext) -> T:
    """`stage`, once no error is reported (else CompileError with every diagnostic)."""
    ctx.reporter.raise_if_errors(ctx.sources)
    return stage


def _chain(stage: T, passes: tuple[Callable[[T, PassContext], T], ...], ctx: PassContext) -> T:
    """`stage` through each pass, stopping after the first that reports an error."""
    for each in passes:
        stage = _checked(each(stage, ctx), ctx)
    return stage


def to_plan(
    prog: ir.OrderedProgram, ctx: PassContext, path: str = "<string>", *, engine: str = "duckdb"
) -> Plan:
    """Stage 5, ordered program → plan for `engine` (`backend/duckdb.py`, then
    `backend/spark.py` for Spark, which raises CompileError for what Spark cannot run); `path`
    is the pipeline's, as the plan records it."""
    plan = lower_to_plan(prog, ctx.sources, path, schema_policy=ctx.schema_policy)
    if engine == "spark":
        from sqlflowc.backend.spark import spark_problems, to_spark_plan

        spark_problems(prog, ctx.reporter)
        ctx.reporter.raise_if_errors(ctx.sources)
        plan = to_spark_plan(plan, prog)
    return plan


def format_source(text: str, path: str = "<string>") -> str:
    """The canonical text of a pipeline (`sqlflowc fmt`); raises CompileError on syntax errors."""
    from sqlflowc.ir.printer import format_pipeline

    return format_pipeline(parse(text, path), text)


def compile_file(
    path: str | Path,
    *,
    cli_vars: Mapping[str, Any] | None = None,
    profile: str | None = None,
    project_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    schema_policy: Policy | None = None,
    database: str | None = None,
    verify_sql: bool = False,
    report_unused: bool = True,
    engine: str | None = None,
) -> Compilation:
    """Compile a `.sf` file; raises CompileError with every diagnostic on failure."""
    from sqlflowc.inputs import read_pipeline

    sources = SourceMap()
    text = read_pipeline(Path(path))
    return compile_source(
        text,
        str(path),
        cli_vars=cli_vars,
        profile=profile,
        project_dir=project_dir,
        environ=environ,
        sources=sources,
        schema_policy=schema_policy,
        database=database,
        verify_sql=verify_sql,
        report_unused=report_unused,
        engine=engine,
    )


def format_file(path: Path) -> tuple[str, str]:
    """(text, formatted text) of a `.sf` file; raises CompileError when it cannot be read or
    has syntax errors (nothing is written: the CLI writes the result)."""
    from sqlflowc.inputs import read_pipeline

    text = read_pipeline(path)
    return text, format_source(text, str(path))


def compile_source(
    text: str,
    path: str = "<string>",
    *,
    cli_vars: Mapping[str, Any] | None = None,
    profile: str | None = None,
    project_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    sources: SourceMap | None = None,
    schema_policy: Policy | None = None,
    database: str | None = None,
    verify_sql: bool = False,
    catalog: Catalog | None = None,
    report_unused: bool = True,
    engine: str | None = None,
) -> Compilation:
    """Compile pipeline text; `path` names it in diagnostics and anchors relative paths.

    `verify_sql` also checks every SQL body with DuckDB's parser and every column reference
    against the schemas known before the run (slower start-up; `check` and `run` use it).

    `schema_policy` overrides the profile's; `database` (`--db`) the profile's database, which
    the schema checks of APPEND/MERGE/INCREMENTAL loads read when it exists. `catalog` replaces
    what those checks know of schemas before the run (default: `project_catalog`).

    `report_unused=False` leaves out the warnings about unused `cli_vars` (SF0206); the names
    the pipeline uses are in `Compilation.used_variables` either way.

    `engine` (`duckdb` or `spark`; `--engine`) overrides the profile's `engine.type`: for Spark,
    what Spark cannot run is an error (SF1001) and the plan holds Spark SQL (docs/engines.md).
    """
    from sqlflowc.profiles import find_project_dir, load_profile
    from sqlflowc.udf.discovery import discover_udfs

    sources = sources if sources is not None else SourceMap()
    if project_dir is None:
        project_dir = find_project_dir(Path(path)) if path != "<string>" else Path.cwd()
    project_dir = project_dir.resolve()
    prof = load_profile(project_dir, profile, sources)
    udfs, udf_problems = discover_udfs(project_dir, sources)
    ctx = compile_context(
        sources=sources,
        project_dir=project_dir,
        cli_vars=dict(cli_vars or {}),
        profile_vars=dict(prof.variables),
        environ=dict(os.environ) if environ is None else environ,
        connections=dict(prof.connections),
        schema_policy=schema_policy or prof.schema_policy,
        catalog=catalog or project_catalog(project_dir, database_path(project_dir, prof, database)),
        verify_sql=verify_sql,
        udfs=udfs,
    )
    for diagnostic in (*prof.warnings, *udf_problems):
        ctx.reporter.add(diagnostic)
    surface = parse(text, path, sources=sources, reporter=ctx.reporter)
    prog = to_ordered(to_resolved(to_program(surface, ctx), ctx), ctx)
    if report_unused:
        for warning in unused_warnings(ctx.cli_vars, prog.used_variables):
            ctx.reporter.add(warning)
    return Compilation(
        to_plan(prog, ctx, path, engine=engine or prof.engine.type),
        prog,
        sources,
        tuple(ctx.reporter.diagnostics),
        prof,
        project_dir,
        prog.used_variables,
    )
