"""Readable views of run records for `sqlflowc runs` and `sqlflowc status`.

`runs_table(runs)` lists runs one a line, newest first; `status_text(run)` shows one run, step by
step: state, attempts, duration, rows and what a load did, and the error or skip reason, then
each failed step in full (its statement's `file:line:col`, the attempt, the engine's message
and the SQL that ran). Times are UTC, as recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlflowc.runtime.run_records import RunInfo, StepInfo
from sqlflowc.text_table import format_table

__all__ = ["duration", "runs_table", "status_text", "when"]


def duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.2f} s"
    return f"{int(ms // 60_000)} min {ms % 60_000 / 1000:.0f} s"


def when(at: str | None) -> str:
    """`2026-01-06 04:05:53` from the recorded ISO time (UTC)."""
    return at[:19].replace("T", " ") if at else "-"


def runs_table(runs: Sequence[RunInfo]) -> list[str]:
    """One line per run: id, pipeline, status, start, duration, steps ok/failed/skipped."""
    rows = [
        (
            r.run_id,
            r.pipeline,
            r.status,
            when(r.started_at),
            duration(r.elapsed_ms()),
            str(r.count("succeeded")),
            str(r.count("failed")),
            str(r.count("skipped")),
        )
        for r in runs
    ]
    head = ("RUN", "PIPELINE", "STATUS", "STARTED (UTC)", "DURATION", "OK", "FAILED", "SKIPPED")
    return format_table(head, rows, right={4, 5, 6, 7})


def status_text(run: RunInfo) -> str:
    """One run, step by step."""
    lines = [f"run {run.run_id}: {run.pipeline} {run.status}"]
    facts = [f"started {when(run.started_at)} UTC", f"took {duration(run.elapsed_ms())}"]
    if run.status == "running":
        facts[1] = f"running for {duration(run.elapsed_ms())}"
    if run.profile:
        facts.append(f"profile {run.profile}")
    facts.append(f"plan {run.fingerprint}")
    if run.peak_memory_bytes:
        facts.append(f"peak memory {run.peak_memory_bytes / 2**20:.0f} MiB")
    lines.append("  " + ", ".join(facts))
    lines.append(f"  database {run.database}")
    if run.variables:
        shown = ", ".join(f"{k}={v}" for k, v in run.variables.items())
        lines.append(f"  variables {shown}")
    if run.resumed_from:
        lines.append(f"  resumes run {run.resumed_from}")
    if run.status == "interrupted":
        lines.append(
            "  its process is gone: steps it was running did not finish "
            f"(resume with: sqlflowc run {run.pipeline} --resume {run.run_id})"
        )
    table = format_table(
        ("STEP", "STATE", "TRIES", "DURATION", "ROWS", "DETAIL"),
        [_step_row(s) for s in run.steps],
        right={2, 3, 4},
    )
    lines.extend("  " + line for line in table)
    counts = [f"{run.count(s)} {s}" for s in ("succeeded", "failed", "skipped") if run.count(s)]
    rest = [f"{run.count(s)} {s}" for s in ("interrupted", "running", "pending") if run.count(s)]
    lines.append("  " + ", ".join([*counts, *rest]) if counts or rest else "  no steps")
    for step in run.steps:
        if step.state == "failed":
            lines.extend(_failure_lines(step))
    return "\n".join(lines) + "\n"


def _failure_lines(step: StepInfo) -> list[str]:
    """A failed step in full: where, which attempt, the engine's message, the SQL that ran."""
    where = f" at {step.location}" if step.location else ""
    tries = f" (attempt {step.attempts} of {step.max_attempts})" if step.max_attempts else ""
    out = [f"  step {step.id} failed{where}{tries}:"]
    out.extend(f"    {line}" for line in (step.error or "").strip().splitlines() if line.strip())
    if step.sql:
        out.append("    the SQL that ran:")
        out.extend(
            f"      {line.rstrip()}" for line in step.sql.strip().splitlines() if line.strip()
        )
    return out


def _step_row(step: StepInfo) -> tuple[str, ...]:
    detail = ""
    if step.reused_from:
        detail = f"done in run {step.reused_from}"
    elif step.state == "failed":
        first = (step.error or "").strip().splitlines()
        detail = f"{step.code + ': ' if step.code else ''}{first[0] if first else ''}"
    elif step.state == "skipped":
        detail = step.reason or ""
    else:
        parts = []
        if step.inserted is not None:
            parts.append(f"inserted {step.inserted:,}")
        if step.updated is not None:
            parts.append(f"updated {step.updated:,}")
        if step.bytes is not None:
            parts.append(f"{step.bytes:,} bytes")
        detail = ", ".join(parts)
    return (
        step.id,
        step.state,
        str(step.attempts) if step.attempts else "-",
        duration(step.duration_ms),
        f"{step.rows:,}" if step.rows is not None else "-",
        detail[:100],
    )
