"""Writing DuckDB rows into a PostgreSQL table: one transaction, exact types, exact counts.

`write_rows(conn, duck, query, spec)` writes the rows of the DuckDB query `query` (run on
`duck`) into `spec.target`:

1. The query's columns are mapped (`write_types.write_transfer`); a type PostgreSQL cannot hold
   exactly, or two columns with one name, raise `WriteRefused` before anything is written.
2. In ONE PostgreSQL transaction:
   - the target is read from the catalog (a view or other non-table is refused);
   - `replace`: a missing table is created with the mapped types; an existing one whose columns
     are the query's (by name) and whose types hold the query's exactly is truncated and keeps
     its indexes, constraints and grants; any other is dropped and created anew;
   - `append`/`merge`: a missing table is created; an existing one is checked column by column
     as local loads are (`sqlflowc.schema.check_load`: by name; an extra source column is an
     error, or added under `evolve`; a type must widen into the column's, or the column is
     widened under `evolve`; a NOT NULL column without default the rows lack is an error);
   - `fail` (the earlier releases' `if_exists: fail`): the table must not exist yet;
   - the rows are copied (`COPY ... FROM STDIN (FORMAT CSV)`), into the target directly
     (created, replaced, appended), or for `merge` into a temporary staging table with the
     target's column types, which is checked for NULL and duplicate keys and then merged
     (`merge.merge_staged`).
   Nothing is visible to other sessions until the COMMIT; any failure rolls it all back, so the
   target is exactly as it was.
3. The counts are exact: `inserted` rows new to the table, `updated` rows that matched a key
   (for `merge`), `rows` rows copied; PostgreSQL's `COPY n` must equal DuckDB's row count.

How rows cross: DuckDB's own CSV writer (`COPY (...) TO '<fifo>'`; it round-trips BC dates,
±infinity, NaN, -0, '' vs NULL and intervals exactly, where pyarrow's writer does not) writes
into a named pipe that a thread reads in 1 MiB chunks into psycopg's `COPY FROM STDIN`, so
nothing is staged on disk. Text is always quoted, so a value `\\.` is never PostgreSQL's
end-of-data marker. BLOBs are written as `\\x` + hex, lists as array literals (`types.py`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import psycopg
from psycopg import sql
from sqlglot import exp

from sqlflowc.connectors.postgres.catalog import (
    PgColumn,
    relation_kind,
    relation_sql,
    table_columns,
)
from sqlflowc.connectors.postgres.errors import WriteRefused
from sqlflowc.connectors.postgres.merge import merge_staged
from sqlflowc.connectors.postgres.params import ExportMode, TableName
from sqlflowc.connectors.postgres.types import Unsupported, WriteTransfer, duckdb_equivalent
from sqlflowc.connectors.postgres.write_types import write_transfer
from sqlflowc.schema import Column, check_load

__all__ = ["WriteCounts", "WriteRefused", "WriteSpec", "write_rows"]

Conn = psycopg.Connection[tuple[object, ...]]
CHUNK = 1 << 20
_TEXT_TYPES = frozenset({"text", "jsonb", "varbit"})


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteSpec:
    """Where and how to write."""

    target: TableName
    mode: ExportMode = "replace"
    keys: tuple[str, ...] = ()
    policy: Literal["strict", "evolve"] = "strict"


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """What a write did: `rows` copied; `inserted` new rows; `updated` rows matched by key;
    `created` whether the table was created (or recreated)."""

    rows: int
    inserted: int
    updated: int
    created: bool


def write_rows(
    conn: Conn, duck: duckdb.DuckDBPyConnection, query: str, spec: WriteSpec
) -> WriteCounts:
    """Write the rows of `query` into `spec.target` (see the module docstring)."""
    transfers = _map(duck, query)
    with conn.transaction():
        kind = relation_kind(conn, spec.target)
        if kind is not None and kind not in ("r", "p"):
            what = {"v": "a view", "m": "a materialized view", "f": "a foreign table"}
            raise WriteRefused(
                f"{spec.target} is {what.get(kind, 'not a table')}; an export writes tables"
            )
        existing = table_columns(conn, spec.target) if kind is not None else None
        if spec.mode == "fail" and existing is not None:
            raise WriteRefused(
                f'table {spec.target} already exists (`"if_exists": "fail"`); '
                'write `"mode": "replace"` or `"append"` to write into it'
            )
        plan = _plan(spec, transfers, existing)
        for statement in plan.before:
            conn.execute(statement)
        into = _staging(conn, spec, transfers) if plan.merge else spec.target
        into_sql: sql.Composable = (
            sql.Identifier(into) if isinstance(into, str) else relation_sql(into)
        )
        try:
            copied = _copy(
                conn, duck, query, transfers, into_sql, freeze=plan.fresh and kind != "p"
            )
        except psycopg.DataError as err:
            _refuse_nul(err, duck, query, transfers)
            raise
        if not plan.merge:
            return WriteCounts(copied, copied, 0, plan.created)
        inserted = merge_staged(conn, spec, transfers, existing or [], into_sql)
        return WriteCounts(copied, inserted, copied - inserted, plan.created)


def _refuse_nul(
    err: psycopg.DataError,
    duck: duckdb.DuckDBPyConnection,
    query: str,
    transfers: Sequence[WriteTransfer],
) -> None:
    """PostgreSQL's text cannot hold the NUL character, and its error names no column: find
    the columns holding one (only now, after the failure) and say so."""
    if getattr(err, "sqlstate", None) != "22021" or "0x00" not in str(err):
        return
    texts = [t.name for t in transfers if t.pg_type in ("text", "text[]", "jsonb")]
    found = []
    for name in texts:
        column = exp.column(exp.to_identifier(name, quoted=True)).sql(dialect="duckdb")
        probe = (
            f"SELECT count(*) FROM (\n{query}\n) AS q "
            f"WHERE contains(CAST({column} AS VARCHAR), chr(0))"
        )
        with contextlib.suppress(duckdb.Error):
            if duck.execute(probe).fetchall()[0][0]:
                found.append(f'"{name}"')
    if found:
        raise WriteRefused(
            f"column {', '.join(found)}: a value holds the NUL character (chr(0)), which "
            "PostgreSQL text cannot store; remove it in the query (`replace(col, chr(0), '')`)"
        )


def _map(duck: duckdb.DuckDBPyConnection, query: str) -> list[WriteTransfer]:
    relation = duck.sql(query)
    refused: list[Unsupported] = []
    transfers: list[WriteTransfer] = []
    seen: set[str] = set()
    for name, dtype in zip(relation.columns, relation.types, strict=True):
        if name.lower() in seen:
            raise WriteRefused(f'two columns are named "{name}": name them apart (AS ...)')
        seen.add(name.lower())
        mapped = write_transfer(name, str(dtype))
        if isinstance(mapped, Unsupported):
            refused.append(mapped)
        else:
            transfers.append(mapped)
    if refused:
        raise WriteRefused("; ".join(f'column "{u.name}": {u.reason} ({u.help})' for u in refused))
    return transfers


@dataclass(frozen=True, slots=True)
class _Plan:
    before: tuple[sql.Composed, ...]  # DDL run before the rows are copied
    created: bool
    merge: bool
    emptied: bool = False  # truncated in this transaction

    @property
    def fresh(self) -> bool:
        """The rows go into a table created or emptied in this transaction, so they may be
        copied frozen (PostgreSQL then never rewrites them to mark them visible)."""
        return self.created or self.emptied or self.merge


def _plan(
    spec: WriteSpec, transfers: Sequence[WriteTransfer], existing: list[PgColumn] | None
) -> _Plan:
    target = relation_sql(spec.target)
    create = _create_table(spec.target, transfers)
    if existing is None:
        return _Plan((*_create_schema(spec.target), create), True, False)
    if spec.mode in ("replace", "fail"):
        if _same_shape(transfers, existing):
            return _Plan((sql.SQL("TRUNCATE TABLE {}").format(target),), False, False, True)
        return _Plan((sql.SQL("DROP TABLE {}").format(target), create), True, False)
    source = [Column(t.name, t.duckdb_type) for t in transfers]
    have = [Column(c.name, _duck_type(c), c.nullable, c.default) for c in existing]
    verdict = check_load(str(spec.target), source, have, spec.policy, keys=spec.keys)
    if verdict.problems:
        raise WriteRefused("; ".join(p.message for p in verdict.problems), verdict.problems)
    by_name = {t.name.lower(): t for t in transfers}
    before: list[sql.Composed] = []
    for column in verdict.add:
        before.append(
            sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                target,
                sql.Identifier(column.name),
                sql.SQL(by_name[column.name.lower()].pg_type),
            )
        )
    for column in verdict.alter:
        wider = write_transfer(column.name, column.type)
        assert not isinstance(wider, Unsupported)
        before.append(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {}").format(
                target,
                sql.Identifier(column.name),
                sql.SQL(wider.pg_type),
            )
        )
    return _Plan(tuple(before), False, spec.mode == "merge")


def _duck_type(column: PgColumn) -> str:
    """The DuckDB type of an existing column, or a name no source type matches."""
    return duckdb_equivalent(column.type) or f"POSTGRES {column.type.name}"


def _same_shape(transfers: Sequence[WriteTransfer], existing: Sequence[PgColumn]) -> bool:
    """The table has exactly the query's columns (by name), each holding its values exactly."""
    from sqlflowc.schema import widens

    if len(transfers) != len(existing):
        return False
    have = {c.name.lower(): c for c in existing}
    for t in transfers:
        column = have.get(t.name.lower())
        if column is None or not widens(t.duckdb_type, _duck_type(column)):
            return False
    return True


