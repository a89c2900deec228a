"""The POSTGRES connector's run-time face: read, write, test, discover — with psycopg.

- `read(params, request)`: one connection (session settings of `session.py`), the table or
  query described and streamed (`read.open_rows`) as `ArrowBatches` (with the `select` that
  converts them, applied by the executor); the request's projection
  and watermark are pushed into PostgreSQL's query (`watermark_applied` when the watermark
  column's type orders alike on both sides). `close` ends the COPY and closes the connection;
  `failure` tells the executor why the batches stopped (a lost connection is transient).
  Columns read inexactly (numeric without precision → DOUBLE) are reported to
  `request.on_warning`.
- `write(options, request)`: the EXPORT's rows into `options.table` (`write.write_rows`) on
  the connection named by the EXPORT's target: a `postgresql://` URI, or a profile connection
  whose fields the compiler merged into the options. A transient failure (a lost connection)
  is retried here, the whole transaction again, `options.retries` times, each retry reported to
  `request.on_retry`.
- `test(params, project_dir)`: the server's version and the first tables.
- `discover(params)`: the source's columns as DuckDB types, from the catalog (compile time).

Every failure is a `ConnectorError` whose message names the connection and its endpoint
(`postgres connection warehouse (db:5432/app): relation "public.orderz" does not exist`) and
holds no secret; `transient` as `errors.is_transient` says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
from pyarrow import ArrowException

from sqlflowc.connectors.postgres.catalog import (
    list_tables,
    query_columns,
    server_version,
    table_columns,
)
from sqlflowc.connectors.postgres.errors import PostgresFailure
from sqlflowc.connectors.postgres.params import ConnectionParams, ExportOptions, SourceParams
from sqlflowc.connectors.postgres.read import (
    NoSuchRelation,
    PostgresRows,
    ReadRefused,
    ReadSpec,
    clean_query,
    open_rows,
)
from sqlflowc.connectors.postgres.session import Target, connect, target_of
from sqlflowc.connectors.postgres.types import Unsupported, read_transfer
from sqlflowc.connectors.postgres.watermark import WatermarkFilter, pushable
from sqlflowc.connectors.postgres.write import WriteCounts, WriteRefused, WriteSpec, write_rows
from sqlflowc.connectors.runtime import (
    ArrowBatches,
    ConnectionTest,
    ConnectorError,
    ConnectorRuntime,
    ReadRequest,
    WriteRequest,
    WriteResult,
)
from sqlflowc.retry import RetryPolicy, call_with_retries, on_stop
from sqlflowc.schema import Column

__all__ = ["PostgresRuntime"]

TABLES_SHOWN = 10
DISCOVERY_TIMEOUT = 5  # seconds: a compile waits no longer for a server


class PostgresRuntime(ConnectorRuntime):
    """See the module docstring."""

    def read(self, params: Any, request: ReadRequest) -> ArrowBatches:
        assert isinstance(params, SourceParams)
        target = target_of(params)
        spec = ReadSpec(
            table=params.relation,
            query=params.query,
            columns=list(request.columns or params.columns or []) or None,
            watermark=_watermark(request),
            batch_size=request.batch_size or params.batch_size,
        )
        conn = _connect(params, target)
        try:
            with on_stop(conn.cancel_safe):  # the run stops: the catalog query is cancelled
                rows = open_rows(conn, spec)
        except (psycopg.Error, NoSuchRelation, ReadRefused, OSError, ArrowException) as err:
            conn.close()
            raise _failure(err, target) from None
        except BaseException:
            conn.close()
            raise
        if request.on_warning is not None:
            for warning in rows.warnings:
                request.on_warning(f"postgres {target}: {warning}")

        def close() -> None:
            try:
                rows.close()
            finally:
                conn.close()

        return ArrowBatches(
            rows.reader,
            watermark_applied=_pushed(spec.watermark, rows),
            close=close,
            failure=lambda: _read_failure(rows, target),
            select=rows.select,
        )

    def write(self, options: Any, request: WriteRequest) -> WriteResult:
        assert isinstance(options, ExportOptions)
        params = options
        if "://" in request.target:
            params = replace(options, dsn=request.target, uri=None)
            name = "postgres"
        else:
            name = request.target
        target = target_of(params, name)
        spec = WriteSpec(
            target=options.target,
            mode=options.write_mode,
            keys=options.keys,
            policy=request.schema_policy,
        )

        def attempt() -> WriteCounts:
            # The run stops (Ctrl-C, SIGTERM): the server cancels the statement it runs.
            with _connection(params, target) as conn, on_stop(conn.cancel_safe):
                try:
                    return write_rows(conn, request.connection, request.query, spec)
                except WriteRefused as err:
                    raise ConnectorError(f"postgres {target}: {err.message}") from None
                except psycopg.Error as err:
                    raise _failure(err, target) from None

        counts = call_with_retries(  # each attempt is one transaction: a failed one left nothing
            attempt,
            policy=RetryPolicy(retries=options.retries, delay=options.retry_delay),
            is_transient=lambda err: isinstance(err, ConnectorError) and err.transient,
            what=str(options.target),
            on_retry=request.on_retry,
        )
        return WriteResult(
            rows=counts.rows,
            location=f"{options.target} ({target})",
            inserted=counts.inserted,
            updated=counts.updated if spec.mode == "merge" else None,
            created=counts.created,
        )

    def test(self, params: Any, project_dir: Path) -> ConnectionTest:
        assert isinstance(params, ConnectionParams)
        target = target_of(params)
        with _connection(params, target) as conn:
            try:
                version = server_version(conn)
                tables, more = list_tables(conn, TABLES_SHOWN)
            except psycopg.Error as err:
                raise _failure(err, target) from None
        return ConnectionTest(f"{version} at {target.endpoint}", tuple(tables), more)

    def discover(self, params: SourceParams) -> list[Column] | None:
        """The source's columns (DuckDB types), or None when they cannot be known now."""
        quick = replace(params, connect_timeout=min(params.connect_timeout, DISCOVERY_TIMEOUT))
        try:
            with _connection(quick, target_of(quick)) as conn:
                if params.relation is not None:
                    found = table_columns(conn, params.relation)
                else:
                    assert params.query is not None
                    found = query_columns(conn, clean_query(params.query))
        except (ConnectorError, psycopg.Error):
            return None
        if found is None:
            return None
        wanted = params.columns
        if wanted is not None:
            by_name = {c.name: c for c in found}
            if any(name not in by_name for name in wanted):
                return None
            found = [by_name[name] for name in wanted]
        columns: list[Column] = []
        for column in found:
            mapped = read_transfer(column.name, column.type)
            if isinstance(mapped, Unsupported):
                return None
            columns.append(Column(column.name, mapped.duckdb_type, column.nullable))
        return columns


