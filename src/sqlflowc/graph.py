"""Render a plan's dependency graph as Mermaid, Graphviz DOT, or a self-contained HTML page.

The graph shows only what is in the plan — the active branches of every IF. The HTML page
(`graph_html.py`) has no external resources: a layered layout (`graph_layout.py`) drawn as
inline SVG, with a legend; hovering a step shows its SQL.
"""

from __future__ import annotations

import json

from sqlflowc.backend.plan import Plan, Step, step_target
from sqlflowc.graph_html import KINDS, to_html

_COLORS = {kind: color for kind, (color, _) in KINDS.items()}


def render(plan: Plan, fmt: str) -> str:
    """The graph in `fmt`: `mermaid`, `dot` or `html`."""
    match fmt:
        case "mermaid":
            return to_mermaid(plan)
        case "dot":
            return to_dot(plan)
        case "html":
            return to_html(plan)
    raise ValueError(f"unknown graph format {fmt!r}")


def _label(step: Step) -> str:
    target = step_target(step)
    return f"{step.kind}\n{target}" if target else step.kind


_MERMAID_ENTITIES = (("#", "#35;"), ("&", "#amp;"), ("<", "#lt;"), (">", "#gt;"), ('"', "#quot;"))


def _mermaid_text(label: str) -> str:
    """A label inside `["..."]`: Mermaid reads `#name;` as an entity and the text as HTML, so
    `#` first, then `&`, `<`, `>`, `"` become entities; lines are joined with `<br/>`."""
    for ch, entity in (
        ("#", "#35;"),
        ("&", "#amp;"),
        ("<", "#lt;"),
        (">", "#gt;"),
        ('"', "#quot;"),
    ):
        label = label.replace(ch, entity)
    return label.replace("\n", "<br/>")


def to_mermaid(plan: Plan) -> str:
    lines = ["flowchart TD"]
    for step in plan.steps:
        lines.append(f'    {step.id}["{_mermaid_text(_label(step))}"]:::{step.kind}')
    for step in plan.steps:
        lines.extend(f"    {dep} --> {step.id}" for dep in step.depends_on)
    for kind, color in _COLORS.items():
        lines.append(f"    classDef {kind} fill:{color},stroke:#555")
    return "\n".join(lines) + "\n"


def to_dot(plan: Plan) -> str:
    lines = [
        "digraph pipeline {",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled"];',
    ]
    for step in plan.steps:
        label = json.dumps(_label(step))
        lines.append(f'    "{step.id}" [label={label}, fillcolor="{_COLORS[step.kind]}"];')
    for step in plan.steps:
        lines.extend(f'    "{dep}" -> "{step.id}";' for dep in step.depends_on)
    lines.append("}")
    return "\n".join(lines) + "\n"
