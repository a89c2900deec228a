"""The executor: runs a plan's steps on DuckDB, in plan order, each step atomic.

Contract of `run_plan`:
- Opens DuckDB at `database` (parent directories created; `:memory:` allowed) with the given
  `threads` / `memory_limit`; a database that cannot be opened is a `DATABASE_ERROR` failure
  and every step is skipped.
- Runs the steps in plan order (a topological order: `depends_on` names earlier steps), each
  with `run_step`, which knows nothing of the order: it `match`es on the step's op and runs it
  in one transaction — `BEGIN TRANSACTION; <statements>; COMMIT`, with `ROLLBACK` on any
  failure, so a failed step leaves every table exactly as it was.
- An `Export` is written by its format's connector (`ConnectorRuntime.write`), atomically: a
  failure leaves a previous target untouched (files: a temporary file beside the target,
  renamed over it). A relative `uri` is relative to `plan.project_dir`.
- A `Load` with `read` first reads its source through the connector's run-time face
  (`runtime/reads.py`): Arrow batches or a scan, visible to the step's SQL under that name.
- `${name}` for each name in `plan.secret_vars` is replaced, in SQL and export URIs, right
  before execution, from `secrets`, else `plan.secrets`; a missing value fails the step, and so
  does a value that changes a SQL statement's structure (`sql_splices.splice_error`). Every
  message the executor produces has secret values masked as `***`.
- Python UDFs: when steps need UDFs (`plan.step_udfs`), they are imported from
  `plan.project_dir` and the scalar ones registered on the connection before the first step (a
  failure there is a run-level failure, SF0804/SF0810, and every step is skipped); a `TableUdf`
  runs its function on its input (`runtime/udfs.py`). A step calling scalar UDFs runs with one
  DuckDB thread (Python UDFs serialise on the interpreter lock; more threads only contend). A
  UDF that raises fails its step with SF0808, a table UDF returning the wrong columns with
  SF0809.
- A `Load` or `CreateTable` whose mode is `Append`, `Merge` or `Incremental` runs
  `runtime/load_modes.run_load` inside the step's one transaction: it stages the source
  (`sql[0]`), checks keys and schemas, and regenerates the rest of the step's SQL from the mode
  and the schemas it finds. Its failures carry their own code (SF06xx/SF07xx) and help; its
  counts (`inserted N, updated M`) are in the outcome and the progress line.
- `fail_fast=True`: after a failure the remaining steps are skipped. `fail_fast=False`: a step
  runs unless it depends (transitively) on a failed step.
- Progress goes to `events` (started, finished with duration and rows, failed, skipped); the
  `RunResult` holds the run's id, every step's outcome, the failures with the step's source
  location, and warnings.
- A connector retrying a transient failure of a step (a source read, an export's write) reports
  each retry through `StepContext.on_retry`: a `RETRYING` event (`retrying (1/3) in 2 s: ...`,
  secrets masked) and `on_step_retry`.
- Lifecycle hooks (`runtime/hooks.py`, given as `hooks`): `on_run_start` before the database is
  opened, `on_step_start` before each step that runs, `on_step_retry` before each retry,
  `on_step_failure` and `on_step_end` after it (after its progress event), `on_run_end` with the
  result, whatever happened. A hook that raises is a warning in the result; it never changes
  what runs.
Runtime errors are `duckdb.Error`, `OSError` and `ConnectorError`; anything else is a bug and
propagates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING, TypeVar, assert_never

from sqlflowc.backend.plan import (
    CreateTable,
    CreateView,
    Export,
    Load,
    Plan,
    Replace,
    Sql,
    Step,
    TableUdf,
    step_udfs,
)
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.hooks import Hooks, RunRecord, StepRecord, StepState
from sqlflowc.runtime.report import (
    EventKind,
    Failure,
    RunEvent,
    RunResult,
    StepOutcome,
    StepStatus,
    format_event,
)
from sqlflowc.sql_splices import splice_error
from sqlflowc.syntax.varref import expand, expand_with_spans

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.retry import RetryEvent
    from sqlflowc.runtime.load_modes import LoadCounts
    from sqlflowc.runtime.udfs import UdfRuntime

T = TypeVar("T")

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


class _StepError(Exception):
    """A step cannot run for a reason the executor finds itself (e.g. a missing secret)."""


class Secrets:
    """Substitutes `${name}` placeholders and masks secret values in messages."""

    def __init__(
        self, names: Iterable[str], given: Mapping[str, str], fallback: Mapping[str, str]
    ) -> None:
        self._values = {n: given.get(n, fallback.get(n)) for n in names}
        every = {*given.values(), *fallback.values()}
        self._masked = sorted((v for v in every if v), key=len, reverse=True)

    def substitute(self, text: str) -> str:
        """One left-to-right pass, so a value containing `${...}` is never expanded again."""
        return expand(text, self._value)

    def substitute_sql(self, sql: str) -> str:
        """`substitute` for SQL: a secret's value must keep the statement's structure (the
        compiler checked the values it saw; a plan can run with others)."""
        text, spans = expand_with_spans(sql, self._value)
        error = splice_error(text, [(start, end) for start, end, _ in spans])
        if error is not None:
            name = spans[error.index][2]
            raise _StepError(f"{error.message(name)} ({error.help()}); the step was not run")
        return text

    def _value(self, name: str) -> str | None:
        """The secret `${name}` stands for; None when `name` is no secret (kept as written)."""
        if name not in self._values:
            return None
        value = self._values[name]
        if value is None:
            raise _StepError(
                f"secret `{name}` has no value: pass it with --var {name}=... "
                "or set the environment variable"
            )
        return value

    def mask(self, text: str) -> str:
        for value in self._masked:
            text = text.replace(value, "***")
        return text


@dataclass(frozen=True, slots=True)
class StepContext:
    """What running a step needs besides its connection: the project directory (relative
    export URIs), the run's secrets, its Python UDFs (None when no step needs any), and where a
    connector's retries of a step are reported (`on_retry(step, event)`)."""

    project_dir: Path
    secrets: Secrets
    udfs: UdfRuntime | None = None
    on_retry: Callable[[Step, RetryEvent], None] | None = None

    def retry_report(self, step: Step) -> Callable[[RetryEvent], None] | None:
        """`on_retry` for one step, as connectors take it."""
        report = self.on_retry
        return None if report is None else lambda event: report(step, event)


