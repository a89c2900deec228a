"""Running one step: `run_step(con, step, ctx)` carries out one plan step on a DuckDB connection,
atomically, knowing nothing of the plan's order or of other steps (the executor decides what
runs when).

Contract of `run_step`:
- It `match`es on the step's op and runs it in one transaction — `BEGIN TRANSACTION;
  <statements>; COMMIT`, with `ROLLBACK` on any failure, so a failed step leaves every table
  exactly as it was (a single `CREATE OR REPLACE TABLE/VIEW ... AS` with no commit mark runs in
  the transaction DuckDB gives a statement of its own: one call instead of three).
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
- Schema captures (`ctx.schemas`, `runtime/drift.py`): a `Load`'s source schema is captured
  right before the step (under `schema_drift: fail`, a changed schema fails it with SF0709 and
  the changes as notes, before any of its data moves); a CSV file's by DuckDB's sniffer, whose
  findings the load then reads the file with (detected once; should that read fail, the plan's
  own statement runs); the tables the step wrote are noted after it commits (and captured
  together, `SchemaCapture.flush`), and noted tables it may change are captured before it
  starts.
- Run-time errors (`duckdb.Error`, `OSError`, `ConnectorError`, a load's or a UDF's) make a
  FAILED outcome with the message, the SQL that ran (the statement that failed when the step
  has several, else the step's own; secrets masked) and how many attempts the step's retries
  allow (`max_attempts`: its source's or export's `retries` + 1, else 1); anything else is a
  bug and propagates.
- Commit marks (`ctx.marked_run`, a recorded run): a step that would not give the same result
  when run twice marks its commit in its own transaction (`runtime/commit_marks.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, assert_never

from sqlflowc.backend.plan import (
    Append,
    CreateTable,
    CreateView,
    Export,
    IncrementalLoad,
    Load,
    Replace,
    Sql,
    Step,
    TableUdf,
    step_statements,
    step_udfs,
)
from sqlflowc.diagnostics import Code, StepFailure
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.placeholders import substituted
from sqlflowc.runtime import commit_marks
from sqlflowc.runtime.report import RunWarning, StepOutcome, os_error_text, step_outcome
from sqlflowc.runtime.run_secrets import BoundSql, Secrets, StepError, preparable

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.retry import RetryEvent
    from sqlflowc.runtime.drift import SchemaCapture
    from sqlflowc.runtime.load_modes import LoadCounts
    from sqlflowc.runtime.udfs import UdfRuntime

T = TypeVar("T")

# The statement a step's thread runs (`_execute_sql`), for the step's failure to show.
_running = threading.local()

__all__ = ["Secrets", "StepContext", "StepError", "run_step"]


@dataclass(frozen=True, slots=True)
class StepContext:
    """What running a step needs besides its connection: the project directory (relative
    export URIs), the run's secrets, its Python UDFs (None when no step needs any), where a
    connector's retries of a step are reported (`on_retry(step, event)`), where what a step
    noticed without failing goes (`warnings`: a connector reading a column inexactly), and the
    run's schema captures (None: none are taken)."""

    project_dir: Path
    secrets: Secrets
    udfs: UdfRuntime | None = None
    on_retry: Callable[[Step, RetryEvent], None] | None = None
    warnings: list[RunWarning] = dataclasses.field(default_factory=list)
    schemas: SchemaCapture | None = None
    marked_run: str | None = None  # the run whose commits are marked (see the docstring)

    def retry_report(self, step: Step) -> Callable[[RetryEvent], None] | None:
        """`on_retry` for one step, as connectors take it."""
        report = self.on_retry
        return None if report is None else lambda event: report(step, event)

    def warning_report(self, step: Step) -> Callable[[str], None]:
        """A connector's warning about `step`: SF0914 at its statement, secrets masked."""

        def report(message: str) -> None:
            self.warnings.append(
                RunWarning(
                    code=Code.CONNECTOR_WARNING,
                    message=self.secrets.mask(f"step `{step.id}`: {message}"),
                    location=step.location,
                    label="this statement",
                )
            )

        return report


