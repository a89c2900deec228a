"""Plan files of format version 1, read into the typed steps of today's plans.

Version 1 wrote every step as `{"id", "kind", "target", "depends_on", "sql", "location", "label",
"details", "udfs"}`, with what is not SQL in a free-form `details` object. `read_format1` checks
that shape (`sqlflowc.validation`; a `ValidationError` names the field) and turns each step into
its op:

- `load` → `Load`: `details.source` and `details.connector`; a version-1 plan did not record
  the connector's parameters, so `source.params` is empty (the step's SQL reads the source);
- `create_table` → `CreateTable`; for both, `details.mode` (`replace`, `append`, `merge`,
  `incremental`) with `schema_policy`, `stage`, `keys`, `by`, `lookback`, `parameters`,
  `state_key` → the load mode;
- `create_view` → `CreateView`, `export` → `Export` (`uri`, `format`, `options`), `sql` →
  `Sql` (`barrier`), `table_udf` → `TableUdf` (`udf`, `input`, `args`): each with its one
  statement. A table UDF step whose target has the generated name of a call inside a larger
  query (`udf_<fn>_<input>`) becomes `temporary`, as the compiler makes such steps today, so an
  old plan no longer leaves that table in the database either.

A version-1 step did not list the tables it reads; `writes` is its target table. Steps whose
`details` do not make a valid op are reported together (`Format1Error`, one message per step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlflowc.backend import plan as p
from sqlflowc.backend.plan_io import LocationFields
from sqlflowc.ir.program import is_udf_table_name
from sqlflowc.names import table_key
from sqlflowc.schema import Policy
from sqlflowc.sqlbuild.macros import MACROS
from sqlflowc.validation import validate

__all__ = ["Format1Error", "read_format1"]


class Format1Error(Exception):
    """Steps of a version-1 plan that make no valid op, one message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


JsonValue = Any  # a value json.loads made


@dataclass(frozen=True, slots=True, kw_only=True)
class _Step:
    id: str
    kind: Literal["load", "create_table", "create_view", "export", "sql", "table_udf"]
    target: str | None
    depends_on: tuple[str, ...]
    sql: tuple[str, ...]
    location: LocationFields
    label: str | None = None
    details: dict[str, JsonValue] = field(default_factory=dict)
    udfs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    version: Literal[1]
    pipeline: str
    project_dir: str
    variables: dict[str, JsonValue] = field(default_factory=dict)
    secret_vars: tuple[str, ...] = ()
    steps: tuple[_Step, ...]


def read_format1(data: Mapping[str, Any]) -> p.Plan:
    """A version-1 document as a plan; ValidationError or Format1Error when it is not one."""
    parsed = validate(_Plan, data)
    steps: list[p.Step] = []
    problems: list[str] = []
    for s in parsed.steps:
        try:
            steps.append(_step(s))
        except ValueError as err:
            problems.append(f"step `{s.id}`: {err}")
    if problems:
        raise Format1Error(problems)
    return p.Plan(
        pipeline=parsed.pipeline,
        project_dir=parsed.project_dir,
        steps=tuple(steps),
        variables=parsed.variables,
        secret_vars=parsed.secret_vars,
    )


