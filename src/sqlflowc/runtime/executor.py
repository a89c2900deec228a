"""The executor: runs a plan's steps on DuckDB, in plan order, each step atomic.

Contract of `run_plan`:
- Opens DuckDB at `database` (parent directories created; `:memory:` allowed) with the given
  `threads` / `memory_limit`; a database that cannot be opened is a `DATABASE_ERROR` failure
  and every step is skipped.
- Runs the steps in plan order (a topological order: `depends_on` names earlier steps). Each
  step is `BEGIN TRANSACTION; <step.sql...>; COMMIT`, with `ROLLBACK` on any failure, so a
  failed step leaves every table exactly as it was.
- An `export` step (`details`: `uri`, `format`, `options`) runs `COPY (<query>) TO <temp>` with
  the format's COPY options, the temp file beside the target (same name suffix, so compression
  by extension still works), then renames it over the target; a failure removes the temp file
  and leaves a previous target untouched. A relative `uri` is relative to `plan.project_dir`.
- `${name}` for each name in `plan.secret_vars` is replaced, in SQL and export URIs, right
  before execution, from `secrets`, else `plan.secrets`; a missing value fails the step. Every
  message the executor produces has secret values masked as `***`.
- Python UDFs: when steps name UDFs (`step.udfs`), they are imported from `plan.project_dir`
  and the scalar ones registered on the connection before the first step (a failure there is a
  run-level failure, SF0804/SF0810, and every step is skipped); a `table_udf` step runs its
  function on its input (`runtime/udfs.py`). A step calling scalar UDFs runs with one DuckDB
  thread (Python UDFs serialise on the interpreter lock; more threads only contend). A UDF that
  raises fails its step with SF0808, a table UDF returning the wrong columns with SF0809.
- A load step with `details.mode` append/merge/incremental runs `runtime/load_modes.run_load`
  inside the step's one transaction: it stages the source (`sql[0]`), checks keys and schemas,
  and regenerates the rest of the step's SQL from `details` and the schemas it finds. Its
  failures carry their own code (SF06xx/SF07xx) and help; its counts (`inserted N, updated M`)
  are in the outcome and the progress line.
- `fail_fast=True`: after a failure the remaining steps are skipped. `fail_fast=False`: a step
  runs unless it depends (transitively) on a failed step.
- Progress goes to `events` (started, finished with duration and rows, failed, skipped); the
  `RunResult` holds every step's outcome and the failures with the step's source location.
Runtime errors are `duckdb.Error` and `OSError`; anything else is a bug and propagates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlflowc.backend.plan import Plan, Step, StepKind
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.report import (
    EventKind,
    Failure,
    RunEvent,
    RunResult,
    StepOutcome,
    StepStatus,
    format_event,
)
from sqlflowc.syntax.varref import expand

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.backend.load_modes import LoadSpec
    from sqlflowc.runtime.load_modes import LoadCounts
    from sqlflowc.runtime.udfs import UdfRuntime

T = TypeVar("T")

# The result types and `format_event` are re-exported: callers of `run_plan` use them.
__all__ = [
    "EventKind",
    "Failure",
    "RunEvent",
    "RunResult",
    "StepOutcome",
    "StepStatus",
    "format_event",
    "run_plan",
]


class _StepError(Exception):
    """A step cannot run for a reason the executor finds itself (e.g. a missing secret)."""


class _Secrets:
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
) -> RunResult:
    """Execute `plan` on the DuckDB database `database`; see the module docstring.

    `on_connect` is called with the open connection before the first step (to register UDFs
    or filesystems); a `duckdb.Error` it raises is reported like a database that cannot open.
    """
    import duckdb

    _check_order(plan)
    emit = events if events is not None else _ignore
    vault = _Secrets(plan.secret_vars, secrets or {}, plan.secrets)
    started = time.perf_counter()
    outcomes: list[StepOutcome] = []
    failures: list[Failure] = []

    def finish() -> RunResult:
        elapsed = (time.perf_counter() - started) * 1000
        return RunResult(
            database=database,
            outcomes=tuple(outcomes),
            failures=tuple(failures),
            duration_ms=elapsed,
        )

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
        blocked: dict[str, str] = {}  # step id → the failed step it waits for
        for step in plan.steps:
            reason = _skip_reason(step, failures, blocked, fail_fast)
            if reason is not None:
                _skip_all([step], reason, outcomes, emit)
                continue
            emit(RunEvent(kind=EventKind.STARTED, step=step))
            outcome = _attempt(con, step, plan, vault, udfs)
            outcomes.append(outcome)
            if outcome.status is StepStatus.OK:
                kind = EventKind.FINISHED
            else:
                kind = EventKind.FAILED
                code = outcome.code or (
                    Code.EXPORT_FAILED if step.kind is StepKind.EXPORT else Code.STEP_FAILED
                )
                failures.append(
                    Failure(
                        step_id=step.id,
                        message=outcome.message,
                        location=step.location,
                        code=code,
                        help=outcome.help,
                    )
                )
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
    finally:
        con.close()
    return finish()


def _attempt(
    con: Connection, step: Step, plan: Plan, vault: _Secrets, udfs: UdfRuntime | None
) -> StepOutcome:
    """Run one step; its outcome, with any error message masked."""
    import duckdb

    from sqlflowc.runtime.load_modes import LoadError
    from sqlflowc.runtime.udfs import UdfStepError

    t0 = time.perf_counter()
    error: str | None = None
    code: Code | None = None
    help = ""
    counts: tuple[int | None, ...] = ()
    load: LoadCounts | None = None
    try:
        spec = _load_spec(step)
        if spec is None:
            counts = _run_step(con, step, plan, vault, udfs)
        else:
            load = _run_load(con, step, spec, vault)
            counts = (load.rows,)
    except LoadError as err:
        error, code, help = err.message, err.code, err.help
    except UdfStepError as err:
        error, code = str(err), err.code
    except (_StepError, duckdb.Error) as err:
        error = str(err)
        raised = udfs.explain(error) if udfs is not None else None
        if raised is not None:  # a Python UDF raised inside the statement
            error, code = raised, Code.UDF_FAILED
    except OSError as err:
        error = f"{err.strerror or err} ({err.filename})" if err.filename else str(err)
    elapsed = (time.perf_counter() - t0) * 1000
    if error is not None:
        return StepOutcome(
            step_id=step.id,
            status=StepStatus.FAILED,
            duration_ms=elapsed,
            message=vault.mask(error),
            code=code,
            help=vault.mask(help),
        )
    return StepOutcome(
        step_id=step.id,
        status=StepStatus.OK,
        duration_ms=elapsed,
        rows=next((c for c in reversed(counts) if c is not None), None),
        statement_rows=counts,
        load=load,
    )


def _load_spec(step: Step) -> LoadSpec | None:
    """The load a step performs (None: not an APPEND/MERGE/INCREMENTAL load step)."""
    if step.kind not in (StepKind.LOAD, StepKind.CREATE_TABLE):
        return None
    from sqlflowc.backend.load_modes import spec_from_details

    try:
        spec = spec_from_details(step.target, step.details)
    except ValueError as err:  # a hand-edited plan; the compiler writes valid details
        raise _StepError(f"invalid load details in step `{step.id}`: {err}") from None
    if spec is not None and not step.sql:
        raise _StepError(f"invalid load step `{step.id}`: no staging statement")
    return spec


def _run_load(con: Connection, step: Step, spec: LoadSpec, vault: _Secrets) -> LoadCounts:
    """A load step, in one transaction (`runtime/load_modes.py`)."""
    from sqlflowc.runtime.load_modes import run_load

    staging = vault.substitute(step.sql[0])
    return _atomic(con, lambda: run_load(con, spec, staging))


def _load_udfs(con: Connection, plan: Plan) -> tuple[UdfRuntime | None, Failure | None]:
    """Import and register the Python UDFs the plan's steps need (none: nothing to do)."""
    if not any(step.udfs for step in plan.steps):
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


