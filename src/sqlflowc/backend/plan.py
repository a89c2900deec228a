"""The plan: a linear program of typed steps, with no side effects, rendered as JSON or text.

A step is one operation of the `Step` union — `Load`, `CreateTable`, `CreateView`, `Export`,
`TableUdf`, `Sql` — each a frozen dataclass holding exactly what its execution needs, on top of
the envelope every step shares (`StepBase`: id, dependencies, source location, include label,
the tables it reads and writes). A load or a query written into a table carries its load mode as
a `LoadMode` (`Replace | Append | Merge | Incremental | IncrementalLoad`), so "APPEND with keys"
cannot be represented. The executor matches on the step's class.

Engine-neutral: an op holds what the statement means (the connector and its parameters, the
mode, the export format and options, the UDF and its arguments) next to the SQL the backend
generated for `Plan.engine` (`duckdb`, or `spark`: `backend/spark.py` builds the same ops with
Spark SQL and `runtime/spark/` runs them).

A plan is deterministic: the same inputs give byte-identical JSON (`to_json`, format version
`PLAN_VERSION`; `plan_io.load_plan` reads it back, and version-1 files too). It never carries a
secret value — SQL, URIs and parameters show `${name}` where a secret was used and `secret_vars`
lists those names (`secret_templates` says how to build a secret a SET made from other secrets,
from their placeholders); the executor substitutes them at run time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import field, fields
from typing import Any, ClassVar, Literal, TypeAlias, assert_never

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.schema import Policy

PLAN_VERSION = 2

JsonValue: TypeAlias = (
    str | int | float | bool | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)
# The INCREMENTAL window's macros a staging statement binds as named parameters.
WindowParameter: TypeAlias = Literal["start_dt", "end_dt", "start_date", "end_date"]
# The engine a plan is compiled for (docs/engines.md).
Engine: TypeAlias = Literal["duckdb", "spark"]
# An export format is the type name of the connector that writes it, lower-case: `csv`,
# `parquet`, `json`, `postgres`, or a plugin's.
ExportFormat: TypeAlias = str

__all__ = [
    "PLAN_VERSION",
    "Append",
    "CreateTable",
    "CreateView",
    "Engine",
    "Export",
    "ExportFormat",
    "Incremental",
    "IncrementalLoad",
    "JsonValue",
    "Load",
    "LoadMode",
    "Location",
    "Merge",
    "Plan",
    "Replace",
    "RowKeepingMode",
    "Source",
    "Sql",
    "Step",
    "StepBase",
    "TableUdf",
    "WindowParameter",
    "step_statements",
    "step_target",
    "step_udfs",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a step's statement is in the sources (1-based line and column)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# ---------------------------------------------------------------------------- load modes


@dataclass(frozen=True, slots=True, kw_only=True)
class Replace:
    """The table becomes exactly the rows; the step's SQL runs as it is."""

    kind: ClassVar[str] = "replace"


@dataclass(frozen=True, slots=True, kw_only=True)
class Append:
    """The rows are inserted by column name, read once through the temporary view `stage`."""

    kind: ClassVar[str] = "append"
    stage: str
    schema_policy: Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class Merge:
    """Rows replace the target's rows with the same `keys` (never empty); the rest are inserted.
    The rows are staged in the temporary table `stage` and checked before anything is written."""

    kind: ClassVar[str] = "merge"
    stage: str
    schema_policy: Policy
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Incremental:
    """The window's rows are rewritten: deleted by `by` and inserted (or merged on `keys` when
    there are any); the high-water mark of `by` is kept under `state_key`. `parameters` are the
    window macros the staging statement binds."""

    kind: ClassVar[str] = "incremental"
    stage: str
    schema_policy: Policy
    by: str
    lookback: str | None
    keys: tuple[str, ...]
    parameters: tuple[WindowParameter, ...]
    state_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncrementalLoad:
    """`LOAD t FROM source MODE INCREMENTAL BY by`: only the source's rows past the target's
    high-water mark — its largest `by` (minus `lookback`, when given, and then inclusive) — are
    read; the executor binds that mark as `$watermark` in the staging statement and hands it to
    the connector, which filters at the server when it can. Rows of the target at or past the
    mark are replaced by the staged rows when there is a `lookback` (merged on `keys` when
    there are any); otherwise the staged rows are inserted. No mark (no target yet, or an empty
    one): every row."""

    kind: ClassVar[str] = "incremental_load"
    stage: str
    schema_policy: Policy
    by: str
    lookback: str | None
    keys: tuple[str, ...]


LoadMode: TypeAlias = Replace | Append | Merge | Incremental | IncrementalLoad
# The modes that keep the target's rows (and so check its schema): all but Replace.
RowKeepingMode: TypeAlias = Append | Merge | Incremental | IncrementalLoad


