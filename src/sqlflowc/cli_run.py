"""`sqlflowc run TARGET...`: compile (or load) each target and run it on DuckDB."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sqlflowc.cli_common import (
    EXIT_COMPILE_ERROR,
    EXIT_RUNTIME_ERROR,
    PIPELINE,
    compile_options,
    count,
    engine_option,
    parse_vars,
    print_diagnostics,
    schema_policy_option,
    unused_cli_warnings,
)
from sqlflowc.cli_text import EXAMPLES
from sqlflowc.limits import MAX_JOBS, MAX_THREADS

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan
    from sqlflowc.runtime.report import RunResult
    from sqlflowc.runtime.resume import ResumePoint
    from sqlflowc.runtime.run_records import RunInfo
    from sqlflowc.source import SourceMap


@click.command("run", epilog=EXAMPLES["run"])
@click.argument("targets", type=PIPELINE, nargs=-1, required=True, metavar="TARGET...")
@click.option(
    "--db",
    "database",
    metavar="PATH",
    help="DuckDB database file (relative to the current directory), or :memory:.",
    show_default="the profile's engine.path, else target/sqlflow.duckdb in the project",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    help=f"DuckDB worker threads (1 to {MAX_THREADS}).",
    show_default="the profile's engine.threads, else one per core",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1, max=MAX_JOBS),
    help=f"Steps run at once (1 to {MAX_JOBS}): independent steps run in parallel, each on "
    "its own DuckDB connection; 1 runs them one by one in plan order.",
    show_default="the profile's execution.jobs, else the number of cores, at most 4",
)
@click.option(
    "--fail-fast/--continue",
    "fail_fast",
    default=True,
    help="Stop at the first failed step (and pipeline): the running steps finish, nothing new "
    "starts; or run every step that does not depend on a failed one (and every pipeline).",
)
@schema_policy_option
@click.option(
    "--schema-drift",
    type=click.Choice(["fail", "warn", "accept"]),
    help="What to do when a source's schema differs from its accepted snapshot, for every "
    "source of this run.",
    show_default="the SOURCE's schema_drift, else the profile's, else warn",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print the run's record (as `status --format json` shows it) on stdout, and "
    "the progress lines on stderr.",
)
@engine_option
@click.option(
    "--no-cache",
    "use_cache",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Compile the pipeline even when its cached plan is up to date, and cache nothing "
    "(the cache: target/cache/ in the project; `sqlflowc cache clear` empties it).",
)
@click.option(
    "--resume",
    metavar="[RUN_ID]",
    is_flag=False,
    flag_value="",
    default=None,
    help="Resume a failed or interrupted run of the pipeline: the steps that succeeded in it "
    "are not run again. RUN_ID (or a unique start of it) names the run.",
    show_default="no resuming; with --resume alone, the pipeline's latest run",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --resume: resume even though the plan changed since that run.",
)
@click.option(
    "--metrics-out",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=lambda _ctx, _param, value: _metrics_path(value),
    help="Write the run's metrics to FILE when it ends: Prometheus text (FILE.prom, for "
    "node_exporter's textfile collector) or JSON lines (FILE.jsonl).",
    show_default="no metrics file",
)
@compile_options
def run_cmd(
    targets: tuple[Path, ...],
    database: str | None,
    threads: int | None,
    jobs: int | None,
    fail_fast: bool,
    schema_policy: str | None,
    schema_drift: Any,
    fmt: str,
    engine: str | None,
    resume: str | None,
    force: bool,
    metrics_out: Path | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
    use_cache: bool,
) -> None:
    """Run each TARGET, in order: a pipeline (.sf) or a compiled plan (.json).

    With several targets, each is compiled just before it runs (so it sees the tables the
    earlier ones made); the first that fails stops the rest unless --continue is given.
    """
    settings = _RunSettings(
        database,
        threads,
        jobs,
        fail_fast,
        schema_policy,
        schema_drift,
        var_pairs,
        vars_json,
        profile,
        project_dir,
        fmt,
        resume=resume,
        force=force,
        metrics_out=metrics_out,
        engine=engine,
        use_cache=use_cache,
    )
    if resume is not None and len(targets) > 1:
        raise click.UsageError("--resume takes one TARGET")
    if len(targets) == 1:
        status, _ = _run_one(targets[0], settings, report_unused=True)
        _print_records(settings, single=True)
        sys.exit(status)
    statuses: dict[Path, int] = {}
    used: set[str] | None = set()
    for target in targets:
        if any(s > EXIT_RUNTIME_ERROR for s in statuses.values()):
            break  # interrupted: the other pipelines do not run
        if any(statuses.values()) and fail_fast:
            break
        status, names = _run_one(target, settings, report_unused=False)
        statuses[target] = status
        used = None if names is None or used is None else used | names
    if used is not None and len(statuses) == len(targets):  # else: not known for all
        print_diagnostics(unused_cli_warnings(var_pairs, vars_json, used), None, "text")
    ok = [t for t, s in statuses.items() if s == 0]
    failed = [f"{t} (status {s})" for t, s in statuses.items() if s]
    not_run = [str(t) for t in targets if t not in statuses]
    parts = [f"{len(ok)} ok"]
    if failed:
        parts.append(f"{len(failed)} failed: {', '.join(failed)}")
    if not_run:
        parts.append(f"{len(not_run)} not run: {', '.join(not_run)}")
    _echo(settings, f"{count(len(targets), 'pipeline')}: " + "; ".join(parts))
    _print_records(settings, single=False)
    codes = set(statuses.values())
    signalled = [c for c in codes if c > EXIT_RUNTIME_ERROR]
    if signalled:
        sys.exit(signalled[0])
    sys.exit(EXIT_RUNTIME_ERROR if EXIT_RUNTIME_ERROR in codes else max(codes))


@dataclass(frozen=True)
class _RunSettings:
    database: str | None
    threads: int | None
    jobs: int | None
    fail_fast: bool
    schema_policy: str | None
    schema_drift: Any
    var_pairs: tuple[str, ...]
    vars_json: str | None
    profile: str | None
    project_dir: Path | None
    fmt: str = "text"
    use_cache: bool = True
    resume: str | None = None  # "": the latest run
    force: bool = False
    metrics_out: Path | None = None
    records: list[dict[str, Any]] = field(default_factory=list)  # of the runs, for json
    engine: str | None = None


def _echo(settings: _RunSettings, line: str) -> None:
    """A progress line: on stdout, or on stderr when stdout has the records (`--format json`)."""
    click.echo(line, err=settings.fmt == "json")


def _print_records(settings: _RunSettings, *, single: bool) -> None:
    if settings.fmt != "json":
        return
    shown: Any = settings.records[0] if single and settings.records else settings.records
    click.echo(json.dumps(shown, indent=2))


def _run_one(
    target: Path, settings: _RunSettings, *, report_unused: bool
) -> tuple[int, frozenset[str] | None]:
    """Compile (or load) and run one target: its exit status, and the variables it uses
    (None when unknown: compile errors, or a plan file)."""
    from sqlflowc.cli_progress import default_jobs, progress
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.runner import database_path, run
    from sqlflowc.runtime.hooks import load_hooks

    cli_vars = parse_vars(settings.var_pairs, settings.vars_json)
    sources: SourceMap | None = None
    used: frozenset[str] | None = None
    try:
        if target.suffix.lower() == ".json":
            plan, prof, project, secrets = _load_plan(target, cli_vars, settings.profile)
            if settings.schema_policy is not None:
                from sqlflowc.backend.load_modes import with_schema_policy

                policy = settings.schema_policy
                plan = with_schema_policy(plan, "evolve" if policy == "evolve" else "strict")
        else:
            plan, prof, project, sources, secrets, used = _compile_target(
                target, cli_vars, settings, report_unused=report_unused
            )
    except CompileError as err:
        print_diagnostics(err.diagnostics, err.sources, "text")
        n = sum(1 for d in err.diagnostics if d.is_error)
        what = "nothing was run" if report_unused else f"{target} was not run"
        click.echo(f"{n} error{'s' * (n != 1)}; {what}.", err=True)
        return EXIT_COMPILE_ERROR, None
    db = database_path(project, prof, settings.database)
    reused: dict[str, str] = {}
    resumed_from: str | None = None
    if settings.resume is not None:
        point = _resume_point(plan, db, settings)
        if point is None:
            return EXIT_COMPILE_ERROR, used
        reused, resumed_from = point.reused, point.run.run_id
        done = len(reused)
        _echo(
            settings,
            f"resuming run {resumed_from} ({point.run.status}): {done} of "
            f"{count(len(plan.steps), 'step')} done in it are not run again",
        )
    where = db
    if plan.engine == "spark":
        where = f"Spark (warehouse {prof.engine.warehouse})"
    n = len(plan.steps)
    _echo(settings, f"running {plan.pipeline}: {n} step{'s' * (n != 1)} on {where}")
    with progress([step.id for step in plan.steps], err=settings.fmt == "json") as events:
        result = run(
            plan,
            database=db,
            threads=settings.threads or prof.engine.threads,
            memory_limit=prof.engine.memory_limit,
            jobs=settings.jobs or prof.jobs or default_jobs(),
            fail_fast=settings.fail_fast,
            secrets=secrets,
            events=events,
            hooks=load_hooks(Path(plan.project_dir)),
            capture_schemas=True,
            schema_drift=settings.schema_drift,
            profile=prof,
            record=True,
            reused=reused,
            resumed_from=resumed_from,
        )
    if settings.fmt == "json" or settings.metrics_out is not None:
        record = _record(plan, result.run_id)
        if settings.fmt == "json":
            settings.records.append(
                record.to_json() if record else {"run_id": result.run_id, "status": "unknown"}
            )
        if settings.metrics_out is not None and record is not None:
            from sqlflowc.fileio import write_text_atomic
            from sqlflowc.run_metrics import format_for, metrics_text

            fmt = format_for(settings.metrics_out) or "prom"
            write_text_atomic(settings.metrics_out, metrics_text(record, fmt))
    return _report_run(result, plan, sources, settings), used


def _resume_point(plan: Plan, database: str, settings: _RunSettings) -> ResumePoint | None:
    """The run to resume and the steps not to run again; None (reported) when refused."""
    from sqlflowc.diagnostics import Code, Diagnostic
    from sqlflowc.runtime.resume import ResumeRefused, resume_point

    try:
        return resume_point(plan, database, settings.resume or None, force=settings.force)
    except ResumeRefused as err:
        refusal = Diagnostic(Code.RESUME_REFUSED, f"cannot resume: {err.message}", help=err.help)
        print_diagnostics((refusal,), None, "text")
        click.echo("nothing was run.", err=True)
        return None


def _record(plan: Plan, run_id: str) -> RunInfo | None:
    from sqlflowc.runtime.ledger import runs_dir
    from sqlflowc.runtime.run_records import find_run

    return find_run(runs_dir(plan.project_dir), run_id)


def _metrics_path(value: Path | None) -> Path | None:
    """`--metrics-out` must end in `.prom` or `.jsonl` (the format follows)."""
    if value is not None and value.suffix.lower() not in (".prom", ".jsonl"):
        raise click.BadParameter(
            f"{value} ends in neither .prom (Prometheus text) nor .jsonl (JSON lines)",
            param_hint="--metrics-out",
        )
    return value


def _compile_target(
    target: Path, cli_vars: dict[str, Any], settings: _RunSettings, *, report_unused: bool
) -> tuple[Plan, Any, Path, SourceMap | None, dict[str, str], frozenset[str]]:
    """The plan of a pipeline: from the compile cache when everything it was compiled from is
    unchanged (no compiler is loaded then), else compiled (and cached when it has no
    warnings); with the profile, project, sources, secrets and the variables it uses."""
    from sqlflowc import compile_cache
    from sqlflowc.profiles import find_project_dir, load_profile
    from sqlflowc.source import SourceMap

    request = compile_cache.Request(
        target,
        cli_vars,
        settings.profile,
        settings.project_dir,
        settings.database,
        settings.schema_policy,
        report_unused,
        settings.engine,
    )
    if settings.use_cache:
        project = (settings.project_dir or find_project_dir(target)).resolve()
        hit = compile_cache.lookup(request, project)
        if hit is not None:
            prof = load_profile(project, settings.profile, SourceMap())
            secrets = compile_cache.plan_secrets(hit.plan, cli_vars, prof.variables)
            return hit.plan, prof, project, None, secrets, hit.used_variables
    comp = compile_cache.compile_cached(
        request,
        use_cache=settings.use_cache,
        schema_policy=settings.schema_policy,
        verify_sql=True,
        report_unused=report_unused,
    )
    print_diagnostics(comp.warnings, comp.sources, "text")
    return (
        comp.plan,
        comp.profile,
        comp.project_dir,
        comp.sources,
        dict(comp.plan.secrets),
        comp.used_variables,
    )


def _load_plan(
    path: Path, cli_vars: dict[str, Any], profile: str | None
) -> tuple[Plan, Any, Path, dict[str, str]]:
    from sqlflowc.backend.plan_io import load_plan
    from sqlflowc.diagnostics import Code, CompileError, Diagnostic
    from sqlflowc.profiles import load_profile
    from sqlflowc.source import SourceMap

    plan = load_plan(path)
    project = Path(plan.project_dir)
    if not project.is_dir():
        # Its relative paths, UDFs and profile live there: refuse before creating anything.
        raise CompileError(
            [
                Diagnostic(
                    Code.BAD_PLAN,
                    f"the project directory of plan {path} does not exist: {project}",
                    help="compile the pipeline again in its project "
                    "(sqlflowc compile PIPELINE -o PLAN), or restore the directory",
                )
            ]
        )
    from sqlflowc.compile_cache import plan_secrets

    prof = load_profile(project, profile, SourceMap())
    return plan, prof, project, plan_secrets(plan, cli_vars, prof.variables)


def _report_run(
    result: RunResult, plan: Plan, sources: SourceMap | None, settings: _RunSettings
) -> int:
    """Print the summary, then any warnings and failures; the exit status (0 or 3; 130 or 143
    when a signal interrupted the run, after an account of what was and was not done)."""
    from sqlflowc.cli_progress import exit_status, interruption_lines
    from sqlflowc.diagnostics import render_text
    from sqlflowc.runtime.report import failure_diagnostics, warning_diagnostics
    from sqlflowc.source import SourceMap

    _echo(settings, result.summary())
    if result.interrupted is not None:
        click.echo("\n".join(interruption_lines(result)), err=True)
    if result.ok and not result.warnings:
        return 0
    sources = sources if sources is not None else SourceMap()
    diagnostics = [
        *warning_diagnostics(result, plan, sources),
        *failure_diagnostics(result, plan, sources),
    ]
    if diagnostics:
        click.echo(render_text(diagnostics, sources), err=True, nl=False)
    if result.interrupted is not None:
        return exit_status(result.interrupted)
    return 0 if result.ok else EXIT_RUNTIME_ERROR
