"""`sqlflowc report [RUN_ID] -o report.html`: one self-contained page about a recorded run.

- No external resource: inline CSS and SVG, no script to run; the run's record is inlined as
  JSON (`<script type="application/json" id="run-record">`) for tools that read the page.
- The DAG: the plan the run ran (its `.plan.json` beside the record), drawn as
  `sqlflowc graph --format html` draws it (`graph_html.dag_svg`), each box outlined in the
  colour of the step's state.
- A timeline: one lane per step, a bar from its start to its end on a common time axis, so the
  steps that ran at the same time overlap; the most steps running at once is stated above it.
- A table: per step its state, attempts, duration, rows in and out, what a load did, bytes
  written, and the error (whole) or why it was skipped.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlflowc.html_page import DAG_CSS, MONO, page
from sqlflowc.run_views import duration, when

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan
    from sqlflowc.runtime.run_records import RunInfo, StepInfo

__all__ = ["STATE_COLOURS", "report_html"]

STATE_COLOURS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "skipped": "#9e9e9e",
    "interrupted": "#ef6c00",
    "running": "#1565c0",
    "pending": "#bdbdbd",
}
_LANE, _BAR, _LABEL_W, _AXIS_W = 24, 16, 260, 720


def report_html(run: RunInfo, plan: Plan | None) -> str:
    """The page (see the module docstring); without the plan, no DAG."""
    from sqlflowc.graph_html import dag_svg

    title = html.escape(f"{run.pipeline} — run {run.run_id}")
    status = html.escape(run.status)
    facts = [
        f"started {when(run.started_at)} UTC",
        f"took {duration(run.elapsed_ms())}",
        *([f"profile {html.escape(run.profile)}"] if run.profile else []),
        f"plan {html.escape(run.fingerprint)}",
    ]
    if run.peak_memory_bytes:
        facts.append(f"peak memory {run.peak_memory_bytes / 2**20:.0f} MiB")
    if run.resumed_from:
        facts.append(f"resumes run {html.escape(run.resumed_from)}")
    counts = " ".join(
        f'<span class="pill {s}">{run.count(s)} {s}</span>' for s in STATE_COLOURS if run.count(s)
    )
    dag = (
        dag_svg(plan, {s.id: s.state for s in run.steps})
        if plan is not None
        else "<p>(the plan of this run is not recorded)</p>"
    )
    record = json.dumps(run.to_json(), ensure_ascii=True).replace("</", "<\\/")
    legend = "".join(
        f'<li><span class="swatch" style="border-color:{c}"></span>{s}</li>'
        for s, c in STATE_COLOURS.items()
    )
    state_css = "\n".join(
        f".state-{s} rect {{ stroke: {c}; stroke-width: 3; }}\n"
        f".bar.{s} {{ fill: {c}; }}\n.pill.{s} {{ background: {c}; }}"
        for s, c in STATE_COLOURS.items()
    )
    body = f"""
