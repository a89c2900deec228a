"""Read a plan written by `Plan.to_json` back into a `Plan` (for `sqlflowc run plan.json`).

The document is checked before anything runs: it must be JSON, carry a plan format `version`
this toolchain reads (`PLAN_VERSION`, or 1: `plan_format1.py` turns a version-1 document into
the same typed steps), match the plan's shape (a schema per op and per load mode, chosen by the
object's `op` or `kind`, checked by `sqlflowc.validation`), name an engine (`duckdb` or
`spark`), have unique step ids, and every `depends_on` must name an earlier step. Any problem is
a `BAD_PLAN` diagnostic in a `CompileError`, anchored in the plan file where a position is
known. Kept apart from `plan.py` so that module stays free of dependencies.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from sqlflowc.backend import plan as p
from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.limits import MAX_NESTING, FileTooLarge, json_nesting, read_bounded
from sqlflowc.schema import Policy
from sqlflowc.source import SourceMap, Span
from sqlflowc.validation import Check, FieldError, FieldPath, ValidationError, validate

__all__ = ["LocationFields", "load_plan"]


def _name(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _some(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("needs at least one item")
    return value


_Name = Annotated[str, Check(_name)]
_Names = Annotated[tuple[_Name, ...], Check(_some)]
_Json = dict[str, Any]  # what json.loads made: JSON already


# -- load modes (the JSON object's `kind` chooses the schema) -------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Replace:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class _Append:
    stage: _Name
    schema_policy: Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class _Merge:
    stage: _Name
    schema_policy: Policy
    keys: _Names


@dataclass(frozen=True, slots=True, kw_only=True)
class _Incremental:
    stage: _Name
    schema_policy: Policy
    by: _Name
    lookback: str | None
    keys: tuple[_Name, ...]
    parameters: tuple[p.WindowParameter, ...]
    state_key: _Name


@dataclass(frozen=True, slots=True, kw_only=True)
class _IncrementalLoad:
    stage: _Name
    schema_policy: Policy
    by: _Name
    lookback: str | None
    keys: tuple[_Name, ...]


_MODES: dict[str, tuple[type[Any], Callable[..., p.LoadMode]]] = {
    "replace": (_Replace, p.Replace),
    "append": (_Append, p.Append),
    "merge": (_Merge, p.Merge),
    "incremental": (_Incremental, p.Incremental),
    "incremental_load": (_IncrementalLoad, p.IncrementalLoad),
}

# -- steps (`op` chooses the schema; `mode` and `source` are read after) ---------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationFields:
    """A step's `location` (also in version-1 plans)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _Source:
    name: str
    connector: _Name
    params: _Json


@dataclass(frozen=True, slots=True, kw_only=True)
class _Step:
    id: _Name
    depends_on: tuple[str, ...] = ()
    location: LocationFields
    label: str | None = None
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Load(_Step):
    target: _Name
    source: _Source
    mode: _Json
    sql: _Names
    read: _Name | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _CreateTable(_Step):
    target: _Name
    mode: _Json
    sql: _Names
    udfs: tuple[str, ...] = ()
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class _CreateView(_Step):
    view: _Name
    sql: _Name
    udfs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Export(_Step):
    uri: _Name
    format: p.ExportFormat
    options: _Json
    query: _Name
    udfs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _TableUdf(_Step):
    target: _Name
    udf: _Name
    input: _Name
    args: _Json
    query: _Name
    temporary: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class _Sql(_Step):
    sql: _Name
    barrier: bool = False
    udfs: tuple[str, ...] = ()


