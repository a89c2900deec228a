"""Running one step: `run_step(con, step, ctx)` carries out one plan step on a DuckDB connection,
atomically, knowing nothing of the plan's order or of other steps (the executor decides what
runs when).

Contract of `run_step`:
- It `match`es on the step's op and runs it in one transaction — `BEGIN TRANSACTION;
  <statements>; COMMIT`, with `ROLLBACK` on any failure, so a failed step leaves every table
  exactly as it was.
- `${name}` for each secret of `ctx.secrets` is replaced in SQL, export URIs and source
  parameters right before execution; a missing value, or a value that would change a SQL
  statement's structure, fails the step. Messages have secret values masked as `***`.
- A `Load` or `CreateTable` whose mode is `Append`, `Merge` or `Incremental` runs
  `runtime/load_modes.run_load` inside the one transaction: it stages the source (`sql[0]`),
  checks keys and schemas, and regenerates the rest of the step's SQL from the mode and the
  schemas it finds; its failures carry their own code (SF06xx/SF07xx) and help, its counts
  (`inserted N, updated M`) are in the outcome.
- A `Load` with `read` first reads its source through the connector's run-time face
  (`runtime/reads.py`): Arrow batches or a scan, visible to the step's SQL under that name.
- An `Export` is written by its format's connector (`ConnectorRuntime.write`), atomically: a
  failure leaves a previous target untouched. A relative `uri` is relative to
  `ctx.project_dir`.
- A `TableUdf` runs its Python function on its input (`runtime/udfs.py`); a step calling scalar
  Python UDFs runs with one DuckDB thread. A UDF that raises fails its step with SF0808, a table
  UDF returning the wrong columns with SF0809.
- A connector retrying a transient failure reports each retry to `ctx.on_retry(step, event)`.
- Run-time errors (`duckdb.Error`, `OSError`, `ConnectorError`, a load's or a UDF's) make a
  FAILED outcome with the message; anything else is a bug and propagates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, assert_never

from sqlflowc.backend.plan import (
    CreateTable,
    CreateView,
    Export,
    Load,
    Replace,
    Sql,
    Step,
    TableUdf,
    step_udfs,
)
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.report import StepOutcome, StepStatus
from sqlflowc.sql_splices import splice_error
from sqlflowc.syntax.varref import expand, expand_with_spans

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.retry import RetryEvent
    from sqlflowc.runtime.load_modes import LoadCounts
    from sqlflowc.runtime.udfs import UdfRuntime

T = TypeVar("T")

__all__ = ["Secrets", "StepContext", "StepError", "run_step"]


class StepError(Exception):
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
            raise StepError(f"{error.message(name)} ({error.help()}); the step was not run")
        return text

    def _value(self, name: str) -> str | None:
        """The secret `${name}` stands for; None when `name` is no secret (kept as written)."""
        if name not in self._values:
            return None
        value = self._values[name]
        if value is None:
            raise StepError(
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
    except (StepError, duckdb.Error) as err:
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
                raise StepError(f"internal error: no UDFs loaded for step `{step.id}`")
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
        raise StepError(f"internal error: export step has format {step.format!r}; please report")
    try:
        options = connector.parse_export(step.options)
    except ValueError as err:  # a hand-edited plan; the compiler validates options
        raise StepError(f"invalid options for a {step.format.upper()} export: {err}") from None
    query = ctx.secrets.substitute_sql(step.query)
    request = WriteRequest(
        project_dir=ctx.project_dir,
        connection=con,
        query=query,
        target=uri,
        on_retry=ctx.retry_report(step),
    )
    return (connector.runtime().write(options, request).rows,)
