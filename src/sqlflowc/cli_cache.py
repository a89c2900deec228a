"""`sqlflowc cache clear`: empty the compile cache of a project (target/cache/)."""

from __future__ import annotations

from pathlib import Path

import click

from sqlflowc.cli_text import EXAMPLES


@click.group("cache", epilog=EXAMPLES["cache"])
def cache_group() -> None:
    """The compile cache: plans `sqlflowc run` keeps in target/cache/ and reuses while
    everything they were compiled from is unchanged."""


@cache_group.command("clear", epilog=EXAMPLES["cache clear"])
@click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The project whose cache to empty.",
    show_default="the nearest ancestor of the current directory holding profiles/, "
    "sqlflow.yml or python_udfs/, else the current directory",
)
def cache_clear_cmd(project_dir: Path | None) -> None:
    """Remove every cached plan of the project."""
    from sqlflowc.compile_cache import cache_dir, clear
    from sqlflowc.profiles import nearest_project

    project = (project_dir or nearest_project(Path.cwd()) or Path.cwd()).resolve()
    n = clear(project)
    click.echo(f"removed {n} cached plan{'s' * (n != 1)} from {cache_dir(project)}")