_OPS: dict[str, tuple[type[Any], Callable[..., p.Step]]] = {
    "load": (_Load, p.Load),
    "create_table": (_CreateTable, p.CreateTable),
    "create_view": (_CreateView, p.CreateView),
    "export": (_Export, p.Export),
    "table_udf": (_TableUdf, p.TableUdf),
    "sql": (_Sql, p.Sql),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    version: Literal[2]
    engine: p.Engine
    pipeline: str
    project_dir: str
    variables: _Json = dataclasses.field(default_factory=dict)
    secret_vars: tuple[str, ...] = ()
    secret_templates: dict[str, str] = dataclasses.field(default_factory=dict)
    steps: tuple[_Json, ...]


def load_plan(path: Path, sources: SourceMap | None = None) -> p.Plan:
    """Parse and check a plan file; raises CompileError (`BAD_PLAN`) when it is not usable."""
    from sqlflowc.backend.plan_format1 import Format1Error, read_format1

    sources = sources if sources is not None else SourceMap()

    def fail(message: str, span: Span | None = None, help: str = "") -> CompileError:
        return CompileError([Diagnostic(Code.BAD_PLAN, message, span, help=help)], sources)

    try:
        text = read_bounded(path).decode("utf-8")
    except FileTooLarge as err:
        raise fail(f"cannot read plan {path}: {err.reason}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise fail(f"cannot read plan {path}: {err}") from None
    file_id = sources.add(str(path), text)
    if json_nesting(text) > MAX_NESTING:
        raise fail(f"plan {path} nests deeper than {MAX_NESTING} levels: it is no plan")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        where = Span(file_id, err.pos, err.pos + 1)
        raise fail(f"plan {path} is not JSON: {err.msg}", where) from None
    if not isinstance(data, dict):
        raise fail(f"plan {path} must be a JSON object", Span(file_id, 0, 1))
    version = data.get("version")
    if version not in (1, p.PLAN_VERSION) or isinstance(version, bool):
        at = text.find('"version"')
        raise fail(
            f"plan {path} has format version {json.dumps(version)}; "
            f"this sqlflowc reads versions 1 to {p.PLAN_VERSION}",
            Span(file_id, at, at + 9) if at >= 0 else None,
            help="compile the pipeline again with this sqlflowc",
        )
    try:
        plan = read_format1(data) if version == 1 else _read(data)
    except ValidationError as err:
        raise CompileError(
            [Diagnostic(Code.BAD_PLAN, f"plan {path}: {e}") for e in err.errors], sources
        ) from None
    except Format1Error as err:
        raise CompileError(
            [Diagnostic(Code.BAD_PLAN, f"plan {path}: {problem}") for problem in err.problems],
            sources,
        ) from None
    problems = [
        Diagnostic(Code.BAD_PLAN, f"plan {path}: {problem}") for problem in _order_problems(plan)
    ]
    if problems:
        raise CompileError(problems, sources)
    return plan


def _read(data: dict[str, Any]) -> p.Plan:
    """A version-2 document as a plan (ValidationError with every problem when it has the
    wrong shape)."""
    doc = validate(_Plan, data)
    errors: list[FieldError] = []
    steps = [_step(raw, ("steps", i), errors) for i, raw in enumerate(doc.steps)]
    if errors:
        raise ValidationError(_Plan, errors)
    return p.Plan(
        pipeline=doc.pipeline,
        project_dir=doc.project_dir,
        engine=doc.engine,
        steps=tuple(s for s in steps if s is not None),
        variables=doc.variables,
        secret_vars=doc.secret_vars,
        secret_templates=doc.secret_templates,
    )


def _step(raw: Mapping[str, Any], at: FieldPath, errors: list[FieldError]) -> p.Step | None:
    """One step as its op (None after problems, added to `errors`)."""
    found = _tagged(raw, "op", _OPS, at, errors)
    if found is None:
        return None
    model, make = found
    values = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    loc = values["location"]
    values["location"] = p.Location(loc.file, loc.line, loc.column, loc.end_line, loc.end_column)
    if "source" in values:
        src = values["source"]
        values["source"] = p.Source(name=src.name, connector=src.connector, params=src.params)
    if "mode" in values:
        mode = _tagged(values["mode"], "kind", _MODES, (*at, "mode"), errors)
        if mode is None:
            return None
        fields, make_mode = mode
        values["mode"] = make_mode(
            **{f.name: getattr(fields, f.name) for f in dataclasses.fields(fields)}
        )
    step: p.Step = make(**values)
    return step


def _tagged(
    raw: Any,
    tag: str,
    schemas: Mapping[str, tuple[type[Any], Callable[..., Any]]],
    at: FieldPath,
    errors: list[FieldError],
) -> tuple[Any, Callable[..., Any]] | None:
    """`raw` validated against the schema its `tag` key names, and what makes the plan's value
    from it; None after problems (added to `errors`, at their place under `at`)."""
    if not isinstance(raw, Mapping):
        errors.append(FieldError(at, "type", raw, expected="an object"))
        return None
    name = raw.get(tag)
    if not isinstance(name, str) or name not in schemas:
        reason = f"must be one of {', '.join(schemas)}"
        errors.append(FieldError((*at, tag), "value", name, reason=reason))
        return None
    schema, make = schemas[name]
    try:
        return validate(schema, {k: v for k, v in raw.items() if k != tag}), make
    except ValidationError as err:
        errors.extend(dataclasses.replace(e, path=(*at, *e.path)) for e in err.errors)
        return None


def _order_problems(plan: p.Plan) -> Sequence[str]:
    """Duplicate step ids and dependencies that are not earlier steps."""
    seen: set[str] = set()
    problems: list[str] = []
    for step in plan.steps:
        problems.extend(
            f"step `{step.id}` depends on `{dep}`, which is not an earlier step"
            for dep in step.depends_on
            if dep not in seen
        )
        if step.id in seen:
            problems.append(f"duplicate step `{step.id}`")
        seen.add(step.id)
    return problems
