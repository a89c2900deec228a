"""Reading run records back: `list_runs(directory)`, `read_run(path)`, `find_run(directory, id)`.

A record is the ledger's event lines (`runtime/ledger.py`) folded into one `RunInfo`: the run's
status and each step's state, attempts, times, rows and error.

Contract:
- Status: `succeeded` or `failed` once the run ended; `running` while its process (the pid and
  its start time, on this host) is alive; `interrupted` when it is gone without ending the run
  (killed, the machine stopped). Steps of an interrupted run that were `running` show as
  `interrupted` too; steps never reached stay `pending`.
- A line that is not JSON (the last one, cut short by a kill) ends the reading there; a file
  without a `run_start` line is not a record (`read_run` returns None).
- `to_json()` is the record as `sqlflowc status --format json` prints it (stable keys).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlflowc.runtime.ledger import process_start_time

__all__ = ["RunInfo", "StepInfo", "find_run", "list_runs", "read_run"]

STATES = ("pending", "running", "succeeded", "failed", "skipped", "interrupted")


@dataclass(slots=True)
class StepInfo:
    """One step of a recorded run."""

    id: str
    kind: str
    target: str | None
    depends_on: list[str]
    state: str = "pending"
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: float | None = None
    rows: int | None = None
    rows_in: int | None = None
    inserted: int | None = None
    updated: int | None = None
    deleted: int | None = None
    bytes: int | None = None
    error: str | None = None
    code: str | None = None
    reason: str | None = None  # why it was skipped
    reused_from: str | None = None  # done in this earlier run (a resumed run)
    location: str | None = None  # of a failed step: `file:line:col` of its statement
    sql: str | None = None  # of a failed step: the SQL that ran
    max_attempts: int | None = None  # of a failed step: the attempts its retries allow

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


@dataclass(slots=True)
class RunInfo:
    """One recorded run (see the module docstring)."""

    run_id: str
    pipeline: str
    project_dir: str
    database: str
    profile: str | None
    fingerprint: str
    variables: dict[str, Any]
    pid: int | None
    started_at: str
    status: str = "running"
    finished_at: str | None = None
    duration_ms: float | None = None
    peak_memory_bytes: int | None = None
    resumed_from: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)
    steps: list[StepInfo] = field(default_factory=list)
    path: str = ""

    def step(self, step_id: str) -> StepInfo:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def count(self, state: str) -> int:
        return sum(1 for s in self.steps if s.state == state)

    @property
    def succeeded_steps(self) -> frozenset[str]:
        return frozenset(s.id for s in self.steps if s.state == "succeeded")

    def elapsed_ms(self) -> float | None:
        """The run's wall time: recorded at its end, else up to its last event."""
        if self.duration_ms is not None:
            return self.duration_ms
        ends = [s.finished_at or s.started_at for s in self.steps if s.started_at]
        if not ends:
            return None
        last = max(datetime.fromisoformat(e) for e in ends if e)
        return (last - datetime.fromisoformat(self.started_at)).total_seconds() * 1000

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("path")
        out["counts"] = {state: self.count(state) for state in STATES}
        for step, info in zip(out["steps"], self.steps, strict=True):
            step["retries"] = info.retries
        return out


def list_runs(directory: Path) -> list[RunInfo]:
    """Every run recorded in `directory`, newest first (by start time, to the millisecond:
    run ids sort by the second)."""
    if not directory.is_dir():
        return []
    runs = [r for p in directory.glob("*.jsonl") if (r := read_run(p)) is not None]
    return sorted(runs, key=lambda r: (r.started_at, r.run_id), reverse=True)


def find_run(directory: Path, run_id: str) -> RunInfo | None:
    """The run with this id, or the only one whose id starts with it; else None."""
    exact = directory / f"{run_id}.jsonl"
    if exact.is_file():
        return read_run(exact)
    matches = sorted(directory.glob(f"{_glob_escape(run_id)}*.jsonl")) if run_id else []
    return read_run(matches[0]) if len(matches) == 1 else None


def read_run(path: Path) -> RunInfo | None:
    """The run recorded in `path` (None when it holds no run's start)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    run: RunInfo | None = None
    alive: tuple[int | None, int | None, str | None] = (None, None, None)
    ended = False
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            break  # cut short by a kill: nothing after it was written
        if not isinstance(line, dict):
            break
        event = line.get("event")
        if event == "run_start":
            run = _start(line, path)
            alive = (line.get("pid"), line.get("pid_start"), line.get("host"))
            continue
        if run is None:
            return None
        if event == "run_end":
            ended = True
            run.status = str(line.get("status", "failed"))
            run.finished_at = line.get("at")
            run.duration_ms = line.get("duration_ms")
            run.peak_memory_bytes = line.get("peak_memory_bytes")
            run.failures = list(line.get("failures", []))
            continue
        _apply(run, event, line)
    if run is None:
        return None
    if not ended:
        run.status = "running" if _alive(*alive) else "interrupted"
        if run.status == "interrupted":
            for step in run.steps:
                if step.state == "running":
                    step.state = "interrupted"
    return run


def _start(line: dict[str, Any], path: Path) -> RunInfo:
    steps = [
        StepInfo(
            id=str(s["id"]),
            kind=str(s.get("kind", "")),
            target=s.get("target"),
            depends_on=list(s.get("depends_on", [])),
        )
        for s in line.get("steps", [])
    ]
    return RunInfo(
        run_id=str(line["run_id"]),
        pipeline=str(line.get("pipeline", "")),
        project_dir=str(line.get("project_dir", "")),
        database=str(line.get("database", "")),
        profile=line.get("profile"),
        fingerprint=str(line.get("fingerprint", "")),
        variables=dict(line.get("variables", {})),
        pid=line.get("pid"),
        started_at=str(line.get("at", "")),
        resumed_from=line.get("resumed_from"),
        steps=steps,
        path=str(path),
    )


_END_FIELDS = ("duration_ms", "rows", "rows_in", "inserted", "updated", "deleted", "bytes")


def _apply(run: RunInfo, event: object, line: dict[str, Any]) -> None:
    try:
        step = run.step(str(line.get("step")))
    except KeyError:
        return
    match event:
        case "step_reused":
            step.state = "succeeded"
            step.reused_from = line.get("from_run")
        case "step_start":
            step.state = "running"
            step.started_at = line.get("at")
            step.attempts = int(line.get("attempt", 1))
        case "step_retry":
            step.attempts = int(line.get("attempt", step.attempts + 1))
            step.error = line.get("error")
        case "step_end":
            step.state = str(line.get("state", "failed"))
            step.finished_at = line.get("at")
            step.attempts = int(line.get("attempts", step.attempts or 1))
            for name in _END_FIELDS:
                setattr(step, name, line.get(name))
            step.error = line.get("error")
            step.code = line.get("code")
            step.location = line.get("location")
            step.sql = line.get("sql")
            step.max_attempts = line.get("max_attempts")
        case "step_skip":
            step.state = "skipped"
            step.finished_at = line.get("at")
            step.reason = line.get("reason")
        case _:
            pass


def _alive(pid: object, started: object, host: object) -> bool:
    """Whether the run's process still runs: the same pid, started at the same time."""
    if not isinstance(pid, int) or (isinstance(host, str) and host != socket.gethostname()):
        # Another machine's run: it cannot be checked from here; trust it is running.
        return isinstance(pid, int)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[-1].split()[:1] == [b"Z"]:
                return False  # a zombie: dead, not yet reaped by its parent
    except OSError:
        pass
    now = process_start_time(pid)
    return started is None or now is None or now == started


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)
