"""A run's metrics for monitoring tools: `metrics_text(run, fmt)` from a run record.

Two formats, chosen by the file's suffix (`format_for(path)`):
- `prom`: the Prometheus text exposition format (version 0.0.4), one gauge family per metric,
  `# HELP` and `# TYPE` first, labels `pipeline` (and `step`), so node_exporter's textfile
  collector can serve it: the file always holds the latest run of each pipeline written there.
  The run's id and status are the labels of `sqlflowc_run_info`.
- `jsonl`: JSON lines, one for the run (`"type": "run"`) then one per step (`"type": "step"`).

Per run: wall time, start time, peak memory, success, steps per state. Per step: duration,
rows in (what a load or export read) and out (what it wrote), bytes written (a local export's
file), retries; only the metrics a step has (a skipped step has no duration).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlflowc.runtime.run_records import STATES, RunInfo, StepInfo

__all__ = ["FORMATS", "format_for", "metrics_text"]

FORMATS = {".prom": "prom", ".jsonl": "jsonl"}

# name → (help, the value of a run or step, or None when it has none)
_RUN_METRICS: tuple[tuple[str, str], ...] = (
    ("sqlflowc_run_duration_seconds", "Wall time of the pipeline's latest run."),
    ("sqlflowc_run_start_time_seconds", "When the latest run started (Unix time)."),
    ("sqlflowc_run_peak_memory_bytes", "Peak resident memory of the process of the latest run."),
    ("sqlflowc_run_success", "1 when the latest run succeeded, else 0."),
)
_STEP_METRICS: tuple[tuple[str, str], ...] = (
    ("sqlflowc_step_duration_seconds", "Duration of the step in the latest run."),
    ("sqlflowc_step_rows_in", "Rows the step read from its source (loads and exports)."),
    ("sqlflowc_step_rows_out", "Rows the step wrote."),
    ("sqlflowc_step_bytes_written", "Bytes of the file an export wrote."),
    ("sqlflowc_step_retries", "Retries of the step after transient failures."),
)


def format_for(path: Path) -> str | None:
    """`prom` or `jsonl` from the file's suffix; None for any other."""
    return FORMATS.get(path.suffix.lower())


def metrics_text(run: RunInfo, fmt: str) -> str:
    """The run's metrics as `prom` or `jsonl` text (see the module docstring)."""
    if fmt == "jsonl":
        return "".join(json.dumps(line) + "\n" for line in _json_lines(run))
    if fmt == "prom":
        return _prometheus(run)
    raise ValueError(f"unknown metrics format {fmt!r}")


def _run_values(run: RunInfo) -> dict[str, float | None]:
    wall = run.elapsed_ms()
    return {
        "sqlflowc_run_duration_seconds": wall / 1000 if wall is not None else None,
        "sqlflowc_run_start_time_seconds": _unix(run.started_at),
        "sqlflowc_run_peak_memory_bytes": run.peak_memory_bytes,
        "sqlflowc_run_success": 1.0 if run.status == "succeeded" else 0.0,
    }


def _step_values(step: StepInfo) -> dict[str, float | None]:
    ran = step.state in ("succeeded", "failed") and not step.reused_from
    return {
        "sqlflowc_step_duration_seconds": step.duration_ms / 1000
        if step.duration_ms is not None and ran
        else None,
        "sqlflowc_step_rows_in": step.rows_in if ran else None,
        "sqlflowc_step_rows_out": step.rows if ran else None,
        "sqlflowc_step_bytes_written": step.bytes if ran else None,
        "sqlflowc_step_retries": step.retries if ran else None,
    }


def _prometheus(run: RunInfo) -> str:
    pipeline = {"pipeline": run.pipeline}
    out: list[str] = []

    def family(
        name: str, help: str, samples: Iterable[tuple[dict[str, str], float | None]]
    ) -> None:
        shown = [(labels, value) for labels, value in samples if value is not None]
        if not shown:
            return
        out.append(f"# HELP {name} {help}")
        out.append(f"# TYPE {name} gauge")
        out.extend(f"{name}{_labels(labels)} {_number(value)}" for labels, value in shown)

    values = _run_values(run)
    for name, help in _RUN_METRICS:
        family(name, help, [(pipeline, values[name])])
    family(
        "sqlflowc_run_steps",
        "Steps of the latest run, by state.",
        [({**pipeline, "state": state}, float(run.count(state))) for state in STATES],
    )
    family(
        "sqlflowc_run_info",
        "The latest run: its id and status (value 1).",
        [({**pipeline, "run_id": run.run_id, "status": run.status}, 1.0)],
    )
    steps = [(step, _step_values(step)) for step in run.steps]
    for name, help in _STEP_METRICS:
        family(name, help, [({**pipeline, "step": s.id}, v[name]) for s, v in steps])
    return "\n".join(out) + "\n"


def _json_lines(run: RunInfo) -> list[dict[str, Any]]:
    values = _run_values(run)
    head: dict[str, Any] = {
        "type": "run",
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "status": run.status,
        "started_at": run.started_at,
        "duration_seconds": values["sqlflowc_run_duration_seconds"],
        "peak_memory_bytes": run.peak_memory_bytes,
        "steps": {state: run.count(state) for state in STATES},
    }
    lines = [head]
    for step in run.steps:
        v = _step_values(step)
        lines.append(
            {
                "type": "step",
                "run_id": run.run_id,
                "pipeline": run.pipeline,
                "step": step.id,
                "state": step.state,
                "duration_seconds": v["sqlflowc_step_duration_seconds"],
                "rows_in": v["sqlflowc_step_rows_in"],
                "rows_out": v["sqlflowc_step_rows_out"],
                "bytes_written": v["sqlflowc_step_bytes_written"],
                "retries": v["sqlflowc_step_retries"],
                "reused_from": step.reused_from,
            }
        )
    return lines


def _labels(labels: dict[str, str]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _unix(at: str) -> float | None:
    try:
        return datetime.fromisoformat(at).timestamp()
    except ValueError:
        return None
