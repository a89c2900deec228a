"""The executor: runs a plan's steps on DuckDB, independent ones at once, each step atomic.

Contract of `run_plan`:
- Opens DuckDB at `database` (parent directories created; `:memory:` allowed) with the given
  `threads` / `memory_limit`, and `file_search_path` set to `plan.project_dir` (relative paths
  that SQL reads are project-relative); a database that cannot be opened is a `DATABASE_ERROR`
  failure and every step is skipped.
- Runs the steps with `runtime/scheduler.Scheduler`: up to `jobs` at once, each on a DuckDB
  cursor of its own as soon as the steps it depends on succeeded (`jobs=1`: plan order, on the
  run's connection), each with `runtime/steps.run_step`, which knows nothing of the order and
  runs the step atomically (SQL in one transaction, load modes, connector reads and writes,
  UDFs, secrets).
- `${name}` for each name in `plan.secret_vars` is replaced right before execution from
  `secrets`, else `plan.secrets`; a missing value fails the step. Every message the executor
  produces has secret values masked as `***`.
- Python UDFs: when steps need UDFs (`plan.step_udfs`), they are imported from
  `plan.project_dir` and the scalar ones registered on the connection before the first step (a
  failure there is a run-level failure, SF0804/SF0810, and every step is skipped).
- `fail_fast=True`: after a failure nothing new starts (running steps finish) and the rest are
  skipped. `fail_fast=False`: a step runs unless it depends (transitively) on a failed step.
- SIGINT and SIGTERM while steps run (on the main thread): every running step is interrupted
  and rolled back (INTERRUPTED), the rest are skipped, and the result's `interrupted` names
  the signal.
- Progress goes to `events` (started, retrying, finished with duration and rows, failed,
  interrupted, skipped) and hooks are called, all from the thread that called `run_plan`, one
  at a time, in the order things happened (steps run in worker threads); the `RunResult` holds
  the run's id, every step's outcome and the failures in plan order, with the step's source
  location, and warnings.
- A connector retrying a transient failure of a step (a source read, an export's write) reports
  each retry: a `RETRYING` event (`retrying (1/3) in 2 s: ...`, secrets masked) and
  `on_step_retry`.
- Lifecycle hooks (`runtime/hooks.py`, given as `hooks`): `on_run_start` before the database is
  opened, `on_step_start` before each step that runs, `on_step_retry` before each retry,
  `on_step_failure` and `on_step_end` after it (after its progress event), `on_run_end` with the
  result, whatever happened. A hook that raises is a warning in the result; it never changes
  what runs.
- Schema captures (`schemas`, `runtime/drift.py`, taken by `run_step`; the tables written are
  captured together when the steps are over, written while the database closes, on disk
  before the run ends): each gets the run's id; drift that does not stop
  the run is in the result's warnings, before the hooks' ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING

from sqlflowc.backend.plan import (
    Export,
    Plan,
    Step,
    step_udfs,
)
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.database_open import open_failure
from sqlflowc.runtime.engine import Engine, EngineUnavailable
from sqlflowc.runtime.hooks import Hooks, RunRecord, StepRecord, StepState
from sqlflowc.runtime.report import (
    EventKind,
    Failure,
    RunEvent,
    RunResult,
    RunWarning,
    StepOutcome,
    StepStatus,
    format_event,
)
from sqlflowc.runtime.scheduler import Scheduler
from sqlflowc.runtime.steps import Secrets, StepContext, run_step

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.retry import RetryEvent
    from sqlflowc.runtime.drift import SchemaCapture
    from sqlflowc.runtime.udfs import UdfRuntime

# The result types and `format_event` are re-exported: callers of `run_plan` use them.
__all__ = [
    "EventKind",
    "Failure",
    "RunEvent",
    "RunResult",
    "Secrets",
    "StepContext",
    "StepOutcome",
    "StepStatus",
    "format_event",
    "new_run_id",
    "run_plan",
    "run_step",
]


def run_plan(
    plan: Plan,
    *,
    database: str,
    threads: int | None = None,
    memory_limit: str | None = None,
    jobs: int = 1,
    fail_fast: bool = True,
    secrets: Mapping[str, str] | None = None,
    events: Callable[[RunEvent], None] | None = None,
    on_connect: Callable[[Connection], None] | None = None,
    on_finish: Callable[[Connection], None] | None = None,
    hooks: Hooks | None = None,
    schemas: SchemaCapture | None = None,
    already_done: frozenset[str] = frozenset(),
    mark_commits: bool = False,
    engine: Engine | None = None,
) -> RunResult:
    """Execute `plan` on the DuckDB database `database`; see the module docstring.

    `on_connect` is called with the open connection before the first step (to register UDFs
    or filesystems); a `duckdb.Error` it raises is reported like a database that cannot open.
    `on_finish` is called with it once no step runs any more (not after a second signal, which
    leaves steps running), before it is closed; a DuckDB run only.
    `schemas` captures the schema of each source before its load and of each table written.
    `engine` runs the plan on another engine than DuckDB (`runtime/engine.py`, e.g. Spark);
    `database` is then only what the run's record shows.
    `already_done` (a resumed run) names steps that succeeded in an earlier run: they are not
    run, their outcome is `DONE_EARLIER` and their event `SKIPPED`, and steps after them run.
    `mark_commits`: steps that cannot be run twice mark their commits with the run's id
    (`runtime/steps.py`); the table of marks must exist (`on_connect` creates it).
    """
    import duckdb

    _check_order(plan)
    vault = Secrets(plan.secret_vars, secrets or {}, plan.secrets, plan.secret_templates)
    hooks = hooks if hooks is not None else Hooks()
    started = time.perf_counter()
    record = RunRecord(
        run_id=new_run_id(),
        pipeline=plan.pipeline,
        project_dir=plan.project_dir,
        database=database,
        plan=plan,
        started_at=datetime.now(UTC),
    )
    report = _Report(record.run_id, vault, hooks, events)
    hooks.run_start(record)
    if schemas is not None:
        schemas.run_id = record.run_id
    step_warnings: list[RunWarning] = []  # what steps noticed without failing (connectors)
    interrupted: str | None = None

    def finish() -> RunResult:
        drift = schemas.warnings() if schemas is not None else ()  # (their files on disk)
        elapsed = (time.perf_counter() - started) * 1000
        order = {s.id: i for i, s in enumerate(plan.steps)}
        result = RunResult(
            database=database,
            outcomes=tuple(sorted(report.outcomes, key=lambda o: order.get(o.step_id, -1))),
            failures=tuple(sorted(report.failures, key=lambda f: order.get(f.step_id or "", -1))),
            duration_ms=elapsed,
            run_id=record.run_id,
            interrupted=interrupted,
        )
        ended = dataclasses.replace(record, finished_at=datetime.now(UTC), result=result)
        hooks.run_end(ended)
        return dataclasses.replace(result, warnings=(*drift, *step_warnings, *hooks.warnings))

    try:
        if engine is not None:
            con = engine.connect()
        else:
            con = _connect(database, threads, memory_limit, plan.project_dir)
    except EngineUnavailable as err:
        failure = _database_failure(vault.mask(err.message))
        report.failures.append(
            dataclasses.replace(failure, code=Code.ENGINE_UNAVAILABLE, help=err.help)
        )
        report.skip_all(plan.steps, "the engine could not be started")
        return finish()
    except (duckdb.Error, OSError) as err:
        message, help_text = open_failure(database, err)
        failure = _database_failure(vault.mask(message))
        report.failures.append(dataclasses.replace(failure, help=help_text))
        report.skip_all(plan.steps, "the database could not be opened")
        return finish()
    try:
        if on_connect is not None:
            try:
                on_connect(con)
            except duckdb.Error as err:
                message = vault.mask(f"cannot prepare database {database}: {err}")
                report.failures.append(_database_failure(message))
                report.skip_all(plan.steps, "the database could not be prepared")
                return finish()
        udfs, problem = engine.load_udfs(con, plan) if engine else _load_udfs(con, plan)
        if problem is not None:
            report.failures.append(
                dataclasses.replace(problem, message=vault.mask(problem.message))
            )
            report.skip_all(plan.steps, "the Python UDFs could not be loaded")
            return finish()
        ctx = StepContext(
            project_dir=Path(plan.project_dir),
            secrets=vault,
            udfs=udfs,
            warnings=step_warnings,
            schemas=schemas,
            marked_run=record.run_id if mark_commits else None,
        )
        scheduler = Scheduler(
            con,
            plan.steps,
            ctx,
            report,
            jobs=jobs if engine is None else 1,  # another engine: one session, plan order
            fail_fast=fail_fast,
            already_done=already_done,
            run_step=run_step if engine is None else engine.run_step,
            on_interrupt=udfs.interrupt if udfs is not None else None,
        )
        with _signals_stop(scheduler):
            scheduler.run()
        interrupted = scheduler.interrupted
        if scheduler.abandoned:
            return finish()  # its steps' threads still use the connection: leave it open
        if schemas is not None and engine is None:
            # the tables written, in one catalog query; their files written while it closes
            schemas.flush(con, background=True)
        if on_finish is not None and engine is None:
            on_finish(con)
    except BaseException:
        _close(con, engine)
        raise
    _close(con, engine)
    return finish()


class _Report:
    """The events and hook calls of a run's steps, and what they add up to: everything the
    scheduler reports, on the thread that runs the plan, one call at a time."""

    def __init__(
        self,
        run_id: str,
        vault: Secrets,
        hooks: Hooks,
        events: Callable[[RunEvent], None] | None,
    ) -> None:
        self.run_id = run_id
        self.vault = vault
        self.hooks = hooks
        self.emit = events if events is not None else _ignore
        self.outcomes: list[StepOutcome] = []
        self.failures: list[Failure] = []
        self.started_at: dict[str, datetime] = {}  # of the steps running, for their records

    def started(self, step: Step) -> None:
        self.emit(RunEvent(kind=EventKind.STARTED, step=step))
        if self.hooks.active:
            at = datetime.now(UTC)
            self.started_at[step.id] = at
            self.hooks.step_start(
                StepRecord(run_id=self.run_id, step=step, state=StepState.RUNNING, started_at=at)
            )

    def retrying(self, step: Step, event: RetryEvent) -> None:
        masked = self.vault.mask(event.message)
        message = f"retrying ({event.retry}/{event.retries}) in {event.wait:g} s: {masked}"
        self.emit(RunEvent(kind=EventKind.RETRYING, step=step, message=message))
        if self.hooks.active:
            self.hooks.step_retry(
                StepRecord(
                    run_id=self.run_id,
                    step=step,
                    state=StepState.RETRYING,
                    attempt=event.retry + 1,
                    started_at=self.started_at.get(step.id, datetime.now(UTC)),
                    outcome=StepOutcome(step_id=step.id, status=StepStatus.FAILED, message=masked),
                )
            )

    def ended(self, step: Step, outcome: StepOutcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status is StepStatus.OK:
            kind = EventKind.FINISHED
        elif outcome.status is StepStatus.INTERRUPTED:
            kind = EventKind.INTERRUPTED
        else:
            kind = EventKind.FAILED
            self.failures.append(_step_failure(step, outcome))
        self.emit(
            RunEvent(
                kind=kind,
                step=step,
                duration_ms=outcome.duration_ms,
                rows=outcome.rows,
                statement_rows=outcome.statement_rows,
                message=outcome.message,
                load=outcome.load,
            )
        )
        at = self.started_at.pop(step.id, None)
        if at is not None:
            _step_ended(self.hooks, self.run_id, step, at, outcome)

    def skipped(self, step: Step, reason: str) -> None:
        self.outcomes.append(
            StepOutcome(step_id=step.id, status=StepStatus.SKIPPED, message=reason)
        )
        self.emit(RunEvent(kind=EventKind.SKIPPED, step=step, message=reason))

    def done_earlier(self, step: Step) -> None:
        reason = "succeeded in the run resumed"
        self.outcomes.append(
            StepOutcome(step_id=step.id, status=StepStatus.DONE_EARLIER, message=reason)
        )
        self.emit(RunEvent(kind=EventKind.SKIPPED, step=step, message=reason))

    def skip_all(self, steps: Iterable[Step], reason: str) -> None:
        for step in steps:
            self.skipped(step, reason)


@contextlib.contextmanager
def _signals_stop(scheduler: Scheduler) -> Iterator[None]:
    """While the steps run, SIGINT (Ctrl-C) and SIGTERM stop the run (`Scheduler.interrupt`)
    instead of raising where the main thread happens to be. Only on the main thread: signal
    handlers belong to it."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        scheduler.interrupt(signal.Signals(signum).name)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _close(con: Connection, engine: Engine | None) -> None:
    if engine is not None:
        engine.close(con)
    else:
        con.close()


