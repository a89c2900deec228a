"""Merging staged rows into a PostgreSQL table by key, inside the export's transaction.

`merge_staged(conn, spec, transfers, existing, staging, plain=..., hashes=...)` merges the
temporary table `staging` (the export's rows, with the target's column types) into
`spec.target` on `spec.keys` and returns the rows inserted (the others matched a key and
updated their row):

1. The keys must hold no NULL and no duplicate. With `hashes` (`merge_keys.KeyHashes`: the keys
   were hashed by DuckDB as the rows were sent, and their types compare alike on both sides)
   the look for a repeat runs in a thread while PostgreSQL merges (step 2); a repeat undoes the
   merge (a savepoint) and `_check_keys` looks at the staged keys: it raises showing up to 5
   offending keys (`WriteRefused`, nothing written), or finds none (two keys shared a hash)
   and the merge runs again. Without `hashes`, the keys are checked first by making them the
   staging table's primary key: one index build (0.25 s per million rows), which a NULL or a
   duplicate key fails (in a savepoint, so the transaction goes on); only then is
   `_check_keys` run. A key type without a btree (json) is checked by `_check_keys` alone.
2. Into a `plain` table (not partitioned): PostgreSQL's own `MERGE INTO target USING staging`
   (matched rows get every non-key column the rows carry, the table's other columns keep their
   values; the rest are inserted). PostgreSQL 15's MERGE tells the rows it touched, not how
   many it inserted: that is read from the transaction's own counters of the table
   (`pg_stat_get_xact_tuples_inserted` / `_updated`, exact, kept by this backend for its own
   transaction) before and after. When they do not add up to MERGE's count (`track_counts`
   off, a trigger writing the table) the MERGE is undone (a savepoint) and step 3 runs.
3. Otherwise `WITH u AS (UPDATE target ... FROM staging ... RETURNING keys) INSERT INTO
   target ... WHERE NOT EXISTS (SELECT 1 FROM u ...)`, whose INSERT counts the new rows; it
   joins the target once too, but costs 10% more than MERGE (it keeps the updated keys and
   joins the staging table with them). A partitioned table always takes this way: a row its
   update moves to another partition counts as inserted there. The keys are checked before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import psycopg
from psycopg import sql

from sqlflowc.connectors.postgres.catalog import PgColumn, relation_sql
from sqlflowc.connectors.postgres.errors import WriteRefused
from sqlflowc.connectors.postgres.merge_keys import KeyHashes
from sqlflowc.connectors.postgres.types import WriteTransfer

if TYPE_CHECKING:
    from sqlflowc.connectors.postgres.write import WriteSpec

__all__ = ["MAX_KEYS_SHOWN", "merge_staged"]

Conn = psycopg.Connection[tuple[object, ...]]
MAX_KEYS_SHOWN = 5


def merge_staged(
    conn: Conn,
    spec: WriteSpec,
    transfers: Sequence[WriteTransfer],
    existing: Sequence[PgColumn],
    staging: sql.Composable,
    *,
    plain: bool,
    hashes: KeyHashes | None = None,
) -> int:
    """Check the staged keys, then update matched rows and insert the others; rows inserted
    (see the module docstring)."""
    names = {t.name.lower(): t.name for t in transfers}
    keys = [names[k.lower()] for k in spec.keys]
    target_names = {c.name.lower(): c.name for c in existing}
    key_list = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    if hashes is None:
        try:
            with conn.transaction():  # a savepoint: a failed check leaves the transaction usable
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(staging, key_list)
                )
        except psycopg.Error:
            _check_keys(conn, staging, keys, key_list)  # raises, showing the offending keys
            # no NULL or duplicate key: the key type has no index (json); the check was enough
    else:
        hashes.start()
    target = relation_sql(spec.target)
    match = sql.SQL(" AND ").join(
        sql.SQL("t.{} = s.{}").format(
            sql.Identifier(target_names.get(k.lower(), k)), sql.Identifier(k)
        )
        for k in keys
    )
    columns = sql.SQL(", ").join(sql.Identifier(t.name) for t in transfers)
    others = [t.name for t in transfers if t.name.lower() not in {k.lower() for k in keys}]
    if existing and others:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = s.{}").format(
                sql.Identifier(target_names.get(c.lower(), c)), sql.Identifier(c)
            )
            for c in others
        )
        if plain:
            values = sql.SQL(", ").join(
                sql.SQL("s.{}").format(sql.Identifier(t.name)) for t in transfers
            )
            merge = (target, staging, match, assignments, columns, values)
            try:
                inserted = _merge_counted(conn, *merge, hashes)
            except _Suspect:
                _check_keys(conn, staging, keys, key_list)  # raises, showing the keys
                inserted = _merge_counted(conn, *merge, None)  # none: two keys shared a hash
            if inserted is not None:
                return inserted
        if hashes is not None and hashes.suspect():
            _check_keys(conn, staging, keys, key_list)
        returned = sql.SQL(", ").join(
            sql.SQL("t.{} AS {}").format(
                sql.Identifier(target_names.get(k.lower(), k)), sql.Identifier(k)
            )
            for k in keys
        )
        matched = sql.SQL(" AND ").join(
            sql.SQL("u.{} = s.{}").format(sql.Identifier(k), sql.Identifier(k)) for k in keys
        )
        cur = conn.execute(
            sql.SQL(
                "WITH u AS (UPDATE {} AS t SET {} FROM {} AS s WHERE {} RETURNING {}) "
                "INSERT INTO {} ({}) SELECT {} FROM {} AS s "
                "WHERE NOT EXISTS (SELECT 1 FROM u WHERE {})"
            ).format(
                target,
                assignments,
                staging,
                match,
                returned,
                target,
                columns,
                columns,
                staging,
                matched,
            )
        )
        return max(cur.rowcount, 0)
    if hashes is not None and hashes.suspect():
        _check_keys(conn, staging, keys, key_list)
    cur = conn.execute(
        sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM {} AS s "
            "WHERE NOT EXISTS (SELECT 1 FROM {} AS t WHERE {})"
        ).format(target, columns, columns, staging, target, match)
    )
    return max(cur.rowcount, 0)


class _Uncounted(Exception):
    """The table's counters do not account for what MERGE did."""


