"""What PostgreSQL's catalog says about a table or a query — metadata only, no rows read.

- `table_columns(conn, table)`: the columns of a table, view or materialized view, in order,
  with their types (`PgType`: domains resolved to their base type, arrays to their element)
  and nullability; None when the relation does not exist.
- `query_columns(conn, query)`: the columns a SELECT returns, from PostgreSQL's description of
  the statement (`SELECT * FROM (query) LIMIT 0`, planned, never run to completion).
- `copy_columns(conn, relation)`: what a COPY into a relation (`pg_temp.x` for a temporary
  table) needs to know of its columns: type name, modifier, whether a built-in base type, and
  whether of a deterministic collation.
- `server_version(conn)`, `list_tables(conn, limit)`: what `sqlflowc connect test` shows.

psycopg errors propagate; callers wrap them (`errors.PostgresFailure`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from sqlflowc.connectors.postgres.params import TableName
from sqlflowc.connectors.postgres.types import PgType

__all__ = [
    "CopyColumn",
    "PgColumn",
    "copy_columns",
    "list_tables",
    "query_columns",
    "relation_kind",
    "relation_sql",
    "server_version",
    "table_columns",
]

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class PgColumn:
    """One column of a table or a query result."""

    name: str
    type: PgType
    nullable: bool = True
    default: str | None = None  # the DEFAULT expression (an identity column counts as one)


@dataclass(frozen=True, slots=True)
class _TypeRow:
    oid: int
    name: str  # format_type(oid, NULL)
    typname: str
    typtype: str
    typelem: int
    typbasetype: int
    typtypmod: int
    typcategory: str


_TYPES = """
SELECT t.oid, format_type(t.oid, NULL), t.typname, t.typtype, t.typelem, t.typbasetype,
       t.typtypmod, t.typcategory
FROM pg_catalog.pg_type t WHERE t.oid = ANY(%s)
"""

_COLUMNS = """
SELECT a.attname, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attidentity <> '' THEN 'identity' ELSE pg_get_expr(d.adbin, d.adrelid) END
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


@dataclass(frozen=True, slots=True)
class CopyColumn:
    """A column a COPY writes: `pg_type.typname`, `atttypmod`, `typtype` (`b` a base type),
    whether the type is pg_catalog's, whether its collation is deterministic."""

    typname: str
    typmod: int
    typtype: str
    builtin: bool
    deterministic: bool


def copy_columns(conn: Conn, relation: str) -> dict[str, CopyColumn]:
    """The columns of `relation` (regclass text), by lower-cased name."""
    rows = conn.execute(
        "SELECT a.attname, t.typname, a.atttypmod, t.typtype, "
        "t.typnamespace = 'pg_catalog'::regnamespace, coalesce(c.collisdeterministic, true) "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_collation c ON c.oid = a.attcollation "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        [relation],
    ).fetchall()
    return {
        str(r[0]).lower(): CopyColumn(str(r[1]), int(str(r[2])), str(r[3]), bool(r[4]), bool(r[5]))
        for r in rows
    }


def relation_sql(table: TableName) -> sql.Composed:
    """`"schema"."table"`, quoted."""
    return sql.SQL("{}.{}").format(sql.Identifier(table.schema), sql.Identifier(table.name))


def _regclass_text(conn: Conn, table: TableName) -> str:
    return relation_sql(table).as_string(conn)


def table_columns(conn: Conn, table: TableName) -> list[PgColumn] | None:
    """The columns of `table` in order, or None when there is no such relation."""
    rows = conn.execute(_COLUMNS, [_regclass_text(conn, table)]).fetchall()
    if not rows:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [_regclass_text(conn, table)])
        found = exists.fetchone()
        return [] if found is not None and found[0] else None
    types = _resolve_types(conn, (int(str(r[1])) for r in rows))
    return [
        PgColumn(
            name=str(name),
            type=_pg_type(int(str(oid)), int(str(typmod)), str(shown), types),
            nullable=not notnull,
            default=None if default is None else str(default),
        )
        for name, oid, typmod, shown, notnull, default in rows
    ]


