"""Reading PostgreSQL rows into Arrow record batches: `COPY ... TO STDOUT (FORMAT binary)`,
decoded by the ADBC PostgreSQL driver, typed exactly, memory bounded by the batch size.

`open_rows(conn, spec)` describes the relation or query on `conn` (the catalog; nothing is read
yet), maps every column (`types.read_transfer`; a type without an exact counterpart raises
`ReadRefused` naming the columns), then opens a second connection to the same server, with the
same parameters and session settings, through the ADBC driver, and runs

    SELECT <column or its text> AS c0, ... FROM <table | (query)> [WHERE col > <watermark>]

which the driver sends as `COPY (...) TO STDOUT (FORMAT binary)`. It returns `PostgresRows`:
`reader`, a `pyarrow.RecordBatchReader` of the rows as they crossed (each column under its own
name, batches of at most `spec.batch_size` rows), and `select`, the DuckDB select list that
turns them into their final types (DECIMAL, TIMESTAMPTZ, UUID, JSON, lists, ...), or None when
they already are. Whoever reads the batches applies it (`rows.query(relation)`): the executor
in the run's own DuckDB, as it stores them — the rows are converted once, where they land.

The path, and why (each step measured on the COPY of millions of rows):
- libpq hands COPY data over one row at a time. Python cannot take it faster than about a
  million rows a second (one call per row, holding the GIL); the driver's C++ loop takes it and
  decodes the binary rows into Arrow batches (of about 4 MB) without Python, and releases the
  GIL while it does.
- PostgreSQL's binary output costs it less than its text, and the common types need no parsing
  at all (integers, floats, booleans, text, dates, timestamps, uuid, bytea: `Wire.BINARY`). The
  other columns are sent as their text (`Wire.TEXT`: numeric, whose decoding by the driver costs
  more than PostgreSQL's own text, intervals, json, arrays, and every rarer type).
- `select` turns the text columns into their types (`types.py`: BC dates, ±infinity, intervals
  in PostgreSQL's verbose style, hex bytea, arrays sent as JSON) and restores the ±infinity of
  binary dates and timestamps. It used to run in a private in-memory DuckDB whose output
  crossed Arrow a second time into the run's database: 10% more CPU and 35 MB more memory.
Memory holds a driver batch and what the reader's consumer keeps, whatever the table's size.

Failures: the reader raises, and `PostgresRows.failure` keeps the original error as a psycopg
error (the driver's, translated: the server's SQLSTATE when it sent one, else an
`OperationalError` with libpq's words — a terminated backend, a lost connection), so the caller
can tell a transient fault from a permanent one after DuckDB has wrapped it. A value `select`
cannot convert fails the consumer's statement, naming the column. The driver checks how the
COPY ended: a COPY cut short is an error, never fewer rows. `close()` ends the COPY (closing
its connection); it is safe to call twice. When the run stops (Ctrl-C, SIGTERM) the server is
asked to cancel the COPY (`sqlflowc.retry.on_stop`): a query waiting for a lock, or a slow one,
ends with `QueryCanceled` rather than when the server is done.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc_postgres
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlglot import exp

from sqlflowc.connectors.postgres.catalog import (
    PgColumn,
    query_columns,
    relation_sql,
    table_columns,
)
from sqlflowc.connectors.postgres.params import TableName
from sqlflowc.connectors.postgres.session import SESSION_SETTINGS
from sqlflowc.connectors.postgres.types import ReadTransfer, Unsupported, read_transfer
from sqlflowc.connectors.postgres.watermark import WatermarkFilter, watermark_predicate
from sqlflowc.retry import StopWatch, on_stop

__all__ = [
    "BinaryCopy",
    "NoSuchRelation",
    "PostgresRows",
    "ReadRefused",
    "ReadSpec",
    "WatermarkFilter",
    "open_rows",
]

Conn = psycopg.Connection[tuple[object, ...]]

# The driver's batches hold about this many bytes. Its default (16 MB) made the process grow with
# the table (by 10% from 1M to 5M rows: freed buffers are not all handed back); at 4 MB it does
# not, at no cost in speed.
DRIVER_BATCH_BYTES = 4 << 20
_BATCH_HINT = "adbc.postgresql.batch_size_hint_bytes"
# What the driver raises: its own errors, and pyarrow's account of a failed batch.
_DRIVER_ERRORS = (adbc_driver_manager.Error, pa.ArrowException, OSError)


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


class BinaryCopy:
    """`query` run by the ADBC driver on a connection of its own (as `conninfo` says, with
    `settings` set first), its rows as Arrow batches; every driver error translated to a
    psycopg one (`driver_error`) and kept in `failure`."""

    def __init__(self, conninfo: str, query: str, settings: Mapping[str, str]) -> None:
        self.failure: psycopg.Error | None = None
        self.finished = False  # the last batch was read, or the COPY failed
        self._reader: pa.RecordBatchReader | None = None
        self._cursor: Any = None
        self._watch: StopWatch | None = None
        try:
            self._conn = adbc_postgres.connect(conninfo, autocommit=True)
        except _DRIVER_ERRORS as err:
            raise driver_error(err) from None
        try:
            self._cursor = self._conn.cursor()
            self._watch = on_stop(self._cancel)  # the run stops: the COPY is cancelled
            if settings:
                calls = ", ".join(
                    f"set_config(${2 * i + 1}, ${2 * i + 2}, false)" for i in range(len(settings))
                )
                values = [x for pair in settings.items() for x in pair]
                self._cursor.execute(f"SELECT {calls}", values)
                self._cursor.fetchall()
            self._cursor.adbc_statement.set_options(**{_BATCH_HINT: str(DRIVER_BATCH_BYTES)})
            self._cursor.execute(query)
            self._reader = _driver_reader(self._cursor)
        except _DRIVER_ERRORS as err:
            self.close()
            raise driver_error(err) from None
        except BaseException:
            self.close()
            raise

    @property
    def schema(self) -> pa.Schema:
        assert self._reader is not None
        return self._reader.schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows; raises the translated error if the COPY fails on the way."""
        assert self._reader is not None
        try:
            yield from self._reader  # each batch is read with the GIL released
        except _DRIVER_ERRORS as err:
            self.failure = driver_error(err)
            raise self.failure from None
        finally:
            self.finished = True

    def _cancel(self) -> None:
        """Ask the server to cancel the query (from another thread: the run stopped)."""
        cursor = self._cursor
        if cursor is not None:
            cursor.adbc_cancel()

    def close(self) -> None:
        """Stop the COPY if it still runs and close the connection; safe to call twice."""
        if self._watch is not None:
            self._watch.close()
        for thing in (self._reader, self._cursor, self._conn):
            if thing is not None:
                with contextlib.suppress(*_DRIVER_ERRORS):  # a broken one has nothing to release
                    thing.close()
        self._reader = self._cursor = None


