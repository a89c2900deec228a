"""The connector contract, and the machinery the file connectors share.

A connector turns a `SOURCE ... TYPE X PARAMS {...}` into a query DuckDB can read:

- `validate(source, project_dir, reporter)` runs at compile time. It reports every problem with
  the parameters at the parameter's span (`source.param_spans[name]`, the value, else
  `source.span`; an unknown or obsolete parameter at its key, `source.param_key_spans[name]`):
  unknown parameters (listing the accepted ones), wrong types (naming the parameter, the expected
  type and the value given), parameters of the earlier releases that have no effect here
  (a warning), and, for local files, a path or glob that matches no file. It never raises.
  `params_schema` is the frozen dataclass the parameters are validated against (see
  `sqlflowc.validation`).
- `scan_sql(params, project_dir)` runs after a clean `validate` and returns a complete DuckDB
  query, `SELECT ... FROM read_xxx(...)`: a full query rather than a table expression so that a
  connector can project columns. Local paths are resolved against `project_dir` and made
  absolute; a path with a URL scheme (`s3://...`) is passed through unchanged.

All SQL text is built with sqlglot and printed for DuckDB, so literals are always quoted
correctly; `sql_string` and `sql_identifier` are the quoting helpers for the few places that
build text directly.
"""

from __future__ import annotations

import glob
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from sqlglot import exp

from sqlflowc.diagnostics import Code, Diagnostic, Reporter, Severity
from sqlflowc.ir import program
from sqlflowc.source import Span
from sqlflowc.suggest import did_you_mean
from sqlflowc.validation import (
    FieldError,
    ValidationError,
    describe_type,
    schema_fields,
    validate,
)

__all__ = [
    "COMMON_OBSOLETE",
    "SYNC_OBSOLETE",
    "Connector",
    "FileConnector",
    "FileParams",
    "check_params",
    "describe_type",
    "has_glob",
    "matching_files",
    "resolve_location",
    "select_from",
    "sql_identifier",
    "sql_string",
    "sql_value",
    "table_function",
]

# Parameters the earlier releases documented for their file connectors; DuckDB reads files in
# parallel, in one pass, with no batching, so none of them means anything here.
COMMON_OBSOLETE = frozenset(
    {"batch_size", "chunk_size", "combine_files", "engine", "parallel_reading"}
)

# The earlier releases' "industry-standard" (Airbyte/Fivetran) incremental parameters, which their
# syntax reference documents for the CSV source and their Parquet docs for Parquet. A LOAD here
# always reads the whole source; incremental processing is `CREATE TABLE ... MODE INCREMENTAL BY`
# and keyed updates are `MODE MERGE KEY (...)`, which the warning's help points to.
SYNC_OBSOLETE = frozenset({"sync_mode", "primary_key", "cursor_field"})

_GLOB_CHARS = frozenset("*?[")


