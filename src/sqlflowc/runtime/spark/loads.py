"""APPEND, MERGE and INCREMENTAL on Spark's Parquet tables: each a rewrite, swapped in whole.

Contract of `run_load(session, warehouse, target, mode, sql, params)`, `sql` the step's
statements (`backend/spark.py`: the rows, then the checks and the kept rows):
1. the rows (`sql[0]`, INCREMENTAL's with its window bound) are written to a staging table,
   registered as the mode's `stage` view: read once, checked, then written;
2. MERGE, and INCREMENTAL with KEY: NULL and duplicate keys in the stage are refused
   (SF0608, SF0609), as on DuckDB, and several target rows for one key (SF0610);
3. a missing target is the stage;
4. otherwise the schemas are compared by name (`sqlflowc.schema.check_load` with the step's
   policy, on the types DuckDB would name): a problem raises `LoadError`; under `evolve` new
   columns are added (NULL in the target's rows) and columns widened;
5. the new table — the target's rows (APPEND: all; MERGE: those no staged row replaces;
   INCREMENTAL: those outside the window) together with the staged rows, by column name — is
   written to a staging directory and swapped in (`tables.Warehouse.write`);
   A `LOAD ... MODE INCREMENTAL` (`IncrementalLoad`) keeps no state: its mark is the target's
   largest `BY` (minus LOOKBACK), read before the source and bound as `:watermark` in the rows'
   query; the target's rows are all kept, or (LOOKBACK) those before the mark, or (KEY) those
   no staged row replaces;
6. INCREMENTAL keeps its high-water mark in `<warehouse>/_sqlflow_state/<target>.json`,
   written after the swap (a run that stops between the two re-reads the window next time,
   which rewrites the same rows).
Counts are exact (`LoadCounts`): inserted and updated from the stage and the matched rows.
Nothing is written when anything before step 5 fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlflowc.backend.plan import Incremental, IncrementalLoad, Merge, RowKeepingMode
from sqlflowc.runtime.load_checks import (
    check_source_keys,
    incremental_window,
    schema_changes,
    schema_error,
    stored_high_water,
    target_duplicates_error,
)
from sqlflowc.runtime.load_modes import LoadCounts
from sqlflowc.runtime.spark.types import duckdb_columns, spark_type
from sqlflowc.schema import check_load, watermark_column_problem
from sqlflowc.sqlbuild import spark as build
from sqlflowc.sqlbuild.loads import WATERMARK

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sqlflowc.runtime.spark.tables import Warehouse

__all__ = ["run_load"]


def run_load(
    session: SparkSession,
    warehouse: Warehouse,
    target: str,
    mode: RowKeepingMode,
    rows: str,
) -> LoadCounts:
    """Carry out one load (see the module docstring); `rows` is `sql[0]`, secrets in."""
    window: dict[str, str | None] = {}
    previous = None
    if isinstance(mode, Incremental):
        previous = _high_water(warehouse, mode) if warehouse.exists(target) else None
        window = dict(_window(previous, mode.lookback))
    args: dict[str, str | None] = {p: window[p] for p in getattr(mode, "parameters", ())}
    if isinstance(mode, IncrementalLoad):
        window[WATERMARK] = args[WATERMARK] = _watermark(session, warehouse, target, mode)
    written = warehouse.stage(session.sql(rows, args=args or None))
    swapped = False
    try:
        stage = warehouse.read_staged(written)
        stage.createOrReplaceTempView(mode.stage)
        largest = _largest(session, mode) if isinstance(mode, Incremental) else None
        if isinstance(mode, IncrementalLoad):
            problem = watermark_column_problem(
                target, mode.by, duckdb_columns(stage.schema), lookback=mode.lookback
            )
            if problem is not None:
                raise schema_error([problem])
        keys = mode.keys if isinstance(mode, Merge | Incremental | IncrementalLoad) else ()
        if keys:
            check_source_keys(
                lambda query: session.sql(query).collect(),
                target,
                keys,
                build.null_keys(mode.stage, keys),
                build.duplicate_keys(mode.stage, keys),
            )
        if not warehouse.exists(target):
            warehouse.swap(target, written)
            swapped = True
            counts = LoadCounts(inserted=written.rows, updated=0 if keys else None, created=True)
        else:
            counts = _rewrite(session, warehouse, target, mode, stage, written.rows, window)
        if isinstance(mode, Incremental):
            _store_high_water(warehouse, mode, previous, largest)
        return counts
    finally:
        session.catalog.dropTempView(mode.stage)
        if not swapped:
            warehouse.discard(written)


def _rewrite(
    session: SparkSession,
    warehouse: Warehouse,
    target: str,
    mode: RowKeepingMode,
    stage: DataFrame,
    staged: int,
    window: Mapping[str, str | None],
) -> LoadCounts:
    existing = warehouse.read(target)
    keys = mode.keys if isinstance(mode, Merge | Incremental | IncrementalLoad) else ()
    diff = check_load(
        target,
        duckdb_columns(stage.schema),
        duckdb_columns(existing.schema),
        mode.schema_policy,
        keys=keys,
    )
    if diff.problems:
        raise schema_error(diff.problems)
    bounds = {"start_dt": window.get("start_dt", ""), "end_dt": window.get("end_dt", "")}
    mark = {WATERMARK: window.get(WATERMARK)}
    updated: int | None = None
    deleted: int | None = None
    if keys:
        counted = session.sql(build.matched_counts(target, mode.stage, keys)).first()
        assert counted is not None, "a query of two counts returns one row"
        matched, target_rows = counted
        if target_rows != matched:
            rows = session.sql(build.target_duplicates(target, mode.stage, keys)).collect()
            raise target_duplicates_error(rows, target, keys)
        kept = session.sql(build.kept_rows(target, mode.stage, keys))
        updated, inserted = int(target_rows), staged - int(matched)
    elif isinstance(mode, Incremental):
        kept = session.sql(build.window_kept(target, mode.by), args=bounds)
        deleted, inserted = existing.count() - kept.count(), staged
    elif isinstance(mode, IncrementalLoad) and mode.lookback is not None:
        kept = session.sql(build.watermark_kept(target, mode.by), args=mark)
        deleted, inserted = existing.count() - kept.count(), staged
    else:
        kept, inserted = existing, staged
    widened = {c.name.lower(): c.type for c in diff.alter}
    order = [f.name for f in existing.schema] + [c.name for c in diff.add]
    whole = _aligned(kept, widened).unionByName(_aligned(stage, widened), allowMissingColumns=True)
    warehouse.write(target, whole.select(*order))
    changes = schema_changes(diff)
    return LoadCounts(inserted=inserted, updated=updated, deleted=deleted, changes=changes)


def _aligned(frame: DataFrame, widened: Mapping[str, str]) -> DataFrame:
    """`frame` with the widened columns cast to their new type."""
    from pyspark.sql import functions as F

    cols = [
        F.col(f"`{f.name}`").cast(spark_type(widened[f.name.lower()])).alias(f.name)
        if f.name.lower() in widened
        else F.col(f"`{f.name}`")
        for f in frame.schema
    ]
    return frame.select(*cols)


# ---------------------------------------------------------------------------- incremental

_MIN = "0001-01-01 00:00:00"


def _watermark(
    session: SparkSession, warehouse: Warehouse, target: str, mode: IncrementalLoad
) -> str | None:
    """The target's high-water mark for a `LOAD ... MODE INCREMENTAL`, as text (read before
    the source is): its largest `by` minus LOOKBACK; None (every row) when the target or the
    column is missing or holds no value."""
    if not warehouse.exists(target):
        return None
    if not any(f.name.lower() == mode.by.lower() for f in warehouse.read(target).schema):
        return None
    row = session.sql(build.watermark_of(target, mode.by, lookback=mode.lookback)).first()
    return None if row is None or row[0] is None else str(row[0])


def _state_file(warehouse: Warehouse, mode: Incremental) -> str:
    return f"{warehouse.root}/_sqlflow_state/{mode.state_key}.json"


def _high_water(warehouse: Warehouse, mode: Incremental) -> str | None:
    from pathlib import Path

    path = Path(_state_file(warehouse, mode).removeprefix("file:"))
    if not path.is_file():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    return stored_high_water(state.get("column_name", ""), state.get("high_water"), mode.by)


def _window(previous: str | None, lookback: str | None) -> dict[str, str]:
    """The window, computed by DuckDB as on DuckDB (`load_checks.incremental_window`); Spark
    has no -infinity, so the first window starts at year 1."""
    import duckdb

    with duckdb.connect(":memory:") as con:
        window = incremental_window(con, previous, lookback)
    if previous is None:
        window.update(start_dt=_MIN, start_date=_MIN[:10])
    return window


def _largest(session: SparkSession, mode: Incremental) -> str | None:
    """The stage's largest `by`, as text (read before the stage is swapped in)."""
    row = session.sql(build.max_of(mode.stage, mode.by)).first()
    return None if row is None or row[0] is None else str(row[0])


def _store_high_water(
    warehouse: Warehouse, mode: Incremental, previous: str | None, value: str | None
) -> None:
    import os
    from pathlib import Path

    if value is None or (previous is not None and str(value) <= previous):
        return
    path = Path(_state_file(warehouse, mode).removeprefix("file:"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state = {"target": mode.state_key, "column_name": mode.by, "high_water": str(value)}
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)
