"""The run's scheduling loop: which step runs when, on which connection, in which thread.

Contract of `Scheduler(...).run()`:
- Up to `jobs` steps run at once, each in a worker thread of its own, in one transaction on a
  DuckDB connection of its own: a cursor of the run's connection (`con.cursor()`). A step
  starts when every step it depends on SUCCEEDED, in plan order among those ready, and never
  while a running step touches a table it writes or writes a table it reads (the DAG already
  orders them; this is the guard). `jobs=1` runs the plan's order, every step on the run's
  connection itself.
- Some DuckDB state belongs to one connection: TEMP tables and views, and the session settings
  of `SET`, `RESET`, `USE` and `PRAGMA`. A step creating or reading such a table, a session
  statement, a barrier (its effects are unknown), and every step after a session statement or
  a barrier, run on the run's connection (`pinned`), one at a time.
- INCREMENTAL loads share the state table `_sqlflow_state`: they never run at the same time.
- A failed step's outcome says which attempt failed (`attempt` of `max_attempts`, from its
  last retry when it was retried).
- Everything the listener hears (`Listener`) it hears on the thread that called `run()`, one
  call at a time, in the order things happened: workers only run `run_step` and post what
  happened (a connector's retry, the step's outcome) to a queue the loop reads.
- `already_done` (a resumed run): those steps are not run; they count as succeeded for the
  steps after them (`Listener.done_earlier`, in plan order as their turn comes).
- Failure policies: with `fail_fast`, after a failure the running steps finish and nothing new
  starts; the rest are skipped (`not run: step `x` failed (--fail-fast)`). Without it, a step
  whose dependency failed, or was skipped because of a failure, is skipped with the failed
  step's id; every other step runs.
- `interrupt(signal_name)` (called from a signal handler, on the loop's thread): nothing new
  starts, every running statement is interrupted (`interrupt()` of its connection; a step in a
  Python UDF also gets a `KeyboardInterrupt` in its thread; a connector waiting to retry, or
  on a server, stops waiting: `sqlflowc.retry.stop_waits_on`, `stops_with`, `on_stop` — a
  PostgreSQL query is cancelled — and no retry starts),
  each running step rolls back and
  ends INTERRUPTED, the rest are skipped (`not run: the run was interrupted`). A second call
  stops waiting: `run()` returns at once with the running steps INTERRUPTED (the process is
  expected to exit: their threads still hold the connection).
- A bug in a worker (an exception `run_step` does not turn into an outcome) is re-raised by
  `run()` after the running steps finish.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import heapq
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Protocol

from sqlflowc.backend.plan import (
    CreateTable,
    CreateView,
    Incremental,
    Load,
    Sql,
    Step,
    TableUdf,
    step_udfs,
)
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.retry import stop_run, stop_waits_on, stops_with
from sqlflowc.runtime.report import StepOutcome, StepStatus

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.retry import RetryEvent
    from sqlflowc.runtime.steps import StepContext

__all__ = ["Listener", "Scheduler", "pinned_steps"]

STATE_TABLE = "_sqlflow_state"
_SESSION = "@session"  # the run's own connection, as a resource only one step holds
_SESSION_SQL = re.compile(r"\s*(?:\(\s*)*(?:set|reset|use|pragma)\b", re.IGNORECASE)
_WAKE = 0.5  # seconds: the loop checks for signals at least this often
_TEMP_SQL = re.compile(r"\s*create\s+(?:or\s+replace\s+)?(?:temp|temporary)\b", re.IGNORECASE)


_Event = tuple[str, "Step | None", object]  # ("done" | "bug" | "retry" | "wake", step, payload)


class Listener(Protocol):
    """What the scheduler reports, always on the thread running the loop."""

    def started(self, step: Step) -> None: ...

    def retrying(self, step: Step, event: RetryEvent) -> None: ...

    def ended(self, step: Step, outcome: StepOutcome) -> None: ...

    def skipped(self, step: Step, reason: str) -> None: ...

    def done_earlier(self, step: Step) -> None: ...


@dataclass(slots=True)
class _Worker:
    """A thread running one step at a time, on its own cursor (made when first needed)."""

    thread: threading.Thread
    jobs: queue.SimpleQueue[tuple[Step, Connection] | None]
    cursor: Connection | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_udf: bool = False  # a KeyboardInterrupt may be sent to the thread (a Python UDF runs)


@dataclass(slots=True)
class _Running:
    """A step running: where, and the tables it reads and writes."""

    step: Step
    connection: Connection
    worker: _Worker
    touches: frozenset[str]
    writes: frozenset[str]


def pinned_steps(steps: Sequence[Step]) -> frozenset[str]:
    """The ids of the steps that must run on the run's own connection (see the module doc).

    A step reading a TEMP table depends on the step that made it, so the steps depending on a
    TEMP table's maker are pinned too (a version-1 plan does not record what a step reads)."""
    temp: set[str] = set()
    makers: set[str] = set()
    for step in steps:
        if isinstance(step, TableUdf) and step.temporary:
            temp.add(step.target)
            makers.add(step.id)
        elif isinstance(step, Sql | CreateView) and _TEMP_SQL.match(step.sql):
            temp.update(step.writes)
            makers.add(step.id)
    pinned: set[str] = set()
    tainted = False
    for step in steps:
        session = isinstance(step, Sql) and (step.barrier or bool(_SESSION_SQL.match(step.sql)))
        tainted = tainted or session
        if (
            tainted
            or step.id in makers
            or makers.intersection(step.depends_on)
            or temp.intersection(step.reads)
            or temp.intersection(step.writes)
        ):
            pinned.add(step.id)
    return frozenset(pinned)