def _driver_reader(cursor: Any) -> pa.RecordBatchReader:
    """The driver's own reader of the result, whose errors carry PostgreSQL's SQLSTATE and
    message fields (`fetch_record_batch()` hands out the plain pyarrow reader inside it, whose
    errors are text only); that one if the driver's is out of reach."""
    results = getattr(cursor, "_results", None)
    reader = getattr(results, "reader", None)
    if isinstance(reader, pa.RecordBatchReader):
        return reader
    return cursor.fetch_record_batch()


def driver_error(err: BaseException) -> psycopg.Error:
    """The driver's error as psycopg would have raised it: PostgreSQL's message (its fields when
    the driver kept them, else its text without the driver's prefixes and the query it ran) as
    the error of its SQLSTATE, else an `OperationalError` (libpq's words: a lost connection, a
    refused one)."""
    fields = {
        bytes(k).decode("utf-8", "replace"): bytes(v).decode("utf-8", "replace")
        for k, v in (getattr(err, "details", None) or [])
        if isinstance(k, bytes) and isinstance(v, bytes)
    }
    state = getattr(err, "sqlstate", None) or fields.get("PG_DIAG_SQLSTATE")
    primary = fields.get("PG_DIAG_MESSAGE_PRIMARY")
    if primary:
        parts = [primary]
        for label, key in (
            ("detail", "PG_DIAG_MESSAGE_DETAIL"),
            ("hint", "PG_DIAG_MESSAGE_HINT"),
            ("context", "PG_DIAG_CONTEXT"),
        ):
            if fields.get(key):
                parts.append(f"{label}: {' '.join(fields[key].split())}")
        return _psycopg_error(state, "; ".join(parts))
    text = str(err)
    found = re.search(r"SQLSTATE: ([0-9A-Z]{5})", text)
    if not state and found is not None:
        state = found.group(1)
    text = re.split(r"\s*Query was: ", text)[0]
    text = re.sub(r"\.?\s*SQLSTATE: [0-9A-Z]{5}\s*$", "", text)
    text = re.sub(r"^(?:[A-Z_]+: )?\[libpq\] ", "", text.strip())
    text = re.sub(
        r"^(?:Failed to execute query: |Execution error \[\w+\]: |PQgetCopyData\(\) failed: )",
        "",
        text,
    )
    text = re.sub(r"^(?:could not begin COPY: )?(?:ERROR|FATAL):\s+", "", text)
    return _psycopg_error(state, " ".join(text.split()) or type(err).__name__)


