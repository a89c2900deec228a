"""`sqlflowc connect ...`: list the connector types and test a connection.

A thin layer over `sqlflowc.connect`. `connect list` shows every type (built-in or plugin) with
its parameters — an aligned table, or JSON with `--format json` — and exits 1 when a plugin is
broken (listed with the reason). `connect test NAME` connects to a profile connection, or with
`--pipeline FILE` to a SOURCE of that pipeline, and shows the server and a few of its objects:
exit 0, or 1 with the reason (secrets masked); an unknown name is a diagnostic (exit 1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sqlflowc.cli_common import (
    EXIT_COMPILE_ERROR,
    compile_options,
    compile_pipeline,
    diagnostics_boundary,
    parse_vars,
    print_diagnostics,
)
from sqlflowc.cli_text import EXAMPLES

if TYPE_CHECKING:
    from sqlflowc.connect import TestOutcome, TestTarget, TypeListing
    from sqlflowc.connectors.base import ParamInfo

EXIT_FAILED = EXIT_COMPILE_ERROR  # what docs/cli.md promises: 1 when it does not connect

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Aligned text, or JSON on stdout.",
)


@click.group("connect", epilog=EXAMPLES["connect"])
def connect_group() -> None:
    """List the connector types and test connections."""


@connect_group.command("list", epilog=EXAMPLES["connect list"])
@click.argument("types", nargs=-1, metavar="[TYPE]...")
@FORMAT
def list_cmd(types: tuple[str, ...], fmt: str) -> None:
    """List the connector types (built-in and installed plugins) and their parameters.

    TYPE limits the list to those types (any case).
    """
    from sqlflowc.connect import list_types

    with diagnostics_boundary(fmt, "nothing was listed"):
        listed = list_types(types)
    if fmt == "json":
        click.echo(json.dumps([t.to_dict() for t in listed], indent=2))
    else:
        click.echo("\n\n".join(_render_type(t) for t in listed))
    broken = [t for t in listed if t.error is not None]
    for entry in broken:
        click.echo(f"error: {entry.error}", err=True)
    if broken:
        sys.exit(EXIT_FAILED)


def _render_type(entry: TypeListing) -> str:

    origin = "built-in" if entry.builtin else f"plugin {entry.distribution}"
    head = f"{entry.name} ({origin})"
    if entry.error is not None:
        return f"{head}\n  broken: {entry.error}"
    lines = [f"{head}: {entry.description}" if entry.description else head]
    lines += _param_table("PARAMETER", entry.params)
    if entry.export_options is not None:
        lines += _param_table("EXPORT OPTION", entry.export_options)
    return "\n".join(lines)


def _param_table(heading: str, params: tuple[ParamInfo, ...]) -> list[str]:
    from sqlflowc.text_table import format_table

    rows = [
        (
            p.name,
            p.type,
            "yes" if p.required else "",
            "" if p.default is None else json.dumps(p.default, default=str),
            "yes" if p.secret else "",
        )
        for p in params
    ]
    table = format_table((heading, "TYPE", "REQUIRED", "DEFAULT", "SECRET"), rows)
    return [f"  {line}" for line in table]


@connect_group.command("test", epilog=EXAMPLES["connect test"])
@click.argument("name")
@click.option(
    "--pipeline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Test SOURCE NAME of this pipeline instead of a profile connection.",
    show_default="none: NAME is a connection of the profile",
)
@FORMAT
@compile_options
def test_cmd(
    name: str,
    pipeline: Path | None,
    fmt: str,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Connect to NAME and show the server and a few of its tables or files.

    NAME is a connection of the profile (`connections:` in profiles/NAME.yml), or with
    --pipeline a SOURCE of that pipeline. Exit 0 when it connects, 1 when it does not.
    """
    from sqlflowc.connect import run_test

    with diagnostics_boundary(fmt, "nothing was tested"):
        target = _target(name, pipeline, var_pairs, vars_json, profile, project_dir)
    outcome = run_test(target)
    if fmt == "json":
        click.echo(json.dumps(outcome.to_dict(), indent=2))
    if not outcome.ok:
        click.echo(f"error: {target.label}: {outcome.error}", err=True)
        sys.exit(EXIT_FAILED)
    if fmt != "json":
        click.echo(_render_outcome(outcome))


def _target(
    name: str,
    pipeline: Path | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> TestTarget:
    from sqlflowc.connect import pipeline_target, profile_target

    if pipeline is not None:
        comp = compile_pipeline(pipeline, var_pairs, vars_json, profile, project_dir)
        print_diagnostics(comp.warnings, comp.sources, "text")
        return pipeline_target(comp.program, comp.plan, name)
    from sqlflowc.profiles import find_project_dir, load_profile
    from sqlflowc.source import SourceMap

    project = project_dir.resolve() if project_dir else find_project_dir(Path.cwd())
    loaded = load_profile(project, profile, SourceMap())
    variables: dict[str, Any] = dict(loaded.variables)
    variables.update(parse_vars(var_pairs, vars_json))
    return profile_target(loaded, name, variables, project)


def _render_outcome(outcome: TestOutcome) -> str:
    lines = [f"ok: {outcome.target.label}", f"  server: {outcome.server}"]
    if outcome.objects:
        lines.append("  objects:")
        lines += [f"    {o}" for o in outcome.objects]
        if outcome.more:
            lines.append("    ... (more not shown)")
    elif not outcome.more:
        lines.append("  objects: none")
    return "\n".join(lines)