def _writes(step: Step, pinned: bool) -> frozenset[str]:
    extra: tuple[str, ...] = ()
    if isinstance(step, Load | CreateTable) and isinstance(step.mode, Incremental):
        extra = (STATE_TABLE,)
    if pinned:
        extra = (*extra, _SESSION)
    return frozenset((*step.writes, *extra))


class Scheduler:
    """One run's loop; see the module docstring."""

    def __init__(
        self,
        con: Connection,
        steps: Sequence[Step],
        ctx: StepContext,
        listener: Listener,
        *,
        jobs: int,
        fail_fast: bool,
        run_step: Callable[[Connection, Step, StepContext], StepOutcome],
        already_done: frozenset[str] = frozenset(),
        on_interrupt: Callable[[], None] | None = None,
    ) -> None:
        self._con = con
        self._steps = list(steps)
        self._ctx = dataclasses.replace(ctx, on_retry=self._retry_report)
        self._listener = listener
        self._jobs = max(1, jobs)
        self._fail_fast = fail_fast
        self._already_done = already_done
        self._run_step = run_step
        self._on_interrupt = on_interrupt
        self._pinned = frozenset(s.id for s in steps) if self._jobs == 1 else pinned_steps(steps)
        self._index = {s.id: i for i, s in enumerate(self._steps)}
        self._waiting: dict[str, int] = {}  # step id → how many of its dependencies are not done
        self._dependents: dict[str, list[str]] = {s.id: [] for s in self._steps}
        for s in self._steps:
            deps = set(s.depends_on)
            self._waiting[s.id] = len(deps)
            for dep in deps:
                self._dependents[dep].append(s.id)
        self._ready = [i for i, s in enumerate(self._steps) if not self._waiting[s.id]]
        self._blocked: dict[str, str] = {}  # step id → the failed step it depends on
        self._events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._running: dict[str, _Running] = {}
        self._retries: dict[str, RetryEvent] = {}  # the last retry of each running step
        self.outcomes: dict[str, StepOutcome] = {}
        self.failed: list[str] = []  # failed step ids, in the order they failed
        self.interrupted: str | None = None  # the signal's name
        self._abandon = False
        self._stop = threading.Event()  # set when interrupted: ends connectors' retry waits
        self._bug: BaseException | None = None

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        with stops_with(self._stop):
            self._loop()

    def _loop(self) -> None:
        try:
            while True:
                self._start_ready()
                if not self._running or self._abandon:
                    break
                try:
                    event = self._events.get(timeout=_WAKE)
                except queue.Empty:
                    continue
                self._handle(event)
        finally:
            self._stop_workers()
        for running in list(self._running.values()):
            self._end(running.step, self._interrupted_outcome(running.step))
        self._running.clear()
        for step in self._steps:
            if step.id in self.outcomes:
                continue
            if step.id in self._already_done:
                self.outcomes[step.id] = StepOutcome(step_id=step.id, status=StepStatus.OK)
                self._listener.done_earlier(step)
            else:
                self._skip(step, self._stop_reason())
        if self._bug is not None:
            raise self._bug

    def _stopped(self) -> bool:
        return (
            self.interrupted is not None
            or self._bug is not None
            or bool(self.failed and self._fail_fast)
        )

    def _start_ready(self) -> None:
        """Start what can start now, in plan order; skip what depends on a failed step."""
        if self._stopped():
            return
        later: list[int] = []
        while self._ready and len(self._running) < self._jobs:
            step = self._steps[heapq.heappop(self._ready)]
            if step.id in self._already_done:
                self.outcomes[step.id] = StepOutcome(step_id=step.id, status=StepStatus.OK)
                self._listener.done_earlier(step)
                self._done(step)
                continue
            root = self._blocked.get(step.id)
            if root is not None:
                self._skip(step, f"depends on failed step `{root}`")
                self._done(step)
                continue
            if not self._start(step):
                later.append(self._index[step.id])
        for i in later:
            heapq.heappush(self._ready, i)

    def _start(self, step: Step) -> bool:
        """Start `step` unless a running step touches a table it writes or writes one it reads."""
        pinned = step.id in self._pinned
        writes = _writes(step, pinned)
        reads = frozenset(step.reads)
        for other in self._running.values():
            if writes & other.touches or reads & other.writes:
                return False
        worker = self._worker()
        connection = self._con if pinned else self._cursor(worker)
        self._running[step.id] = _Running(step, connection, worker, writes | reads, writes)
        self._listener.started(step)
        worker.jobs.put((step, connection))
        return True

    def _handle(self, event: _Event) -> None:
        kind, step, payload = event
        if step is None:  # a wake-up
            return
        if kind == "retry":
            self._retries[step.id] = payload  # type: ignore[assignment]
            self._listener.retrying(step, payload)  # type: ignore[arg-type]
            return
        running = self._running.pop(step.id)
        self._idle.append(running.worker)
        if kind == "bug":
            self._bug = self._bug or payload  # type: ignore[assignment]
            self.outcomes[step.id] = StepOutcome(
                step_id=step.id, status=StepStatus.FAILED, message="internal error"
            )
            return
        assert isinstance(payload, StepOutcome)
        outcome = payload
        retried = self._retries.pop(step.id, None) if self._retries else None
        if retried is not None and outcome.status is StepStatus.FAILED:
            # The retries came before the outcome, from the same thread, through one queue.
            attempt, allowed = retried.retry + 1, retried.retries + 1
            outcome = dataclasses.replace(outcome, attempt=attempt, max_attempts=allowed)
        if self.interrupted is not None and outcome.status is StepStatus.FAILED:
            outcome = self._interrupted_outcome(step, outcome.duration_ms)
        self._end(step, outcome)
        self._done(step)

    def _end(self, step: Step, outcome: StepOutcome) -> None:
        self.outcomes[step.id] = outcome
        if outcome.status is StepStatus.FAILED:
            self.failed.append(step.id)
        self._listener.ended(step, outcome)

    def _done(self, step: Step) -> None:
        """`step` is over: its dependents wait for one step less (and, when it did not
        succeed, depend on a failed step)."""
        ok = self.outcomes[step.id].status is StepStatus.OK
        root = None if ok else self._blocked.get(step.id, step.id)
        for dependent in self._dependents[step.id]:
            if root is not None:
                self._blocked.setdefault(dependent, root)
            self._waiting[dependent] -= 1
            if not self._waiting[dependent]:
                heapq.heappush(self._ready, self._index[dependent])

    def _skip(self, step: Step, reason: str) -> None:
        self.outcomes[step.id] = StepOutcome(
            step_id=step.id, status=StepStatus.SKIPPED, message=reason
        )
        self._listener.skipped(step, reason)

    def _stop_reason(self) -> str:
        if self.interrupted is not None:
            return f"not run: the run was interrupted ({self.interrupted})"
        if self.failed:
            return f"not run: step `{self.failed[0]}` failed (--fail-fast)"
        return "not run: the run stopped"

    def _interrupted_outcome(self, step: Step, duration_ms: float = 0.0) -> StepOutcome:
        return StepOutcome(
            step_id=step.id,
            status=StepStatus.INTERRUPTED,
            duration_ms=duration_ms,
            message=f"interrupted ({self.interrupted or 'stopped'}); rolled back",
        )

    # -- interrupts ----------------------------------------------------------------------------

    @property
    def abandoned(self) -> bool:
        """Whether `run()` returned without waiting for the running steps (a second signal)."""
        return self._abandon

    def interrupt(self, signal_name: str) -> None:
        """Stop the run (see the module docstring). Safe to call from a signal handler on the
        loop's thread."""
        if self.interrupted is not None:
            self._abandon = True
        else:
            self.interrupted = signal_name
            stop_run(self._stop)
            if self._on_interrupt is not None:
                self._on_interrupt()
            for running in list(self._running.values()):
                with contextlib.suppress(Exception):
                    running.connection.interrupt()
                worker = running.worker
                if worker.lock.acquire(timeout=0.05):
                    try:
                        if worker.in_udf and worker.thread.ident is not None:
                            _raise_in(worker.thread.ident, KeyboardInterrupt)
                    finally:
                        worker.lock.release()
        self._events.put(("wake", None, None))

    # -- workers -------------------------------------------------------------------------------

    def _worker(self) -> _Worker:
        if self._idle:
            return self._idle.pop()
        name = f"sqlflowc-step-{len(self._workers) + 1}"
        worker = _Worker(thread=threading.Thread(name=name, daemon=True), jobs=queue.SimpleQueue())
        worker.thread = threading.Thread(target=self._work, args=(worker,), name=name, daemon=True)
        self._workers.append(worker)
        worker.thread.start()
        return worker

    def _cursor(self, worker: _Worker) -> Connection:
        if worker.cursor is None:
            worker.cursor = self._con.cursor()
        return worker.cursor

    def _work(self, worker: _Worker) -> None:
        stop_waits_on(self._stop)  # a connector waiting to retry stops with the run
        while True:
            job = worker.jobs.get()
            if job is None:
                return
            step, connection = job
            try:
                outcome: object = self._attempt(worker, step, connection)
                self._events.put(("done", step, outcome))
            except BaseException as err:  # noqa: BLE001 - handed to the loop's thread
                self._events.put(("bug", step, err))

    def _attempt(self, worker: _Worker, step: Step, connection: Connection) -> StepOutcome:
        udf = bool(step_udfs(step))
        started = time.perf_counter()
        try:
            try:
                with worker.lock:
                    worker.in_udf = udf
                return self._run_step(connection, step, self._ctx)
            finally:
                with worker.lock:
                    worker.in_udf = False
                    if udf and worker.thread.ident is not None:
                        _raise_in(worker.thread.ident, None)  # one sent too late is dropped
        except KeyboardInterrupt:  # in a Python UDF, or a connector's wait to retry
            took = (time.perf_counter() - started) * 1000
            return StepOutcome(
                step_id=step.id, status=StepStatus.FAILED, duration_ms=took, message="interrupted"
            )

    def _retry_report(self, step: Step, event: RetryEvent) -> None:
        """A connector retrying `step` (called in the step's worker thread)."""
        self._events.put(("retry", step, event))

    def _stop_workers(self) -> None:
        for worker in self._workers:
            worker.jobs.put(None)
        if self._abandon:
            return  # their steps may still hold the connection: the process exits
        for worker in self._workers:
            worker.thread.join()
            if worker.cursor is not None:
                with contextlib.suppress(Exception):
                    worker.cursor.close()


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Raise `exception` in another thread when it next runs Python code (None: take back
    one not yet raised)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )
