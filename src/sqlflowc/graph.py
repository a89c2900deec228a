"""Render a plan's dependency graph as Mermaid, Graphviz DOT, or a self-contained HTML page.

The graph shows only what is in the plan — the active branches of every IF. The HTML page has
no external resources: the layout (layers by longest dependency path) is computed here and
drawn as inline SVG; hovering a node shows its SQL.
"""

from __future__ import annotations

import html
import json

from sqlflowc.backend.plan import (
    CreateTable,
    CreateView,
    Export,
    Load,
    Plan,
    Sql,
    Step,
    TableUdf,
    step_statements,
    step_target,
)

_COLORS = {
    Load.kind: "#d7ecff",
    CreateTable.kind: "#dff5df",
    CreateView.kind: "#eef7e0",
    Export.kind: "#ffe9cc",
    Sql.kind: "#eeeeee",
    TableUdf.kind: "#f3e5f5",
}


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


def to_mermaid(plan: Plan) -> str:
    lines = ["flowchart TD"]
    for step in plan.steps:
        text = _label(step).replace('"', "#quot;").replace("\n", "<br/>")
        lines.append(f'    {step.id}["{text}"]:::{step.kind}')
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


def _layers(plan: Plan) -> dict[str, int]:
    layer: dict[str, int] = {}
    for step in plan.steps:  # plan order is topological
        layer[step.id] = 1 + max((layer[d] for d in step.depends_on), default=-1)
    return layer


_W, _H, _GAP_X, _GAP_Y, _PAD = 200, 54, 40, 60, 20


def to_html(plan: Plan) -> str:
    """A standalone page: inline SVG, inline CSS, no scripts or fonts from elsewhere."""
    layer = _layers(plan)
    rows: dict[int, list[Step]] = {}
    for step in plan.steps:
        rows.setdefault(layer[step.id], []).append(step)
    width = max((len(r) for r in rows.values()), default=1) * (_W + _GAP_X) + 2 * _PAD
    height = max(len(rows), 1) * (_H + _GAP_Y) + 2 * _PAD
    pos: dict[str, tuple[int, int]] = {}
    for depth, steps in rows.items():
        row_width = len(steps) * (_W + _GAP_X) - _GAP_X
        x0 = (width - row_width) // 2
        for i, step in enumerate(steps):
            pos[step.id] = (x0 + i * (_W + _GAP_X), _PAD + depth * (_H + _GAP_Y))
    parts: list[str] = []
    for step in plan.steps:
        for dep in step.depends_on:
            (x1, y1), (x2, y2) = pos[dep], pos[step.id]
            parts.append(
                f'<path class="edge" d="M{x1 + _W // 2},{y1 + _H} C{x1 + _W // 2},{y1 + _H + 30} '
                f'{x2 + _W // 2},{y2 - 30} {x2 + _W // 2},{y2}" marker-end="url(#arrow)"/>'
            )
    for step in plan.steps:
        x, y = pos[step.id]
        tip = html.escape(f"{step.id} ({step.location})\n\n" + "\n\n".join(step_statements(step)))
        target = html.escape(_short(step_target(step) or step.id))
        parts.append(
            f'<g class="node"><title>{tip}</title>'
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="8" '
            f'fill="{_COLORS[step.kind]}"/>'
            f'<text x="{x + _W // 2}" y="{y + 21}" class="kind">{step.kind}</text>'
            f'<text x="{x + _W // 2}" y="{y + 40}" class="target">{target}</text></g>'
        )
    title = html.escape(plan.pipeline)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — sqlflowc graph</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
svg {{ border: 1px solid #ddd; border-radius: 6px; background: #fcfcfc; }}
.edge {{ fill: none; stroke: #888; stroke-width: 1.5; }}
.node rect {{ stroke: #555; }} .node:hover rect {{ stroke: #000; stroke-width: 2; }}
text {{ text-anchor: middle; font-size: 12px; }} .kind {{ fill: #555; }}
.target {{ font-weight: 600; font-size: 13px; }}
</style></head><body>
<h1>{title}</h1><p>{len(plan.steps)} steps; hover a node for its SQL.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"
 viewBox="0 0 {width} {height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>
{chr(10).join(parts)}
</svg></body></html>
"""


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
