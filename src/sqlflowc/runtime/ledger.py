"""The run ledger: a record of every run in the project's `target/runs/`, written as it goes.

One file per run, `target/runs/<run id>.jsonl`, and the plan it ran beside it
(`<run id>.plan.json`, written atomically at the start; `sqlflowc report` draws it, `--resume`
compares it). The `.jsonl` file is append-only JSON lines, one per event:

    {"event": "run_start", "run_id", "pipeline", "fingerprint", "variables", "pid", ...}
    {"event": "step_reused", "step", "from_run"}            (a resumed run: done earlier)
    {"event": "step_start", "step", "at", "attempt"}
    {"event": "step_retry", "step", "at", "attempt", "error"}
    {"event": "step_end", "step", "state", "at", "duration_ms", "rows", ..., "attempts"}
        (a failed step also: "error", "code", "location" `file:line:col`, "sql" that ran,
        "max_attempts" its retries allow)
    {"event": "step_skip", "step", "at", "reason"}
    {"event": "run_end", "at", "status", "duration_ms", "peak_memory_bytes", "failures"}
        (each failure: "step", "code", "message", "location", "sql", "attempt", "max_attempts")

Contract of `Ledger`:
- It listens to a run: its `hook()` goes first among the run's lifecycle hooks (run start and
  end, step start, retry and end), `on_event` takes the executor's progress events (for the
  steps skipped, which get no hook call). It never changes what runs.
- Each line is written with one `write(2)` on a file opened with `O_APPEND` before the run goes
  on, so a process killed at any moment (`kill -9`) leaves every event so far in the file, and
  at worst a last line cut short, which readers ignore. The file is `fsync`ed when the run
  ends (not per step, nor at the start: each costs milliseconds, tens on a busy disk), so a
  crash of the machine itself may lose the lines of a run not yet ended.
- Thread-safe: events may come from several threads at once; one lock orders the lines.
- Variables are recorded with the values of secrets (the plan's `secret_vars`, and names that
  look like secrets: `password`, `token`, `secret`, `key`...) shown as `***`.
- A ledger that cannot write (a read-only `target/`, a full disk) stops writing and keeps the
  error in `problem`; the run goes on.

Reading the records back is `runtime/run_records.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlflowc.backend.plan import Export, Plan, step_target
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.hooks import Hook, RunRecord, StepRecord, StepState
from sqlflowc.runtime.report import EventKind, RunEvent, StepStatus

__all__ = [
    "RUNS_DIR",
    "Ledger",
    "mask_variables",
    "plan_fingerprint",
    "process_start_time",
    "runs_dir",
]

RUNS_DIR = Path("target") / "runs"
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")


def runs_dir(project_dir: Path | str) -> Path:
    """Where a project's run records are: `<project>/target/runs`."""
    return Path(project_dir) / RUNS_DIR


def plan_fingerprint(plan: Plan) -> str:
    """A short hash of the plan's JSON form: the same pipeline, variables and profile give the
    same fingerprint; any change to what would run gives another."""
    return _fingerprint(_compact_json(plan))


