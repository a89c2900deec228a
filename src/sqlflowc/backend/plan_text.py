"""The plan as text (`sqlflowc compile`): one block per step, in execution order.

Each block: number, id, op (and include label); where its statement is; the steps it runs after;
one line saying what the op does (table and load mode, source, export target, UDF...); the
Python UDFs it needs; then its SQL, each line prefixed with `| `. Deterministic, like the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import assert_never

from sqlflowc.backend.plan import (
    Append,
    CreateTable,
    CreateView,
    Export,
    Incremental,
    IncrementalLoad,
    JsonValue,
    Load,
    LoadMode,
    Merge,
    Plan,
    Replace,
    Sql,
    Step,
    TableUdf,
    step_statements,
    step_udfs,
)

__all__ = ["describe_mode", "plan_text"]


def plan_text(plan: Plan) -> str:
    n = len(plan.steps)
    lines = [f"plan for {plan.pipeline} ({n} step{'s' * (n != 1)})", ""]
    for number, step in enumerate(plan.steps, 1):
        head = f"{number:>3}. {step.id}  [{step.kind}]"
        if step.label:
            head += f"  ({step.label})"
        lines.append(head)
        lines.append(f"     at {step.location}")
        if step.depends_on:
            lines.append(f"     after {', '.join(step.depends_on)}")
        lines.extend(f"     {line}" for line in _what(step))
        udfs = step_udfs(step)
        if udfs and not isinstance(step, TableUdf):
            lines.append(f"     udfs: {', '.join(udfs)}")
        for stmt in step_statements(step):
            lines.extend("     | " + text for text in stmt.splitlines())
        lines.append("")
    return "\n".join(lines)


def _what(step: Step) -> list[str]:
    """What the step does, in a line or two."""
    match step:
        case Load():
            source = step.source
            return [
                f"into {step.target}, {describe_mode(step.mode)}",
                f"from {source.name}: {source.connector.upper()} {_object(source.params)}",
                *_staging(step.mode),
            ]
        case CreateTable():
            return [f"into {step.target}, {describe_mode(step.mode)}", *_staging(step.mode)]
        case CreateView():
            return [f"view {step.view}"]
        case Export():
            options = f" {_object(step.options)}" if step.options else ""
            return [f"to {step.uri} as {step.format.upper()}{options}"]
        case TableUdf():
            args = f" with {_object(step.args)}" if step.args else ""
            into = f"temporary table {step.target}" if step.temporary else step.target
            return [f"into {into}, {step.udf} over {step.input}{args}"]
        case Sql():
            out = [f"writes {', '.join(step.writes)}"] if step.writes else []
            if step.barrier:
                out.append("barrier: its tables are unknown, so it runs after every earlier step")
            return out
        case _:
            assert_never(step)


def describe_mode(mode: LoadMode) -> str:
    """`mode MERGE KEY (id), schema policy strict`."""
    match mode:
        case Replace():
            return "mode REPLACE"
        case Append():
            return f"mode APPEND, schema policy {mode.schema_policy}"
        case Merge():
            return f"mode MERGE KEY ({', '.join(mode.keys)}), schema policy {mode.schema_policy}"
        case Incremental() | IncrementalLoad():
            text = f"mode INCREMENTAL BY {mode.by}"
            if mode.lookback is not None:
                text += f" LOOKBACK {json.dumps(mode.lookback)}"
            if mode.keys:
                text += f" KEY ({', '.join(mode.keys)})"
            return f"{text}, schema policy {mode.schema_policy}"
        case _:
            assert_never(mode)


def _staging(mode: LoadMode) -> list[str]:
    match mode:
        case Replace():
            return []
        case Append():
            return [f"staged in view {mode.stage}"]
        case Merge():
            return [f"staged in table {mode.stage}"]
        case Incremental():
            bound = ", ".join(f"${p}" for p in mode.parameters)
            return [
                f"staged in table {mode.stage}, binding {bound}",
                f"high-water mark of {mode.by} kept as {json.dumps(mode.state_key)}",
            ]
        case IncrementalLoad():
            op = ">=" if mode.lookback is not None else ">"
            minus = f" minus {json.dumps(mode.lookback)}" if mode.lookback is not None else ""
            return [
                f"staged in table {mode.stage}, rows with {mode.by} {op} $watermark "
                f"(the table's largest {mode.by}{minus}; filtered at the source when it can)"
            ]
        case _:
            assert_never(mode)


def _object(value: Mapping[str, JsonValue]) -> str:
    return json.dumps(dict(value), sort_keys=True, ensure_ascii=False)