def run_plan(
    plan: Plan,
    *,
    database: str,
    threads: int | None = None,
    memory_limit: str | None = None,
    fail_fast: bool = True,
    secrets: Mapping[str, str] | None = None,
    events: Callable[[RunEvent], None] | None = None,
    on_connect: Callable[[Connection], None] | None = None,
    hooks: Hooks | None = None,
) -> RunResult:
    """Execute `plan` on the DuckDB database `database`; see the module docstring.

    `on_connect` is called with the open connection before the first step (to register UDFs
    or filesystems); a `duckdb.Error` it raises is reported like a database that cannot open.
    """
    import duckdb

    _check_order(plan)
    emit = events if events is not None else _ignore
    vault = Secrets(plan.secret_vars, secrets or {}, plan.secrets)
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
    hooks.run_start(record)
    outcomes: list[StepOutcome] = []
    failures: list[Failure] = []

    def finish() -> RunResult:
        elapsed = (time.perf_counter() - started) * 1000
        result = RunResult(
            database=database,
            outcomes=tuple(outcomes),
            failures=tuple(failures),
            duration_ms=elapsed,
            run_id=record.run_id,
        )
        ended = dataclasses.replace(record, finished_at=datetime.now(UTC), result=result)
        hooks.run_end(ended)
        return dataclasses.replace(result, warnings=tuple(hooks.warnings))

    try:
        con = _connect(database, threads, memory_limit)
    except (duckdb.Error, OSError) as err:
        failures.append(_database_failure(vault.mask(f"cannot open database {database}: {err}")))
        _skip_all(plan.steps, "the database could not be opened", outcomes, emit)
        return finish()
    try:
        if on_connect is not None:
            try:
                on_connect(con)
            except duckdb.Error as err:
                message = vault.mask(f"cannot prepare database {database}: {err}")
                failures.append(_database_failure(message))
                _skip_all(plan.steps, "the database could not be prepared", outcomes, emit)
                return finish()
        udfs, problem = _load_udfs(con, plan)
        if problem is not None:
            failures.append(dataclasses.replace(problem, message=vault.mask(problem.message)))
            _skip_all(plan.steps, "the Python UDFs could not be loaded", outcomes, emit)
            return finish()
        started_at: dict[str, datetime] = {}  # of the steps running, for their retry records

        def retried(step: Step, event: RetryEvent) -> None:
            message = (
                f"retrying ({event.retry}/{event.retries}) in {event.wait:g} s: "
                f"{vault.mask(event.message)}"
            )
            emit(RunEvent(kind=EventKind.RETRYING, step=step, message=message))
            if hooks.active:
                hooks.step_retry(
                    StepRecord(
                        run_id=record.run_id,
                        step=step,
                        state=StepState.RETRYING,
                        attempt=event.retry + 1,
                        started_at=started_at.get(step.id, datetime.now(UTC)),
                        outcome=StepOutcome(
                            step_id=step.id,
                            status=StepStatus.FAILED,
                            message=vault.mask(event.message),
                        ),
                    )
                )

        ctx = StepContext(
            project_dir=Path(plan.project_dir), secrets=vault, udfs=udfs, on_retry=retried
        )
        blocked: dict[str, str] = {}  # step id → the failed step it waits for
        for step in plan.steps:
            reason = _skip_reason(step, failures, blocked, fail_fast)
            if reason is not None:
                _skip_all([step], reason, outcomes, emit)
                continue
            emit(RunEvent(kind=EventKind.STARTED, step=step))
            at = datetime.now(UTC) if hooks.active else None
            if at is not None:
                started_at[step.id] = at
                hooks.step_start(
                    StepRecord(
                        run_id=record.run_id, step=step, state=StepState.RUNNING, started_at=at
                    )
                )
            outcome = run_step(con, step, ctx)
            outcomes.append(outcome)
            if outcome.status is StepStatus.OK:
                kind = EventKind.FINISHED
            else:
                kind = EventKind.FAILED
                failures.append(_step_failure(step, outcome))
            emit(
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
            if at is not None:
                del started_at[step.id]
                _step_ended(hooks, record.run_id, step, at, outcome)
    finally:
        con.close()
    return finish()


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
    )


