"""Reading PostgreSQL rows into Arrow record batches: `COPY ... TO STDOUT (FORMAT CSV)`,
streamed, typed exactly, memory bounded by the batch size.

`open_rows(conn, spec)` describes the relation or query (the catalog; nothing is read yet),
maps every column (`types.read_transfer`; a type without an exact counterpart raises
`ReadRefused` naming the columns), then starts

    COPY (SELECT <columns> FROM <table | (query)> [WHERE col > <watermark>]) TO STDOUT (FORMAT CSV)

and returns `PostgresRows`, whose `reader` is a `pyarrow.RecordBatchReader` of batches of at
most `spec.batch_size` rows in their final types (DECIMAL, TIMESTAMPTZ, UUID, JSON, lists, ...).

The path, and why (each step measured on the COPY of millions of rows):
- libpq hands the COPY data over one row at a time. `CopyStream` pulls it with
  `PGconn.get_copy_data` — psycopg's own `Copy.read()` costs twice as much per row — and
  serves it as a file of bytes.
- pyarrow's streaming CSV reader parses those bytes in blocks on its own threads: integers,
  floats and booleans straight into their Arrow types, everything else as text. NULL is the
  unquoted empty field, `""` is the empty string, the text `NULL` and `NaN` stay what they are.
- A private in-memory DuckDB turns the text columns into their types (`types.py`: BC dates,
  ±infinity, intervals in PostgreSQL's verbose style, hex bytea, arrays sent as JSON) and hands
  the rows on as Arrow batches of `batch_size` rows, with `arrow_lossless_conversion` so UUID,
  JSON, TIMETZ and HUGEINT keep their DuckDB types in the batches.
Memory holds a few CSV blocks of 1 MiB and a few batches,
whatever the table's size (the private DuckDB's `memory_limit` is 64MB: it converts a stream and
has nothing to cache).

Failures: the reader raises, and `PostgresRows.failure` keeps the original error (a psycopg
error from the server, say a terminated backend, or pyarrow's/DuckDB's conversion error) so
the caller can tell a transient fault from a permanent one after DuckDB has wrapped it.
`close()` ends the COPY (closing the connection when it was cut short) and frees everything;
it is safe to call twice.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import pq, sql
from psycopg.errors import error_from_result
from sqlglot import exp

from sqlflowc.connectors.postgres import socket_wait
from sqlflowc.connectors.postgres.catalog import (
    PgColumn,
    query_columns,
    relation_sql,
    table_columns,
)
from sqlflowc.connectors.postgres.params import TableName
from sqlflowc.connectors.postgres.types import ReadTransfer, Unsupported, Wire, read_transfer
from sqlflowc.connectors.postgres.watermark import WatermarkFilter, watermark_predicate

__all__ = [
    "CopyStream",
    "NoSuchRelation",
    "PostgresRows",
    "ReadRefused",
    "ReadSpec",
    "WatermarkFilter",
    "open_rows",
]

Conn = psycopg.Connection[tuple[object, ...]]

_ARROW: dict[Wire, pa.DataType] = {
    Wire.INT16: pa.int16(),
    Wire.INT32: pa.int32(),
    Wire.INT64: pa.int64(),
    Wire.UINT32: pa.uint32(),
    Wire.FLOAT32: pa.float32(),
    Wire.FLOAT64: pa.float64(),
    Wire.BOOL: pa.bool_(),
    Wire.TEXT: pa.string(),
}
# pyarrow parses the CSV in blocks of this many bytes; larger blocks made the process grow with
# the size of the table (freed blocks are not handed back), smaller ones parse slower.
CSV_BLOCK = 1 << 20


class ReadRefused(Exception):
    """The source cannot be read exactly (a column type with no DuckDB counterpart, an
    unknown column in `columns`); permanent."""


class NoSuchRelation(Exception):
    """The table or view named by `table` does not exist; permanent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadSpec:
    """What to read: a table or a query, optionally projected and filtered."""

    table: TableName | None = None
    query: str | None = None
    columns: Sequence[str] | None = None
    watermark: WatermarkFilter | None = None
    batch_size: int = 100_000


