"""Run one APPEND, MERGE or INCREMENTAL load step inside the executor's transaction.

Contract of `run_load(con, target, mode, staging)`: the caller has begun a transaction and
commits it when this returns, or rolls it back when this raises — so a load either happens
entirely or leaves every table (and the incremental state) exactly as it was. Nothing here
begins, commits or rolls back. In order:

1. stage the source (`staging`, the step's first statement: a temp view for APPEND, a temp
   table for MERGE and INCREMENTAL; INCREMENTAL binds `$start_dt`... to its window first). A
   MERGE whose query is a projection of one table (`rereadable`) stages a view instead and
   copies only its keys (`<stage>_keys`): the checks and the delete read that copy, the insert
   reads the table again — the same rows, inside one transaction. An INCREMENTAL without KEY
   into an existing table whose query is such a projection (with the window's parameters)
   stages nothing: its columns are `DESCRIBE`d, its rows inserted straight after the window's
   delete (the table it reads is not the target, so the delete cannot change them) and its
   largest `BY` read from it again;
2. MERGE, and INCREMENTAL with KEY: reject NULL and duplicate source keys (`SOURCE_NULL_KEYS`,
   `SOURCE_DUPLICATE_KEYS`): one scan counts the rows and the NULL keys, a second the distinct
   keys (a bitmap for one integer key whose values lie close together, else a hash); only when
   they disagree are up to 5 offending key values listed;
3. a missing target is created from the stage (every row inserted);
4. otherwise the schemas are compared by name (`sqlflowc.schema.check_load`, the step's policy):
   problems raise `LoadError` with the first problem's code; under `evolve`, columns are added
   or widened first;
5. the write: APPEND inserts by name; MERGE deletes the matched target rows and inserts the stage
   when the source carries every target column (no PRIMARY KEY needed, and no slower than
   `MERGE INTO`), else — or when a FOREIGN KEY references the target, whose rows cannot be
   deleted — `MERGE INTO` updates the source's columns; before the delete, one join of the
   target with the source's keys counts the target rows that match against the source keys
   that match: more target rows means duplicate keys in the target among the rows the source
   touches, which a delete would collapse: `TARGET_DUPLICATE_KEYS` (duplicates among other
   rows are left alone);
   INCREMENTAL deletes the window's rows and inserts the stage (or merges on KEY);
6. INCREMENTAL stores the new high-water mark (the larger of the old one and the max of the
   written `BY` column) in `_sqlflow_state`, in the same transaction.

A `LOAD ... MODE INCREMENTAL` (`IncrementalLoad`) keeps no state: its high-water mark is the
target's largest `BY` value (`watermark`, read before the source is opened, so a connector can
filter at the server), bound as `$watermark` in the staging statement (`params`). The staged
rows are inserted, or replace the target's rows at or past the mark (LOOKBACK), or are merged
on KEY.
Returns exact counts (`LoadCounts`). A DuckDB error propagates as `duckdb.Error`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, assert_never

from sqlflowc.backend.plan import Append, Incremental, IncrementalLoad, Merge, RowKeepingMode
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.load_checks import (
    Bounds,
    LoadError,
    check_keys,
    check_source_keys,
    incremental_window,
    raise_target_duplicates,
    schema_changes,
    schema_error,
    stored_high_water,
)
from sqlflowc.runtime.rereadable import rereadable
from sqlflowc.runtime.schema import describe_columns, describe_query
from sqlflowc.schema import (
    Column,
    Policy,
    SchemaDiff,
    by_column_problem,
    check_load,
    watermark_column_problem,
)
from sqlflowc.sqlbuild import key_checks
from sqlflowc.sqlbuild import loads as sql

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = [
    "LoadCounts",
    "LoadError",
    "check_source_keys",
    "run_load",
    "watermark_binding",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadCounts:
    """What a load did. `updated`/`deleted` are None where the mode has no such notion."""

    inserted: int
    updated: int | None = None
    deleted: int | None = None
    created: bool = False
    changes: tuple[str, ...] = ()  # schema changes made under `evolve`

    @property
    def rows(self) -> int:
        return self.inserted + (self.updated or 0)

    def __str__(self) -> str:
        parts = ["created"] if self.created else []
        parts.append(f"inserted {self.inserted:,}")
        if self.updated is not None:
            parts.append(f"updated {self.updated:,}")
        if self.deleted is not None:
            parts.append(f"replaced {self.deleted:,} in the window")
        parts.extend(self.changes)
        return ", ".join(parts)


def run_load(
    con: Connection,
    target: str,
    mode: RowKeepingMode,
    staging: str,
    params: Mapping[str, Any] | None = None,
) -> LoadCounts:
    """Carry out one load of `target`; see the module docstring. `params` are named parameters
    of `staging` (secrets, `$watermark`; not for APPEND, whose stage is a view DuckDB cannot
    prepare)."""
    match mode:
        case Append():
            assert not params, "an APPEND stage is a view: no parameters"
            return _append(con, target, mode, staging)
        case Merge():
            return _merge(con, target, mode, staging, params or {})
        case Incremental():
            return _incremental(con, target, mode, staging, params or {})
        case IncrementalLoad():
            return _incremental_load(con, target, mode, staging, params or {})
        case _:
            assert_never(mode)


def _append(con: Connection, target: str, mode: Append, staging: str) -> LoadCounts:
    con.execute(staging)
    existing = target_columns(con, target)
    if existing is None:
        inserted = _count(con, sql.create_from(target, mode.stage))
        counts = LoadCounts(inserted=inserted, created=True)
    else:
        source = _describe(con, mode.stage)
        changes = _apply(con, target, check_load(target, source, existing, mode.schema_policy))
        inserted = _count(con, sql.insert_from(target, mode.stage))
        counts = LoadCounts(inserted=inserted, changes=changes)
    con.execute(sql.drop_stage(mode.stage, view=True))
    return counts


def _merge(
    con: Connection, target: str, mode: Merge, staging: str, params: Mapping[str, Any]
) -> LoadCounts:
    query = None if params else sql.staged_query(staging, mode.stage)
    reread = query is not None and rereadable(con, query, target)
    if query is not None and reread:
        con.execute(sql.stage_view(mode.stage, query))
    else:
        _count(con, staging, dict(params) or None)
    source = _describe(con, mode.stage)
    counts = _merge_stage(
        con, target, mode.stage, mode.keys, mode.schema_policy, source, reread=reread
    )
    con.execute(sql.drop_stage(mode.stage, view=reread))
    return counts


def _incremental(
    con: Connection, target: str, mode: Incremental, staging: str, params: Mapping[str, Any]
) -> LoadCounts:
    con.execute(sql.create_state_table())
    existing = target_columns(con, target)
    previous = _high_water(con, mode) if existing is not None else None
    window = incremental_window(con, previous, mode.lookback)
    bound: dict[str, Any] = {**{p: window[p] for p in mode.parameters}, **params}
    if existing is not None and not mode.keys:
        direct = _incremental_direct(con, target, mode, staging, bound, existing, window, previous)
        if direct is not None:
            return direct
    _count(con, staging, bound)
    source = _describe(con, mode.stage)
    _check_by_column(target, mode, source)
    if mode.keys:
        counts = _merge_stage(con, target, mode.stage, mode.keys, mode.schema_policy, source)
    elif existing is None:
        inserted = _count(con, sql.create_from(target, mode.stage))
        counts = LoadCounts(inserted=inserted, created=True)
    else:
        changes = _apply(con, target, check_load(target, source, existing, mode.schema_policy))
        deleted = _count(con, sql.window_delete(target, mode.by), _bounds(window))
        inserted = _count(con, sql.insert_from(target, mode.stage))
        counts = LoadCounts(inserted=inserted, deleted=deleted, changes=changes)
    high_water = _scalar(con, sql.max_of(mode.stage, mode.by), {"previous": previous})
    _store_high_water(con, mode, high_water, previous, window)
    con.execute(sql.drop_stage(mode.stage))
    return counts


def _incremental_direct(
    con: Connection,
    target: str,
    mode: Incremental,
    staging: str,
    bound: Mapping[str, Any],
    existing: Sequence[Column],
    window: Mapping[str, str],
    previous: str | None,
) -> LoadCounts | None:
    """An INCREMENTAL load without KEY into an existing table whose query is a projection of
    one table the load does not write, giving the same rows each time it is read in the
    transaction (`rereadable`): the window's rows go straight from the query into the target
    after the window's delete, as one would by hand, and the new high-water mark is read from
    the query again, instead of copying the rows first and reading the copy twice. The checks
    are the same, made on the query's columns (`DESCRIBE`, which runs nothing). None, with
    nothing done, when the query does not qualify."""
    query = sql.incremental_query(staging, mode.stage, mode.by)
    body = sql.staged_query(staging, mode.stage)
    if query is None or body is None or not rereadable(con, query, target, parameters=True):
        return None
    source = describe_query(con, body, bound)
    _check_by_column(target, mode, source)
    changes = _apply(con, target, check_load(target, source, existing, mode.schema_policy))
    deleted = _count(con, sql.window_delete(target, mode.by), _bounds(window))
    inserted = _count(con, sql.insert_query(target, body), bound)
    high_water = _scalar(con, sql.max_of_query(body, mode.by), {**bound, "previous": previous})
    _store_high_water(con, mode, high_water, previous, window)
    return LoadCounts(inserted=inserted, deleted=deleted, changes=changes)


def _bounds(window: Mapping[str, str]) -> dict[str, str]:
    return {"start_dt": window["start_dt"], "end_dt": window["end_dt"]}


def _store_high_water(
    con: Connection,
    mode: Incremental,
    high_water: object,
    previous: str | None,
    window: Mapping[str, str],
) -> None:
    """Store the new high-water mark (text; None: there is none) when it moved."""
    if high_water is not None and high_water != previous:
        params = {
            "target": mode.state_key,
            "column_name": mode.by,
            "high_water": str(high_water),
            "end_dt": window["end_dt"],
        }
        con.execute(sql.write_state(), params)


def watermark_binding(con: Connection, target: str, mode: Any) -> dict[str, Any]:
    """`{"watermark": mark}` for a `LOAD ... MODE INCREMENTAL` (`IncrementalLoad`), read before
    its source is opened; `{}` for any other mode. The mark is the target's largest `BY` value
    (minus LOOKBACK), as DuckDB returns it; None when the target or the column is missing or
    holds no value (then every source row is read)."""
    if not isinstance(mode, IncrementalLoad):
        return {}
    existing = target_columns(con, target)
    if existing is None or not any(c.name.lower() == mode.by.lower() for c in existing):
        return {sql.WATERMARK: None}
    query = sql.watermark_of(target, mode.by, lookback=mode.lookback is not None)
    params = {"lookback": mode.lookback} if mode.lookback is not None else None
    return {sql.WATERMARK: _scalar(con, query, params)}


def _incremental_load(
    con: Connection, target: str, mode: IncrementalLoad, staging: str, params: Mapping[str, Any]
) -> LoadCounts:
    _count(con, staging, dict(params))
    source = _describe(con, mode.stage)
    problem = watermark_column_problem(target, mode.by, source, lookback=mode.lookback)
    if problem is not None:
        raise schema_error([problem])
    existing = target_columns(con, target)
    if mode.keys:
        counts = _merge_stage(con, target, mode.stage, mode.keys, mode.schema_policy, source)
    elif existing is None:
        counts = LoadCounts(inserted=_count(con, sql.create_from(target, mode.stage)), created=True)
    else:
        changes = _apply(con, target, check_load(target, source, existing, mode.schema_policy))
        deleted = None
        if mode.lookback is not None:
            mark = {sql.WATERMARK: params.get(sql.WATERMARK)}
            deleted = _count(con, sql.watermark_delete(target, mode.by), mark)
        inserted = _count(con, sql.insert_from(target, mode.stage))
        counts = LoadCounts(inserted=inserted, deleted=deleted, changes=changes)
    con.execute(sql.drop_stage(mode.stage))
    return counts


# ---------------------------------------------------------------------------- merge


def _merge_stage(
    con: Connection,
    target: str,
    stage: str,
    keys: Sequence[str],
    policy: Policy,
    source: Sequence[Column],
    *,
    reread: bool = False,
) -> LoadCounts:
    """Merge a stage into `target` on `keys`, after checking them. `reread`: the stage is a
    view of the source (`rereadable`), whose keys are copied for the checks and the delete."""
    key_problems = check_load(target, source, None, policy, keys=keys).problems
    if key_problems:
        raise schema_error(key_problems[:1])
    checked = f"{stage}_keys" if reread else stage
    if reread:
        con.execute(sql.key_stage(checked, stage, keys))
    bounds = check_keys(con, target, checked, keys, source)
    counts = _merge_checked(con, target, stage, checked, keys, policy, source, bounds)
    if reread:
        con.execute(sql.drop_stage(checked))
    return counts


def _merge_checked(
    con: Connection,
    target: str,
    stage: str,
    checked: str,
    keys: Sequence[str],
    policy: Policy,
    source: Sequence[Column],
    bounds: Bounds,
) -> LoadCounts:
    """The write of a merge whose source keys passed the checks; `checked` holds those keys."""
    existing = target_columns(con, target)
    if existing is None:
        return LoadCounts(
            inserted=_count(con, sql.create_from(target, stage)), updated=0, created=True
        )
    diff = check_load(target, source, existing, policy, keys=keys)
    changes = _apply(con, target, diff)
    query = key_checks.matched_counts(target, checked, keys, bitmap=bounds.bitmap)
    matched, target_rows = con.execute(query, bounds.params).fetchall()[0]
    inserted = bounds.rows - matched
    referenced = _scalar(con, sql.FOREIGN_KEYS_TO, [sql.split_name(target)[1]])
    if not diff.missing and not referenced:
        if target_rows != matched:
            raise_target_duplicates(con, target, checked, keys)
        con.execute(sql.delete_matched(target, checked, keys))
        con.execute(sql.insert_from(target, stage))
    else:
        folded = {k.lower() for k in keys}
        update = [c.name for c in source if c.name.lower() not in folded]
        con.execute(sql.merge_into(target, stage, keys, update, [c.name for c in source]))
    return LoadCounts(inserted=inserted, updated=target_rows, changes=changes)


# ---------------------------------------------------------------------------- schemas


def target_columns(con: Connection, target: str) -> list[Column] | None:
    """The target's columns, or None when no table of that name exists."""
    schema, name = sql.split_name(target)
    kinds = {row[0] for row in con.execute(sql.RELATION_KIND, [schema, name]).fetchall()}
    if "view" in kinds:
        raise LoadError(
            Code.TARGET_NOT_A_TABLE,
            f"`{target}` is a view; a load writes a table",
            f"load into another name, or drop the view (`DROP VIEW {target}`) first",
        )
    return _describe(con, target, temp=False) if kinds else None


