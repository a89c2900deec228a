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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sqlflowc.cli_schema import schema_group
from sqlflowc.cli_text import EXAMPLES
from sqlflowc.limits import MAX_NESTING, MAX_THREADS, json_nesting

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
        if json_nesting(vars_json) > MAX_NESTING:
            raise click.BadParameter(f"nests deeper than {MAX_NESTING} levels", param_hint="--vars")
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
        if json_nesting(value) > MAX_NESTING:
            raise click.BadParameter(
                f"the value of {name.strip()} nests deeper than {MAX_NESTING} levels",
                param_hint="--var",
            )
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
            click.option(
                "--vars",
                "vars_json",
                metavar="JSON",
                help='Variables as a JSON object, e.g. \'{"region": "eu"}\'; --var wins over it.',
                show_default="none",
            ),
            click.option(
                "--profile",
                metavar="NAME",
                help="Use profiles/NAME.yml of the project.",
                show_default="dev, when profiles/dev.yml exists",
            ),
            click.option(
                "--project",
                "project_dir",
                type=click.Path(exists=True, file_okay=False, path_type=Path),
                help="The project directory: relative paths are resolved against it.",
                show_default="the nearest ancestor of the pipeline holding profiles/, "
                "sqlflow.yml or python_udfs/",
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
def _diagnostics_boundary(fmt: str = "text", outcome: str = "nothing was run") -> Iterator[None]:
    """Render a CompileError as diagnostics, then `N errors; <outcome>.`, and exit 1."""
    from sqlflowc.diagnostics import CompileError

    try:
        yield
    except CompileError as err:
        _print_diagnostics(err.diagnostics, err.sources, fmt)
        n = sum(1 for d in err.diagnostics if d.is_error)
        if fmt != "json":
            click.echo(f"{n} error{'s' * (n != 1)}; {outcome}.", err=True)
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
    report_unused: bool = True,
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
        report_unused=report_unused,
    )


schema_policy_option = click.option(
    "--schema-policy",
    type=click.Choice(["strict", "evolve"]),
    help="How APPEND/MERGE/INCREMENTAL loads treat new or wider columns.",
    show_default="the profile's schema_policy, else strict",
)


def _write_atomic(path: Path, text: str) -> None:
    """Write an output file; an OSError is diagnostic SF0913 (call inside the boundary)."""
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.fileio import file_error, write_text_atomic

    try:
        write_text_atomic(path, text)
    except OSError as err:
        raise CompileError([file_error("write", path, err)]) from None


# ---------------------------------------------------------------------------- commands


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
    _State.debug = debug