def _psycopg_error(state: str | None, message: str) -> psycopg.Error:
    if state and not state.startswith("08"):
        try:
            return psycopg.errors.lookup(state)(message)
        except KeyError:
            return psycopg.DatabaseError(message)
    return psycopg.OperationalError(message)


@dataclass(slots=True)
class PostgresRows:
    """A running read (see the module docstring)."""

    columns: list[ReadTransfer]
    reader: pa.RecordBatchReader
    select: str | None
    warnings: list[str]
    _stream: BinaryCopy
    _closed: bool = field(default=False)

    @property
    def failure(self) -> BaseException | None:
        """The error that ended the COPY (the connection, the server); None while all is
        well."""
        return self._stream.failure

    def query(self, relation: str) -> str:
        """DuckDB's query of the rows in their final types, the batches read as `relation`."""
        source = exp.to_identifier(relation, quoted=True).sql(dialect="duckdb")
        return f"SELECT {self.select or '*'} FROM {source}"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._stream.close()


def open_rows(conn: Conn, spec: ReadSpec) -> PostgresRows:
    """Describe, map, and start streaming `spec` (see the module docstring)."""
    described = _describe(conn, spec)
    transfers, warnings = _map(described)
    query, settings = _select_statement(spec, transfers)
    stream = BinaryCopy(_conninfo(conn), query.as_string(conn), {**SESSION_SETTINGS, **settings})
    try:
        wire = stream.schema
        schema = pa.schema([wire.field(i).with_name(t.name) for i, t in enumerate(transfers)])
        batches = _renamed(stream.batches(), schema, spec.batch_size)
        reader = pa.RecordBatchReader.from_batches(schema, batches)
    except BaseException:
        stream.close()
        raise
    return PostgresRows(transfers, reader, _select(transfers), warnings, stream)


def _renamed(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, batch_size: int
) -> Iterator[pa.RecordBatch]:
    """`batches` under the columns' own names, cut (without copying) to `batch_size` rows."""
    for batch in batches:
        renamed = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        for start in range(0, renamed.num_rows, batch_size):
            yield renamed.slice(start, batch_size)


def _select(transfers: Sequence[ReadTransfer]) -> str | None:
    """The select list converting the batches' columns, or None when none needs it."""
    if all(t.convert is None for t in transfers):
        return None
    return ", ".join(
        exp.alias_(
            t.convert
            if t.convert is not None
            else exp.column(exp.to_identifier(t.name, quoted=True)),
            exp.to_identifier(t.name, quoted=True),
        ).sql(dialect="duckdb")
        for t in transfers
    )


def _conninfo(conn: Conn) -> str:
    """What `conn` was opened with (every parameter not at its default, and the password)."""
    params: dict[str, Any] = dict(conn.info.get_parameters())
    if conn.info.password:
        params["password"] = conn.info.password
    return make_conninfo("", **params)


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
    for column in columns:
        mapped = read_transfer(column.name, column.type, wire_name=column.name)
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


def _select_statement(
    spec: ReadSpec, transfers: Sequence[ReadTransfer]
) -> tuple[sql.Composed, dict[str, str]]:
    """The SELECT the driver copies out, and the session settings its watermark reads."""
    select = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(
            sql.SQL(t.server.sql(dialect="postgres")), sql.Identifier(f"c{i}")
        )
        for i, t in enumerate(transfers)
    )
    source: sql.Composable
    if spec.table is not None:
        source = relation_sql(spec.table)
    else:
        assert spec.query is not None
        source = sql.SQL("(\n{}\n) AS q").format(sql.SQL(clean_query(spec.query)))
    where: sql.Composable = sql.SQL("")
    settings: dict[str, str] = {}
    if spec.watermark is not None:
        try:
            where, settings = watermark_predicate(spec.watermark, transfers)
        except ValueError as err:  # no such column
            raise ReadRefused(str(err)) from None
    return sql.SQL("SELECT {} FROM {}{}").format(select, source, where), settings