def _step(s: _Step) -> p.Step:
    """The op of a version-1 step; ValueError naming what is wrong."""
    loc = s.location
    env: dict[str, Any] = {
        "id": s.id,
        "depends_on": s.depends_on,
        "location": p.Location(loc.file, loc.line, loc.column, loc.end_line, loc.end_column),
        "label": s.label,
    }
    details = s.details
    udfs = s.udfs
    match s.kind:
        case "load":
            target = _target(s)
            source = p.Source(
                name=_text(details, "source"), connector=_text(details, "connector"), params={}
            )
            return p.Load(
                **env,
                writes=(table_key(target),),
                target=target,
                source=source,
                mode=_mode(details),
                sql=_statements(s),
            )
        case "create_table":
            target = _target(s)
            return p.CreateTable(
                **env,
                writes=(table_key(target),),
                target=target,
                mode=_mode(details),
                sql=_statements(s),
                udfs=udfs,
            )
        case "create_view":
            view = _target(s)
            return p.CreateView(
                **env,
                writes=(table_key(view),),
                view=view,
                sql=_one(s),
                udfs=udfs,
            )
        case "export":
            options = details.get("options", {})
            if not isinstance(options, dict):
                raise ValueError("`details.options` must be an object")
            return p.Export(
                **env,
                uri=_text(details, "uri"),
                format=_format(details.get("format")),
                options=options,
                query=_one(s),
                udfs=udfs,
            )
        case "sql":
            barrier = details.get("barrier", False)
            if not isinstance(barrier, bool):
                raise ValueError("`details.barrier` must be true or false")
            return p.Sql(
                **env,
                writes=(table_key(s.target),) if s.target else (),
                sql=_one(s),
                barrier=barrier,
                udfs=udfs,
            )
        case "table_udf":
            target = _target(s)
            udf, given = _text(details, "udf"), _text(details, "input")
            args = details.get("args", {})
            if not isinstance(args, dict):
                raise ValueError("`details.args` must be an object")
            return p.TableUdf(
                **env,
                writes=(table_key(target),),
                target=target,
                udf=udf,
                input=given,
                args=args,
                query=_one(s),
                temporary=is_udf_table_name(target, udf.rsplit(".", 1)[-1], given),
            )


def _mode(details: Mapping[str, JsonValue]) -> p.LoadMode:
    """The load mode of a `load` or `create_table` step's details."""
    mode = details.get("mode", "replace")
    if mode == "replace":
        return p.Replace()
    policy: Policy
    match details.get("schema_policy"):
        case "strict":
            policy = "strict"
        case "evolve":
            policy = "evolve"
        case other:
            raise ValueError(f"`details.schema_policy` must be strict or evolve, not {other!r}")
    stage = _text(details, "stage")
    match mode:
        case "append":
            return p.Append(stage=stage, schema_policy=policy)
        case "merge":
            keys = _keys(details)
            if not keys:
                raise ValueError("a merge needs `details.keys`")
            return p.Merge(stage=stage, schema_policy=policy, keys=keys)
        case "incremental":
            lookback = details.get("lookback")
            if lookback is not None and not isinstance(lookback, str):
                raise ValueError("`details.lookback` must be a string or null")
            return p.Incremental(
                stage=stage,
                schema_policy=policy,
                by=_text(details, "by"),
                lookback=lookback,
                keys=_keys(details),
                parameters=_parameters(details.get("parameters")),
                state_key=_text(details, "state_key"),
            )
    raise ValueError(f"unknown load mode {mode!r}")


def _parameters(value: JsonValue) -> tuple[p.WindowParameter, ...]:
    names: dict[str, p.WindowParameter] = {name: name for name in MACROS}
    if not isinstance(value, list) or not all(isinstance(v, str) and v in names for v in value):
        raise ValueError(f"`details.parameters` must be a list of {', '.join(MACROS)}")
    return tuple(names[str(v)] for v in value)


def _format(value: JsonValue) -> p.ExportFormat:
    match value:
        case "csv" | "CSV":
            return "csv"
        case "parquet" | "PARQUET":
            return "parquet"
        case "json" | "JSON":
            return "json"
    raise ValueError(f"`details.format` must be csv, parquet or json, not {value!r}")


def _text(details: Mapping[str, JsonValue], name: str) -> str:
    value = details.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"`details.{name}` must be a non-empty string")
    return value


def _keys(details: Mapping[str, JsonValue]) -> tuple[str, ...]:
    keys = details.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ValueError("`details.keys` must be a list of column names")
    return tuple(str(k) for k in keys)


def _target(s: _Step) -> str:
    if not s.target:
        raise ValueError(f"a `{s.kind}` step needs a `target`")
    return s.target


def _statements(s: _Step) -> tuple[str, ...]:
    if not s.sql:
        raise ValueError(f"a `{s.kind}` step needs its `sql`")
    return s.sql


def _one(s: _Step) -> str:
    if len(s.sql) != 1:
        raise ValueError(f"a `{s.kind}` step has one statement, not {len(s.sql)}")
    return s.sql[0]
