"""The SQLITE connector's run-time face: read, write, test, discover — with Python's sqlite3.

Imported only when a run, `sqlflowc connect test` or a schema discovery needs it, so it may
import its driver (sqlite3) and pyarrow at the top.

- `read`: the table (or the query) as Arrow record batches of `batch_size` rows, so memory
  does not grow with the table. A table's column types come from its declared types (SQLite's
  affinity rules, plus DATE, TIMESTAMP and BOOLEAN); a query's from its first rows. The
  projection (`request.columns`) and an INCREMENTAL load's watermark are pushed into SQLite's
  query (`watermark_applied=True`): only new rows leave the database. A value that does not
  fit its column's type fails the read naming the column.
- `write`: an EXPORT's rows into a table, in one SQLite transaction (`BEGIN IMMEDIATE` …
  `COMMIT`): `replace` drops and recreates the table, `append` adds rows (creating the table
  when missing). A failure rolls everything back: readers see the old table or the new.
- `test`: SQLite's version, the file, and its first tables.

Failures a user can act on are `ConnectorError`s naming the database file; a locked database
is transient (sqlflowc retries it, `retries` times).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlflowc.connectors.runtime import (
    ArrowBatches,
    ConnectionTest,
    ConnectorError,
    ConnectorRuntime,
    ReadRequest,
    WriteRequest,
    WriteResult,
)
from sqlflowc.schema import Column

from sqlflowc_sqlite.params import ConnectionParams, ExportOptions, SourceParams

__all__ = ["SqliteRuntime"]

TABLES_SHOWN = 10

# Declared type (upper case) → (Arrow type, DuckDB type, from SQLite's value to Arrow's).
_Convert = Callable[[Any], Any]
_DATE: tuple[pa.DataType, str, _Convert] = (pa.date32(), "DATE", dt.date.fromisoformat)
_TIMESTAMP: tuple[pa.DataType, str, _Convert] = (
    pa.timestamp("us"),
    "TIMESTAMP",
    dt.datetime.fromisoformat,
)
_BOOLEAN: tuple[pa.DataType, str, _Convert] = (pa.bool_(), "BOOLEAN", bool)


def _column_type(declared: str) -> tuple[pa.DataType, str, _Convert | None]:
    """SQLite's affinity rules (https://sqlite.org/datatype3.html), plus three names whose
    text SQLite keeps as written: DATE, TIMESTAMP/DATETIME and BOOLEAN."""
    name = declared.strip().upper()
    if name == "DATE":
        return _DATE
    if name in ("TIMESTAMP", "DATETIME"):
        return _TIMESTAMP
    if name in ("BOOLEAN", "BOOL"):
        return _BOOLEAN
    if "INT" in name:
        return pa.int64(), "BIGINT", None
    if any(word in name for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string(), "VARCHAR", None
    if not name or "BLOB" in name:
        return pa.binary(), "BLOB", None
    return pa.float64(), "DOUBLE", None  # REAL, FLOAT, DOUBLE, NUMERIC, DECIMAL


def _declared(arrow_type: pa.DataType) -> str:
    """The type an exported column is declared with, so a read gets the same type back."""
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_integer(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "REAL"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "BLOB"
    return "TEXT"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_value(value: Any) -> Any:
    """A Python value from Arrow as SQLite stores it."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, int | float | str | bytes) or value is None:
        return value
    return str(value)  # Decimal, UUID, lists: as text


class SqliteRuntime(ConnectorRuntime):
    """See the module docstring."""

    def read(self, params: Any, request: ReadRequest) -> ArrowBatches:
        assert isinstance(params, SourceParams)
        conn = _connect(params, request.project_dir)
        try:
            sql, args, types = _select(conn, params, request)
            cursor = conn.execute(sql, args)
        except sqlite3.Error as err:
            conn.close()
            raise _failure(err, params) from None
        names = [d[0] for d in cursor.description]
        size = request.batch_size or params.batch_size
        first = cursor.fetchmany(size)
        if types is None:  # a query: types from its first rows
            types = [_inferred(column) for column in _columns(first, len(names))]
        schema = pa.schema([pa.field(n, t[0]) for n, t in zip(names, types, strict=True)])

        failures: list[ConnectorError] = []

        def batches() -> Iterator[pa.RecordBatch]:
            rows = first
            try:
                while rows:
                    yield _batch(rows, schema, types, params)
                    rows = cursor.fetchmany(size)
            except sqlite3.Error as err:
                failures.append(_failure(err, params))
                raise failures[-1] from None
            except ConnectorError as err:
                failures.append(err)
                raise

        return ArrowBatches(
            pa.RecordBatchReader.from_batches(schema, batches()),
            watermark_applied=request.watermark is not None,
            close=conn.close,
            # DuckDB wraps what the reader raises; this is how the cause comes back
            failure=lambda: failures[-1] if failures else None,
        )

    def write(self, options: Any, request: WriteRequest) -> WriteResult:
        assert isinstance(options, ExportOptions)
        path = Path(request.target.removeprefix("file://"))
        path = path if path.is_absolute() else request.project_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        reader = request.connection.sql(request.query).to_arrow_reader(10_000)
        conn = _open(path, options.key, isolation_level=None)
        table = _quote(options.table)
        rows = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
            columns = ", ".join(f"{_quote(f.name)} {_declared(f.type)}" for f in reader.schema)
            if options.mode == "replace":
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
            marks = ", ".join("?" for _ in reader.schema)
            insert = f"INSERT INTO {table} VALUES ({marks})"
            for batch in reader:
                values = [[_sqlite_value(v) for v in row.values()] for row in batch.to_pylist()]
                conn.executemany(insert, values)
                rows += len(values)
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise ConnectorError(f"sqlite {path}: {err}", transient=_locked(err)) from None
        finally:
            conn.close()
        return WriteResult(rows=rows, location=f"{path} table {options.table}", inserted=rows)

    def test(self, params: Any, project_dir: Path) -> ConnectionTest:
        assert isinstance(params, ConnectionParams)
        conn = _connect(params, project_dir)
        try:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
        except sqlite3.Error as err:
            raise _failure(err, params) from None
        finally:
            conn.close()
        n = len(names)
        shown = f"SQLite {sqlite3.sqlite_version} at {params.path} ({n} table{'s' * (n != 1)})"
        return ConnectionTest(shown, tuple(names[:TABLES_SHOWN]), len(names) > TABLES_SHOWN)

    def table_columns(self, params: SourceParams, project_dir: Path) -> list[Column] | None:
        """A table's columns as DuckDB types, or None when they cannot be known now."""
        try:
            conn = _connect(params, project_dir)
        except ConnectorError:
            return None
        try:
            found = _table_info(conn, params)
        except (sqlite3.Error, ConnectorError):
            return None
        finally:
            conn.close()
        return [
            Column(name, _column_type(declared)[1], nullable) for name, declared, nullable in found
        ]