def _create_schema(table: TableName) -> tuple[sql.Composed, ...]:
    return (sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(table.schema)),)


def _create_table(table: TableName, transfers: Sequence[WriteTransfer]) -> sql.Composed:
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(t.name), sql.SQL(t.pg_type)) for t in transfers
    )
    return sql.SQL("CREATE TABLE {} ({})").format(relation_sql(table), columns)


def _staging(conn: Conn, spec: WriteSpec, transfers: Sequence[WriteTransfer]) -> str:
    """A temporary table with the target's types for the query's columns (dropped at COMMIT)."""
    name = "sqlflowc_merge_staging"
    columns = sql.SQL(", ").join(sql.Identifier(t.name) for t in transfers)
    conn.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
        ).format(sql.Identifier(name), columns, relation_sql(spec.target))
    )
    return name


def _copy(
    conn: Conn,
    duck: duckdb.DuckDBPyConnection,
    query: str,
    transfers: Sequence[WriteTransfer],
    into: sql.Composable,
    *,
    freeze: bool,
) -> int:
    """COPY the query's rows into `into`; the row count both sides agree on."""
    columns = sql.SQL(", ").join(sql.Identifier(t.name) for t in transfers)
    options = sql.SQL("FORMAT CSV, FREEZE" if freeze else "FORMAT CSV")
    statement = sql.SQL("COPY {} ({}) FROM STDIN ({})").format(into, columns, options)
    with tempfile.TemporaryDirectory(prefix="sqlflowc-pg-") as tmp:
        fifo = Path(tmp) / "rows.csv"
        os.mkfifo(fifo, 0o600)
        # The read end first (non-blocking, so it returns at once), then a write end of our own
        # held open until DuckDB is done: the reader sees the end only when both are closed,
        # never because DuckDB has not opened the pipe yet.
        read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(read_fd, True)
        hold_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        feeder = _Feeder(conn, statement, read_fd)
        feeder.start()
        written: int | None = None
        duck_error: BaseException | None = None
        try:
            written = _duck_copy(duck, query, transfers, fifo)
        except (duckdb.Error, OSError) as err:
            duck_error = err
        finally:
            os.close(hold_fd)
            feeder.join()
        if feeder.error is not None:
            raise feeder.error  # PostgreSQL's failure is the cause; DuckDB's follows from it
        if duck_error is not None:
            raise duck_error
    if written is None or feeder.rows != written:
        raise psycopg.DataError(
            f"DuckDB wrote {written} rows but PostgreSQL copied {feeder.rows}; nothing was written"
        )
    return written