def run_step(con: Connection, step: Step, ctx: StepContext) -> StepOutcome:
    """Run one step on `con`, atomically; its outcome, with any error message masked.

    Independent of the plan's order and of other steps: it needs only the connection and
    `ctx`. A run-time error (DuckDB, the file system, a load's checks, a UDF) is a FAILED
    outcome; anything else is a bug and propagates.
    """
    import duckdb

    from sqlflowc.connectors.runtime import ConnectorError
    from sqlflowc.runtime.load_modes import LoadError
    from sqlflowc.runtime.udfs import UdfStepError

    t0 = time.perf_counter()
    error: str | None = None
    code: Code | None = None
    help = ""
    counts: tuple[int | None, ...] = ()
    load: LoadCounts | None = None
    try:
        counts, load = _execute(con, step, ctx)
    except LoadError as err:
        error, code, help = err.message, err.code, err.help
    except UdfStepError as err:
        error, code = str(err), err.code
    except ConnectorError as err:
        error = err.message
    except (_StepError, duckdb.Error) as err:
        error = str(err)
        raised = ctx.udfs.explain(error) if ctx.udfs is not None else None
        if raised is not None:  # a Python UDF raised inside the statement
            error, code = raised, Code.UDF_FAILED
    except OSError as err:
        error = f"{err.strerror or err} ({err.filename})" if err.filename else str(err)
    elapsed = (time.perf_counter() - t0) * 1000
    mask = ctx.secrets.mask
    if error is not None:
        return StepOutcome(
            step_id=step.id,
            status=StepStatus.FAILED,
            duration_ms=elapsed,
            message=mask(error),
            code=code,
            help=mask(help),
        )
    return StepOutcome(
        step_id=step.id,
        status=StepStatus.OK,
        duration_ms=elapsed,
        rows=next((c for c in reversed(counts) if c is not None), None),
        statement_rows=counts,
        load=load,
    )


