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
   - the rows are copied (`COPY ... FROM STDIN`, binary or CSV), into the target directly
     (created, replaced, appended), or for `merge` into a temporary staging table with the
     target's column types, whose keys are checked for NULL and duplicates (hashed by DuckDB
     as the rows are sent, where both sides compare them alike: `merge_keys`) and which is
     then merged (`merge.merge_staged`).
   Nothing is visible to other sessions until the COMMIT; any failure rolls it all back, so the
   target is exactly as it was.
3. The counts are exact: `inserted` rows new to the table, `updated` rows that matched a key
   (for `merge`), `rows` rows copied; PostgreSQL's `COPY n` must equal DuckDB's row count.

How rows cross: when every column's DuckDB type reaches its destination column exactly in
PostgreSQL's binary COPY form (`binary_copy`: numbers, booleans, DECIMAL up to 18 digits,
VARCHAR, BLOB, dates, times, timestamps, intervals, uuids, into the catalog's types of the
destination), DuckDB's
Arrow batches are encoded into it (PostgreSQL reads it for a third of the CPU of CSV).
Otherwise DuckDB prints every row as one CSV line (`_csv_lines`: each value as
`CAST(... AS VARCHAR)` prints it, which is what DuckDB's CSV writer prints and round-trips BC
dates, ±infinity, NaN, -0, '' vs NULL and intervals exactly, where pyarrow's writer does not),
and the lines are handed to psycopg's `COPY FROM STDIN` in batches of `BATCH_ROWS`, straight
from the Arrow buffers DuckDB filled: no file, no thread. (DuckDB's own `COPY ... TO` a pipe
that a thread fed to PostgreSQL cost 1.7x the CPU: while its writer waits for the pipe,
DuckDB's calling thread spins.) Text is always quoted, so a value `\\.` is never PostgreSQL's
end-of-data marker. BLOBs are written as `\\x` + hex, lists as array literals (`types.py`).
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb
import psycopg
import pyarrow as pa
from psycopg import sql
from sqlglot import exp

from sqlflowc.connectors.postgres.binary_copy import HEADER, TRAILER, BinaryRows, binary_kinds
from sqlflowc.connectors.postgres.catalog import (
    PgColumn,
    copy_columns,
    relation_kind,
    relation_sql,
    table_columns,
)
from sqlflowc.connectors.postgres.errors import WriteRefused
from sqlflowc.connectors.postgres.merge import merge_staged
from sqlflowc.connectors.postgres.merge_keys import KeyHashes, hash_expression, hashable
from sqlflowc.connectors.postgres.params import ExportMode, TableName
from sqlflowc.connectors.postgres.types import (
    Unsupported,
    WriteTransfer,
    duckdb_equivalent,
    fill,
)
from sqlflowc.connectors.postgres.write_types import write_transfer
from sqlflowc.schema import Column, check_load

__all__ = ["WriteCounts", "WriteRefused", "WriteSpec", "write_rows"]

Conn = psycopg.Connection[tuple[object, ...]]
BATCH_ROWS = 8192  # CSV lines handed to PostgreSQL at a time
# The PostgreSQL types whose text never holds a comma, a quote or a line break, nor is empty:
# written unquoted. Every other column is quoted.
_UNQUOTED = frozenset(
    {
        "smallint",
        "integer",
        "bigint",
        "numeric",
        "real",
        "double precision",
        "boolean",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "uuid",
        "bytea",
    }
)
_QUOTED = "'\"' || REPLACE(:v, '\"', '\"\"') || '\"'"


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
        relation = f"pg_temp.{into}" if isinstance(into, str) else into_sql.as_string(conn)
        columns = copy_columns(conn, relation)
        hashes: tuple[exp.Expr, KeyHashes] | None = None
        keys = _key_names(spec, transfers)
        if isinstance(into, str) and hashable(columns, keys, transfers):
            hashes = (hash_expression(keys), KeyHashes())  # the keys checked as they are sent
        kinds = binary_kinds(transfers, columns)
        try:
            copied = _copy(
                conn,
                duck,
                query,
                transfers,
                into_sql,
                freeze=plan.fresh and kind != "p",
                hashes=hashes,
                binary=BinaryRows(kinds) if kinds is not None else None,
            )
        except psycopg.DataError as err:
            _refuse_nul(err, duck, query, transfers)
            raise
        if not plan.merge:
            return WriteCounts(copied, copied, 0, plan.created)
        checked = hashes[1] if hashes is not None and hashes[1].complete else None
        inserted = merge_staged(
            conn, spec, transfers, existing or [], into_sql, plain=kind == "r", hashes=checked
        )
        return WriteCounts(copied, inserted, copied - inserted, plan.created)


def _key_names(spec: WriteSpec, transfers: Sequence[WriteTransfer]) -> list[str]:
    """The merge's key columns as the query names them."""
    names = {t.name.lower(): t.name for t in transfers}
    return [names[k.lower()] for k in spec.keys]


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
    hashes: tuple[exp.Expr, KeyHashes] | None = None,
    binary: BinaryRows | None = None,
) -> int:
    """COPY the query's rows into `into`; the row count both sides agree on. With `hashes`,
    the query also computes the expression beside each row, kept in the `KeyHashes`. With
    `binary`, the rows are sent in PostgreSQL's binary form, else as CSV lines."""
    extra = [] if hashes is None else [hashes[0]]
    if binary is not None:
        names = binary.columns(transfers)
        rows_sql, form, after = binary.select(query, transfers, extra), "BINARY", len(names)
    else:
        names = [t.name for t in transfers]
        rows_sql, form, after = _csv_lines(query, transfers, extra), "CSV", 1
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in names)
    options = sql.SQL(f"FORMAT {form}, FREEZE" if freeze else f"FORMAT {form}")
    statement = sql.SQL("COPY {} ({}) FROM STDIN ({})").format(into, columns, options)
    written = 0
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            lines = duck.sql(rows_sql).to_arrow_reader(BATCH_ROWS)
            try:
                if binary is not None:
                    copy.write(HEADER)
                for batch in lines:
                    written += batch.num_rows
                    copy.write(_text(batch.column(0)) if binary is None else binary.encode(batch))
                    if hashes is not None:
                        hashes[1].add(batch.column(after))
                if binary is not None:
                    copy.write(TRAILER)
            except (pa.ArrowException, OSError) as err:  # DuckDB's error, as pyarrow passed it on
                raise duckdb.Error(str(err)) from None
            finally:
                lines.close()
        copied = cur.rowcount
    if copied != written:
        raise psycopg.DataError(
            f"DuckDB wrote {written} rows but PostgreSQL copied {copied}; nothing was written"
        )
    return written