def new_run_id() -> str:
    """A run id that sorts by time: `20260106T040553Z-3f9a1c` (UTC, then 6 random hex digits)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{token_hex(3)}"


def _step_ended(
    hooks: Hooks, run_id: str, step: Step, started_at: datetime, outcome: StepOutcome
) -> None:
    """`on_step_failure` (for a failure) and `on_step_end` with the step's record."""
    ok = outcome.status is StepStatus.OK
    record = StepRecord(
        run_id=run_id,
        step=step,
        state=StepState.SUCCEEDED if ok else StepState.FAILED,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        outcome=outcome,
    )
    if not ok:
        hooks.step_failure(record)
    hooks.step_end(record)


def _step_failure(step: Step, outcome: StepOutcome) -> Failure:
    default = Code.EXPORT_FAILED if isinstance(step, Export) else Code.STEP_FAILED
    return Failure(
        step_id=step.id,
        message=outcome.message,
        location=step.location,
        code=outcome.code or default,
        help=outcome.help,
        notes=outcome.notes,
        sql=outcome.sql,
        attempt=outcome.attempt,
        max_attempts=outcome.max_attempts,
    )


def _load_udfs(con: Connection, plan: Plan) -> tuple[UdfRuntime | None, Failure | None]:
    """Import and register the Python UDFs the plan's steps need (none: nothing to do)."""
    if not any(step_udfs(step) for step in plan.steps):
        return None, None
    import duckdb

    from sqlflowc.runtime.udfs import UdfRuntime, UdfStepError

    try:
        udfs = UdfRuntime.load(plan)
        udfs.register(con)
    except UdfStepError as err:
        return None, Failure(step_id=None, message=str(err), location=None, code=err.code)
    except duckdb.Error as err:
        message = f"cannot register the pipeline's Python UDFs: {err}"
        return None, Failure(
            step_id=None, message=message, location=None, code=Code.UDF_UNAVAILABLE
        )
    return udfs, None


def _database_failure(message: str) -> Failure:
    return Failure(step_id=None, message=message, location=None, code=Code.DATABASE_ERROR)


def _ignore(event: RunEvent) -> None:
    """The default event sink."""


def _check_order(plan: Plan) -> None:
    seen: set[str] = set()
    for step in plan.steps:
        late = [d for d in step.depends_on if d not in seen]
        if late or step.id in seen:
            raise ValueError(
                f"internal error: plan is not in dependency order at step `{step.id}` "
                f"(depends on {', '.join(late) or 'itself'}); please report"
            )
        seen.add(step.id)


def _connect(
    database: str, threads: int | None, memory_limit: str | None, project_dir: str
) -> Connection:
    """The run's connection. Relative paths SQL reads (`FROM 'data/x.csv'`, `read_csv(...)`)
    are resolved against the project directory (DuckDB's `file_search_path`), as SOURCE and
    EXPORT paths are, not against the current directory."""
    import duckdb

    if not database.startswith(":memory:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {"file_search_path": project_dir}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    return duckdb.connect(database, config=config)
