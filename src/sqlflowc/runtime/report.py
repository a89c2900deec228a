"""What a run reports: its results and progress events, one terminal line per event, and its
failures (and warnings, such as a lifecycle hook that raised) as diagnostics anchored in the
pipeline's source, or in the hook's.

A failed step is reported like a compile error: `file:line:col`, the source line and a caret,
then a note with the attempt that failed (`attempt 3 of 3`) and the SQL that ran.
When DuckDB's message points into the SQL (its `LINE 1: ...` excerpt with `^^^`), the caret is
moved onto the same text in the `.sf` file when that text occurs there exactly once; otherwise it
underlines the whole statement.
"""

from __future__ import annotations

import enum
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from sqlflowc.backend.plan import Location, Plan, Step, step_target
from sqlflowc.diagnostics import Code, Diagnostic, Severity
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.source import SourceMap, Span

if TYPE_CHECKING:
    from sqlflowc.runtime.load_modes import LoadCounts

__all__ = [
    "EventKind",
    "Failure",
    "RunEvent",
    "RunResult",
    "RunWarning",
    "StepOutcome",
    "StepStatus",
    "failure_diagnostics",
    "format_event",
    "warning_diagnostics",
]

_EXCERPT = re.compile(r"\n\s*\nLINE \d+: (?P<line>[^\n]*)\n(?P<marks>[ ]*\^+)[^\n]*", re.MULTILINE)


class EventKind(enum.Enum):
    STARTED = "started"
    RETRYING = "retrying"  # a transient failure; `message` says which attempt comes when
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped by a signal and rolled back
    SKIPPED = "skipped"