def run_step(con: Connection, step: Step, ctx: StepContext) -> StepOutcome:
    """Run one step on `con`, atomically; its outcome, with any error message masked.

    Independent of the plan's order and of other steps: it needs only the connection and
    `ctx`. A run-time error (DuckDB, the file system, a load's checks, a UDF) is a FAILED
    outcome; anything else is a bug and propagates.
    """
    import duckdb

    t0 = time.perf_counter()
    error: str | None = None
    code: Code | None = None
    help = ""
    notes: tuple[str, ...] = ()
    counts: tuple[int | None, ...] = ()
    load: LoadCounts | None = None
    _running.sql = None
    token = commit_marks.begin_step(ctx.marked_run, step)
    try:
        if ctx.schemas is not None:
            ctx.schemas.before_step(con, step)
            if isinstance(step, Load):
                ctx.schemas.before_load(con, step, ctx.secrets.substitute)
        counts, load = _execute(con, step, ctx)
        if ctx.schemas is not None:
            ctx.schemas.after_write(step)
    except StepFailure as err:  # a load's checks, a drift stop, a UDF, a connector
        error, code, help, notes = err.message, err.code, err.help, err.notes
    except (StepError, duckdb.Error) as err:
        error = str(err)
        raised = ctx.udfs.explain(error) if ctx.udfs is not None else None
        if raised is not None:  # a Python UDF raised inside the statement
            error, code = raised, Code.UDF_FAILED
    except OSError as err:
        error = os_error_text(err)
    finally:
        commit_marks.end_step(token)
    return step_outcome(
        step.id,
        t0,
        ctx.secrets.mask,
        error,
        code=code,
        help=help,
        notes=notes,
        sql=_step_sql(step, _running.sql) if error is not None else "",
        max_attempts=_max_attempts(step, ctx) if error is not None else 1,
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
            from sqlflowc.runtime.reads import with_source

            reading = step
            mark = _watermark(con, step)
            return with_source(
                con,
                reading,
                ctx.project_dir,
                ctx.secrets.substitute,  # parameters are values, not SQL
                lambda: _load(con, dataclasses.replace(reading, read=None), ctx, mark),
                on_retry=ctx.retry_report(step),
                on_warning=ctx.warning_report(step),
                watermark=mark,
            )
        case Load():
            return _load(con, step, ctx, _watermark(con, step))
        case CreateTable():
            return _load(con, step, ctx, {})
        case CreateView():
            with _udf_threads(con, step, ctx):
                return _in_transaction(con, [sub(step.sql)], built=True), None
        case Sql():
            with _udf_threads(con, step, ctx):
                return _in_transaction(con, [sub(step.sql, bind=preparable(step.sql))]), None
        case Export():
            with _udf_threads(con, step, ctx):
                return _export(con, step, ctx)
        case TableUdf():
            udfs = ctx.udfs
            if udfs is None:
                raise StepError(f"internal error: no UDFs loaded for step `{step.id}`")
            query = sub(step.query).text
            return _atomic(con, lambda: udfs.run_table_udf(con, step, query)), None
        case _:
            assert_never(step)


def _watermark(con: Connection, step: Load) -> dict[str, Any]:
    if not isinstance(step.mode, IncrementalLoad):
        return {}  # (without importing load_modes, which loads sqlglot)
    from sqlflowc.runtime.load_modes import watermark_binding

    return watermark_binding(con, step.target, step.mode)


def _load(
    con: Connection, step: Load | CreateTable, ctx: StepContext, mark: Mapping[str, Any]
) -> tuple[tuple[int | None, ...], LoadCounts | None]:
    """A load or a table written by a query, in one transaction; `mark` binds `$watermark`
    (a `LOAD ... MODE INCREMENTAL`)."""
    import duckdb

    sub = ctx.secrets.substitute_sql
    if isinstance(step.mode, Replace):  # CREATE TABLE ... AS: DuckDB prepares it
        statements = [sub(s, bind=True) for s in step.sql]
        with _udf_threads(con, step, ctx):
            sniffed = _sniffed(step, statements, ctx)
            if sniffed is not None:
                try:
                    return _in_transaction(con, [sniffed], built=True), None
                except duckdb.InterruptException:
                    raise
                except duckdb.Error:
                    pass  # the plan's own statement says what is wrong (or reads it after all)
            return _in_transaction(con, statements, built=True), None
    from sqlflowc.runtime.load_modes import run_load

    # APPEND stages a view, which DuckDB cannot prepare; the others a table.
    staging = sub(step.sql[0], bind=not isinstance(step.mode, Append))
    mode, target = step.mode, step.target
    params = {**staging.params, **mark}
    with _udf_threads(con, step, ctx):
        load = _atomic(con, lambda: run_load(con, target, mode, staging.text, params))
    return (load.rows,), load


def _sniffed(
    step: Load | CreateTable, statements: Sequence[BoundSql], ctx: StepContext
) -> BoundSql | None:
    """A CSV load's statement reading the file with what the schema capture's detection found
    (`SchemaCapture.sniffed_load`), so DuckDB does not detect it a second time."""
    if not isinstance(step, Load) or ctx.schemas is None or len(statements) != 1:
        return None
    statement = statements[0]
    sniffed = None if statement.params else ctx.schemas.sniffed_load(step, statement.text)
    return None if sniffed is None else BoundSql(sniffed, {})


def _udf_threads(
    con: Connection, step: Step, ctx: StepContext
) -> contextlib.AbstractContextManager[None]:
    """One DuckDB thread while a step calls scalar Python UDFs (`UdfRuntime.threads_for`)."""
    if ctx.udfs is None:
        return contextlib.nullcontext()
    return ctx.udfs.threads_for(con, step_udfs(step))


def _in_transaction(
    con: Connection, statements: Sequence[BoundSql], *, built: bool = False
) -> tuple[int | None, ...]:
    """Run statements atomically; the row count each reports (None when it reports none).

    One statement the compiler `built` (`CREATE OR REPLACE TABLE/VIEW ... AS`, never a
    transaction statement of the user's) whose commit is not marked runs as it is: DuckDB runs
    a statement outside a transaction in one of its own, committed when it succeeds and rolled
    back when it fails or is interrupted — the same as `BEGIN; statement; COMMIT`, in one call
    instead of three."""
    if built and len(statements) == 1 and not commit_marks.pending():
        return (_execute_sql(con, statements[0]),)
    return _atomic(con, lambda: tuple(_execute_sql(con, sql) for sql in statements))


def _atomic(con: Connection, body: Callable[[], T]) -> T:
    """Run `body` in one transaction: committed when it returns, rolled back when it raises
    (whatever it raises: a load's own check, a DuckDB error, an interrupt)."""
    import duckdb

    con.execute("BEGIN TRANSACTION")
    try:
        result = body()
        commit_marks.commit(con)
    except BaseException:
        # A failed COMMIT has already ended the transaction; there is nothing to roll back.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return result


def _execute_sql(con: Connection, sql: BoundSql) -> int | None:
    _running.sql = sql.text  # what a failure shows
    result = con.execute(sql.text, dict(sql.params)) if sql.params else con.execute(sql.text)
    description = result.description
    if description and len(description) == 1 and description[0][0] == "Count":
        rows = result.fetchall()
        return int(rows[0][0]) if rows else None
    return None


def _export(
    con: Connection, step: Export, ctx: StepContext
) -> tuple[tuple[int | None, ...], LoadCounts | None]:
    """Write the query's rows through the format's connector (`ConnectorRuntime.write`); what
    a target keeping rows (a database table) did: created, inserted, updated."""
    from sqlflowc.connectors import get_connector
    from sqlflowc.connectors.registry import plugin_guard
    from sqlflowc.connectors.runtime import WriteRequest

    uri = ctx.secrets.substitute(step.uri)
    connector = get_connector(step.format)
    if connector is None or connector.export_schema is None:
        raise StepError(f"internal error: export step has format {step.format!r}; please report")
    try:
        options = connector.parse_export(substituted(step.options, ctx.secrets.substitute))
    except ValueError as err:  # a hand-edited plan; the compiler validates options
        raise StepError(f"invalid options for a {step.format.upper()} export: {err}") from None
    # A connector may read the query on another cursor, so the secret is in its text.
    query = ctx.secrets.substitute_sql(step.query).text
    request = WriteRequest(
        project_dir=ctx.project_dir,
        connection=con,
        query=query,
        target=uri,
        on_retry=ctx.retry_report(step),
    )
    with plugin_guard(connector):
        result = connector.runtime().write(options, request)
    load = None
    if result.inserted is not None:  # a target keeping rows (load_modes loads sqlglot)
        from sqlflowc.runtime.load_modes import LoadCounts

        load = LoadCounts(inserted=result.inserted, updated=result.updated, created=result.created)
    return (result.rows,), load


def _step_sql(step: Step, running: str | None) -> str:
    """A failed step's SQL: the statement `running` when it failed, else its statements; and
    for a run-time source what was asked of it (`-- "_sqlflow_read_x" reads source `s`
    (postgres): SELECT ...`, placeholders of secrets as written): a read failing in the middle
    of the rows fails the statement reading them."""
    text = running or "\n".join(step_statements(step))
    if isinstance(step, Load) and step.read is not None:
        params = step.source.params
        asked = params.get("query") or params.get("table") or params.get("path")
        source = f"source `{step.source.name}` ({step.source.connector})"
        if isinstance(asked, str) and asked.strip():
            reads = " ".join(asked.split())
            text += f'\n-- "{step.read}" reads {source}: {reads}'
    return text


def _max_attempts(step: Step, ctx: StepContext) -> int:
    """How many attempts a step's retries allow: its run-time source's `retries` + 1, an
    export's to a database or to S3 (not to a local file, written once), else 1."""
    from sqlflowc.connectors import get_connector

    try:
        match step:
            case Load() if step.read is not None:
                connector = get_connector(step.source.connector)
                raw = substituted(step.source.params, ctx.secrets.substitute)
                parsed = connector.parse(raw) if connector is not None else None
            case Export():
                from sqlflowc.connectors.files.base import FileConnector

                connector = get_connector(step.format)
                uri = ctx.secrets.substitute(step.uri)
                local = "://" not in uri or uri.startswith("file://")
                if connector is None or (isinstance(connector, FileConnector) and local):
                    return 1
                parsed = connector.parse_export(substituted(step.options, ctx.secrets.substitute))
            case _:
                return 1
    except (ValueError, StepError):  # a hand-edited plan, a missing secret: told elsewhere
        return 1
    return int(getattr(parsed, "retries", 0)) + 1