def _open(path: Path, key: str | None, **kwargs: Any) -> sqlite3.Connection:
    conn: sqlite3.Connection = sqlite3.connect(path, **kwargs)
    if key is not None:  # SQLCipher builds decrypt with it; plain SQLite ignores the pragma
        conn.execute("PRAGMA key = " + "'" + key.replace("'", "''") + "'")
    return conn


def _connect(params: ConnectionParams, project_dir: Path) -> sqlite3.Connection:
    """Open the database read-only; a missing file is an error, never a new empty database."""
    path = project_dir / params.path
    if not path.is_file():
        raise ConnectorError(f"sqlite {params.path}: database file not found ({path})")
    try:
        return _open(path, params.key, uri=False, check_same_thread=False)
    except sqlite3.Error as err:
        raise _failure(err, params) from None


def _table_info(conn: sqlite3.Connection, params: SourceParams) -> list[tuple[str, str, bool]]:
    assert params.table is not None
    rows = conn.execute('SELECT name, type, "notnull" FROM pragma_table_info(?)', (params.table,))
    found = [(str(name), str(declared), not notnull) for name, declared, notnull in rows]
    if not found:
        raise ConnectorError(f"sqlite {params.path}: no table `{params.table}`")
    if params.columns is not None:
        by_name = {c[0]: c for c in found}
        missing = [c for c in params.columns if c not in by_name]
        if missing:
            raise ConnectorError(
                f"sqlite {params.path}: table `{params.table}` has no column "
                + ", ".join(f"`{m}`" for m in missing)
            )
        found = [by_name[c] for c in params.columns]
    return found


def _select(
    conn: sqlite3.Connection, params: SourceParams, request: ReadRequest
) -> tuple[str, list[Any], list[tuple[pa.DataType, str, _Convert | None]] | None]:
    """The statement reading the source, its arguments, and the columns' types (None for a
    query: they come from its rows)."""
    args: list[Any] = []
    if params.table is not None:
        info = _table_info(conn, params)
        wanted = list(request.columns or [name for name, _, _ in info])
        declared = {name: kind for name, kind, _ in info}
        types: list[tuple[pa.DataType, str, _Convert | None]] | None = [
            _column_type(declared.get(name, "")) for name in wanted
        ]
        sql = f"SELECT {', '.join(map(_quote, wanted))} FROM {_quote(params.table)}"
    else:
        assert params.query is not None
        types = None
        sql = f"SELECT * FROM ({params.query.strip().rstrip(';')})"
    mark = request.watermark
    if mark is not None:
        sql += f" WHERE {_quote(mark.column)} {'>=' if mark.inclusive else '>'} ?"
        args.append(_sqlite_value(mark.after))
        if mark.until is not None:
            sql += f" AND {_quote(mark.column)} <= ?"
            args.append(_sqlite_value(mark.until))
    return sql, args, types


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


def _inferred(values: list[Any]) -> tuple[pa.DataType, str, _Convert | None]:
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int}:
        return (pa.int64(), "BIGINT", None) if kinds else (pa.string(), "VARCHAR", None)
    if kinds <= {int, float}:
        return pa.float64(), "DOUBLE", None
    if kinds == {bytes}:
        return pa.binary(), "BLOB", None
    return pa.string(), "VARCHAR", str


def _batch(
    rows: Sequence[Sequence[Any]],
    schema: pa.Schema,
    types: list[tuple[pa.DataType, str, _Convert | None]],
    params: SourceParams,
) -> pa.RecordBatch:
    arrays = []
    for field, (arrow_type, _, convert), values in zip(
        schema, types, _columns(rows, len(schema)), strict=True
    ):
        try:
            if convert is not None:
                values = [None if v is None else convert(v) for v in values]
            arrays.append(pa.array(values, type=arrow_type))
        except (ValueError, TypeError, pa.ArrowException) as err:
            what = params.table or "the query"
            raise ConnectorError(
                f"sqlite {params.path}: column `{field.name}` of {what} holds a value that is "
                f"not {arrow_type}: {err}"
            ) from None
    return pa.record_batch(arrays, schema=schema)


def _locked(err: sqlite3.Error) -> bool:
    return isinstance(err, sqlite3.OperationalError) and "locked" in str(err)


def _failure(err: sqlite3.Error, params: ConnectionParams) -> ConnectorError:
    return ConnectorError(f"sqlite {params.path}: {err}", transient=_locked(err))