class Connector(Protocol):
    """What a connector provides; see the module docstring for the contract of each method."""

    @property
    def name(self) -> str:
        """The canonical, upper-case type name (`CSV`)."""
        ...

    @property
    def params_schema(self) -> type[Any]:
        """The schema of the accepted parameters: a frozen dataclass (`sqlflowc.validation`)."""
        ...

    def validate(self, source: program.Source, project_dir: Path, reporter: Reporter) -> None:
        """Report every problem with `source` (compile time); never raises."""
        ...

    def scan_sql(self, params: Mapping[str, Any], project_dir: Path) -> str:
        """A complete DuckDB query that reads the source."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FileParams:
    """Parameters every local-file connector takes."""

    path: str


P = TypeVar("P", bound=FileParams)


class FileConnector(ABC, Generic[P]):
    """A connector reading local files (or globs) with one DuckDB table function.

    Subclasses set `name`, `params_schema`, `extension` (used when `path` is a directory) and
    `obsolete_params`, and implement `select`.
    """

    name: str
    params_schema: type[P]
    extension: str
    obsolete_params: frozenset[str] = COMMON_OBSOLETE

    def validate(self, source: program.Source, project_dir: Path, reporter: Reporter) -> None:
        """Check the parameters, then that the input exists."""
        params = check_params(self.name, self.params_schema, self.obsolete_params, source, reporter)
        path = source.params.get("path")
        if not isinstance(path, str):
            return  # reported by check_params
        location = resolve_location(path, project_dir, self.extension)
        if "://" in location:
            return
        span = source.param_spans.get("path", source.span)
        if not matching_files(location):
            what = "no file matches" if has_glob(location) else "file not found:"
            reporter.error(
                Code.INPUT_NOT_FOUND,
                f"{what} `{path}` (resolved to {location})",
                span,
                label="this path",
            )
        elif params is not None:
            self.check_files(params, location, span, source, reporter)

    def check_files(
        self, params: P, location: str, span: Span, source: program.Source, reporter: Reporter
    ) -> None:
        """Further compile-time checks once the files are known to exist (none by default)."""

    def scan_sql(self, params: Mapping[str, Any], project_dir: Path) -> str:
        """`SELECT ... FROM read_xxx('/abs/path', ...)` for validated parameters."""
        parsed = validate(
            self.params_schema, {k: v for k, v in params.items() if k not in self.obsolete_params}
        )
        location = resolve_location(parsed.path, project_dir, self.extension)
        return self.select(parsed, location).sql(dialect="duckdb")

    @abstractmethod
    def select(self, params: P, location: str) -> exp.Select:
        """The query reading `location` (an absolute path or glob) with `params`."""


def check_params(
    connector: str,
    schema: type[P],
    obsolete: frozenset[str],
    source: program.Source,
    reporter: Reporter,
) -> P | None:
    """Validate `source.params` against `schema`; report problems, return the params if valid."""

    def span_of(name: str) -> Span:
        """The parameter's key (where the name is written), else its value."""
        return source.param_key_spans.get(name) or source.param_spans.get(name, source.span)

    fields = schema_fields(schema)
    accepted = sorted(fields)
    known: dict[str, Any] = {}
    clean = True
    for name, value in source.params.items():
        if name in fields:
            known[name] = value
        elif name in obsolete:
            reporter.warning(
                Code.OBSOLETE_PARAM,
                f"parameter `{name}` of {connector} source `{source.name}` has no effect here "
                "and is ignored",
                span_of(name),
                help=obsolete_help(name, source),
            )
        else:
            clean = False
            reporter.add(
                Diagnostic(
                    Code.BAD_CONNECTOR_PARAM,
                    f"unknown parameter `{name}` for {connector} source `{source.name}`",
                    span_of(name),
                    Severity.ERROR,
                    label="not a parameter of this connector",
                    help=did_you_mean(name, accepted),
                    notes=(f"accepted parameters: {', '.join(accepted)}",),
                )
            )
    try:
        parsed = validate(schema, known)
    except ValidationError as err:
        _report_validation(err, connector, schema, known, source, reporter)
        return None
    return parsed if clean else None


def obsolete_help(name: str, source: program.Source) -> str:
    """The help of the warning for an obsolete parameter: remove it, and what to write instead."""
    params = source.params
    cursor = params.get("cursor_field")
    by = cursor if isinstance(cursor, str) and cursor else "<cursor column>"
    incremental = (
        f"to process only new rows, load the source and write "
        f"`CREATE TABLE t MODE INCREMENTAL BY {by} AS SELECT ...` over it"
    )
    if name == "cursor_field" or (
        name == "sync_mode" and str(params.get("sync_mode")).lower() == "incremental"
    ):
        return f"remove `{name}`: LOAD reads the whole source on every run; {incremental}"
    if name == "sync_mode":
        return f"remove `{name}`: LOAD reads the whole source on every run"
    if name == "primary_key":
        key = params.get("primary_key")
        keys = [key] if isinstance(key, str) else key if isinstance(key, list) else []
        columns = ", ".join(str(k) for k in keys) or "<key columns>"
        return (
            f"remove `{name}`; to update rows by key, write "
            f"`LOAD t FROM {source.name} MODE MERGE KEY ({columns})`"
        )
    return f"remove `{name}`"


