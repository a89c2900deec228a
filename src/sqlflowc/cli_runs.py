"""`sqlflowc runs` and `sqlflowc status`: the project's run records, read from `target/runs/`.

A thin layer over `runtime/run_records.py` (reading) and `run_views.py` (text). The project is
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
@_FORMAT
@_PROJECT
def runs_cmd(limit: int, pipeline: str | None, fmt: str, project_dir: Path | None) -> None:
    """List the project's runs, newest first: id, pipeline, status, start, duration, and how
    many steps succeeded, failed and were skipped."""
    from sqlflowc.run_views import runs_table
    from sqlflowc.runtime.run_records import list_runs

    directory = runs_directory(project_dir)
    runs = [r for r in list_runs(directory) if pipeline is None or r.pipeline == pipeline]
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
@_FORMAT
@_PROJECT
def status_cmd(run_id: str | None, fmt: str, project_dir: Path | None) -> None:
    """Show one run step by step: RUN_ID (or a unique start of it), else the latest run."""
    from sqlflowc.run_views import status_text

    run = load_run(runs_directory(project_dir), run_id)
    if fmt == "json":
        click.echo(json.dumps(run.to_json(), indent=2))
        return
    click.echo(status_text(run), nl=False)
