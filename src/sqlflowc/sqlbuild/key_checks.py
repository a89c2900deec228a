"""The queries that check a MERGE's keys before it writes (`runtime/load_checks.py` runs them on
DuckDB, `sqlbuild/spark.py` writes them for Spark): NULL and duplicate keys in the source (a
count of rows and distinct keys first, the offending rows only when there are some), and target
rows several source rows would match. Pure text building, as in `sqlbuild.loads`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from sqlflowc.sqlbuild.nodes import SOURCE, TARGET, aliased, col, ident, keys_match, sql

__all__ = [
    "BITMAP_TYPES",
    "HIGH",
    "LOW",
    "distinct_keys",
    "duplicate_keys",
    "key_counts",
    "matched_counts",
    "null_keys",
    "target_duplicates",
]


def null_keys(stage: str, keys: Sequence[str]) -> str:
    """Up to 5 source rows' keys where a key column is NULL, each with how many such rows
    there are in all."""
    total = exp.Window(this=exp.Count(this=exp.Star()))
    query = (
        exp.select(*(col(k) for k in keys), exp.alias_(total, "n"))
        .from_(exp.table_(ident(stage)))
        .where(exp.or_(*(exp.Is(this=col(k), expression=exp.Null()) for k in keys)))
        .limit(5)
    )
    return sql(query)


def duplicate_keys(stage: str, keys: Sequence[str]) -> str:
    """Up to 5 key values the source holds more than once, with their counts."""
    count = exp.Count(this=exp.Star())
    query = (
        exp.select(*(col(k) for k in keys), exp.alias_(count.copy(), "n"))
        .from_(exp.table_(ident(stage)))
        .group_by(*(col(k) for k in keys))
        .having(exp.GT(this=count, expression=exp.Literal.number(1)))
        .order_by(*(col(k) for k in keys))
        .limit(5)
    )
    return sql(query)


def matched_counts(target: str, stage: str, keys: Sequence[str], *, bitmap: bool = False) -> str:
    """`(source_rows, target_rows)` that match, in one join of the target with the stage: the
    distinct source keys that meet a target row (as many as source rows, the source's keys being
    unique — checked first) and the target rows that meet one. They differ only when the
    target holds several rows for one key. `bitmap`: see `distinct_keys`."""
    source_keys = [col(k, SOURCE) for k in keys]
    query = exp.select(
        exp.alias_(_distinct_count(source_keys, bitmap=bitmap), "source_rows"),
        exp.alias_(exp.Count(this=exp.Star()), "target_rows"),
    ).from_(aliased(target, TARGET, temp=False))
    query.append("joins", exp.Join(this=aliased(stage, SOURCE, temp=True), on=keys_match(keys)))
    return sql(query)


# The integer types `bitstring_agg` takes: one bit per value between two bounds.
BITMAP_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
# Placeholders of a bitmap count's bounds: the smallest and largest key (`key_counts`).
LOW, HIGH = "low", "high"


def _distinct_count(columns: Sequence[exp.Expr], *, bitmap: bool) -> exp.Expr:
    """How many distinct values `columns` hold (NULLs left out): `bitmap` (one integer column
    whose values lie between `$low` and `$high`) sets one bit per value, which costs a fraction
    of hashing them; else `COUNT(DISTINCT ...)`."""
    if bitmap:
        (column,) = columns
        bits = exp.Anonymous(
            this="bitstring_agg",
            expressions=[column, exp.Placeholder(this=LOW), exp.Placeholder(this=HIGH)],
        )
        count = exp.Anonymous(this="bit_count", expressions=[bits])
        return exp.Coalesce(this=count, expressions=[exp.Literal.number(0)])
    values = list(columns) if len(columns) == 1 else [exp.Tuple(expressions=list(columns))]
    return exp.Count(this=exp.Distinct(expressions=values))


def key_counts(stage: str, keys: Sequence[str], *, bounds: bool = False) -> str:
    """`(rows, null_rows)` of a stage — how many rows, how many with a NULL key — and, with
    `bounds` (one integer key), its smallest and largest key: one scan of the key columns."""
    any_null = exp.or_(*(exp.Is(this=col(k), expression=exp.Null()) for k in keys))
    columns: list[exp.Expr] = [
        exp.alias_(exp.Count(this=exp.Star()), "source_rows"),
        exp.alias_(
            exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=any_null)),
            "null_rows",
        ),
    ]
    if bounds:
        (key,) = keys
        columns += [
            exp.alias_(exp.Min(this=col(key)), LOW),
            exp.alias_(exp.Max(this=col(key)), HIGH),
        ]
    return sql(exp.select(*columns).from_(exp.table_(ident(stage))))


def distinct_keys(stage: str, keys: Sequence[str], *, bitmap: bool = False) -> str:
    """How many distinct keys a stage holds (fewer than its rows: duplicates). `bitmap`: one
    integer key, counted with a bitmap between `$low` and `$high`."""
    count = _distinct_count([col(k) for k in keys], bitmap=bitmap)
    return sql(exp.select(exp.alias_(count, "distinct_keys")).from_(exp.table_(ident(stage))))


def target_duplicates(target: str, stage: str, keys: Sequence[str]) -> str:
    """Up to 5 key values of source rows that match more than one target row."""
    count = exp.Count(this=exp.Star())
    join = exp.Join(this=aliased(stage, SOURCE, temp=True), kind="SEMI", on=keys_match(keys))
    query = exp.select(*(col(k, TARGET) for k in keys), exp.alias_(count.copy(), "n")).from_(
        aliased(target, TARGET, temp=False)
    )
    query.append("joins", join)
    query = (
        query.group_by(*(col(k, TARGET) for k in keys))
        .having(exp.GT(this=count, expression=exp.Literal.number(1)))
        .order_by(*(col(k, TARGET) for k in keys))
        .limit(5)
    )
    return sql(query)