def _csv_lines(
    query: str, transfers: Sequence[WriteTransfer], extra: Sequence[exp.Expr] = ()
) -> str:
    """DuckDB's query of the rows as CSV lines, one VARCHAR a row, its newline included: each
    value as DuckDB prints it (`CAST(... AS VARCHAR)`, byte for byte what its CSV writer
    prints), NULL an empty field; every column but numbers, booleans, dates and times, uuid and
    bytea (hex) quoted, its `"` doubled, so '' is `""`, never NULL. `extra` columns (over the
    query aliased `q`) follow the line."""
    inner = exp.Subquery(
        this=exp.maybe_parse(query, dialect="duckdb"),
        alias=exp.TableAlias(this=exp.to_identifier("q")),
    )
    fields: list[exp.Expr] = []
    for t in transfers:
        text: exp.Expr = exp.cast(t.csv, exp.DataType.build("VARCHAR"))
        if t.pg_type.endswith("]") or t.pg_type.split("(")[0] not in _UNQUOTED:
            text = fill(_QUOTED, text)
        fields += [text, exp.Literal.string(",")]
    fields[-1] = exp.func("CHR", exp.Literal.number(10))
    # DuckDB's CONCAT takes a NULL as '' (an empty field); sqlglot would print `exp.Concat` as
    # `||`, which makes the whole line NULL.
    line = exp.Anonymous(this="CONCAT", expressions=fields)
    return exp.select(line, *extra).from_(inner).sql(dialect="duckdb")


def _text(lines: pa.Array) -> memoryview:
    """The bytes of `lines` (strings), end to end, without copying them."""
    if not (pa.types.is_string(lines.type) or pa.types.is_large_string(lines.type)):
        lines = lines.cast(pa.large_string())  # a string view (a DuckDB setting): copied once
    width = 8 if pa.types.is_large_string(lines.type) else 4
    _, offsets, data = lines.buffers()
    if data is None or len(lines) == 0:
        return memoryview(b"")
    assert offsets is not None
    fmt = "<q" if width == 8 else "<i"
    (start,) = struct.unpack_from(fmt, offsets, width * lines.offset)
    (end,) = struct.unpack_from(fmt, offsets, width * (lines.offset + len(lines)))
    return memoryview(data)[start:end]
