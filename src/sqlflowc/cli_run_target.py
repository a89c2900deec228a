"""Running one target of `sqlflowc run` (compile it, or take its plan from the compile cache,
or load a plan file; run it; report): the `run` command (`cli_run.py`) calls it for each target,
and `sqlflowc run PIPELINE` whose plan is cached (`cli.py`) calls it without loading click.
Imports no click: what it prints goes through `cli_output.echo`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.cli_output import (
    EXIT_COMPILE_ERROR,
    EXIT_RUNTIME_ERROR,
    count,
    echo,
    print_diagnostics,
    resume_gc,
)
from sqlflowc.lean_dataclass import dataclass

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan
    from sqlflowc.compile_cache import Hit, Request
    from sqlflowc.runtime.report import RunEvent, RunResult
    from sqlflowc.runtime.resume import ResumePoint
    from sqlflowc.runtime.run_records import RunInfo
    from sqlflowc.source import SourceMap

__all__ = ["RunSettings", "cached_plan", "print_records", "run_one"]


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """The options of `sqlflowc run` (the defaults are the command's), `--var`/`--vars`
    parsed."""

    database: str | None = None
    threads: int | None = None
    jobs: int | None = None
    fail_fast: bool = True
    schema_policy: str | None = None
    schema_drift: Any = None
    cli_vars: Mapping[str, Any] = field(default_factory=dict)
    profile: str | None = None
    project_dir: Path | None = None
    fmt: str = "text"
    use_cache: bool = True
    resume: str | None = None  # "": the latest run
    force: bool = False
    metrics_out: Path | None = None
    records: list[dict[str, Any]] = field(default_factory=list)  # of the runs, for json
    engine: str | None = None


def _echo(settings: RunSettings, line: str) -> None:
    """A progress line: on stdout, or on stderr when stdout has the records (`--format json`)."""
    echo(line, err=settings.fmt == "json")


def print_records(settings: RunSettings, *, single: bool) -> None:
    if settings.fmt != "json":
        return
    shown: Any = settings.records[0] if single and settings.records else settings.records
    echo(json.dumps(shown, indent=2))


def cached_plan(
    target: Path, settings: RunSettings, *, report_unused: bool
) -> tuple[Hit, Path] | None:
    """The cached plan of pipeline `target` and its project, when everything the plan was
    compiled from is unchanged (no compiler is loaded); None when there is none to use."""
    from sqlflowc import compile_cache
    from sqlflowc.profiles import find_project_dir

    if not settings.use_cache:
        return None
    project = (settings.project_dir or find_project_dir(target)).resolve()
    hit = compile_cache.lookup(_request(target, settings, report_unused), project)
    return None if hit is None else (hit, project)


def run_one(
    target: Path,
    settings: RunSettings,
    *,
    report_unused: bool,
    cached: tuple[Hit, Path] | None = None,
) -> tuple[int, frozenset[str] | None]:
    """Compile (or load) and run one target: its exit status, and the variables it uses
    (None when unknown: compile errors, or a plan file). `cached`: its plan, already found in
    the compile cache (`cached_plan`)."""
    from sqlflowc.cli_progress import default_jobs, progress
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.runner import database_path, run
    from sqlflowc.runtime.hooks import load_hooks

    cli_vars = settings.cli_vars
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
                target, settings, report_unused=report_unused, cached=cached
            )
    except CompileError as err:
        print_diagnostics(err.diagnostics, err.sources, "text")
        n = sum(1 for d in err.diagnostics if d.is_error)
        what = "nothing was run" if report_unused else f"{target} was not run"
        echo(f"{n} error{'s' * (n != 1)}; {what}.", err=True)
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
    with progress([step.id for step in plan.steps], err=settings.fmt == "json") as shown:

        def events(event: RunEvent) -> None:
            resume_gc()  # the steps begin: start-up is over (`cli_output.pause_gc`)
            shown(event)

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
    record = None
    if settings.fmt == "json" or settings.metrics_out is not None:
        record = _record(plan, result.run_id)
        if settings.fmt == "json":
            settings.records.append(
                record.to_json() if record else {"run_id": result.run_id, "status": "unknown"}
            )
    status = _report_run(result, plan, sources, settings)
    if settings.metrics_out is not None and record is not None:
        status = max(status, _write_metrics(settings.metrics_out, record))
    return status, used


def _write_metrics(path: Path, record: RunInfo) -> int:
    """Write the run's metrics to `path`: 0, or 1 after SF0913 naming `path` (the run itself
    is reported already)."""
    from sqlflowc.diagnostics import render_text
    from sqlflowc.fileio import file_error, write_text_atomic
    from sqlflowc.run_metrics import format_for, metrics_text
    from sqlflowc.source import SourceMap

    try:
        write_text_atomic(path, metrics_text(record, format_for(path) or "prom"))
    except OSError as err:
        echo(render_text([file_error("write", path, err)], SourceMap()), err=True, nl=False)
        return EXIT_COMPILE_ERROR
    return 0


def _resume_point(plan: Plan, database: str, settings: RunSettings) -> ResumePoint | None:
    """The run to resume and the steps not to run again; None (reported) when refused."""
    from sqlflowc.diagnostics import Code, Diagnostic
    from sqlflowc.runtime.resume import ResumeRefused, resume_point

    try:
        return resume_point(plan, database, settings.resume or None, force=settings.force)
    except ResumeRefused as err:
        refusal = Diagnostic(Code.RESUME_REFUSED, f"cannot resume: {err.message}", help=err.help)
        print_diagnostics((refusal,), None, "text")
        echo("nothing was run.", err=True)
        return None


def _record(plan: Plan, run_id: str) -> RunInfo | None:
    from sqlflowc.runtime.ledger import runs_dir
    from sqlflowc.runtime.run_records import find_run

    return find_run(runs_dir(plan.project_dir), run_id)


def _request(target: Path, settings: RunSettings, report_unused: bool) -> Request:
    from sqlflowc.compile_cache import Request

    return Request(
        target,
        settings.cli_vars,
        settings.profile,
        settings.project_dir,
        settings.database,
        settings.schema_policy,
        report_unused,
        settings.engine,
    )


def _compile_target(
    target: Path,
    settings: RunSettings,
    *,
    report_unused: bool,
    cached: tuple[Hit, Path] | None,
) -> tuple[Plan, Any, Path, SourceMap | None, dict[str, str], frozenset[str]]:
    """The plan of a pipeline: from the compile cache when everything it was compiled from is
    unchanged (no compiler is loaded then), else compiled (and cached when it has no
    warnings); with the profile, project, sources, secrets and the variables it uses."""
    from sqlflowc import compile_cache

    if cached is None:
        cached = cached_plan(target, settings, report_unused=report_unused)
    if cached is not None:
        hit, project = cached
        secrets = compile_cache.plan_secrets(hit.plan, settings.cli_vars, hit.profile.variables)
        return hit.plan, hit.profile, project, None, secrets, hit.used_variables
    comp = compile_cache.compile_cached(
        _request(target, settings, report_unused),
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
    path: Path, cli_vars: Mapping[str, Any], profile: str | None
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
    result: RunResult, plan: Plan, sources: SourceMap | None, settings: RunSettings
) -> int:
    """Print the summary, then any warnings and failures; the exit status (0 or 3; 130 or 143
    when a signal interrupted the run, after an account of what was and was not done)."""
    from sqlflowc.cli_progress import exit_status, interruption_lines
    from sqlflowc.diagnostics import render_text
    from sqlflowc.runtime.report import failure_diagnostics, warning_diagnostics
    from sqlflowc.source import SourceMap

    _echo(settings, result.summary())
    if result.interrupted is not None:
        echo("\n".join(interruption_lines(result)), err=True)
    if result.ok and not result.warnings:
        return 0
    sources = sources if sources is not None else SourceMap()
    diagnostics = [
        *warning_diagnostics(result, plan, sources),
        *failure_diagnostics(result, plan, sources),
    ]
    if diagnostics:
        echo(render_text(diagnostics, sources), err=True, nl=False)
    if result.interrupted is not None:
        return exit_status(result.interrupted)
    return 0 if result.ok else EXIT_RUNTIME_ERROR