def _report_validation(
    err: ValidationError,
    connector: str,
    schema: type[Any],
    given: Mapping[str, Any],
    source: program.Source,
    reporter: Reporter,
) -> None:
    """One diagnostic per offending parameter (a list can hold several bad items)."""
    by_param: dict[str, list[FieldError]] = {}
    for e in err.errors:
        by_param.setdefault(str(e.path[0]) if e.path else "", []).append(e)
    for name, errors in by_param.items():
        if not name:
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{connector} source `{source.name}`: {_lower_first(errors[0].problem)}",
                source.span,
            )
        elif errors[0].kind == "missing":
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{connector} source `{source.name}` needs parameter `{name}`",
                source.span,
                label=f"`{name}` missing",
            )
        else:
            value = _show(given.get(name))
            if all(e.kind == "type" for e in errors):
                expected = describe_type(schema_fields(schema)[name].annotation)
                message = f"parameter `{name}` expects {expected}, got {value}"
            else:
                first = next(e for e in errors if e.kind != "type")
                message = f"parameter `{name}`: {_lower_first(first.problem)}, got {value}"
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{connector} source `{source.name}`: {message}",
                source.param_spans.get(name, source.span),
            )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def has_glob(path: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in path)


def resolve_location(path: str, project_dir: Path, extension: str) -> str:
    """The absolute path or glob DuckDB reads: relative to `project_dir`; a directory means
    every `*.extension` file in it; a URL (`scheme://...`) is returned unchanged."""
    if "://" in path:
        return path
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = project_dir / resolved
    if not has_glob(path) and resolved.is_dir():
        resolved = resolved / f"*.{extension}"
    return str(resolved)


def matching_files(location: str) -> list[str]:
    """The regular files an absolute path or glob names (`**` recurses, as in DuckDB)."""
    return sorted(f for f in glob.glob(location, recursive=True) if Path(f).is_file())


def sql_string(value: str) -> str:
    """A DuckDB string literal: `it's` → `'it''s'`."""
    return str(exp.Literal.string(value).sql(dialect="duckdb"))


def sql_identifier(name: str) -> str:
    """A quoted DuckDB identifier: `my col` → `"my col"` (embedded quotes doubled)."""
    return str(exp.to_identifier(name, quoted=True).sql(dialect="duckdb"))


def sql_value(value: Any) -> exp.Expression:
    """A JSON-like Python value as a DuckDB literal (list → list, dict → struct)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, Sequence):
        return exp.Array(expressions=[sql_value(v) for v in value])
    if isinstance(value, Mapping):
        return exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.Literal.string(str(k)), expression=sql_value(v))
                for k, v in value.items()
            ]
        )
    raise TypeError(f"no SQL literal for {value!r}")


def table_function(name: str, location: str, named: Mapping[str, Any]) -> exp.Expression:
    """`name('location', key = value, ...)`, skipping arguments whose value is None."""
    args: list[exp.Expression] = [exp.Literal.string(location)]
    for key, value in named.items():
        if value is not None:
            args.append(exp.EQ(this=exp.column(key), expression=sql_value(value)))
    return exp.Anonymous(this=name, expressions=args)


def select_from(function: exp.Expression, columns: Sequence[str] | None = None) -> exp.Select:
    """`SELECT * FROM function`, or `SELECT "a", "b" FROM function` for a projection."""
    projection: list[exp.Expression] = (
        [exp.column(exp.to_identifier(c, quoted=True)) for c in columns]
        if columns
        else [exp.Star()]
    )
    return exp.select(*projection).from_(exp.Table(this=function))