class CopyStream(io.RawIOBase):
    """The bytes of a running `COPY ... TO STDOUT`, as a readable binary file."""

    def __init__(self, pgconn: pq.abc.PGconn, encoding: str) -> None:
        super().__init__()
        self._pgconn = pgconn
        self._encoding = encoding
        self._pending: memoryview = memoryview(b"")
        self.finished = False  # the server sent everything and said COPY n
        self.rows: int | None = None
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def empty(self) -> bool:
        """Whether the COPY sent no row at all (reads ahead one chunk, kept for `readinto`)."""
        if not self._pending and not self.finished:
            try:
                nbytes, data = socket_wait.copy_data(self._pgconn)
            except psycopg.Error as err:
                self._broken(err)
            if nbytes > 0:
                self._pending = memoryview(data)
            else:
                self._end()
        return not self._pending and self.finished

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        want = len(out)
        done = 0
        if self._pending:
            done = min(want, len(self._pending))
            out[:done] = self._pending[:done]
            self._pending = self._pending[done:]
        pgconn = self._pgconn
        while done < want and not self.finished:
            try:
                nbytes, data = socket_wait.copy_data(pgconn)
            except psycopg.Error as err:  # the connection broke (libpq's own message)
                self._broken(err)
            if nbytes > 0:
                take = min(nbytes, want - done)
                out[done : done + take] = data[:take]
                if take < nbytes:
                    self._pending = data[take:]
                done += take
            else:
                self._end()
        return done

    def _broken(self, err: psycopg.Error) -> NoReturn:
        """The connection broke mid-COPY: raise the server's own reason when it sent one before
        closing (`terminating connection due to administrator command`), else libpq's."""
        self.finished = True
        cause: BaseException = err
        try:
            while (result := socket_wait.result(self._pgconn)) is not None:
                if result.status == pq.ExecStatus.FATAL_ERROR and result.error_field(
                    pq.DiagnosticField.SQLSTATE
                ):
                    cause = error_from_result(result, encoding=self._encoding)
                    break
        except psycopg.Error:
            pass  # nothing more to read: libpq's message is all there is
        self.failure = cause
        raise cause from None

    def _end(self) -> None:
        """After the last row: the final result (COPY n), or the error that cut it short."""
        self.finished = True
        error: BaseException | None = None
        while (result := socket_wait.result(self._pgconn)) is not None:
            if result.status == pq.ExecStatus.COMMAND_OK:
                status = (result.command_status or b"").split()
                if len(status) == 2 and status[1].isdigit():
                    self.rows = int(status[1])
            elif error is None:
                error = error_from_result(result, encoding=self._encoding)
        if error is None and self._pgconn.status != pq.ConnStatus.OK:
            error = psycopg.OperationalError(
                "the connection is lost: " + self._pgconn.get_error_message(self._encoding).strip()
            )
        if error is not None:
            self.failure = error
            raise error


@dataclass(slots=True)
class _Outcome:
    """What the consumer of the batches saw: rows handed on, and the error that ended it."""

    rows: int = 0
    failure: BaseException | None = None


@dataclass(slots=True)
class PostgresRows:
    """A running read (see the module docstring)."""

    columns: list[ReadTransfer]
    reader: pa.RecordBatchReader
    warnings: list[str]
    _conn: Conn
    _stream: CopyStream
    _duck: duckdb.DuckDBPyConnection
    _outcome: _Outcome
    _closed: bool = field(default=False)

    @property
    def failure(self) -> BaseException | None:
        """The first error of the read: PostgreSQL's (the connection, the server), else the
        conversion's; None while all is well."""
        return self._stream.failure or self._outcome.failure

    @property
    def rows(self) -> int:
        """Rows handed on so far."""
        return self._outcome.rows

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._duck.close()
        finally:
            if not self._stream.finished:
                self._conn.close()  # mid-COPY: closing is the quick way to stop the server


def open_rows(conn: Conn, spec: ReadSpec) -> PostgresRows:
    """Describe, map, and start streaming `spec` (see the module docstring)."""
    described = _describe(conn, spec)
    transfers, warnings = _map(described)
    copy = _copy_statement(conn, spec, transfers)
    pgconn = conn.pgconn
    encoding = conn.info.encoding
    pgconn.send_query(copy.as_bytes(conn))
    result = socket_wait.result(pgconn)  # the server may take long to start the COPY
    if result is None or result.status != pq.ExecStatus.COPY_OUT:
        error = (
            error_from_result(result, encoding=encoding)
            if result is not None
            else psycopg.OperationalError(pgconn.get_error_message(encoding))
        )
        while socket_wait.result(pgconn) is not None:
            pass
        raise error
    stream = CopyStream(pgconn, encoding)
    duck = duckdb.connect()
    outcome = _Outcome()
    try:
        wire: pa.RecordBatchReader | pacsv.CSVStreamingReader
        if stream.empty():  # pyarrow's CSV reader refuses an empty input
            schema = pa.schema([(f"c{i}", _ARROW[t.wire]) for i, t in enumerate(transfers)])
            wire = pa.RecordBatchReader.from_batches(schema, [])
        else:
            wire = _csv_reader(stream, transfers)
        typed = _typed(duck, wire, transfers, spec.batch_size)
        reader = pa.RecordBatchReader.from_batches(typed.schema, _checked(typed, stream, outcome))
    except BaseException as err:
        duck.close()
        if not stream.finished:
            conn.close()
        if stream.failure is not None and stream.failure is not err:
            raise stream.failure from None  # the cause, not pyarrow's account of it
        raise
    return PostgresRows(transfers, reader, warnings, conn, stream, duck, outcome)