class _Suspect(Exception):
    """A key was NULL or two keys hashed alike: the MERGE was undone."""


def _merge_counted(
    conn: Conn,
    target: sql.Composable,
    staging: sql.Composable,
    match: sql.Composable,
    assignments: sql.Composable,
    columns: sql.Composable,
    values: sql.Composable,
    hashes: KeyHashes | None,
) -> int | None:
    """PostgreSQL's MERGE of `staging` into `target`; the rows it inserted, or None (undone)
    when the transaction's counters of the table do not add up to what MERGE touched. With
    `hashes` (their look running), `_Suspect` (undone) when they found a NULL or a repeat —
    also when the MERGE failed, which duplicate keys may make it do."""
    counters = sql.SQL(
        "SELECT pg_stat_get_xact_tuples_inserted(%(t)s::regclass), "
        "pg_stat_get_xact_tuples_updated(%(t)s::regclass)"
    )
    name = {"t": target.as_string(conn)}
    merge = sql.SQL(
        "MERGE INTO {} AS t USING {} AS s ON {} WHEN MATCHED THEN UPDATE SET {} "
        "WHEN NOT MATCHED THEN INSERT ({}) VALUES ({})"
    ).format(target, staging, match, assignments, columns, values)
    try:
        with conn.transaction():  # a savepoint: a MERGE the counters miss is undone
            before = cast("tuple[int, int]", conn.execute(counters, name).fetchall()[0])
            try:
                touched = conn.execute(merge).rowcount
            except psycopg.Error:
                if hashes is not None and hashes.suspect():
                    raise _Suspect from None  # the keys' fault explains the MERGE's error
                raise
            if hashes is not None and hashes.suspect():
                raise _Suspect
            after = cast("tuple[int, int]", conn.execute(counters, name).fetchall()[0])
            inserted, updated = after[0] - before[0], after[1] - before[1]
            if touched < 0 or inserted + updated != touched:
                raise _Uncounted
    except _Uncounted:
        return None
    return int(inserted)


def _check_keys(
    conn: Conn, staging: sql.Composable, keys: Sequence[str], key_list: sql.Composable
) -> None:
    """NULL or duplicate keys among the rows: WriteRefused showing up to 5 of them."""
    any_null = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(k)) for k in keys)
    nulls = conn.execute(
        sql.SQL("SELECT {} FROM {} WHERE {} LIMIT %s").format(key_list, staging, any_null),
        [MAX_KEYS_SHOWN],
    ).fetchall()
    if nulls:
        raise WriteRefused(
            f"{len(nulls)}{'+' if len(nulls) == MAX_KEYS_SHOWN else ''} row(s) have a NULL key "
            f"({', '.join(keys)}): {_show_keys(nulls)}; NULL never matches, so each run would "
            "insert them again"
        )
    dups = conn.execute(
        sql.SQL("SELECT {}, count(*) FROM {} GROUP BY {} HAVING count(*) > 1 LIMIT %s").format(
            key_list, staging, key_list
        ),
        [MAX_KEYS_SHOWN],
    ).fetchall()
    if dups:
        shown = ", ".join(f"{_show_key(r[:-1])} ({r[-1]} rows)" for r in dups)
        raise WriteRefused(
            f"the rows have duplicate keys ({', '.join(keys)}): {shown}; a merge needs one row "
            "per key"
        )


def _show_key(values: Sequence[object]) -> str:
    shown = ", ".join(
        "NULL" if v is None else repr(v) if isinstance(v, str) else str(v) for v in values
    )
    return f"({shown})" if len(values) > 1 else shown


def _show_keys(rows: Sequence[Sequence[object]]) -> str:
    return ", ".join(_show_key(r) for r in rows)
