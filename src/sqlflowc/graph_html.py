"""`sqlflowc graph --format html`: a self-contained page drawing a plan's steps and dependencies.

- No external resource: inline CSS and SVG, no script, no font or stylesheet from elsewhere.
- Layout: `graph_layout.layered_layout` (layers, crossing reduction, coordinates, routes).
- Each box shows the step's kind (with a load mode other than REPLACE, `temporary` for the
  generated table of a table UDF, and the INCLUDE alias) above its target, in a monospace font
  whose advance is 0.6 em in every common monospace face, so a box's width is computed from its
  text and the text always fits. A target longer than `MAX_CHARS` is cut in the middle with `…`;
  hovering a box shows the step id, its place in the `.sf` file, the full target and its SQL.
- A legend lists the kinds of step the plan has, with their colours.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from sqlflowc.backend.plan import (
    CreateTable,
    Load,
    Plan,
    Replace,
    Step,
    TableUdf,
    step_statements,
    step_target,
)
from sqlflowc.graph_layout import Layout, Route, layered_layout
from sqlflowc.html_page import DAG_CSS, KIND_SIZE, MONO, TARGET_SIZE, page

__all__ = ["KINDS", "box_width", "dag_svg", "to_html"]

# Kind → (fill colour, what the legend says).
KINDS: dict[str, tuple[str, str]] = {
    "load": ("#d7ecff", "LOAD: a source into a table"),
    "create_table": ("#dff5df", "CREATE TABLE ... AS"),
    "create_view": ("#eef7e0", "CREATE VIEW"),
    "table_udf": ("#f3e5f5", "Python table UDF"),
    "sql": ("#eeeeee", "other SQL statement"),
    "export": ("#ffe9cc", "EXPORT to a file"),
}

CHAR = 0.6  # advance of a monospace character, in em
PAD_X, MIN_W = 14, 96
MAX_CHARS = 44
BOX_H = 46


def box_width(kind_line: str, target: str) -> float:
    """The width a box needs for its two lines of text, with padding."""
    text = max(len(kind_line) * KIND_SIZE, len(target) * TARGET_SIZE) * CHAR
    return max(MIN_W, round(text + 2 * PAD_X))


def _cut(text: str, limit: int = MAX_CHARS) -> str:
    """`text` in at most `limit` characters, the middle replaced by `…` (both ends say most)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def _lines(step: Step) -> tuple[str, str]:
    """The box's two lines: the kind (with a load's mode other than REPLACE, `temporary` for a
    table UDF's generated table, and the INCLUDE alias) and the target."""
    tags = [step.kind]
    match step:
        case Load() | CreateTable() if not isinstance(step.mode, Replace):
            tags.append(step.mode.kind)
        case TableUdf() if step.temporary:
            tags.append("temporary")
        case _:
            pass
    if step.label:
        tags.append(step.label)
    return _cut(" · ".join(tags)), _cut(step_target(step) or step.id)


def dag_svg(plan: Plan, states: Mapping[str, str] | None = None) -> str:
    """The plan's graph as an SVG element, as the page draws it; with `states` (step id →
    state), each box's group also has the class `state-<state>` (for a run report)."""
    lines = {step.id: _lines(step) for step in plan.steps}
    return _svg(plan.steps, lines, _layout(plan, lines), states or {})


def _layout(plan: Plan, lines: Mapping[str, tuple[str, str]]) -> Layout:
    widths = {sid: box_width(*text) for sid, text in lines.items()}
    edges = [(dep, step.id) for step in plan.steps for dep in step.depends_on]
    return layered_layout(
        [step.id for step in plan.steps], widths, edges, height=BOX_H, gap_x=28, gap_y=52
    )


def to_html(plan: Plan) -> str:
    """The page (see the module docstring)."""
    lines = {step.id: _lines(step) for step in plan.steps}
    edges = [(dep, step.id) for step in plan.steps for dep in step.depends_on]
    layout = _layout(plan, lines)
    title = html.escape(plan.pipeline)
    n = len(plan.steps)
    kinds = [k for k in KINDS if any(step.kind == k for step in plan.steps)]
    legend = "\n".join(
        f'<li><span class="swatch" style="background:{KINDS[k][0]}"></span>'
        f"<b>{k}</b> {html.escape(KINDS[k][1])}</li>"
        for k in kinds
    )
    svg = _svg(plan.steps, lines, layout, {})
    deps = f"{len(edges)} dependenc{'ies' if len(edges) != 1 else 'y'}"
    body = f"""
<h1>{title}</h1>
<p class="summary">{n} step{"s" * (n != 1)}, {deps}; hover a step for its SQL.</p>
<ul class="legend">
{legend}
</ul>
<div class="canvas">
{svg}
</div>
"""
    return page(f"{plan.pipeline} — sqlflowc graph", _CSS, body)


_CSS = f"""
p.summary {{ margin: 0 0 12px; color: #555; font-size: 14px; }}
ul.legend {{ list-style: none; padding: 0; margin: 0 0 16px; display: flex; flex-wrap: wrap;
  gap: 8px 20px; font-size: 13px; color: #444; }}
ul.legend b {{ font-family: {MONO}; font-weight: 600; }}
.swatch {{ display: inline-block; width: 14px; height: 14px; border: 1px solid #666;
  border-radius: 3px; }}
{DAG_CSS}
.node:hover rect {{ stroke: #111; stroke-width: 2; }}
"""


def _svg(
    steps: Sequence[Step],
    lines: Mapping[str, tuple[str, str]],
    layout: Layout,
    states: Mapping[str, str],
) -> str:
    width, height = round(layout.width), round(layout.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="dependency graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8a8a8a"/>'
        "</marker></defs>",
    ]
    parts.extend(
        f'<path class="edge" d="{_path(route)}" marker-end="url(#arrow)"/>'
        for route in layout.routes
    )
    for step in steps:
        box = layout.boxes[step.id]
        kind, target = lines[step.id]
        full = step_target(step) or step.id
        tip = html.escape(
            f"{step.id} ({step.location})\n{full}\n\n" + "\n\n".join(step_statements(step))
        )
        fill = KINDS.get(step.kind, ("#eeeeee", ""))[0]
        cx = round(box.center, 1)
        state = states.get(step.id)
        css = f"node state-{html.escape(state)}" if state else "node"
        parts.append(
            f'<g class="{css}" data-step="{html.escape(step.id)}"><title>{tip}</title>'
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
            f'rx="7" fill="{fill}"/>'
            f'<text class="kind" x="{cx}" y="{box.y + 18:.1f}">{html.escape(kind)}</text>'
            f'<text class="target" x="{cx}" y="{box.y + 36:.1f}">{html.escape(target)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _path(route: Route) -> str:
    """Curves between layers (vertical tangents), straight lines through a dummy's layer."""
    (x, y), *rest = route.points
    out = [f"M{x:.1f},{y:.1f}"]
    for i, (nx, ny) in enumerate(rest):
        if i % 2 == 1 and i < len(rest) - 1:  # top → bottom of a dummy: a straight line
            out.append(f"L{nx:.1f},{ny:.1f}")
        else:
            mid = (y + ny) / 2
            out.append(f"C{x:.1f},{mid:.1f} {nx:.1f},{mid:.1f} {nx:.1f},{ny:.1f}")
        x, y = nx, ny
    return " ".join(out)
