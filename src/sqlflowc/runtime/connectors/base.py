"""The connector contract, and the machinery the file connectors share.

A connector turns a `SOURCE ... TYPE X PARAMS {...}` into a query DuckDB can read:

- `validate(source, project_dir, reporter)` runs at compile time. It reports every problem with
  the parameters at the parameter's span (`source.param_spans[name]`, else `source.span`):
  unknown parameters (listing the accepted ones), wrong types (naming the parameter, the expected
  type and the value given), parameters of the earlier releases that have no effect here
  (a warning), and, for local files, a path or glob that matches no file. It never raises.
- `scan_sql(params, project_dir)` runs after a clean `validate` and returns a complete DuckDB
  query, `SELECT ... FROM read_xxx(...)`: a full query rather than a table expression so that a
  connector can project columns. Local paths are resolved against `project_dir` and made
  absolute; a path with a URL scheme (`s3://...`) is passed through unchanged.

All SQL text is built with sqlglot and printed for DuckDB, so literals are always quoted
correctly; `sql_string` and `sql_identifier` are the quoting helpers for the few places that
build text directly.
"""

from __future__ import annotations

import difflib
import glob
import json
import types
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlglot import exp

from sqlflowc.diagnostics import Code, Diagnostic, Reporter, Severity
from sqlflowc.ir import program
from sqlflowc.source import Span

__all__ = [
    "COMMON_OBSOLETE",
    "Connector",
    "FileConnector",
    "FileParams",
    "check_params",
    "describe_type",
    "did_you_mean",
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

_GLOB_CHARS = frozenset("*?[")


class Connector(Protocol):
    """What a connector provides; see the module docstring for the contract of each method."""

    @property
    def name(self) -> str:
        """The canonical, upper-case type name (`CSV`)."""
        ...

    @property
    def params_model(self) -> type[BaseModel]:
        """The pydantic model of the accepted parameters."""
        ...

    def validate(self, source: program.Source, project_dir: Path, reporter: Reporter) -> None:
        """Report every problem with `source` (compile time); never raises."""
        ...

    def scan_sql(self, params: Mapping[str, Any], project_dir: Path) -> str:
        """A complete DuckDB query that reads the source."""
        ...


class FileParams(BaseModel):
    """Parameters every local-file connector takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str


P = TypeVar("P", bound=FileParams)


class FileConnector(Generic[P]):
    """A connector reading local files (or globs) with one DuckDB table function.

    Subclasses set `name`, `params_model`, `extension` (used when `path` is a directory) and
    `obsolete_params`, and implement `select`.
    """

    name: str
    params_model: type[P]
    extension: str
    obsolete_params: frozenset[str] = COMMON_OBSOLETE

    def validate(self, source: program.Source, project_dir: Path, reporter: Reporter) -> None:
        """Check the parameters, then that the input exists."""
        params = check_params(self.name, self.params_model, self.obsolete_params, source, reporter)
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
        model = self.params_model.model_validate(
            {k: v for k, v in params.items() if k not in self.obsolete_params}
        )
        location = resolve_location(model.path, project_dir, self.extension)
        return self.select(model, location).sql(dialect="duckdb")

    def select(self, params: P, location: str) -> exp.Select:
        """The query reading `location` (an absolute path or glob) with `params`."""
        raise NotImplementedError


def check_params(
    connector: str,
    model: type[P],
    obsolete: frozenset[str],
    source: program.Source,
    reporter: Reporter,
) -> P | None:
    """Validate `source.params` against `model`; report problems, return the model if valid."""

    def span_of(name: str) -> Span:
        return source.param_spans.get(name, source.span)

    accepted = sorted(model.model_fields)
    known: dict[str, Any] = {}
    clean = True
    for name, value in source.params.items():
        if name in model.model_fields:
            known[name] = value
        elif name in obsolete:
            reporter.warning(
                Code.OBSOLETE_PARAM,
                f"parameter `{name}` of {connector} source `{source.name}` has no effect here "
                "and is ignored",
                span_of(name),
                help=f"remove `{name}`",
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
        parsed = model.model_validate(known)
    except ValidationError as err:
        _report_validation(err, connector, model, known, source, reporter)
        return None
    return parsed if clean else None


def _report_validation(
    err: ValidationError,
    connector: str,
    model: type[BaseModel],
    given: Mapping[str, Any],
    source: program.Source,
    reporter: Reporter,
) -> None:
    """One diagnostic per offending parameter (a union reports several errors for one value)."""
    by_param: dict[str, list[Any]] = {}
    for e in err.errors():
        key = str(e["loc"][0]) if e["loc"] else ""
        by_param.setdefault(key, []).append(e)
    for name, errors in by_param.items():
        if not name:
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{connector} source `{source.name}`: {_clean_msg(errors[0]['msg'])}",
                source.span,
            )
        elif errors[0]["type"] == "missing":
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{connector} source `{source.name}` needs parameter `{name}`",
                source.span,
                label=f"`{name}` missing",
            )
        else:
            value = _show(given.get(name))
            if all(_is_type_error(e["type"]) for e in errors):
                expected = describe_type(model.model_fields[name].annotation)
                message = f"parameter `{name}` expects {expected}, got {value}"
            else:
                first = next(e for e in errors if not _is_type_error(e["type"]))
                message = f"parameter `{name}`: {_clean_msg(first['msg'])}, got {value}"
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{connector} source `{source.name}`: {message}",
                source.param_spans.get(name, source.span),
            )


def _is_type_error(kind: str) -> bool:
    return kind.endswith(("_type", "_parsing")) or kind in {
        "int_from_float",
        "is_instance_of",
        "literal_error",
    }


def _clean_msg(msg: str) -> str:
    text = msg.removeprefix("Value error, ")
    return text[:1].lower() + text[1:]


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_type(tp: Any) -> str:
    """A reader's description of a parameter annotation: `a boolean`, `a list of strings`."""
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Annotated:
        return describe_type(args[0])
    if origin in (Union, types.UnionType):
        parts = [describe_type(a) for a in args if a is not type(None)]
        return " or ".join(parts)
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin is list:
        return f"a list of {_plural(describe_type(args[0]))}" if args else "a list"
    if origin is dict:
        if not args or args[1] is Any:
            return "an object (a mapping of names to values)"
        return f"an object whose values are {_plural(describe_type(args[1]))}"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _plural(description: str) -> str:
    return description.removeprefix("a ").removeprefix("an ") + "s"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`did you mean `x`?` for the closest candidate (case-insensitive), else empty."""
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean `{by_lower[close[0]]}`?" if close else ""


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
