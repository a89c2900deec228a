"""The program IR as text, for review (`tests/golden/<case>.program.txt`).

One block per statement, each field that differs from its default on a line of its own (then,
for a bound program, the tables it reads and writes, when any, and `barrier` when it is one);
SQL as
its display text (a secret shows as its `${...}` placeholder, never its value), sets sorted,
mappings as JSON. Left out: spans, offsets and sqlglot trees (they move with every edit above a
statement and say nothing about the program) and every field that does not take part in
equality (`compare=False`).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from typing import Any

from sqlflowc.ir import ast, program

_LEFT_OUT = frozenset({"span", "origin", "tree"})


def program_text(prog: program.Program) -> str:
    """The whole program: settings, sources, statements with what each runs after."""
    lines = [f"project_dir: {prog.project_dir}"]
    for name in ("variables", "secret_templates", "labels"):
        value = getattr(prog, name)
        if value:
            lines.append(f"{name}: {_json(value)}")
    if prog.sources:
        lines.append("sources:")
        for name, source in prog.sources.items():
            lines.append(f"  {name}:")
            lines.extend(_fields(source, "    "))
    lines.append("statements:")
    for i, stmt in enumerate(prog.statements):
        lines.append(f"  [{i}] {type(stmt).__name__}")
        lines.extend(_fields(stmt, "      "))
        if isinstance(prog, program.BoundProgram):
            found = prog.bindings[i]
            shown = {"reads": found.reads, "writes": found.writes, "barrier": found.barrier}
            lines.extend(f"      {k}: {_value(v)}" for k, v in shown.items() if v)
        if isinstance(prog, program.ResolvedProgram) and prog.udfs[i]:
            lines.append(f"      udfs: {', '.join(prog.udfs[i])}")
        if isinstance(prog, program.OrderedProgram) and prog.deps[i]:
            lines.append(f"      after: {', '.join(map(str, prog.deps[i]))}")
    return "\n".join(lines) + "\n"


def _shown(node: Any) -> list[tuple[str, Any]]:
    """The fields worth showing: compared, not positional, not at their default."""
    shown = []
    for f in dataclasses.fields(node):
        if not f.compare or f.name in _LEFT_OUT or f.name.endswith(("_span", "_spans")):
            continue
        value = getattr(node, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        shown.append((f.name, value))
    return shown


def _fields(node: Any, indent: str) -> list[str]:
    lines = []
    for name, value in _shown(node):
        text = _value(value)
        if "\n" in text:
            body = "\n".join(f"{indent}  {line}".rstrip() for line in text.splitlines())
            lines.append(f"{indent}{name}: |\n{body}")
        else:
            lines.append(f"{indent}{name}: {text}")
    return lines


def _value(value: Any) -> str:
    match value:
        case program.Sql():
            return value.display
        case program.Source():
            return value.name
        case ast.Ident():
            return f'"{value.value}"' if value.quoted else value.value
        case enum.Enum():
            return str(value.value)
        case frozenset() | set():
            return "{" + ", ".join(sorted(map(str, value))) + "}"
        case tuple() | list():
            return "[" + ", ".join(_value(v) for v in value) + "]"
        case Mapping():
            return _json(value)
        case _ if dataclasses.is_dataclass(value) and not isinstance(value, type):
            inner = ", ".join(f"{k}={_value(v)}" for k, v in _shown(value))
            return f"{type(value).__name__}({inner})" if inner else type(value).__name__
        case _:
            return str(value)


def _json(value: Mapping[Any, Any]) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