def _checked(
    batches: pa.RecordBatchReader, stream: CopyStream, outcome: _Outcome
) -> Iterator[pa.RecordBatch]:
    """`batches`, then proof that PostgreSQL sent them all: its `COPY n` equals the rows
    handed on. An error on the way is kept in `outcome` and raised as the original."""
    try:
        for batch in batches:
            outcome.rows += batch.num_rows
            yield batch
    except (pa.ArrowException, duckdb.Error, psycopg.Error, OSError) as err:
        outcome.failure = stream.failure or err
        raise outcome.failure from None
    if stream.rows != outcome.rows:
        outcome.failure = psycopg.OperationalError(
            f"the COPY ended after {outcome.rows} rows, but PostgreSQL reported {stream.rows}"
        )
        raise outcome.failure


def _describe(conn: Conn, spec: ReadSpec) -> list[PgColumn]:
    if spec.table is not None:
        found = table_columns(conn, spec.table)
        if found is None:
            raise NoSuchRelation(f'relation "{spec.table}" does not exist')
        columns = found
    else:
        assert spec.query is not None
        columns = query_columns(conn, clean_query(spec.query))
    if spec.columns is not None:
        by_name = {c.name: c for c in columns}
        unknown = [name for name in spec.columns if name not in by_name]
        if unknown:
            have = ", ".join(c.name for c in columns)
            raise ReadRefused(
                f"no column {', '.join(repr(u) for u in unknown)} in the source (it has: {have})"
            )
        columns = [by_name[name] for name in spec.columns]
    seen: set[str] = set()
    for c in columns:
        if c.name.lower() in seen:
            raise ReadRefused(
                f'two columns are named "{c.name}": name them apart in the query (AS ...)'
            )
        seen.add(c.name.lower())
    return columns


def _map(columns: Sequence[PgColumn]) -> tuple[list[ReadTransfer], list[str]]:
    transfers: list[ReadTransfer] = []
    refused: list[Unsupported] = []
    for i, column in enumerate(columns):
        mapped = read_transfer(column.name, column.type, wire_name=f"c{i}")
        if isinstance(mapped, Unsupported):
            refused.append(mapped)
        else:
            transfers.append(mapped)
    if refused:
        lines = "; ".join(f'column "{u.name}": {u.reason} ({u.help})' for u in refused)
        raise ReadRefused(lines)
    warnings = [f'column "{t.name}": {t.warning}' for t in transfers if t.warning]
    return transfers, warnings


def clean_query(query: str) -> str:
    """The query without trailing `;` and blanks, so it can be wrapped in a subquery."""
    text = query.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def _copy_statement(conn: Conn, spec: ReadSpec, transfers: Sequence[ReadTransfer]) -> sql.Composed:
    select = sql.SQL(", ").join(sql.SQL(t.server.sql(dialect="postgres")) for t in transfers)
    source: sql.Composable
    if spec.table is not None:
        source = relation_sql(spec.table)
    else:
        assert spec.query is not None
        source = sql.SQL("(\n{}\n) AS q").format(sql.SQL(clean_query(spec.query)))
    where: sql.Composable = sql.SQL("")
    if spec.watermark is not None:
        try:
            where = watermark_predicate(conn, spec.watermark, transfers)
        except ValueError as err:  # no such column
            raise ReadRefused(str(err)) from None
    return sql.SQL("COPY (SELECT {} FROM {}{}) TO STDOUT (FORMAT CSV)").format(
        select, source, where
    )


def _csv_reader(stream: CopyStream, transfers: Sequence[ReadTransfer]) -> pacsv.CSVStreamingReader:
    names = [f"c{i}" for i in range(len(transfers))]
    return pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=names, block_size=CSV_BLOCK),
        # A row of one NULL column is an empty line: it must count.
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={n: _ARROW[t.wire] for n, t in zip(names, transfers, strict=True)},
            null_values=[""],
            quoted_strings_can_be_null=False,
            strings_can_be_null=True,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def _typed(
    duck: duckdb.DuckDBPyConnection,
    rows: pa.RecordBatchReader | pacsv.CSVStreamingReader,
    transfers: Sequence[ReadTransfer],
    batch_size: int,
) -> pa.RecordBatchReader:
    """The rows in their final types, converted by `duck`, `batch_size` rows a batch."""
    duck.execute("SET arrow_lossless_conversion = true")
    duck.execute("SET memory_limit = '64MB'")  # it converts a stream; nothing to cache
    duck.register("pg_rows", rows)
    projection = [
        exp.alias_(
            t.convert
            if t.convert is not None
            else exp.column(exp.to_identifier(f"c{i}", quoted=True)),
            exp.to_identifier(t.name, quoted=True),
        )
        for i, t in enumerate(transfers)
    ]
    query = exp.select(*projection).from_("pg_rows").sql(dialect="duckdb")
    return duck.sql(query).to_arrow_reader(batch_size)