class StepStatus(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped by Ctrl-C or SIGTERM while it ran; rolled back
    SKIPPED = "skipped"
    DONE_EARLIER = "done earlier"  # a resumed run: it succeeded in the run resumed


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvent:
    """Progress of one step. `message` is the error (failed) or the reason (skipped).

    `rows` is the row count DuckDB reported for the step's last statement that reports one
    (CTAS, INSERT, UPDATE, DELETE, COPY); `statement_rows` has one entry per statement.
    """

    kind: EventKind
    step: Step
    duration_ms: float | None = None
    rows: int | None = None
    statement_rows: tuple[int | None, ...] = ()
    message: str = ""
    load: LoadCounts | None = None  # what a load step did (inserted, updated, ...)

    @property
    def step_id(self) -> str:
        return self.step.id


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOutcome:
    """How one step ended, and what it did (or what went wrong)."""

    step_id: str
    status: StepStatus
    duration_ms: float = 0.0
    rows: int | None = None
    statement_rows: tuple[int | None, ...] = ()
    message: str = ""
    code: Code | None = None  # of a failure, when more precise than the step kind's
    help: str = ""  # of a failure: what to change
    notes: tuple[str, ...] = ()  # of a failure: details, one line each
    load: LoadCounts | None = None
    sql: str = ""  # of a failure: the statement that failed (secrets masked), else the step's
    attempt: int = 1  # of a failure: the attempt that ended it (1-based) ...
    max_attempts: int = 1  # ... of how many its retries allow


def step_outcome(
    step_id: str,
    started: float,
    mask: Callable[[str], str],
    error: str | None,
    *,
    code: Code | None = None,
    help: str = "",
    notes: tuple[str, ...] = (),
    sql: str = "",
    max_attempts: int = 1,
    rows: int | None = None,
    statement_rows: tuple[int | None, ...] = (),
    load: LoadCounts | None = None,
) -> StepOutcome:
    """How a step begun at `started` (`time.perf_counter()`) ended, as every engine reports it:
    FAILED with `error` and its code, help, notes and statement (secrets masked by `mask`), or
    OK with its rows."""
    elapsed = (time.perf_counter() - started) * 1000
    if error is not None:
        return StepOutcome(
            step_id=step_id,
            status=StepStatus.FAILED,
            duration_ms=elapsed,
            message=mask(error),
            code=code,
            help=mask(help),
            notes=notes,
            sql=mask(sql),
            max_attempts=max_attempts,
        )
    return StepOutcome(
        step_id=step_id,
        status=StepStatus.OK,
        duration_ms=elapsed,
        rows=rows,
        statement_rows=statement_rows,
        load=load,
    )


def os_error_text(err: OSError) -> str:
    """An OSError as a step's failure says it: `No such file or directory (out/t.csv)`."""
    return f"{err.strerror or err} ({err.filename})" if err.filename else str(err)


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A run-time failure: of a step (with its statement's location, the SQL that ran and the
    attempt that failed: `attempt` of `max_attempts`), or of the database."""

    step_id: str | None
    message: str
    location: Location | None
    code: Code = Code.STEP_FAILED
    help: str = ""
    notes: tuple[str, ...] = ()
    sql: str = ""
    attempt: int = 1
    max_attempts: int = 1

    @property
    def attempts_text(self) -> str:
        """`attempt 3 of 3`."""
        return f"attempt {self.attempt} of {self.max_attempts}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunWarning:
    """Something went wrong beside the steps without failing the run (a lifecycle hook that
    could not be loaded or raised: `location` is the Python line it points at; a schema that
    drifted: the statement that loaded or wrote it); `notes` are details, one line each."""

    code: Code
    message: str
    location: Location | None = None
    label: str = ""
    help: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What a run did. `run_id` is sortable (UTC time, then a short random part);
    `interrupted` names the signal that stopped the run (`SIGINT`, `SIGTERM`), if one did."""

    database: str
    outcomes: tuple[StepOutcome, ...]
    failures: tuple[Failure, ...]
    duration_ms: float
    run_id: str = ""
    warnings: tuple[RunWarning, ...] = ()
    interrupted: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.interrupted is None

    def outcome(self, step_id: str) -> StepOutcome:
        for o in self.outcomes:
            if o.step_id == step_id:
                return o
        raise KeyError(step_id)

    def count(self, status: StepStatus) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    def summary(self) -> str:
        """`3 ok, 1 failed, 2 skipped in 45 ms`."""
        parts = [f"{self.count(StepStatus.OK)} ok"]
        statuses = (
            StepStatus.FAILED,
            StepStatus.INTERRUPTED,
            StepStatus.SKIPPED,
            StepStatus.DONE_EARLIER,
        )
        for status in statuses:
            if self.count(status):
                parts.append(f"{self.count(status)} {status.value}")
        if self.failures and not self.outcomes:
            parts.append("nothing ran")
        return f"{', '.join(parts)} in {_duration(self.duration_ms)}"


def failure_diagnostics(result: RunResult, plan: Plan, sources: SourceMap) -> list[Diagnostic]:
    """One diagnostic per failure, with source text registered in `sources` as needed."""
    return [_diagnostic(f, plan, sources) for f in result.failures]


def warning_diagnostics(result: RunResult, plan: Plan, sources: SourceMap) -> list[Diagnostic]:
    """One warning diagnostic per `RunWarning`, at its place when it has one."""
    out: list[Diagnostic] = []
    for w in result.warnings:
        span = _statement_span(w.location, plan, sources) if w.location is not None else None
        label = w.label if span is not None else ""
        out.append(
            Diagnostic(
                w.code, w.message, span, Severity.WARNING, label=label, help=w.help, notes=w.notes
            )
        )
    return out


def _diagnostic(failure: Failure, plan: Plan, sources: SourceMap) -> Diagnostic:
    full, snippet = _split_excerpt(failure.message)
    # DuckDB adds detail on further lines ("Candidate bindings: ..."): those become notes.
    message, *rest = [line.strip() for line in full.splitlines() if line.strip()] or [""]
    notes = (*rest, *failure.notes)
    if failure.step_id:
        notes = (*notes, _failure_note(failure))
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


def _failure_note(failure: Failure) -> str:
    """`attempt 3 of 3; the SQL that ran:` and the statement below it, indented."""
    lines = [line.rstrip() for line in failure.sql.strip().splitlines() if line.strip()]
    if not lines:
        return failure.attempts_text
    sql = "\n".join(f"      {line}" for line in lines)
    return f"{failure.attempts_text}; the SQL that ran:\n{sql}"


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


# -- terminal lines --------------------------------------------------------------------------------


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


_SYMBOLS = {
    False: {
        EventKind.STARTED: "▸",
        EventKind.RETRYING: "↻",
        EventKind.FINISHED: "✓",
        EventKind.FAILED: "✗",
        EventKind.INTERRUPTED: "!",
        EventKind.SKIPPED: "-",
    },
    True: {
        EventKind.STARTED: ">",
        EventKind.RETRYING: "~",
        EventKind.FINISHED: "+",
        EventKind.FAILED: "x",
        EventKind.INTERRUPTED: "!",
        EventKind.SKIPPED: "-",
    },
}


def _stdout_is_ascii() -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "▸✓✗→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return True
    return False


def format_event(event: RunEvent, *, ascii_only: bool | None = None) -> str:
    """One terminal line: `  ✓ load_users  12 ms  1,000 rows` (ASCII symbols when stdout
    cannot show the Unicode ones, or when `ascii_only=True`)."""
    plain = _stdout_is_ascii() if ascii_only is None else ascii_only
    head = f"  {_SYMBOLS[plain][event.kind]} {event.step_id}"
    match event.kind:
        case EventKind.STARTED:
            arrow = "->" if plain else "→"
            written = step_target(event.step)
            target = f" {arrow} {written}" if written else ""
            return f"{head}  [{event.step.kind}{target}]"
        case EventKind.FINISHED:
            line = f"{head}  {_duration(event.duration_ms or 0.0)}"
            if event.rows is not None:
                line += f"  {event.rows:,} row{'s' if event.rows != 1 else ''}"
            if event.load is not None:
                line += f" ({event.load})"
            return line
        case EventKind.FAILED:
            first = event.message.strip().splitlines()[0] if event.message.strip() else "failed"
            return f"{head}  {_duration(event.duration_ms or 0.0)}  failed: {first}"
        case EventKind.INTERRUPTED:
            return f"{head}  {_duration(event.duration_ms or 0.0)}  {event.message}"
        case EventKind.SKIPPED:
            return f"{head}  skipped: {event.message}"
        case EventKind.RETRYING:
            return f"{head}  {event.message}"
        case _:
            assert_never(event.kind)
