"""SQL builders for loads on Spark: the statements an APPEND, MERGE or INCREMENTAL step runs
there, as Spark SQL text (docs/engines.md).

Spark writes plain Parquet tables, which have no DELETE or UPDATE: a MERGE or an INCREMENTAL
load is a rewrite, the target's rows that no source row replaces (`kept_rows`, `window_kept`)
together with the staged source rows, written to a staging directory and swapped in. The key
checks are DuckDB's own builders (`sqlbuild/key_checks.py`) written for Spark by sqlglot, so
both engines check the same things. Window parameters are Spark's named markers
(`CAST(:start_dt AS TIMESTAMP_NTZ)`), bound by the executor. Pure functions; the backend shows
them (`sqlflowc compile --engine spark`) and the Spark executor runs them.

A `LOAD ... MODE INCREMENTAL` reads only the source's rows past the target's high-water mark:
the mark is the target's largest `BY` value (minus LOOKBACK) as text (`watermark_of`), bound as
`:watermark`, which Spark compares with the column by casting the text to its type (so the
filter is a literal one, pushed down to the Parquet or JDBC reader). NULL: every row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from sqlflowc.sqlbuild import key_checks
from sqlflowc.sqlbuild import loads as duck

__all__ = [
    "duplicate_keys",
    "incremental_stage",
    "kept_rows",
    "matched_counts",
    "max_of",
    "null_keys",
    "quote",
    "select_all",
    "target_duplicates",
    "watermark_kept",
    "watermark_of",
    "watermark_stage",
    "window_kept",
]

_SOURCE = "_source"
_TARGET = "_target"


def quote(name: str) -> str:
    """A Spark identifier, always quoted (`` `name` ``)."""
    return "`" + name.replace("`", "``") + "`"


def _spark(duckdb_sql: str) -> str:
    return sqlglot.transpile(duckdb_sql, read="duckdb", write="spark")[0]


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(_ident(name), table=_ident(table) if table else None)


def _window(column: exp.Expr) -> str:
    """`column BETWEEN CAST(:start_dt AS TIMESTAMP_NTZ) AND CAST(:end_dt AS TIMESTAMP_NTZ)`:
    DuckDB's TIMESTAMP (no time zone) as Spark names it."""
    low = exp.cast(exp.Placeholder(this="start_dt"), "TIMESTAMP", dialect="duckdb")
    high = exp.cast(exp.Placeholder(this="end_dt"), "TIMESTAMP", dialect="duckdb")
    return _spark(exp.Between(this=column, low=low, high=high).sql(dialect="duckdb"))


def select_all(name: str) -> str:
    """`SELECT * FROM name`."""
    return f"SELECT * FROM {quote(name)}"


def incremental_stage(query: str, by: str) -> str:
    """Only the query's rows inside the window (`query` is Spark SQL already)."""
    window = _window(_col(by, "_q"))
    return f"SELECT * FROM (\n{query.strip()}\n) AS `_q` WHERE {window}"


def null_keys(stage: str, keys: Sequence[str]) -> str:
    """Up to 5 staged rows with a NULL key, each with the number of such rows."""
    return _spark(key_checks.null_keys(stage, keys))


def duplicate_keys(stage: str, keys: Sequence[str]) -> str:
    """Up to 5 keys the stage holds more than once, with their counts."""
    return _spark(key_checks.duplicate_keys(stage, keys))


def matched_counts(target: str, stage: str, keys: Sequence[str]) -> str:
    """`(source_rows, target_rows)` that match (see `sqlbuild.key_checks.matched_counts`)."""
    return _spark(key_checks.matched_counts(target, stage, keys))


def target_duplicates(target: str, stage: str, keys: Sequence[str]) -> str:
    """Up to 5 keys of staged rows that match several target rows."""
    return _spark(key_checks.target_duplicates(target, stage, keys))


def kept_rows(target: str, stage: str, keys: Sequence[str]) -> str:
    """The target's rows no staged row replaces (a NULL key matches nothing, as in MERGE)."""
    on = exp.and_(*(exp.EQ(this=_col(k, _TARGET), expression=_col(k, _SOURCE)) for k in keys))
    return (
        f"SELECT {quote(_TARGET)}.* FROM {quote(target)} AS {quote(_TARGET)} "
        f"LEFT ANTI JOIN {quote(stage)} AS {quote(_SOURCE)} ON {on.sql(dialect='spark')}"
    )


def window_kept(target: str, by: str) -> str:
    """The target's rows outside the window (a NULL in `by` is outside)."""
    inside = _window(_col(by))
    return f"SELECT * FROM {quote(target)} WHERE ({inside}) IS NOT TRUE"


def max_of(stage: str, by: str) -> str:
    """The stage's largest `by`, as text (NULL when it has no rows)."""
    largest = exp.Max(this=exp.cast(_col(by), "TIMESTAMP", dialect="duckdb"))
    query = exp.select(exp.cast(largest, "VARCHAR")).from_(exp.table_(_ident(stage)))
    return _spark(query.sql(dialect="duckdb"))


def _past_watermark(column: exp.Expr, *, inclusive: bool) -> str:
    """`:watermark IS NULL OR column > :watermark` (`>=` when `inclusive`)."""
    mark = exp.Placeholder(this=duck.WATERMARK)
    compare = (exp.GTE if inclusive else exp.GT)(this=column, expression=mark.copy())
    return exp.or_(exp.Is(this=mark, expression=exp.Null()), compare).sql(dialect="spark")


def watermark_stage(query: str, by: str, *, inclusive: bool) -> str:
    """Only the query's rows past `:watermark` (`query` is Spark SQL already)."""
    where = _past_watermark(_col(by, "_q"), inclusive=inclusive)
    return f"SELECT * FROM (\n{query.strip()}\n) AS `_q` WHERE {where}"


def watermark_of(target: str, by: str, *, lookback: str | None) -> str:
    """The target's high-water mark as text: its largest `by`, minus `lookback` when given
    (NULL when it holds no value)."""
    largest: exp.Expr = exp.Max(this=_col(by))
    if lookback is not None:
        interval = exp.cast(exp.Literal.string(lookback), "INTERVAL", dialect="duckdb")
        largest = exp.Sub(this=largest, expression=interval)
    query = exp.select(exp.cast(largest, "VARCHAR")).from_(exp.table_(_ident(target)))
    return _spark(query.sql(dialect="duckdb"))


def watermark_kept(target: str, by: str) -> str:
    """The target's rows before `:watermark` (those at or past it the staged rows replace; a
    NULL in `by` is kept; no mark: none is kept)."""
    inside = _past_watermark(_col(by), inclusive=True)
    return f"SELECT * FROM {quote(target)} WHERE ({inside}) IS NOT TRUE"
