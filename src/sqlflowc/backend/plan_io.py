"""Read a plan written by `Plan.to_json` back into a `Plan` (for `sqlflowc run plan.json`).

The document is checked before anything runs: it must be JSON, carry a plan format `version`
this toolchain reads (`PLAN_VERSION`, or 1: `plan_format1.py` turns a version-1 document into
the same typed steps), match the plan's shape (pydantic models, one per op and load mode,
discriminated by `op` and `kind`), name an engine (`duckdb` or `spark`), have unique
step ids, and every `depends_on` must name an earlier step. Any problem is a `BAD_PLAN`
diagnostic in a `CompileError`, anchored in the plan file where a position is known. Kept apart
from `plan.py` so that module stays free of dependencies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from sqlflowc.backend import plan as p
from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.limits import MAX_NESTING, FileTooLarge, json_nesting, read_bounded
from sqlflowc.schema import Policy
from sqlflowc.source import SourceMap, Span

__all__ = ["load_plan"]

_Name = Annotated[str, Field(min_length=1)]
_Statements = Annotated[list[_Name], Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Location(_Model):
    file: str
    line: int
    column: int
    end_line: int
    end_column: int


class _Replace(_Model):
    kind: Literal["replace"]


class _Append(_Model):
    kind: Literal["append"]
    stage: _Name
    schema_policy: Policy


class _Merge(_Model):
    kind: Literal["merge"]
    stage: _Name
    schema_policy: Policy
    keys: Annotated[list[_Name], Field(min_length=1)]


class _Incremental(_Model):
    kind: Literal["incremental"]
    stage: _Name
    schema_policy: Policy
    by: _Name
    lookback: str | None
    keys: list[_Name]
    parameters: list[p.WindowParameter]
    state_key: _Name


class _IncrementalLoad(_Model):
    kind: Literal["incremental_load"]
    stage: _Name
    schema_policy: Policy
    by: _Name
    lookback: str | None
    keys: list[_Name]


_Mode = Annotated[
    _Replace | _Append | _Merge | _Incremental | _IncrementalLoad, Field(discriminator="kind")
]


class _Source(_Model):
    name: str
    connector: _Name
    params: dict[str, JsonValue]


class _Step(_Model):
    id: _Name
    depends_on: list[str] = []
    location: _Location
    label: str | None = None
    reads: list[str] = []
    writes: list[str] = []


class _Load(_Step):
    op: Literal["load"]
    target: _Name
    source: _Source
    mode: _Mode
    sql: _Statements
    read: _Name | None = None


class _CreateTable(_Step):
    op: Literal["create_table"]
    target: _Name
    mode: _Mode
    sql: _Statements
    udfs: list[str] = []
    if_not_exists: bool = False


class _CreateView(_Step):
    op: Literal["create_view"]
    view: _Name
    sql: _Name
    udfs: list[str] = []


class _Export(_Step):
    op: Literal["export"]
    uri: _Name
    format: p.ExportFormat
    options: dict[str, JsonValue]
    query: _Name
    udfs: list[str] = []


class _TableUdf(_Step):
    op: Literal["table_udf"]
    target: _Name
    udf: _Name
    input: _Name
    args: dict[str, JsonValue]
    query: _Name
    temporary: bool = False


class _Sql(_Step):
    op: Literal["sql"]
    sql: _Name
    barrier: bool = False
    udfs: list[str] = []


_AnyStep = Annotated[
    _Load | _CreateTable | _CreateView | _Export | _TableUdf | _Sql, Field(discriminator="op")
]


class _Plan(_Model):
    version: Literal[2]
    engine: p.Engine
    pipeline: str
    project_dir: str
    variables: dict[str, JsonValue] = {}
    secret_vars: list[str] = []
    secret_templates: dict[str, str] = {}
    steps: list[_AnyStep]


_OPS: dict[type[_Step], Callable[..., p.Step]] = {
    _Load: p.Load,
    _CreateTable: p.CreateTable,
    _CreateView: p.CreateView,
    _Export: p.Export,
    _TableUdf: p.TableUdf,
    _Sql: p.Sql,
}
_MODES: dict[type[_Model], Callable[..., p.LoadMode]] = {
    _Replace: p.Replace,
    _Append: p.Append,
    _Merge: p.Merge,
    _Incremental: p.Incremental,
    _IncrementalLoad: p.IncrementalLoad,
}


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
            [
                Diagnostic(
                    Code.BAD_PLAN,
                    f"plan {path}: `{'.'.join(str(part) for part in e['loc'])}`: {e['msg']}",
                )
                for e in err.errors()
            ],
            sources,
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
    """A version-2 document as a plan (ValidationError when it has the wrong shape)."""
    parsed = _Plan.model_validate(data)
    return p.Plan(
        pipeline=parsed.pipeline,
        project_dir=parsed.project_dir,
        engine=parsed.engine,
        steps=tuple(_step(s) for s in parsed.steps),
        variables=parsed.variables,
        secret_vars=tuple(parsed.secret_vars),
        secret_templates=parsed.secret_templates,
    )


def _step(model: _Step) -> p.Step:
    values = {name: _value(getattr(model, name)) for name in type(model).model_fields}
    del values["op"]
    return _OPS[type(model)](**values)


def _value(value: Any) -> Any:
    """A validated field as the plan's dataclasses hold it: lists as tuples, nested models as
    their dataclasses (JSON objects stay as they are)."""
    match value:
        case _Location():
            return p.Location(
                value.file, value.line, value.column, value.end_line, value.end_column
            )
        case _Source():
            return p.Source(name=value.name, connector=value.connector, params=value.params)
        case _Replace() | _Append() | _Merge() | _Incremental() | _IncrementalLoad():
            fields = {n: _value(getattr(value, n)) for n in type(value).model_fields}
            del fields["kind"]
            return _MODES[type(value)](**fields)
        case list():
            return tuple(value)
        case _:
            return value


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
