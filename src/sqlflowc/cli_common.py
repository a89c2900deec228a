"""What the `sqlflowc` commands share: variables from the command line, the options every
compiling command takes, diagnostics printing and the `CompileError` boundary, atomic output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sqlflowc.cli_output import (
    EXIT_COMPILE_ERROR,
    EXIT_RUNTIME_ERROR,
    EXIT_USAGE,
    State,
    count,
    print_diagnostics,
)
from sqlflowc.limits import MAX_NESTING, json_nesting

if TYPE_CHECKING:
    from sqlflowc.api import Compilation
    from sqlflowc.diagnostics import Diagnostic

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "EXIT_COMPILE_ERROR",
    "EXIT_RUNTIME_ERROR",
    "EXIT_USAGE",
    "PIPELINE",
    "PIPELINES",
    "State",
    "compile_options",
    "compile_pipeline",
    "count",
    "diagnostics_boundary",
    "engine_option",
    "expand_paths",
    "parse_vars",
    "print_diagnostics",
    "schema_policy_option",
    "unused_cli_warnings",
    "write_atomic",
]

PIPELINE = click.Path(exists=True, dir_okay=False, path_type=Path)
PIPELINES = click.Path(exists=True, path_type=Path)  # files or directories of .sf files


def parse_vars(pairs: tuple[str, ...], vars_json: str | None) -> dict[str, Any]:
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


@contextmanager
def diagnostics_boundary(fmt: str = "text", outcome: str = "nothing was run") -> Iterator[None]:
    """Render a CompileError as diagnostics, then `N errors; <outcome>.`, and exit 1."""
    from sqlflowc.diagnostics import CompileError

    try:
        yield
    except CompileError as err:
        print_diagnostics(err.diagnostics, err.sources, fmt)
        n = sum(1 for d in err.diagnostics if d.is_error)
        if fmt != "json":
            click.echo(f"{n} error{'s' * (n != 1)}; {outcome}.", err=True)
        sys.exit(EXIT_COMPILE_ERROR)


def compile_pipeline(
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
    engine: str | None = None,
) -> Compilation:
    from sqlflowc.api import compile_file

    return compile_file(
        pipeline,
        cli_vars=parse_vars(var_pairs, vars_json),
        profile=profile,
        project_dir=project_dir,
        schema_policy=schema_policy,
        database=database,
        verify_sql=verify_sql,
        report_unused=report_unused,
        engine=engine,
    )


engine_option = click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    help="The engine to compile for and run on (docs/engines.md); spark needs the "
    "sqlflowc[spark] extra to run.",
    show_default="the profile's engine.type, else duckdb",
)

schema_policy_option = click.option(
    "--schema-policy",
    type=click.Choice(["strict", "evolve"]),
    help="How APPEND/MERGE/INCREMENTAL loads treat new or wider columns.",
    show_default="the profile's schema_policy, else strict",
)


def write_atomic(path: Path, text: str) -> None:
    """Write an output file; an OSError is diagnostic SF0913 (call inside the boundary)."""
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.fileio import file_error, write_text_atomic

    try:
        write_text_atomic(path, text)
    except OSError as err:
        raise CompileError([file_error("write", path, err)]) from None


def expand_paths(paths: tuple[Path, ...]) -> list[Path]:
    """Files and directories → the `.sf` files (a directory without any is a usage error)."""
    from sqlflowc.inputs import pipeline_files

    try:
        return pipeline_files(paths)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="PATHS") from None


def unused_cli_warnings(
    var_pairs: tuple[str, ...], vars_json: str | None, used: set[str]
) -> tuple[Diagnostic, ...]:
    """SF0206 for the command-line variables none of several pipelines uses."""
    from sqlflowc.passes.unused_variables import unused_warnings

    return tuple(unused_warnings(parse_vars(var_pairs, vars_json), used))