def _connect(params: ConnectionParams, target: Target) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return connect(params, target)
    except PostgresFailure as err:
        raise ConnectorError(err.message, transient=err.transient) from None


@contextlib.contextmanager
def _connection(
    params: ConnectionParams, target: Target
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    conn = _connect(params, target)
    try:
        yield conn
    finally:
        conn.close()


def _watermark(request: ReadRequest) -> WatermarkFilter | None:
    mark = request.watermark
    if mark is None:
        return None
    return WatermarkFilter(mark.column, mark.after, mark.inclusive, mark.until)


def _pushed(mark: WatermarkFilter | None, rows: PostgresRows) -> bool:
    """Whether PostgreSQL filtered the rows by `mark` (its column's type is `pushable`)."""
    if mark is None:
        return False
    column = next((c for c in rows.columns if c.name.lower() == mark.column.lower()), None)
    return column is not None and pushable(column)


def _failure(err: BaseException, target: Target) -> ConnectorError:
    """The user's account of `err`: named connection, endpoint, no secret."""
    if isinstance(err, ConnectorError):
        return err
    if isinstance(err, NoSuchRelation | ReadRefused):
        return ConnectorError(_mask(f"postgres {target}: {err}", target))
    failure = PostgresFailure(err, str(target), target.secrets)
    return ConnectorError(failure.message, transient=failure.transient)


def _read_failure(rows: PostgresRows, target: Target) -> ConnectorError | None:
    cause = rows.failure
    return None if cause is None else _failure(cause, target)


def _mask(text: str, target: Target) -> str:
    for secret in sorted(target.secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