def _execute(
    con: Connection, step: Step, ctx: StepContext
) -> tuple[tuple[int | None, ...], LoadCounts | None]:
    """Carry out one step: the row count of each statement, and what a load did."""
    sub = ctx.secrets.substitute_sql
    match step:
        case Load() if step.read is not None:
            from sqlflowc.runtime.reads import source_read

            with source_read(con, step, ctx.project_dir, sub, ctx.retry_report(step)):
                return _execute(con, dataclasses.replace(step, read=None), ctx)
        case Load() | CreateTable():
            if isinstance(step.mode, Replace):
                with _udf_threads(con, step, ctx):
                    return _in_transaction(con, [sub(s) for s in step.sql]), None
            from sqlflowc.runtime.load_modes import run_load

            mode, target, staging = step.mode, step.target, sub(step.sql[0])
            with _udf_threads(con, step, ctx):
                load = _atomic(con, lambda: run_load(con, target, mode, staging))
            return (load.rows,), load
        case CreateView() | Sql():
            with _udf_threads(con, step, ctx):
                return _in_transaction(con, [sub(step.sql)]), None
        case Export():
            with _udf_threads(con, step, ctx):
                return _export(con, step, ctx), None
        case TableUdf():
            udfs = ctx.udfs
            if udfs is None:
                raise _StepError(f"internal error: no UDFs loaded for step `{step.id}`")
            query = sub(step.query)
            return _atomic(con, lambda: udfs.run_table_udf(con, step, query)), None
        case _:
            assert_never(step)


def _udf_threads(
    con: Connection, step: Step, ctx: StepContext
) -> contextlib.AbstractContextManager[None]:
    """One DuckDB thread while a step calls scalar Python UDFs (`UdfRuntime.threads_for`)."""
    if ctx.udfs is None:
        return contextlib.nullcontext()
    return ctx.udfs.threads_for(con, step_udfs(step))


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


def _connect(database: str, threads: int | None, memory_limit: str | None) -> Connection:
    import duckdb

    if not database.startswith(":memory:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    return duckdb.connect(database, config=config)


def _skip_all(
    steps: Iterable[Step],
    reason: str,
    outcomes: list[StepOutcome],
    emit: Callable[[RunEvent], None],
) -> None:
    for step in steps:
        outcomes.append(StepOutcome(step_id=step.id, status=StepStatus.SKIPPED, message=reason))
        emit(RunEvent(kind=EventKind.SKIPPED, step=step, message=reason))


def _skip_reason(
    step: Step, failures: list[Failure], blocked: dict[str, str], fail_fast: bool
) -> str | None:
    if failures and fail_fast:
        return f"not run: step `{failures[0].step_id}` failed (--fail-fast)"
    failed = {f.step_id for f in failures}
    for dep in step.depends_on:
        root = dep if dep in failed else blocked.get(dep)
        if root is not None:
            blocked[step.id] = root
            return f"depends on failed step `{root}`"
    return None


def _in_transaction(con: Connection, statements: Iterable[str]) -> tuple[int | None, ...]:
    """Run statements atomically; the row count each reports (None when it reports none)."""
    return _atomic(con, lambda: tuple(_execute_sql(con, sql) for sql in statements))


def _atomic(con: Connection, body: Callable[[], T]) -> T:
    """Run `body` in one transaction: committed when it returns, rolled back when it raises
    (whatever it raises: a load's own check, a DuckDB error, an interrupt)."""
    import duckdb

    con.execute("BEGIN TRANSACTION")
    try:
        result = body()
        con.execute("COMMIT")
    except BaseException:
        # A failed COMMIT has already ended the transaction; there is nothing to roll back.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return result


def _execute_sql(con: Connection, sql: str) -> int | None:
    result = con.execute(sql)
    description = result.description
    if description and len(description) == 1 and description[0][0] == "Count":
        rows = result.fetchall()
        return int(rows[0][0]) if rows else None
    return None


def _export(con: Connection, step: Export, ctx: StepContext) -> tuple[int | None, ...]:
    """Write the query's rows through the format's connector (`ConnectorRuntime.write`)."""
    from sqlflowc.connectors import get_connector
    from sqlflowc.connectors.runtime import WriteRequest

    uri = ctx.secrets.substitute(step.uri)
    connector = get_connector(step.format)
    if connector is None or connector.export_schema is None:
        raise _StepError(f"internal error: export step has format {step.format!r}; please report")
    try:
        options = connector.parse_export(step.options)
    except ValueError as err:  # a hand-edited plan; the compiler validates options
        raise _StepError(f"invalid options for a {step.format.upper()} export: {err}") from None
    query = ctx.secrets.substitute_sql(step.query)
    request = WriteRequest(
        project_dir=ctx.project_dir,
        connection=con,
        query=query,
        target=uri,
        on_retry=ctx.retry_report(step),
    )
    return (connector.runtime().write(options, request).rows,)