# ---------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True, kw_only=True)
class StepBase:
    """What every step has. `depends_on` names earlier steps (direct dependencies only);
    `reads` and `writes` are the tables it reads and writes (lower-cased, `main.` dropped);
    `label` is the INCLUDE alias the statement came from."""

    kind: ClassVar[str]
    id: str
    depends_on: tuple[str, ...] = ()
    location: Location
    label: str | None = None
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A `SOURCE`: its name, connector type (lower case) and parameters as resolved at compile
    time (a secret parameter as its `${name}` placeholder)."""

    name: str
    connector: str
    params: Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True, kw_only=True)
class Load(StepBase):
    """`LOAD target FROM source`. `sql`: under `Replace`, the statements that run; under the
    other modes, `sql[0]` stages the source's rows (the only statement that reads it) and the
    rest is what runs when `target` exists with the source's columns — the executor regenerates
    those against the schemas it finds. `read`: for a connector that reads at run time (Arrow
    batches), the relation `sql` reads, which the executor makes from the connector's run-time
    face before the step (None: `sql` reads the source itself, as for files)."""

    kind: ClassVar[str] = "load"
    target: str
    source: Source
    mode: LoadMode
    sql: tuple[str, ...]
    read: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTable(StepBase):
    """`CREATE TABLE target [MODE ...] AS query`; `sql` as for `Load`. `udfs` names the Python
    UDFs the query calls (their registered names). `if_not_exists` (REPLACE only; set for an
    engine whose SQL cannot say it, Spark): an existing table is left as it is."""

    kind: ClassVar[str] = "create_table"
    target: str
    mode: LoadMode
    sql: tuple[str, ...]
    udfs: tuple[str, ...] = ()
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateView(StepBase):
    """`CREATE VIEW view AS query`: one statement."""

    kind: ClassVar[str] = "create_view"
    view: str
    sql: str
    udfs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Export(StepBase):
    """`EXPORT query TO uri TYPE format OPTIONS {...}`: the query's rows written to `uri` (a
    relative path is relative to the project) as a whole file, atomically. `options` are the
    format's validated options."""

    kind: ClassVar[str] = "export"
    uri: str
    format: ExportFormat
    options: Mapping[str, JsonValue]
    query: str
    udfs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TableUdf(StepBase):
    """A Python table UDF applied to a table: `target` becomes `udf`'s output for the rows of
    `query` (`SELECT * FROM input`), called with the literal `args` by parameter name. A
    `temporary` target (the output of a call inside a larger query) is a TEMP table of the run's
    connection, never written to the database file."""

    kind: ClassVar[str] = "table_udf"
    target: str
    udf: str
    input: str
    args: Mapping[str, JsonValue]
    query: str
    temporary: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Sql(StepBase):
    """Any other SQL statement, run as written. A `barrier`'s tables could not be determined:
    it runs after every earlier step, and every later step after it."""

    kind: ClassVar[str] = "sql"
    sql: str
    barrier: bool = False
    udfs: tuple[str, ...] = ()


Step: TypeAlias = Load | CreateTable | CreateView | Export | TableUdf | Sql


def step_target(step: Step) -> str | None:
    """What a step writes, for people: the table or view, the export URI, or the one table a
    SQL statement writes (None when it writes none or several)."""
    match step:
        case Load() | CreateTable() | TableUdf():
            return step.target
        case CreateView():
            return step.view
        case Export():
            return step.uri
        case Sql():
            return step.writes[0] if len(step.writes) == 1 else None
        case _:
            assert_never(step)


def step_statements(step: Step) -> tuple[str, ...]:
    """The SQL a step shows: its statements, or the query an export or table UDF reads."""
    match step:
        case Load() | CreateTable():
            return step.sql
        case CreateView() | Sql():
            return (step.sql,)
        case Export() | TableUdf():
            return (step.query,)
        case _:
            assert_never(step)


def step_udfs(step: Step) -> tuple[str, ...]:
    """The Python UDFs a step needs registered (their registered names)."""
    match step:
        case CreateTable() | CreateView() | Export() | Sql():
            return step.udfs
        case TableUdf():
            return (step.udf,)
        case Load():
            return ()
        case _:
            assert_never(step)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The compiled pipeline, for `engine`."""

    pipeline: str
    project_dir: str
    steps: tuple[Step, ...]
    engine: Engine = "duckdb"
    variables: Mapping[str, JsonValue] = field(default_factory=dict)
    secret_vars: tuple[str, ...] = ()
    # How to build a secret a SET made from other secrets, from their `${name}` placeholders.
    secret_templates: Mapping[str, str] = field(default_factory=dict)
    # Secret values for an in-process run; never serialised.
    secrets: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": PLAN_VERSION,
            "engine": self.engine,
            "pipeline": self.pipeline,
            "project_dir": self.project_dir,
            "variables": dict(sorted(self.variables.items())),
            "secret_vars": list(self.secret_vars),
        }
        if self.secret_templates:
            data["secret_templates"] = dict(sorted(self.secret_templates.items()))
        data["steps"] = [step_to_dict(s) for s in self.steps]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """A readable listing: one block per step with what it does and its SQL."""
        from sqlflowc.backend.plan_text import plan_text

        return plan_text(self)


# ---------------------------------------------------------------------------- JSON


# Left out of a step's JSON when they have their default (None, empty).
_OPTIONAL = frozenset({"label", "udfs", "read", "temporary", "if_not_exists"})


def step_to_dict(step: Step) -> dict[str, Any]:
    """`{"id", "op", ...}`: the envelope, then the op's own fields in declaration order (`label`,
    `udfs`, `read`, `temporary` and `if_not_exists` only when set)."""
    out: dict[str, Any] = {"id": step.id, "op": step.kind}
    for f in fields(step):
        value = getattr(step, f.name)
        if f.name == "id" or (f.name in _OPTIONAL and not value):
            continue
        out[f.name] = _json(value)
    return out


def _json(value: Any) -> Any:
    """Plan values as plain JSON data: dataclasses as objects (a load mode with its `kind`
    first), tuples as lists, mappings as objects with their keys sorted."""
    match value:
        case Replace() | Append() | Merge() | Incremental() | IncrementalLoad():
            mode: dict[str, Any] = {"kind": value.kind}
            mode.update((f.name, _json(getattr(value, f.name))) for f in fields(value))
            return mode
        case Location() | Source():
            return {f.name: _json(getattr(value, f.name)) for f in fields(value)}
        case tuple() | list():
            return [_json(v) for v in value]
        case Mapping():
            return {str(k): _json(value[k]) for k in sorted(value)}
        case _:
            return value