def _run_step(
    con: Connection, step: Step, plan: Plan, vault: _Secrets, udfs: UdfRuntime | None
) -> tuple[int | None, ...]:
    statements = [vault.substitute(s) for s in step.sql]
    if step.kind is StepKind.TABLE_UDF:
        if udfs is None or len(statements) != 1:
            raise _StepError(f"internal error: table UDF step `{step.id}` is malformed")
        return _atomic(con, lambda: udfs.run_table_udf(con, step, statements[0]))
    with udfs.threads_for(con, step) if udfs is not None else contextlib.nullcontext():
        if step.kind is StepKind.EXPORT:
            return _export(con, step, statements, Path(plan.project_dir), vault)
        return _in_transaction(con, statements)


def _in_transaction(con: Connection, statements: Iterable[str]) -> tuple[int | None, ...]:
    """Run statements atomically; the row count each reports (None when it reports none)."""
    return _atomic(con, lambda: tuple(_execute(con, sql) for sql in statements))


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


def _execute(con: Connection, sql: str) -> int | None:
    result = con.execute(sql)
    description = result.description
    if description and len(description) == 1 and description[0][0] == "Count":
        rows = result.fetchall()
        return int(rows[0][0]) if rows else None
    return None


def _export(
    con: Connection,
    step: Step,
    statements: list[str],
    project_dir: Path,
    vault: _Secrets,
) -> tuple[int | None, ...]:
    """COPY the query into a temp file beside the target, then rename it into place."""
    import duckdb

    from sqlflowc.runtime.connectors.base import sql_string
    from sqlflowc.runtime.exporters import FORMATS, copy_options

    if len(statements) != 1:
        raise _StepError(
            f"internal error: export step has {len(statements)} queries; please report"
        )
    uri = vault.substitute(str(step.details.get("uri", "")))
    fmt = str(step.details.get("format", ""))
    options = step.details.get("options") or {}
    if not uri or "://" in uri:
        raise _StepError(f"cannot export to `{uri}`: only local files are supported")
    if fmt.upper() not in FORMATS or not isinstance(options, Mapping):
        raise _StepError(f"internal error: export step has format {fmt!r}; please report")
    try:
        option_list = copy_options(fmt, options)
    except ValueError as err:  # a hand-edited plan; the compiler validates options
        raise _StepError(f"invalid options for a {fmt.upper()} export: {err}") from None
    target = Path(uri).expanduser()
    if not target.is_absolute():
        target = project_dir / target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".sqlflowc-{uuid.uuid4().hex[:12]}-{target.name}")
    query = statements[0].strip().rstrip(";")
    copy = f"COPY (\n{query}\n) TO {sql_string(str(temp))} {option_list}"
    try:
        counts = _in_transaction(con, [copy])
        os.replace(temp, target)
    except (duckdb.Error, OSError):
        temp.unlink(missing_ok=True)
        raise
    return counts
