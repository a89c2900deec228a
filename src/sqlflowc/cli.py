"""The `sqlflowc` command line: parse arguments, call `sqlflowc.api`, print results.

No logic lives here. One `except CompileError` boundary renders diagnostics (exit 1); a failed
step exits 3; usage errors exit 2 (click). Heavy modules are imported inside the commands so
`sqlflowc --help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sqlflowc.cli_schema import schema_group

if TYPE_CHECKING:
    from sqlflowc.api import Compilation
    from sqlflowc.backend.plan import Plan
    from sqlflowc.diagnostics import Diagnostic
    from sqlflowc.runtime.report import RunEvent, RunResult
    from sqlflowc.source import SourceMap

F = TypeVar("F", bound=Callable[..., Any])

EXIT_COMPILE_ERROR = 1
EXIT_USAGE = 2
EXIT_RUNTIME_ERROR = 3


class _State:
    debug = False


def _parse_vars(pairs: tuple[str, ...], vars_json: str | None) -> dict[str, Any]:
    """`--vars JSON` then each `--var k=v` (values JSON-parsed when possible, else text)."""
    out: dict[str, Any] = {}
    if vars_json:
        try:
            loaded = json.loads(vars_json)
        except json.JSONDecodeError as err:
            raise click.BadParameter(f"not valid JSON: {err.msg}", param_hint="--vars") from None
        if not isinstance(loaded, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--vars")
        out.update(loaded)
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--var")
        try:
            out[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[name.strip()] = value
    return out


def compile_options(func: F) -> F:
    """The options every compiling command takes."""
    for option in reversed(
        (
            click.option(
                "--var",
                "var_pairs",
                multiple=True,
                metavar="NAME=VALUE",
                help="Set a variable (repeatable); VALUE is JSON when it parses.",
            ),
            click.option("--vars", "vars_json", metavar="JSON", help="Variables as a JSON object."),
            click.option("--profile", metavar="NAME", help="Profile in profiles/ (default: dev)."),
            click.option(
                "--project",
                "project_dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Project directory (default: found from the pipeline's location).",
            ),
        )
    ):
        func = option(func)
    return func


def _print_diagnostics(diags: tuple[Diagnostic, ...], sources: SourceMap | None, fmt: str) -> None:
    from sqlflowc.diagnostics import render_json, render_text
    from sqlflowc.source import SourceMap

    sources = sources if sources is not None else SourceMap()
    if fmt == "json":
        click.echo(render_json(diags, sources), err=True, nl=False)
    elif diags:
        click.echo(render_text(diags, sources), err=True, nl=False)


@contextmanager
def _diagnostics_boundary(fmt: str = "text") -> Iterator[None]:
    """Render a CompileError as diagnostics and exit 1."""
    from sqlflowc.diagnostics import CompileError

    try:
        yield
    except CompileError as err:
        _print_diagnostics(err.diagnostics, err.sources, fmt)
        n = sum(1 for d in err.diagnostics if d.is_error)
        if fmt != "json":
            click.echo(f"{n} error{'s' * (n != 1)}; nothing was run.", err=True)
        sys.exit(EXIT_COMPILE_ERROR)


def _compile(
    pipeline: Path,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
    *,
    schema_policy: Any = None,
    database: str | None = None,
    verify_sql: bool = False,
) -> Compilation:
    from sqlflowc.api import compile_file

    return compile_file(
        pipeline,
        cli_vars=_parse_vars(var_pairs, vars_json),
        profile=profile,
        project_dir=project_dir,
        schema_policy=schema_policy,
        database=database,
        verify_sql=verify_sql,
    )


schema_policy_option = click.option(
    "--schema-policy",
    type=click.Choice(["strict", "evolve"]),
    help="How APPEND/MERGE/INCREMENTAL loads treat new or wider columns (default: the "
    "profile's schema_policy, else strict).",
)


def _write_atomic(path: Path, text: str) -> None:
    from sqlflowc.fileio import write_text_atomic

    write_text_atomic(path, text)


# ---------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sqlflowc")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
def cli(debug: bool) -> None:
    """sqlflowc — compile and run SQLFlow pipelines on DuckDB."""
    _State.debug = debug


PIPELINE = click.Path(exists=True, dir_okay=False, path_type=Path)


@cli.command("compile")
@click.argument("pipeline", type=PIPELINE)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan here (JSON unless --format text).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    help="Plan format: text (default on stdout) or json (default with -o).",
)
@schema_policy_option
@compile_options
def compile_cmd(
    pipeline: Path,
    output: Path | None,
    fmt: str | None,
    schema_policy: str | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Compile PIPELINE into an execution plan."""
    diagnostics_format = fmt or "text"  # JSON diagnostics only when asked for explicitly
    fmt = fmt or ("json" if output else "text")
    with _diagnostics_boundary(diagnostics_format):
        comp = _compile(
            pipeline, var_pairs, vars_json, profile, project_dir, schema_policy=schema_policy
        )
    if comp.warnings:
        _print_diagnostics(comp.warnings, comp.sources, diagnostics_format)
    text = comp.plan.to_json() if fmt == "json" else comp.plan.to_text()
    if output:
        _write_atomic(output, text)
        n = len(comp.plan.steps)
        click.echo(f"wrote {output} ({n} step{'s' * (n != 1)})", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("check")
@click.argument("pipelines", type=PIPELINE, nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@schema_policy_option
@compile_options
def check_cmd(
    pipelines: tuple[Path, ...],
    fmt: str,
    schema_policy: str | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Report diagnostics for each PIPELINE without running anything."""
    from sqlflowc.diagnostics import CompileError, to_json

    failed = 0
    rows: list[dict[str, Any]] = []
    for pipeline in pipelines:
        try:
            comp = _compile(
                pipeline,
                var_pairs,
                vars_json,
                profile,
                project_dir,
                verify_sql=True,
                schema_policy=schema_policy,
            )
        except CompileError as err:
            failed += 1
            diags, sources = err.diagnostics, err.sources
        else:
            diags, sources = comp.warnings, comp.sources
        if fmt == "json":
            from sqlflowc.source import SourceMap

            rows.extend(to_json(diags, sources if sources is not None else SourceMap()))
        else:
            _print_diagnostics(diags, sources, "text")
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        ok = len(pipelines) - failed
        click.echo(f"{ok} of {len(pipelines)} pipeline(s) OK", err=True)
    if failed:
        sys.exit(EXIT_COMPILE_ERROR)


@cli.command("run")
@click.argument("target", type=PIPELINE)
@click.option("--db", "database", metavar="PATH", help="DuckDB database file, or :memory:.")
@click.option("--threads", type=click.IntRange(min=1), help="DuckDB worker threads.")
@click.option(
    "--fail-fast/--continue",
    "fail_fast",
    default=True,
    help="Stop at the first failed step (default), or run every step that does not "
    "depend on a failed one.",
)
@schema_policy_option
@compile_options
def run_cmd(
    target: Path,
    database: str | None,
    threads: int | None,
    fail_fast: bool,
    schema_policy: str | None,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Run TARGET: a pipeline (.sf) or a compiled plan (.json)."""
    from sqlflowc.api import database_path, run
    from sqlflowc.runtime.hooks import load_hooks

    cli_vars = _parse_vars(var_pairs, vars_json)
    sources: SourceMap | None = None
    with _diagnostics_boundary():
        if target.suffix.lower() == ".json":
            plan, prof, project, secrets = _load_plan(target, cli_vars, profile)
            if schema_policy is not None:
                from sqlflowc.backend.load_modes import with_schema_policy

                plan = with_schema_policy(plan, "evolve" if schema_policy == "evolve" else "strict")
        else:
            comp = _compile(
                target,
                var_pairs,
                vars_json,
                profile,
                project_dir,
                schema_policy=schema_policy,
                database=database,
                verify_sql=True,
            )
            _print_diagnostics(comp.warnings, comp.sources, "text")
            plan, prof, project, sources = comp.plan, comp.profile, comp.project_dir, comp.sources
            secrets = dict(plan.secrets)
    db = database_path(project, prof, database)
    n = len(plan.steps)
    click.echo(f"running {plan.pipeline}: {n} step{'s' * (n != 1)} on {db}")
    result = run(
        plan,
        database=db,
        threads=threads or prof.engine.threads,
        memory_limit=prof.engine.memory_limit,
        fail_fast=fail_fast,
        secrets=secrets,
        events=_print_event,
        hooks=load_hooks(Path(plan.project_dir)),
    )
    _report_run(result, plan, sources)


def _print_event(event: RunEvent) -> None:
    """One line per finished, failed or skipped step (a start is not worth a line)."""
    from sqlflowc.runtime.report import EventKind, format_event

    if event.kind is not EventKind.STARTED:
        click.echo(format_event(event))


def _load_plan(
    path: Path, cli_vars: dict[str, Any], profile: str | None
) -> tuple[Plan, Any, Path, dict[str, str]]:
    from sqlflowc.backend.plan_io import load_plan
    from sqlflowc.profiles import load_profile
    from sqlflowc.source import SourceMap

    plan = load_plan(path)
    project = Path(plan.project_dir)
    prof = load_profile(project, profile, SourceMap())
    # Secrets are never in a plan file: take them from --var, the profile, or the environment.
    secrets: dict[str, str] = {}
    for name in plan.secret_vars:
        for scope in (cli_vars, prof.variables, os.environ):
            if name in scope:
                secrets[name] = str(scope[name])
                break
    return plan, prof, project, secrets


def _report_run(result: RunResult, plan: Plan, sources: SourceMap | None) -> None:
    from sqlflowc.diagnostics import render_text
    from sqlflowc.runtime.report import failure_diagnostics, warning_diagnostics
    from sqlflowc.source import SourceMap

    click.echo(result.summary())
    if result.ok and not result.warnings:
        return
    sources = sources if sources is not None else SourceMap()
    diagnostics = [
        *warning_diagnostics(result, plan, sources),
        *failure_diagnostics(result, plan, sources),
    ]
    click.echo(render_text(diagnostics, sources), err=True, nl=False)
    if not result.ok:
        sys.exit(EXIT_RUNTIME_ERROR)


@cli.command("fmt")
@click.argument("files", type=PIPELINE, nargs=-1, required=True)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 naming unformatted files.")
def fmt_cmd(files: tuple[Path, ...], check: bool) -> None:
    """Format pipelines in place (comments and SQL bodies are kept as written)."""
    from sqlflowc.api import format_source

    unformatted: list[Path] = []
    with _diagnostics_boundary():
        formatted = {}
        for file in files:
            text = file.read_text(encoding="utf-8-sig")
            formatted[file] = (text, format_source(text, str(file)))
    for file, (before, after) in formatted.items():
        if before == after:
            continue
        unformatted.append(file)
        if check:
            click.echo(f"would reformat {file}", err=True)
        else:
            _write_atomic(file, after)
            click.echo(f"reformatted {file}", err=True)
    if check and unformatted:
        click.echo(f"{len(unformatted)} file(s) would be reformatted", err=True)
        sys.exit(EXIT_COMPILE_ERROR)


@cli.command("graph")
@click.argument("pipeline", type=PIPELINE)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "html"]), default="mermaid")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
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

    with _diagnostics_boundary():
        comp = _compile(pipeline, var_pairs, vars_json, profile, project_dir)
    _print_diagnostics(comp.warnings, comp.sources, "text")
    text = render(comp.plan, fmt)
    if output:
        _write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init_cmd(directory: Path) -> None:
    """Create a runnable starter project in DIRECTORY."""
    from sqlflowc.scaffold import create_project

    try:
        created = create_project(directory)
    except FileExistsError as err:
        raise click.ClickException(str(err)) from None
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"\nnext: cd {directory} && sqlflowc run pipelines/example.sf")


@cli.group("udf")
def udf_group() -> None:
    """List and inspect the project's Python UDFs (python_udfs/)."""


UDF_PROJECT = click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Project directory (default: found from the current directory).",
)


def _udf_catalog(project_dir: Path | None, fmt: str) -> tuple[Any, Path, bool]:
    """The project's UDF catalog; import problems are printed (the caller exits 1 after)."""
    from sqlflowc.source import SourceMap
    from sqlflowc.udf.discovery import discover_udfs
    from sqlflowc.udf.listing import project_for_udfs

    project = project_dir.resolve() if project_dir else project_for_udfs(Path.cwd())
    sources = SourceMap()
    catalog, problems = discover_udfs(project, sources)
    if problems:
        _print_diagnostics(tuple(problems), sources, "json" if fmt == "json" else "text")
    return catalog, project, any(p.is_error for p in problems)


@udf_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
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


@udf_group.command("info")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@UDF_PROJECT
def udf_info_cmd(name: str, fmt: str, project_dir: Path | None) -> None:
    """Show one UDF: full signature, types, docstring and where it is defined."""
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.udf.listing import find_udf, render_info, udf_json

    catalog, project, failed = _udf_catalog(project_dir, fmt)
    try:
        udf = find_udf(catalog, name)
    except CompileError as err:
        _print_diagnostics(err.diagnostics, err.sources, fmt)
        sys.exit(EXIT_COMPILE_ERROR)
    if fmt == "json":
        click.echo(json.dumps(udf_json(udf, project), indent=2))
    else:
        click.echo(render_info(udf), nl=False)
    if failed:
        sys.exit(EXIT_COMPILE_ERROR)


cli.add_command(schema_group)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BaseException as err:
        if _State.debug:
            raise
        click.echo(
            f"internal error: {type(err).__name__}: {err}\n"
            "This is a bug in sqlflowc, not in your pipeline; please report it "
            "(run again with --debug for the traceback).",
            err=True,
        )
        sys.exit(EXIT_COMPILE_ERROR)