def _duck_copy(
    duck: duckdb.DuckDBPyConnection, query: str, transfers: Sequence[WriteTransfer], fifo: Path
) -> int:
    """DuckDB's COPY of the rows, as PostgreSQL reads them, into `fifo`; the row count."""
    inner = exp.Subquery(
        this=exp.maybe_parse(query, dialect="duckdb"),
        alias=exp.TableAlias(this=exp.to_identifier("q")),
    )
    select = exp.select(
        *(exp.alias_(t.csv, exp.to_identifier(t.name, quoted=True)) for t in transfers)
    ).from_(inner)
    quoted = [t.name for t in transfers if t.pg_type in _TEXT_TYPES or t.pg_type.endswith("[]")]
    force = ""
    if quoted:
        names = ", ".join(exp.to_identifier(n, quoted=True).sql(dialect="duckdb") for n in quoted)
        force = f", FORCE_QUOTE ({names})"
    target = exp.Literal.string(str(fifo)).sql(dialect="duckdb")
    row = duck.execute(
        f"COPY ({select.sql(dialect='duckdb')}) TO {target} "
        f"(FORMAT CSV, HEADER false, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULLSTR '', "
        f"USE_TMP_FILE false{force})"
    ).fetchone()
    return int(row[0]) if row else 0


class _Feeder(threading.Thread):
    """Reads the pipe into PostgreSQL's COPY FROM STDIN; keeps the error that stopped it."""

    def __init__(self, conn: Conn, statement: sql.Composed, read_fd: int) -> None:
        super().__init__(name="sqlflowc-pg-copy", daemon=True)
        self._conn = conn
        self._statement = statement
        self._fd = read_fd
        self.rows = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self._conn.cursor() as cur:
                with cur.copy(self._statement) as copy:
                    while chunk := os.read(self._fd, CHUNK):
                        copy.write(chunk)
                self.rows = cur.rowcount
        except (psycopg.Error, OSError) as err:
            self.error = err
        finally:
            os.close(self._fd)  # DuckDB, if still writing, now fails instead of blocking
