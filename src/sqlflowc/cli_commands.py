"""The `sqlflowc` commands (click): parse arguments, call `sqlflowc.api`, print results.

No logic lives here. One `except CompileError` boundary renders diagnostics (exit 1); a failed
step exits 3; usage errors exit 2 (click). Heavy modules are imported inside the commands so
`sqlflowc --help` stays fast. `run` lives in cli_run.py, `udf` in cli_udf.py, `schema` in
cli_schema.py; what they share in cli_common.py. The console script is `cli.main`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sqlflowc.cli_cache import cache_group
from sqlflowc.cli_common import (
    EXIT_COMPILE_ERROR,
    PIPELINE,
    PIPELINES,
    State,
    compile_options,
    compile_pipeline,
    count,
    diagnostics_boundary,
    engine_option,
    expand_paths,
    print_diagnostics,
    schema_policy_option,
    unused_cli_warnings,
    write_atomic,
)
from sqlflowc.cli_connect import connect_group
from sqlflowc.cli_run import run_cmd
from sqlflowc.cli_runs import report_cmd, runs_cmd, status_cmd
from sqlflowc.cli_schema import schema_group
from sqlflowc.cli_text import EXAMPLES
from sqlflowc.cli_udf import udf_group

if TYPE_CHECKING:
    from sqlflowc.diagnostics import Diagnostic
    from sqlflowc.source import SourceMap


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from sqlflowc.cli_text import version_text

    click.echo(version_text())
    ctx.exit()


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    epilog=EXAMPLES["cli"],
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of sqlflowc, DuckDB, sqlglot, lark and Python, and exit.",
)
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
def cli(debug: bool) -> None:
    """sqlflowc — compile and run SQLFlow pipelines on DuckDB."""
    State.debug = debug


@cli.command("compile", epilog=EXAMPLES["compile"])
@click.argument("pipeline", type=PIPELINE)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan to FILE (JSON unless --format text).",
    show_default="stdout",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    help="Plan format; json also prints diagnostics as JSON.",
    show_default="text on stdout, json with -o",
)
@schema_policy_option
@engine_option
@compile_options
def compile_cmd(
    pipeline: Path,
    output: Path | None,
    fmt: str | None,
    schema_policy: str | None,
    engine: str | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Compile PIPELINE into an execution plan."""
    diagnostics_format = fmt or "text"  # JSON diagnostics only when asked for explicitly
    fmt = fmt or ("json" if output else "text")
    with diagnostics_boundary(diagnostics_format):
        comp = compile_pipeline(
            pipeline,
            var_pairs,
            vars_json,
            profile,
            project_dir,
            schema_policy=schema_policy,
            engine=engine,
        )
    if comp.warnings:
        print_diagnostics(comp.warnings, comp.sources, diagnostics_format)
    text = comp.plan.to_json() if fmt == "json" else comp.plan.to_text()
    if output:
        with diagnostics_boundary(diagnostics_format, "nothing was written"):
            write_atomic(output, text)
        n = len(comp.plan.steps)
        click.echo(f"wrote {output} ({n} step{'s' * (n != 1)})", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("check", epilog=EXAMPLES["check"])
@click.argument("paths", type=PIPELINES, nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Diagnostics as text on stderr, or as one JSON array on stdout.",
)
@schema_policy_option
@engine_option
@compile_options
def check_cmd(
    paths: tuple[Path, ...],
    fmt: str,
    schema_policy: str | None,
    engine: str | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Report diagnostics for pipelines without running anything.

    PATHS are .sf files or directories: every .sf file under a directory, recursively, except
    files another one of them INCLUDEs (those are checked as part of their includer).
    """
    from sqlflowc.diagnostics import CompileError, to_json
    from sqlflowc.inputs import included_by_others
    from sqlflowc.source import SourceMap

    files = expand_paths(paths)
    named = {p.resolve() for p in paths if not p.is_dir()}
    included = {f for f in included_by_others(files) if f.resolve() not in named}
    pipelines = [f for f in files if f not in included]
    several = len(pipelines) > 1
    failed = 0
    used: set[str] | None = set()
    rows: list[dict[str, Any]] = []

    def report(diags: tuple[Diagnostic, ...], sources: SourceMap | None) -> None:
        if fmt == "json":
            rows.extend(to_json(diags, sources if sources is not None else SourceMap()))
        else:
            print_diagnostics(diags, sources, "text")

    for pipeline in pipelines:
        try:
            comp = compile_pipeline(
                pipeline,
                var_pairs,
                vars_json,
                profile,
                project_dir,
                verify_sql=True,
                schema_policy=schema_policy,
                report_unused=not several,
                engine=engine,
            )
        except CompileError as err:
            failed += 1
            used = None  # what a pipeline with errors uses is not known
            report(err.diagnostics, err.sources)
        else:
            if used is not None:
                used |= comp.used_variables
            report(comp.warnings, comp.sources)
    if several and used is not None:
        report(unused_cli_warnings(var_pairs, vars_json, used), None)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        ok = len(pipelines) - failed
        tail = ""
        if included:
            tail = f" ({count(len(included), 'included file')} checked through their includers)"
        click.echo(f"{ok} of {len(pipelines)} pipeline(s) OK{tail}", err=True)
    if failed:
        sys.exit(EXIT_COMPILE_ERROR)


@cli.command("fmt", epilog=EXAMPLES["fmt"])
@click.argument("paths", type=PIPELINES, nargs=-1, required=True)
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; list the files that are not formatted and exit 1 if there are any.",
)
def fmt_cmd(paths: tuple[Path, ...], check: bool) -> None:
    """Format pipelines in place (comments and SQL bodies are kept as written).

    PATHS are .sf files or directories (every .sf file under them, recursively).
    """
    from sqlflowc.api import format_file
    from sqlflowc.diagnostics import CompileError

    files = expand_paths(paths)
    changed = broken = 0
    for file in files:
        try:
            before, after = format_file(file)
            if before != after and not check:
                write_atomic(file, after)
        except CompileError as err:
            broken += 1
            print_diagnostics(err.diagnostics, err.sources, "text")
            continue
        if before != after:
            changed += 1
            click.echo(f"{'would reformat' if check else 'reformatted'} {file}", err=True)
    if check and changed:
        click.echo(f"{count(changed, 'file')} would be reformatted", err=True)
    elif len(files) > 1 or broken:
        verb = "would be reformatted" if check else "reformatted"
        parts = [f"{count(changed, 'file')} {verb}", f"{len(files) - changed - broken} unchanged"]
        if broken:
            parts.append(f"{broken} with errors (not changed)")
        click.echo(", ".join(parts), err=True)
    if broken or (check and changed):
        sys.exit(EXIT_COMPILE_ERROR)


@cli.command("graph", epilog=EXAMPLES["graph"])
@click.argument("pipeline", type=PIPELINE)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "html"]),
    default="mermaid",
    help="Mermaid flowchart, Graphviz DOT, or a self-contained HTML page.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the graph to FILE.",
    show_default="stdout",
)
@compile_options
def graph_cmd(
    pipeline: Path,
    fmt: str,
    output: Path | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Draw the dependency graph of PIPELINE's active branches."""
    from sqlflowc.graph import render

    with diagnostics_boundary():
        comp = compile_pipeline(pipeline, var_pairs, vars_json, profile, project_dir)
    print_diagnostics(comp.warnings, comp.sources, "text")
    text = render(comp.plan, fmt)
    if output:
        with diagnostics_boundary(outcome="nothing was written"):
            write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("init", epilog=EXAMPLES["init"])
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init_cmd(directory: Path) -> None:
    """Create a runnable starter project in DIRECTORY."""
    from sqlflowc.scaffold import create_project

    with diagnostics_boundary(outcome="nothing was created"):
        created = create_project(directory)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"\nnext: cd {directory} && sqlflowc run pipelines/example.sf")


cli.add_command(run_cmd)
cli.add_command(runs_cmd)
cli.add_command(status_cmd)
cli.add_command(report_cmd)
cli.add_command(cache_group)
cli.add_command(schema_group)
cli.add_command(udf_group)
cli.add_command(connect_group)
