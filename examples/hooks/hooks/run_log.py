"""Lifecycle hooks of this project: sqlflowc imports every module in `hooks/` when a run starts
and calls the functions below by name.

- `on_run_start`: remember where to write, and start a fresh log for this run;
- `on_step_end`: one JSON line per step that ran, in `target/run_log.jsonl`;
- `on_step_failure`: a line on stderr naming the failed step and where it is;
- `on_run_end`: a one-line summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlflowc.runtime.hooks import RunRecord, StepRecord

_log: Path | None = None


def on_run_start(run: RunRecord) -> None:
    global _log
    _log = Path(run.project_dir) / "target" / "run_log.jsonl"
    _log.parent.mkdir(parents=True, exist_ok=True)
    _log.write_text("", encoding="utf-8")


def on_step_end(step: StepRecord) -> None:
    assert _log is not None
    entry = {
        "run_id": step.run_id,
        "step": step.id,
        "op": step.step.kind,
        "target": step.target,
        "state": step.state.value,
        "rows": step.rows,
        "ms": round(step.duration_ms or 0.0, 1),
    }
    with _log.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def on_step_failure(step: StepRecord) -> None:
    print(f"hook: step {step.id} failed at {step.step.location}: {step.error}", file=sys.stderr)


def on_run_end(run: RunRecord) -> None:
    assert run.result is not None
    status = "succeeded" if run.ok else "failed"
    print(f"hook: run {run.run_id} of {run.pipeline} {status}: {run.result.summary()}")
