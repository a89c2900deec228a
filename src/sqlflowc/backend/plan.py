"""The plan: a linear program of typed steps, with no side effects, rendered as JSON or text.

A plan is deterministic: the same inputs give byte-identical JSON. It never carries a secret
value — SQL shows `${name}` where a secret was used and `secret_vars` lists those names; the
executor substitutes them at run time.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLAN_VERSION = 1


class StepKind(enum.Enum):
    LOAD = "load"
    CREATE_TABLE = "create_table"
    CREATE_VIEW = "create_view"
    EXPORT = "export"
    SQL = "sql"
    TABLE_UDF = "table_udf"


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One unit of execution.

    `sql` is the DuckDB SQL the executor runs in one transaction, in order. `details` carries
    what is not SQL: for `load` the connector and its parameters, for `export` the target URI,
    format and options, for merges the key columns; for `table_udf` the UDF, its input table and
    literal arguments (its `sql` is the query that reads the input). `udfs` names the Python
    UDFs the step needs registered (their DuckDB names).
    """

    id: str
    kind: StepKind
    target: str | None
    depends_on: tuple[str, ...]
    sql: tuple[str, ...]
    location: Location
    label: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    udfs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "target": self.target,
            "depends_on": list(self.depends_on),
            "sql": list(self.sql),
            "location": {
                "file": self.location.file,
                "line": self.location.line,
                "column": self.location.column,
                "end_line": self.location.end_line,
                "end_column": self.location.end_column,
            },
        }
        if self.label is not None:
            out["label"] = self.label
        if self.details:
            out["details"] = dict(self.details)
        if self.udfs:
            out["udfs"] = list(self.udfs)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The compiled pipeline."""

    pipeline: str
    project_dir: str
    steps: tuple[Step, ...]
    variables: Mapping[str, Any] = field(default_factory=dict)
    secret_vars: tuple[str, ...] = ()
    # Secret values for an in-process run; never serialised.
    secrets: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "pipeline": self.pipeline,
            "project_dir": self.project_dir,
            "variables": dict(sorted(self.variables.items())),
            "secret_vars": list(self.secret_vars),
            "steps": [s.to_dict() for s in self.steps],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """A readable listing: one block per step with its dependencies and SQL."""
        n = len(self.steps)
        lines = [f"plan for {self.pipeline} ({n} step{'s' * (n != 1)})", ""]
        for n, s in enumerate(self.steps, 1):
            head = f"{n:>3}. {s.id}  [{s.kind.value}]"
            if s.label:
                head += f"  ({s.label})"
            lines.append(head)
            lines.append(f"     at {s.location}")
            if s.depends_on:
                lines.append(f"     after {', '.join(s.depends_on)}")
            for key, value in s.details.items():
                lines.append(f"     {key}: {json.dumps(value, sort_keys=True)}")
            if s.udfs:
                lines.append(f"     udfs: {', '.join(s.udfs)}")
            for stmt in s.sql:
                for text in stmt.splitlines():
                    lines.append("     | " + text)
            lines.append("")
        return "\n".join(lines)