def _describe(con: Connection, name: str, *, temp: bool = True) -> list[Column]:
    return describe_columns(con, name, temp=temp)


def _apply(con: Connection, target: str, diff: SchemaDiff) -> tuple[str, ...]:
    """Raise the first problem, else make the `evolve` changes; a description of each."""
    if diff.problems:
        raise schema_error(diff.problems)
    for col in diff.alter:
        con.execute(sql.alter_type(target, col))
    for col in diff.add:
        con.execute(sql.add_column(target, col))
    return schema_changes(diff)


def _check_by_column(target: str, mode: Incremental, source: Sequence[Column]) -> None:
    problem = by_column_problem(target, mode.by, source)
    if problem is not None:
        raise schema_error([problem])


# ---------------------------------------------------------------------------- incremental


def _high_water(con: Connection, mode: Incremental) -> str | None:
    """The stored high-water mark, when it is for the same `BY` column."""
    rows = con.execute(sql.read_state(mode.state_key)).fetchall()
    return stored_high_water(rows[0][0], rows[0][1], mode.by) if rows else None


# ---------------------------------------------------------------------------- helpers


def _count(con: Connection, statement: str, params: Mapping[str, Any] | None = None) -> int:
    """Run a statement that reports a row count (CTAS, INSERT, DELETE, MERGE)."""
    result = con.execute(statement, params) if params else con.execute(statement)
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0


def _scalar(
    con: Connection, query: str, params: Mapping[str, Any] | list[Any] | None = None
) -> Any:
    rows = con.execute(query, params).fetchall() if params else con.execute(query).fetchall()
    return rows[0][0] if rows else None
