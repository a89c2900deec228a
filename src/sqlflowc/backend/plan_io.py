"""Read a plan written by `Plan.to_json` back into a `Plan` (for `sqlflowc run plan.json`).

The document is checked before anything runs: it must be JSON, carry this toolchain's plan
`version`, match the plan's shape (pydantic), have unique step ids, and every `depends_on` must
name an earlier step. Any problem is a `BAD_PLAN` diagnostic in a `CompileError`, anchored in
the plan file where a position is known. Kept apart from `plan.py` so that module stays free
of dependencies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sqlflowc.backend.plan import PLAN_VERSION, Location, Plan, Step, StepKind
from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.source import SourceMap, Span


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Location(_Model):
    file: str
    line: int
    column: int
    end_line: int
    end_column: int


class _Step(_Model):
    id: str
    kind: StepKind
    target: str | None
    depends_on: list[str]
    sql: list[str]
    location: _Location
    label: str | None = None
    details: dict[str, Any] = {}
    udfs: list[str] = []


class _Plan(_Model):
    version: int
    pipeline: str
    project_dir: str
    variables: dict[str, Any] = {}
    secret_vars: list[str] = []
    steps: list[_Step]


def load_plan(path: Path, sources: SourceMap | None = None) -> Plan:
    """Parse and check a plan file; raises CompileError (`BAD_PLAN`) when it is not usable."""
    sources = sources if sources is not None else SourceMap()

    def fail(message: str, span: Span | None = None, help: str = "") -> CompileError:
        return CompileError([Diagnostic(Code.BAD_PLAN, message, span, help=help)], sources)

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise fail(f"cannot read plan {path}: {err}") from None
    file_id = sources.add(str(path), text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        where = Span(file_id, err.pos, err.pos + 1)
        raise fail(f"plan {path} is not JSON: {err.msg}", where) from None
    if not isinstance(data, dict):
        raise fail(f"plan {path} must be a JSON object", Span(file_id, 0, 1))
    version = data.get("version")
    if version != PLAN_VERSION:
        at = text.find('"version"')
        raise fail(
            f"plan {path} has format version {json.dumps(version)}; "
            f"this sqlflowc reads version {PLAN_VERSION}",
            Span(file_id, at, at + 9) if at >= 0 else None,
            help="compile the pipeline again with this sqlflowc",
        )
    try:
        parsed = _Plan.model_validate(data)
    except ValidationError as err:
        raise CompileError(
            [
                Diagnostic(
                    Code.BAD_PLAN,
                    f"plan {path}: `{'.'.join(str(p) for p in e['loc'])}`: {e['msg']}",
                )
                for e in err.errors()
            ],
            sources,
        ) from None
    seen: set[str] = set()
    problems: list[Diagnostic] = []
    for step in parsed.steps:
        for dep in step.depends_on:
            if dep not in seen:
                problems.append(
                    Diagnostic(
                        Code.BAD_PLAN,
                        f"plan {path}: step `{step.id}` depends on `{dep}`, "
                        "which is not an earlier step",
                    )
                )
        if step.id in seen:
            problems.append(Diagnostic(Code.BAD_PLAN, f"plan {path}: duplicate step `{step.id}`"))
        seen.add(step.id)
    if problems:
        raise CompileError(problems, sources)
    return Plan(
        pipeline=parsed.pipeline,
        project_dir=parsed.project_dir,
        steps=tuple(_step(s) for s in parsed.steps),
        variables=parsed.variables,
        secret_vars=tuple(parsed.secret_vars),
    )


def _step(s: _Step) -> Step:
    loc = s.location
    return Step(
        id=s.id,
        kind=s.kind,
        target=s.target,
        depends_on=tuple(s.depends_on),
        sql=tuple(s.sql),
        location=Location(loc.file, loc.line, loc.column, loc.end_line, loc.end_column),
        label=s.label,
        details=s.details,
        udfs=tuple(s.udfs),
    )
