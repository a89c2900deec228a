"""`sqlflowc run TARGET...`: compile (or load) each target and run it on DuckDB."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sqlflowc.cli_common import (
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
from sqlflowc.cli_output import echo
from sqlflowc.cli_run_target import RunSettings, print_records, run_one
from sqlflowc.cli_text import EXAMPLES
from sqlflowc.limits import MAX_JOBS, MAX_THREADS


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
    if resume is not None and len(targets) > 1:
        raise click.UsageError("--resume takes one TARGET")
    settings = RunSettings(
        database=database,
        threads=threads,
        jobs=jobs,
        fail_fast=fail_fast,
        schema_policy=schema_policy,
        schema_drift=schema_drift,
        cli_vars=parse_vars(var_pairs, vars_json),
        profile=profile,
        project_dir=project_dir,
        fmt=fmt,
        resume=resume,
        force=force,
        metrics_out=metrics_out,
        engine=engine,
        use_cache=use_cache,
    )
    if len(targets) == 1:
        status, _ = run_one(targets[0], settings, report_unused=True)
        print_records(settings, single=True)
        sys.exit(status)
    statuses: dict[Path, int] = {}
    used: set[str] | None = set()
    for target in targets:
        if any(s > EXIT_RUNTIME_ERROR for s in statuses.values()):
            break  # interrupted: the other pipelines do not run
        if any(statuses.values()) and fail_fast:
            break
        status, names = run_one(target, settings, report_unused=False)
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
    echo(f"{count(len(targets), 'pipeline')}: " + "; ".join(parts), err=fmt == "json")
    print_records(settings, single=False)
    codes = set(statuses.values())
    signalled = [c for c in codes if c > EXIT_RUNTIME_ERROR]
    if signalled:
        sys.exit(signalled[0])
    sys.exit(EXIT_RUNTIME_ERROR if EXIT_RUNTIME_ERROR in codes else max(codes))


def _metrics_path(value: Path | None) -> Path | None:
    """`--metrics-out` must end in `.prom` or `.jsonl` (the format follows)."""
    if value is not None and value.suffix.lower() not in (".prom", ".jsonl"):
        raise click.BadParameter(
            f"{value} ends in neither .prom (Prometheus text) nor .jsonl (JSON lines)",
            param_hint="--metrics-out",
        )
    return value