PIPELINE = click.Path(exists=True, dir_okay=False, path_type=Path)
PIPELINES = click.Path(exists=True, path_type=Path)  # files or directories of .sf files


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
        with _diagnostics_boundary(diagnostics_format, "nothing was written"):
            _write_atomic(output, text)
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
@compile_options
def check_cmd(
    paths: tuple[Path, ...],
    fmt: str,
    schema_policy: str | None,
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

    files = _expand(paths)
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
            _print_diagnostics(diags, sources, "text")

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
                report_unused=not several,
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
        report(_unused_warnings(var_pairs, vars_json, used), None)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        ok = len(pipelines) - failed
        tail = ""
        if included:
            tail = f" ({_count(len(included), 'included file')} checked through their includers)"
        click.echo(f"{ok} of {len(pipelines)} pipeline(s) OK{tail}", err=True)
    if failed:
        sys.exit(EXIT_COMPILE_ERROR)


def _unused_warnings(
    var_pairs: tuple[str, ...], vars_json: str | None, used: set[str]
) -> tuple[Diagnostic, ...]:
    """SF0206 for the command-line variables none of several pipelines uses."""
    from sqlflowc.passes.unused_variables import unused_warnings

    return tuple(unused_warnings(_parse_vars(var_pairs, vars_json), used))


@cli.command("run", epilog=EXAMPLES["run"])
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
    "--fail-fast/--continue",
    "fail_fast",
    default=True,
    help="Stop at the first failed step (and pipeline), or run every step that does not "
    "depend on a failed one (and every pipeline).",
)
@schema_policy_option
@click.option(
    "--schema-drift",
    type=click.Choice(["fail", "warn", "accept"]),
    help="What to do when a source's schema differs from its accepted snapshot, for every "
    "source of this run.",
    show_default="the SOURCE's schema_drift, else the profile's, else warn",
)
@compile_options
def run_cmd(
    targets: tuple[Path, ...],
    database: str | None,
    threads: int | None,
    fail_fast: bool,
    schema_policy: str | None,
    schema_drift: Any,
    var_pairs: tuple[str, ...],
    vars_json: str | None,
    profile: str | None,
    project_dir: Path | None,
) -> None:
    """Run each TARGET, in order: a pipeline (.sf) or a compiled plan (.json).

    With several targets, each is compiled just before it runs (so it sees the tables the
    earlier ones made); the first that fails stops the rest unless --continue is given.
    """
    settings = _RunSettings(
        database,
        threads,
        fail_fast,
        schema_policy,
        schema_drift,
        var_pairs,
        vars_json,
        profile,
        project_dir,
    )
    if len(targets) == 1:
        status, _ = _run_one(targets[0], settings, report_unused=True)
        sys.exit(status)
    statuses: dict[Path, int] = {}
    used: set[str] | None = set()
    for target in targets:
        if any(statuses.values()) and fail_fast:
            break
        status, names = _run_one(target, settings, report_unused=False)
        statuses[target] = status
        used = None if names is None or used is None else used | names
    if used is not None and len(statuses) == len(targets):  # else: not known for all
        _print_diagnostics(_unused_warnings(var_pairs, vars_json, used), None, "text")
    ok = [t for t, s in statuses.items() if s == 0]
    failed = [f"{t} (status {s})" for t, s in statuses.items() if s]
    not_run = [str(t) for t in targets if t not in statuses]
    parts = [f"{len(ok)} ok"]
    if failed:
        parts.append(f"{len(failed)} failed: {', '.join(failed)}")
    if not_run:
        parts.append(f"{len(not_run)} not run: {', '.join(not_run)}")
    click.echo(f"{_count(len(targets), 'pipeline')}: " + "; ".join(parts))
    codes = set(statuses.values())
    sys.exit(EXIT_RUNTIME_ERROR if EXIT_RUNTIME_ERROR in codes else max(codes))


@dataclass(frozen=True)
class _RunSettings:
    database: str | None
    threads: int | None
    fail_fast: bool
    schema_policy: str | None
    schema_drift: Any
    var_pairs: tuple[str, ...]
    vars_json: str | None
    profile: str | None
    project_dir: Path | None


def _run_one(
    target: Path, settings: _RunSettings, *, report_unused: bool
) -> tuple[int, frozenset[str] | None]:
    """Compile (or load) and run one target: its exit status, and the variables it uses
    (None when unknown: compile errors, or a plan file)."""
    from sqlflowc.api import database_path, run
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.runtime.hooks import load_hooks

    cli_vars = _parse_vars(settings.var_pairs, settings.vars_json)
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
            comp = _compile(
                target,
                settings.var_pairs,
                settings.vars_json,
                settings.profile,
                settings.project_dir,
                schema_policy=settings.schema_policy,
                database=settings.database,
                verify_sql=True,
                report_unused=report_unused,
            )
            _print_diagnostics(comp.warnings, comp.sources, "text")
            plan, prof, project, sources = comp.plan, comp.profile, comp.project_dir, comp.sources
            secrets = dict(plan.secrets)
            used = comp.used_variables
    except CompileError as err:
        _print_diagnostics(err.diagnostics, err.sources, "text")
        n = sum(1 for d in err.diagnostics if d.is_error)
        what = "nothing was run" if report_unused else f"{target} was not run"
        click.echo(f"{n} error{'s' * (n != 1)}; {what}.", err=True)
        return EXIT_COMPILE_ERROR, None
    db = database_path(project, prof, settings.database)
    n = len(plan.steps)
    click.echo(f"running {plan.pipeline}: {n} step{'s' * (n != 1)} on {db}")
    result = run(
        plan,
        database=db,
        threads=settings.threads or prof.engine.threads,
        memory_limit=prof.engine.memory_limit,
        fail_fast=settings.fail_fast,
        secrets=secrets,
        events=_print_event,
        hooks=load_hooks(Path(plan.project_dir)),
        capture_schemas=True,
        schema_drift=settings.schema_drift,
        profile=prof,
    )
    return _report_run(result, plan, sources), used


