"""`sqlflowc udf list|info`: the project's Python UDFs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from sqlflowc.cli_common import EXIT_COMPILE_ERROR, print_diagnostics
from sqlflowc.cli_text import EXAMPLES


@click.group("udf", epilog=EXAMPLES["udf"])
def udf_group() -> None:
    """List and inspect the project's Python UDFs (python_udfs/)."""


UDF_PROJECT = click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The project whose python_udfs/ to read.",
    show_default="the nearest ancestor of the current directory holding python_udfs/, "
    "profiles/ or sqlflow.yml",
)


def _udf_catalog(project_dir: Path | None, fmt: str) -> tuple[Any, Path, bool]:
    """The project's UDF catalog; import problems are printed (the caller exits 1 after)."""
    from sqlflowc.source import SourceMap
    from sqlflowc.udf.discovery import discover_udfs
    from sqlflowc.udf.listing import project_for_udfs

    if project_dir is not None:
        project = project_dir.resolve()
    else:
        found = project_for_udfs(Path.cwd())
        if found is None:
            from sqlflowc.udf.listing import projects_below

            below = projects_below(Path.cwd())
            hint = f"; projects here: {', '.join(below)}" if below else ""
            raise click.UsageError(
                "no project in the current directory or above (a directory holding profiles/, "
                f"sqlflow.yml or python_udfs/): cd into one or give --project DIRECTORY{hint}"
            )
        project = found
    sources = SourceMap()
    catalog, problems = discover_udfs(project, sources)
    if problems:
        print_diagnostics(tuple(problems), sources, "json" if fmt == "json" else "text")
    return catalog, project, any(p.is_error for p in problems)


@udf_group.command("list", epilog=EXAMPLES["udf list"])
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="An aligned table, or JSON.",
)
@UDF_PROJECT
def udf_list_cmd(fmt: str, project_dir: Path | None) -> None:
    """List the UDFs: name, kind, signature, module and description."""
    from sqlflowc.udf.listing import render_list, udf_json

    catalog, project, failed = _udf_catalog(project_dir, fmt)
    if fmt == "json":
        click.echo(json.dumps([udf_json(u, project) for u in catalog.udfs], indent=2))
    else:
        click.echo(render_list(catalog, project), nl=False)
    if failed:
        sys.exit(EXIT_COMPILE_ERROR)


@udf_group.command("info", epilog=EXAMPLES["udf info"])
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="An aligned table, or JSON.",
)
@UDF_PROJECT
def udf_info_cmd(name: str, fmt: str, project_dir: Path | None) -> None:
    """Show one UDF: full signature, types, docstring and where it is defined."""
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.udf.listing import find_udf, render_info, udf_json

    catalog, project, failed = _udf_catalog(project_dir, fmt)
    try:
        udf = find_udf(catalog, name)
    except CompileError as err:
        print_diagnostics(err.diagnostics, err.sources, fmt)
        sys.exit(EXIT_COMPILE_ERROR)
    if fmt == "json":
        click.echo(json.dumps(udf_json(udf, project), indent=2))
    else:
        click.echo(render_info(udf), nl=False)
    if failed:
        sys.exit(EXIT_COMPILE_ERROR)
