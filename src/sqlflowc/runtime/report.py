"""Turn run-time failures into diagnostics anchored in the pipeline's source.

A failed step is reported like a compile error: `file:line:col`, the source line and a caret.
When DuckDB's message points into the SQL (its `LINE 1: ...` excerpt with `^^^`), the caret is
moved onto the same text in the `.sf` file when that text occurs there exactly once; otherwise it
underlines the whole statement.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlflowc.backend.plan import Location, Plan
from sqlflowc.diagnostics import Diagnostic
from sqlflowc.runtime.executor import Failure, RunResult
from sqlflowc.source import SourceMap, Span

_EXCERPT = re.compile(r"\n\s*\nLINE \d+: (?P<line>[^\n]*)\n(?P<marks>[ ]*\^+)[^\n]*", re.MULTILINE)


def failure_diagnostics(result: RunResult, plan: Plan, sources: SourceMap) -> list[Diagnostic]:
    """One diagnostic per failure, with source text registered in `sources` as needed."""
    return [_diagnostic(f, plan, sources) for f in result.failures]


def _diagnostic(failure: Failure, plan: Plan, sources: SourceMap) -> Diagnostic:
    full, snippet = _split_excerpt(failure.message)
    # DuckDB adds detail on further lines ("Candidate bindings: ..."): those become notes.
    message, *rest = [line.strip() for line in full.splitlines() if line.strip()] or [""]
    notes = tuple(rest)
    prefix = f"step `{failure.step_id}` failed: " if failure.step_id else ""
    loc = failure.location
    span = _statement_span(loc, plan, sources) if loc is not None else None
    if span is None:
        suffix = f" (at {loc})" if loc is not None else ""
        return Diagnostic(failure.code, prefix + message + suffix, help=failure.help, notes=notes)
    label = "this statement failed"
    if snippet:
        text = sources.text(span)
        at = text.find(snippet)
        if at >= 0 and text.find(snippet, at + 1) < 0:
            span = Span(span.file_id, span.start + at, span.start + at + len(snippet))
            label = "DuckDB reports the error here"
    return Diagnostic(
        failure.code, prefix + message, span, label=label, help=failure.help, notes=notes
    )


def _split_excerpt(message: str) -> tuple[str, str]:
    """DuckDB's message without its `LINE n:` excerpt, and the excerpt's underlined text."""
    match = _EXCERPT.search(message)
    if match is None:
        return message.strip(), ""
    marks = match.group("marks")
    column = len(marks) - len(marks.lstrip(" "))  # the carets line up with "LINE n: <sql>"
    shown = match.group(0).split("\n")[-2]
    snippet = shown[column : column + len(marks.strip())].strip()
    cleaned = (message[: match.start()] + message[match.end() :]).strip()
    return cleaned, snippet if len(snippet) >= 3 else ""


def _statement_span(loc: Location, plan: Plan, sources: SourceMap) -> Span | None:
    file = Path(loc.file)
    if not file.is_absolute():
        file = Path(plan.project_dir) / file
    try:
        text = file.read_text(encoding="utf-8")
    except OSError:
        return None
    file_id = sources.add(os.path.relpath(file), text)
    src = sources[file_id]
    start = src.offset(loc.line, loc.column)
    end = src.offset(loc.end_line, loc.end_column)
    return Span(file_id, start, max(end, start + 1))