def _print_event(event: RunEvent) -> None:
    """One line per finished, failed or skipped step (a start is not worth a line)."""
    from sqlflowc.runtime.report import EventKind, format_event

    if event.kind is not EventKind.STARTED:
        click.echo(format_event(event))


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
    prof = load_profile(project, profile, SourceMap())
    # Secrets are never in a plan file: take them from --var, the profile, or the environment.
    secrets: dict[str, str] = {}
    for name in plan.secret_vars:
        for scope in (cli_vars, prof.variables, os.environ):
            if name in scope:
                secrets[name] = str(scope[name])
                break
    return plan, prof, project, secrets


def _report_run(result: RunResult, plan: Plan, sources: SourceMap | None) -> int:
    """Print the summary, then any warnings and failures; the exit status (0 or 3)."""
    from sqlflowc.diagnostics import render_text
    from sqlflowc.runtime.report import failure_diagnostics, warning_diagnostics
    from sqlflowc.source import SourceMap

    click.echo(result.summary())
    if result.ok and not result.warnings:
        return 0
    sources = sources if sources is not None else SourceMap()
    diagnostics = [
        *warning_diagnostics(result, plan, sources),
        *failure_diagnostics(result, plan, sources),
    ]
    click.echo(render_text(diagnostics, sources), err=True, nl=False)
    return 0 if result.ok else EXIT_RUNTIME_ERROR


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

    files = _expand(paths)
    changed = broken = 0
    for file in files:
        try:
            before, after = format_file(file)
            if before != after and not check:
                _write_atomic(file, after)
        except CompileError as err:
            broken += 1
            _print_diagnostics(err.diagnostics, err.sources, "text")
            continue
        if before != after:
            changed += 1
            click.echo(f"{'would reformat' if check else 'reformatted'} {file}", err=True)
    if check and changed:
        click.echo(f"{_count(changed, 'file')} would be reformatted", err=True)
    elif len(files) > 1 or broken:
        verb = "would be reformatted" if check else "reformatted"
        parts = [f"{_count(changed, 'file')} {verb}", f"{len(files) - changed - broken} unchanged"]
        if broken:
            parts.append(f"{broken} with errors (not changed)")
        click.echo(", ".join(parts), err=True)
    if broken or (check and changed):
        sys.exit(EXIT_COMPILE_ERROR)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files and directories → the `.sf` files (a directory without any is a usage error)."""
    from sqlflowc.inputs import pipeline_files

    try:
        return pipeline_files(paths)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="PATHS") from None


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

    with _diagnostics_boundary():
        comp = _compile(pipeline, var_pairs, vars_json, profile, project_dir)
    _print_diagnostics(comp.warnings, comp.sources, "text")
    text = render(comp.plan, fmt)
    if output:
        with _diagnostics_boundary(outcome="nothing was written"):
            _write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("init", epilog=EXAMPLES["init"])
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init_cmd(directory: Path) -> None:
    """Create a runnable starter project in DIRECTORY."""
    from sqlflowc.scaffold import create_project

    with _diagnostics_boundary(outcome="nothing was created"):
        created = create_project(directory)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"\nnext: cd {directory} && sqlflowc run pipelines/example.sf")


@cli.group("udf", epilog=EXAMPLES["udf"])
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
        _print_diagnostics(tuple(problems), sources, "json" if fmt == "json" else "text")
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
    except OSError as err:
        # A file the command reads or writes outside the places that report it themselves:
        # the user's environment (permissions, a full disk), not a bug.
        if _State.debug:
            raise
        from sqlflowc.diagnostics import Code, Diagnostic, render_text
        from sqlflowc.fileio import os_reason
        from sqlflowc.source import SourceMap

        where = f" {err.filename}" if err.filename else ""
        diagnostic = Diagnostic(Code.FILE_ERROR, f"cannot access{where}: {os_reason(err)}")
        click.echo(render_text([diagnostic], SourceMap()), err=True, nl=False)
        sys.exit(EXIT_COMPILE_ERROR)
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
