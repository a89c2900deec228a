"""`sqlflowc runs`, `status` and `report`: the project's run records, from `target/runs/`.

A thin layer over `runtime/run_records.py` (reading), `run_views.py` (text), `run_compare.py`
(`--compare`) and `run_report_html.py` (`report`). The project is
the current directory's (found as for `sqlflowc udf list`) or `--project DIR`. Exit codes: 0;
2 for a usage error (no such run, no runs yet).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from sqlflowc.cli_text import EXAMPLES

if TYPE_CHECKING:
    from sqlflowc.runtime.run_records import RunInfo

EXIT_USAGE = 2

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
_COMPARE = click.option(
    "--compare",
    is_flag=True,
    help="Compare each step of the run with the median of the pipeline's earlier successful "
    "runs: slower steps and row counts that jumped are flagged.",
)
_BASELINE = click.option(
    "--baseline",
    "last",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="With --compare: how many of the latest successful runs make the usual.",
)
_PROJECT = click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The project directory.",
    show_default="the nearest ancestor of the current directory holding profiles/ or sqlflow.yml",
)


def runs_directory(project_dir: Path | None) -> Path:
    from sqlflowc.profiles import find_project_dir
    from sqlflowc.runtime.ledger import runs_dir

    project = project_dir.resolve() if project_dir else find_project_dir(Path.cwd())
    return runs_dir(project)


def load_run(directory: Path, run_id: str | None) -> RunInfo:
    """The run `run_id` (a unique prefix will do), or the latest; a usage error if none."""
    from sqlflowc.runtime.run_records import find_run, list_runs

    if run_id is None:
        runs = list_runs(directory)
        if not runs:
            _usage(f"no runs recorded in {directory} yet (`sqlflowc run PIPELINE` records one)")
        return runs[0]
    run = find_run(directory, run_id)
    if run is None:
        known = [r.run_id for r in list_runs(directory)[:5]]
        hint = f"; the latest: {', '.join(known)}" if known else ""
        _usage(f"no run `{run_id}` in {directory}{hint}")
    return run


def _usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.command("runs", epilog=EXAMPLES["runs"])
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many runs, newest first.",
)
@click.option(
    "--pipeline",
    metavar="PATH",
    help="Only the runs of this pipeline (as `runs` shows it, e.g. pipelines/daily.sf).",
    show_default="every pipeline",
)
@_COMPARE
@_BASELINE
@_FORMAT
@_PROJECT
def runs_cmd(
    limit: int,
    pipeline: str | None,
    compare: bool,
    last: int,
    fmt: str,
    project_dir: Path | None,
) -> None:
    """List the project's runs, newest first: id, pipeline, status, start, duration, and how
    many steps succeeded, failed and were skipped. With --compare, compare the latest run (of
    --pipeline) with the usual instead."""
    from sqlflowc.run_views import runs_table
    from sqlflowc.runtime.run_records import list_runs

    directory = runs_directory(project_dir)
    everything = list_runs(directory)
    runs = [r for r in everything if pipeline is None or r.pipeline == pipeline]
    if compare:
        if not runs:
            _usage(f"no runs{' of ' + pipeline if pipeline else ''} recorded in {directory}")
        _print_comparison(runs[0], everything, last, fmt)
        return
    runs = runs[:limit]
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in runs], indent=2))
        return
    if not runs:
        click.echo(f"no runs recorded in {directory}")
        return
    click.echo("\n".join(runs_table(runs)))


@click.command("status", epilog=EXAMPLES["status"])
@click.argument("run_id", required=False, metavar="[RUN_ID]")
@_COMPARE
@_BASELINE
@_FORMAT
@_PROJECT
def status_cmd(
    run_id: str | None, compare: bool, last: int, fmt: str, project_dir: Path | None
) -> None:
    """Show one run step by step: RUN_ID (or a unique start of it), else the latest run."""
    from sqlflowc.run_views import status_text
    from sqlflowc.runtime.run_records import list_runs

    directory = runs_directory(project_dir)
    run = load_run(directory, run_id)
    if compare:
        _print_comparison(run, list_runs(directory), last, fmt)
        return
    if fmt == "json":
        click.echo(json.dumps(run.to_json(), indent=2))
        return
    click.echo(status_text(run), nl=False)


def _print_comparison(run: RunInfo, runs: list[RunInfo], last: int, fmt: str) -> None:
    from sqlflowc.run_compare import baseline_runs, compare

    comparison = compare(run, baseline_runs(run, runs, last))
    if fmt == "json":
        click.echo(json.dumps(comparison.to_json(), indent=2))
    else:
        click.echo(comparison.text(), nl=False)


@click.command("report", epilog=EXAMPLES["report"])
@click.argument("run_id", required=False, metavar="[RUN_ID]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write.",
)
@_PROJECT
def report_cmd(run_id: str | None, output: Path, project_dir: Path | None) -> None:
    """Write one self-contained HTML page about a run (RUN_ID, else the latest): its steps'
    graph coloured by state, a timeline showing which steps ran at the same time, and each
    step's rows and errors."""
    from sqlflowc.backend.plan_io import load_plan
    from sqlflowc.cli_common import diagnostics_boundary, write_atomic
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.run_report_html import report_html

    directory = runs_directory(project_dir)
    run = load_run(directory, run_id)
    try:
        plan = load_plan(directory / f"{run.run_id}.plan.json")
    except (CompileError, OSError):
        plan = None  # drawn without its graph
    with diagnostics_boundary(outcome="nothing was written"):  # SF0913 names `output`
        write_atomic(output, report_html(run, plan))
    click.echo(f"wrote {output} (run {run.run_id}, {len(run.steps)} steps)")
