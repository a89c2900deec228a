"""Comparing a run with the usual: `compare(run, earlier)` for `sqlflowc runs --compare` and
`sqlflowc status --compare`.

Contract:
- The baseline is the last `last` successful runs of the same pipeline that started before
  `run` (the caller passes the records; others are left out here). A step's usual duration and
  row count are the medians over the baseline runs in which the step ran (a step a resumed run
  did not run again counts for nothing).
- A step is `slower` when it took more than `slower` times its usual duration and at least
  `min_ms` more (small steps jitter by milliseconds); its rows `jumped` when they differ from
  the usual by more than the share `rows_jump` of it (any rows where there were none usually).
- A step without history (new, or never run in the baseline) is `new`; one that did not run
  in `run` is listed without figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlflowc.runtime.run_records import RunInfo, StepInfo
from sqlflowc.text_table import format_table

__all__ = ["Comparison", "StepComparison", "baseline_runs", "compare"]

DEFAULT_LAST = 10
SLOWER = 1.5
MIN_MS = 20.0
ROWS_JUMP = 0.5


@dataclass(frozen=True, slots=True)
class StepComparison:
    step: str
    state: str
    duration_ms: float | None
    usual_ms: float | None
    rows: int | None
    usual_rows: float | None
    runs: int  # baseline runs in which the step ran
    flags: tuple[str, ...] = ()
    reused_from: str | None = None  # the run it was done in, when this run resumed that one

    @property
    def ratio(self) -> float | None:
        if self.duration_ms is None or not self.usual_ms:
            return None
        return self.duration_ms / self.usual_ms


@dataclass(frozen=True, slots=True)
class Comparison:
    run: RunInfo
    baseline: tuple[str, ...]  # ids of the baseline runs, newest first
    steps: tuple[StepComparison, ...] = field(default_factory=tuple)

    @property
    def flagged(self) -> tuple[StepComparison, ...]:
        return tuple(s for s in self.steps if s.flags and s.flags != ("new",))

    def to_json(self) -> dict[str, Any]:
        steps = []
        for s in self.steps:
            entry = asdict(s)
            entry["flags"] = list(s.flags)
            entry["ratio"] = s.ratio
            steps.append(entry)
        return {
            "run_id": self.run.run_id,
            "pipeline": self.run.pipeline,
            "status": self.run.status,
            "baseline": list(self.baseline),
            "steps": steps,
        }

    def text(self) -> str:
        n = len(self.baseline)
        head = (
            f"run {self.run.run_id}: {self.run.pipeline} {self.run.status}, against the median "
            f"of {n} earlier successful run{'s' * (n != 1)}"
        )
        if not n:
            return head + ": there is none yet, nothing to compare\n"
        rows = [_row(s) for s in self.steps]
        table = format_table(
            ("STEP", "DURATION", "USUAL", "CHANGE", "ROWS", "USUAL", "FLAG"),
            rows,
            right={1, 2, 3, 4, 5},
        )
        flagged = len(self.flagged)
        tail = f"{flagged} step{'s' * (flagged != 1)} flagged" if flagged else "nothing unusual"
        return "\n".join([head, *("  " + line for line in table), "  " + tail]) + "\n"


def baseline_runs(run: RunInfo, runs: Sequence[RunInfo], last: int = DEFAULT_LAST) -> list[RunInfo]:
    """The last `last` successful runs of `run`'s pipeline that started before it."""
    earlier = [
        r
        for r in runs
        if r.pipeline == run.pipeline
        and r.status == "succeeded"
        and r.run_id != run.run_id
        and r.started_at < run.started_at
    ]
    earlier.sort(key=lambda r: r.started_at, reverse=True)
    return earlier[:last]


def compare(
    run: RunInfo,
    baseline: Sequence[RunInfo],
    *,
    slower: float = SLOWER,
    min_ms: float = MIN_MS,
    rows_jump: float = ROWS_JUMP,
) -> Comparison:
    """See the module docstring."""
    steps = []
    for step in run.steps:
        history = [s for r in baseline if (s := _ran(r, step.id)) is not None]
        durations = [s.duration_ms for s in history if s.duration_ms is not None]
        counts = [s.rows for s in history if s.rows is not None]
        usual_ms = statistics.median(durations) if durations else None
        usual_rows = statistics.median(counts) if counts else None
        ran = _ran(run, step.id) is not None
        duration = step.duration_ms if ran else None
        rows = step.rows if ran else None
        flags: list[str] = []
        if ran and not history:
            flags.append("new")
        if (
            duration is not None
            and usual_ms is not None
            and duration > usual_ms * slower
            and duration - usual_ms >= min_ms
        ):
            flags.append("slower")
        if rows is not None and usual_rows is not None:
            jump = abs(rows - usual_rows)
            if (usual_rows == 0 and rows > 0) or (usual_rows and jump > usual_rows * rows_jump):
                flags.append("rows jumped")
        steps.append(
            StepComparison(
                step=step.id,
                state=step.state,
                duration_ms=duration,
                usual_ms=usual_ms,
                rows=rows,
                usual_rows=usual_rows,
                runs=len(history),
                flags=tuple(flags),
                reused_from=step.reused_from,
            )
        )
    return Comparison(run=run, baseline=tuple(r.run_id for r in baseline), steps=tuple(steps))


def _ran(run: RunInfo, step_id: str) -> StepInfo | None:
    """The step in `run` if it ran there (succeeded or failed, not done in an earlier run)."""
    try:
        step = run.step(step_id)
    except KeyError:
        return None
    if step.reused_from or step.state not in ("succeeded", "failed"):
        return None
    return step


def _row(s: StepComparison) -> tuple[str, ...]:
    from sqlflowc.run_views import duration

    ratio = s.ratio
    if s.duration_ms is not None:
        took = duration(s.duration_ms)
    else:  # it did not run: a step of a resumed run was done earlier, not in this run
        took = "done earlier" if s.reused_from else s.state
    return (
        s.step,
        took,
        duration(s.usual_ms),
        f"{ratio:.2f}x" if ratio is not None else "-",
        f"{s.rows:,}" if s.rows is not None else "-",
        f"{s.usual_rows:,.0f}" if s.usual_rows is not None else "-",
        ", ".join(s.flags),
    )