def _compact_json(plan: Plan) -> str:
    """The plan's JSON without indentation: `json` encodes it in C (indented, in Python, it
    takes a third of a millisecond per step)."""
    return json.dumps(plan.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def mask_variables(plan: Plan) -> dict[str, Any]:
    """The plan's variables and its secrets' names, each secret's value shown as `***`."""
    secret = set(plan.secret_vars)
    out: dict[str, Any] = {}
    for name, value in sorted(plan.variables.items()):
        lowered = name.lower()
        hidden = name in secret or any(word in lowered for word in _SECRET_WORDS)
        out[name] = "***" if hidden else value
    for name in secret:  # never in the plan's variables: their names say a secret was given
        out.setdefault(name, "***")
    return dict(sorted(out.items()))


def process_start_time(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (Linux `/proc`), else None: with
    the pid it tells this process from a later one that got the same pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last `)`.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


class Ledger:
    """Writes one run's record (see the module docstring).

    `profile` is the profile's name (None: no profile); `reused` maps the steps a resumed run
    does not run to the run each succeeded in; `resumed_from` is that run's id.
    """

    def __init__(
        self,
        directory: Path,
        plan: Plan,
        *,
        profile: str | None = None,
        reused: Mapping[str, str] | None = None,
        resumed_from: str | None = None,
    ) -> None:
        self.directory = directory
        self.plan = plan
        self.profile = profile
        self.reused = dict(reused or {})
        self.resumed_from = resumed_from
        self.run_id: str | None = None
        self.path: Path | None = None
        self.problem: OSError | None = None
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}

    def hook(self) -> Hook:
        """The ledger as a lifecycle hook (put it first: it records a step before others run)."""
        methods: dict[str, Callable[..., Any]] = {
            "on_run_start": self.on_run_start,
            "on_step_start": self.on_step_start,
            "on_step_retry": self.on_step_retry,
            "on_step_end": self.on_step_end,
            "on_run_end": self.on_run_end,
        }
        return Hook(name="run ledger", file=None, methods=methods)

    # -- listener --------------------------------------------------------------------------

    def on_run_start(self, run: RunRecord) -> None:
        plan = self.plan
        self.run_id = run.run_id
        pid = os.getpid()
        plan_json = _compact_json(plan)
        header = {
            "event": "run_start",
            "run_id": run.run_id,
            "pipeline": plan.pipeline,
            "project_dir": plan.project_dir,
            "database": run.database,
            "profile": self.profile,
            "fingerprint": _fingerprint(plan_json),
            "variables": mask_variables(plan),
            "resumed_from": self.resumed_from,
            "pid": pid,
            "pid_start": process_start_time(pid),
            "host": socket.gethostname(),
            "at": _iso(run.started_at),
            "steps": [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "target": step_target(s),
                    "depends_on": list(s.depends_on),
                }
                for s in plan.steps
            ],
        }
        with self._lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                from sqlflowc.fileio import write_text_atomic

                write_text_atomic(self.directory / f"{run.run_id}.plan.json", plan_json)
                self.path = self.directory / f"{run.run_id}.jsonl"
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
                self._fd = os.open(self.path, flags, 0o644)
            except OSError as err:
                self.problem = err
                return
            self._write(header)
            for step_id, earlier in self.reused.items():
                self._write({"event": "step_reused", "step": step_id, "from_run": earlier})

    def on_step_start(self, step: StepRecord) -> None:
        with self._lock:
            self._attempts[step.id] = 1
            self._write(
                {"event": "step_start", "step": step.id, "at": _iso(step.started_at), "attempt": 1}
            )

    def on_step_retry(self, step: StepRecord) -> None:
        with self._lock:
            self._attempts[step.id] = step.attempt
            self._write(
                {
                    "event": "step_retry",
                    "step": step.id,
                    "at": _now(),
                    "attempt": step.attempt,
                    "error": step.error,
                }
            )

    def on_step_end(self, step: StepRecord) -> None:
        outcome = step.outcome
        line: dict[str, Any] = {
            "event": "step_end",
            "step": step.id,
            "state": _end_state(step),
            "at": _iso(step.finished_at) if step.finished_at else _now(),
        }
        if outcome is not None:
            line["duration_ms"] = round(outcome.duration_ms, 3)
            line["rows"] = outcome.rows
            load = outcome.load
            if load is not None:
                line["inserted"] = load.inserted
                line["updated"] = load.updated
                line["deleted"] = load.deleted
            if step.state is StepState.SUCCEEDED:
                line["rows_in"] = _rows_in(step)
                if isinstance(step.step, Export):
                    line["bytes"] = _bytes_written(step.step, Path(self.plan.project_dir))
            else:
                line["error"] = outcome.message
                default = Code.EXPORT_FAILED if isinstance(step.step, Export) else Code.STEP_FAILED
                line["code"] = (outcome.code or default).value
                location = step.step.location
                line["location"] = str(location) if location is not None else None
                line["sql"] = outcome.sql
                line["max_attempts"] = outcome.max_attempts
        with self._lock:
            line["attempts"] = self._attempts.pop(step.id, 1)
            self._write(line)

    def on_event(self, event: RunEvent) -> None:
        """A progress event: only a skipped step (one not done earlier) is recorded here."""
        if event.kind is not EventKind.SKIPPED or event.step_id in self.reused:
            return
        with self._lock:
            self._write(
                {"event": "step_skip", "step": event.step_id, "at": _now(), "reason": event.message}
            )

    def on_run_end(self, run: RunRecord) -> None:
        result = run.result
        line: dict[str, Any] = {"event": "run_end", "at": _iso(run.finished_at or run.started_at)}
        if result is not None:
            line["status"] = (
                "interrupted"
                if result.interrupted is not None
                else "succeeded"
                if result.ok
                else "failed"
            )
            line["duration_ms"] = round(result.duration_ms, 3)
            line["failures"] = [
                {
                    "step": f.step_id,
                    "code": f.code.value,
                    "message": f.message,
                    "location": str(f.location) if f.location is not None else None,
                    "sql": f.sql,
                    "attempt": f.attempt,
                    "max_attempts": f.max_attempts,
                }
                for f in result.failures
            ]
            line["counts"] = {s.value: result.count(s) for s in StepStatus}
        line["peak_memory_bytes"] = _peak_memory()
        with self._lock:
            self._write(line)
            self._sync()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # -- writing ---------------------------------------------------------------------------

    def _write(self, line: Mapping[str, Any]) -> None:
        """One line, in one `write(2)` (the caller holds the lock)."""
        if self._fd is None:
            return
        data = (json.dumps(line, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as err:
            self._fail(err)

    def _sync(self) -> None:
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as err:
            self._fail(err)

    def _fail(self, err: OSError) -> None:
        self.problem = err
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _end_state(step: StepRecord) -> str:
    """`succeeded`, `failed`, or `interrupted` (stopped by a signal and rolled back)."""
    if step.state is StepState.SUCCEEDED:
        return "succeeded"
    interrupted = step.outcome is not None and step.outcome.status is StepStatus.INTERRUPTED
    return "interrupted" if interrupted else "failed"


def _rows_in(step: StepRecord) -> int | None:
    """Rows a load read from its source, or an export from its query (None for others)."""
    outcome = step.outcome
    if outcome is None or step.step.kind not in ("load", "export"):
        return None
    return outcome.load.rows if outcome.load is not None else outcome.rows


def _bytes_written(step: Export, project_dir: Path) -> int | None:
    """The size of a local export's file (None for a remote target or one not found)."""
    uri = step.uri
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    elif "://" in uri or "${" in uri:
        return None
    path = Path(uri)
    try:
        return (path if path.is_absolute() else project_dir / path).stat().st_size
    except OSError:
        return None


def _peak_memory() -> int | None:
    """The process's peak resident memory in bytes (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # not on a POSIX system
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def _now() -> str:
    return _iso(datetime.now(UTC))