<h1>{title}</h1>
<p class="facts"><span class="status {status}">{status}</span> · {" · ".join(facts)}</p>
<p class="facts">{counts}</p>
<h2>Steps and dependencies</h2>
<ul class="legend">{legend}</ul>
<div class="canvas">
{dag}
</div>
<h2>Timeline</h2>
{_timeline(run)}
<h2>Step by step</h2>
{_table(run)}
<script type="application/json" id="run-record">{record}</script>
"""
    return page(f"{run.pipeline} — run {run.run_id} — sqlflowc report", _CSS + state_css, body)


_CSS = f"""
h2 {{ font-size: 16px; margin: 24px 0 8px; }}
p.facts {{ margin: 0 0 8px; color: #555; font-size: 14px; }}
.status {{ font-weight: 700; text-transform: uppercase; }}
.status.succeeded {{ color: #2e7d32; }} .status.failed {{ color: #c62828; }}
.status.interrupted {{ color: #ef6c00; }} .status.running {{ color: #1565c0; }}
.pill {{ color: #fff; border-radius: 10px; padding: 1px 8px; font-size: 12px; margin-right: 4px; }}
ul.legend {{ list-style: none; padding: 0; margin: 0 0 8px; display: flex; gap: 16px;
  font-size: 13px; color: #444; }}
.swatch {{ display: inline-block; width: 12px; height: 12px; border: 3px solid;
  border-radius: 3px; }}
{DAG_CSS}
.lane text {{ font-family: {MONO}; font-size: 12px; fill: #222; }}
.lane .note {{ fill: #555; }}
.axis {{ stroke: #ccc; }} .tick {{ font-size: 11px; fill: #777; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ text-align: left; padding: 4px 10px; border-bottom: 1px solid #eee;
  vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td code, pre {{ font-family: {MONO}; font-size: 12px; }}
pre {{ margin: 0; white-space: pre-wrap; max-width: 720px; color: #b71c1c; }}
"""


def _at(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _timeline(run: RunInfo) -> str:
    start = _at(run.started_at) or 0.0
    spans: list[tuple[StepInfo, float, float]] = []
    for step in run.steps:
        begin, end = _at(step.started_at), _at(step.finished_at)
        if begin is not None:
            spans.append((step, begin - start, (end if end is not None else begin) - start))
    if not spans:
        return "<p>No step ran in this run.</p>"
    total = max(max(e for _, _, e in spans), (run.elapsed_ms() or 0) / 1000, 1e-3)
    scale = _AXIS_W / total
    height = _LANE * len(spans) + 28
    width = _LABEL_W + _AXIS_W + 150
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline">'
    ]
    for i in range(5):
        x = _LABEL_W + _AXIS_W * i / 4
        parts.append(f'<line class="axis" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 16}"/>')
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{height - 3}" text-anchor="middle">'
            f"{duration(total * 1000 * i / 4)}</text>"
        )
    for i, (step, begin, end) in enumerate(spans):
        y = i * _LANE + 4
        x = _LABEL_W + begin * scale
        w = max((end - begin) * scale, 2.0)
        note = duration(step.duration_ms) if step.duration_ms is not None else step.state
        if step.rows is not None:
            note += f" · {step.rows:,} rows"
        tip = html.escape(f"{step.id}: {step.state}, {note}")
        parts.append(
            f'<g class="lane" data-step="{html.escape(step.id)}"><title>{tip}</title>'
            f'<text x="4" y="{y + 13}">{html.escape(_cut(step.id, 32))}</text>'
            f'<rect class="bar {step.state}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
            f'height="{_BAR}" rx="3"/>'
            f'<text class="note" x="{x + w + 6:.1f}" y="{y + 13}">{html.escape(note)}</text></g>'
        )
    parts.append("</svg>")
    most = _most_at_once([(b, e) for _, b, e in spans])
    shown = f"{most} step{'s' * (most != 1)}"
    return (
        f'<p class="facts">{len(spans)} steps ran; at most {shown} at once.</p>\n'
        f'<div class="canvas">{"".join(parts)}</div>'
    )


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans overlapping at one moment (touching ends do not overlap)."""
    events = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: x)
    running = most = 0
    for _, delta in events:
        running += delta
        most = max(most, running)
    return most


def _table(run: RunInfo) -> str:
    head = (
        "<tr><th>Step</th><th>Kind</th><th>State</th><th>Tries</th><th>Duration</th>"
        "<th>Rows in</th><th>Rows out</th><th>Load</th><th>Bytes</th><th>Error / note</th></tr>"
    )
    rows = []
    for s in run.steps:
        load = ", ".join(
            f"{name} {value:,}"
            for name, value in (("inserted", s.inserted), ("updated", s.updated))
            if value is not None
        )
        if s.error:
            note = f"<pre>{html.escape((s.code + ': ' if s.code else '') + s.error)}</pre>"
        elif s.reused_from:
            note = f"done in run {html.escape(s.reused_from)}"
        else:
            note = html.escape(s.reason or "")
        rows.append(
            f'<tr data-step="{html.escape(s.id)}"><td><code>{html.escape(s.id)}</code></td>'
            f"<td>{html.escape(s.kind)}</td>"
            f'<td><span class="pill {s.state}">{s.state}</span></td>'
            f'<td class="num">{s.attempts or "-"}</td>'
            f'<td class="num">{duration(s.duration_ms)}</td>'
            f'<td class="num">{_n(s.rows_in)}</td><td class="num">{_n(s.rows)}</td>'
            f'<td>{load}</td><td class="num">{_n(s.bytes)}</td><td>{note}</td></tr>'
        )
    return f"<table>\n{head}\n" + "\n".join(rows) + "\n</table>"


def _n(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