def relation_kind(conn: Conn, table: TableName) -> str | None:
    """`pg_class.relkind` of `table` (`r` table, `p` partitioned, `v` view, ...), or None."""
    row = conn.execute(
        "SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = to_regclass(%s)",
        [_regclass_text(conn, table)],
    ).fetchone()
    return None if row is None else str(row[0])


def query_columns(conn: Conn, query: str) -> list[PgColumn]:
    """The columns `query` returns (PostgreSQL plans it; no row is produced)."""
    wrapped = sql.SQL("SELECT * FROM (\n{}\n) AS q LIMIT 0").format(sql.SQL(query))
    with conn.cursor() as cur:
        cur.execute(wrapped)
        result = cur.pgresult
        assert result is not None and cur.description is not None
        fields = [
            (col.name, result.ftype(i), result.fmod(i)) for i, col in enumerate(cur.description)
        ]
    types = _resolve_types(conn, (oid for _, oid, _ in fields))
    shown = _format_types(conn, [(oid, mod) for _, oid, mod in fields])
    return [
        PgColumn(name=name, type=_pg_type(oid, mod, shown[i], types))
        for i, (name, oid, mod) in enumerate(fields)
    ]


def _format_types(conn: Conn, pairs: Sequence[tuple[int, int]]) -> list[str]:
    if not pairs:
        return []
    row = conn.execute(
        "SELECT array_agg(format_type(o, m) ORDER BY n) "
        "FROM unnest(%s::oid[], %s::int[]) WITH ORDINALITY AS x(o, m, n)",
        [[p[0] for p in pairs], [p[1] for p in pairs]],
    ).fetchone()
    assert row is not None
    return [str(x) for x in row[0]]  # type: ignore[attr-defined]


def _resolve_types(conn: Conn, oids: Iterable[int]) -> dict[int, _TypeRow]:
    """pg_type rows for `oids` and every element or base type they refer to."""
    known: dict[int, _TypeRow] = {}
    wanted = set(oids)
    while wanted:
        rows = conn.execute(_TYPES, [sorted(wanted)]).fetchall()
        for r in rows:
            row = _TypeRow(
                int(str(r[0])),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                int(str(r[4])),
                int(str(r[5])),
                int(str(r[6])),
                str(r[7]),
            )
            known[row.oid] = row
        refs = {r.typelem for r in known.values() if r.typcategory == "A"}
        refs |= {r.typbasetype for r in known.values() if r.typtype == "d"}
        wanted = {oid for oid in refs if oid and oid not in known}
    return known


def _pg_type(oid: int, typmod: int, shown: str, types: dict[int, _TypeRow]) -> PgType:
    """The `PgType` of a column of type `oid` with modifier `typmod`."""
    row = types.get(oid)
    if row is None:
        return PgType(shown, "unknown", typmod, "p")
    if row.typtype == "d":  # a domain: its base type, with the domain's modifier
        base = _pg_type(row.typbasetype, row.typtypmod, shown, types)
        return PgType(shown, base.base, base.typmod, base.typtype, base.element)
    if row.typcategory == "A" and row.typelem:
        element = _pg_type(row.typelem, typmod, types[row.typelem].name, types)
        return PgType(shown, element.base, typmod, "b", element)
    return PgType(shown, row.typname, typmod, row.typtype)


def server_version(conn: Conn) -> str:
    """`PostgreSQL 15.20` (the server's own version string, first words)."""
    row = conn.execute("SELECT current_setting('server_version')").fetchone()
    version = str(row[0]) if row else "?"
    return f"PostgreSQL {version.split()[0]}"


def list_tables(conn: Conn, limit: int) -> tuple[list[str], bool]:
    """Up to `limit` tables and views a user can see (`schema.name`), and whether there are
    more; system schemas left out."""
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%' "
        "ORDER BY 1 LIMIT %s",
        [limit + 1],
    ).fetchall()
    names = [str(r[0]) for r in rows]
    return names[:limit], len(names) > limit
