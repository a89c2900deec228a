"""SQL builders for loads: every statement an APPEND, MERGE or INCREMENTAL step runs.

Pure functions returning DuckDB SQL text, built with sqlglot: identifiers we add are always
quoted; the user's query is spliced verbatim (a `Var` node, on its own lines where something
follows it, so a trailing `--` comment ends there); DuckDB type names from `DESCRIBE` are kept
verbatim. Used by the backend (`backend/load_modes.py`, what `compile` shows), the executor
(`runtime/load_modes.py`, what runs) and the compile-time schema check.

INCREMENTAL macros (`@start_dt`, ...) are found and bound by `sqlbuild.macros`; the queries
that check a MERGE's keys before it writes are `sqlbuild.key_checks`; the sqlglot nodes both
build with (quoted names, the `_source`/`_target` aliases) are `sqlbuild.nodes`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from sqlflowc.schema import Column
from sqlflowc.sqlbuild.macros import parameter
from sqlflowc.sqlbuild.nodes import SOURCE as _SOURCE
from sqlflowc.sqlbuild.nodes import TARGET as _TARGET
from sqlflowc.sqlbuild.nodes import aliased as _aliased
from sqlflowc.sqlbuild.nodes import col as _col
from sqlflowc.sqlbuild.nodes import ident as _ident
from sqlflowc.sqlbuild.nodes import keys_match as _keys_match
from sqlflowc.sqlbuild.nodes import sql as _sql
from sqlflowc.sqlbuild.nodes import table as _table

STATE_TABLE = "_sqlflow_state"


# ---------------------------------------------------------------------------- builders


def _verbatim(query: str, *, wrapped: bool = False) -> exp.Var:
    """The user's query as written; `wrapped` (something follows it): on its own lines, so a
    trailing `--` comment ends there."""
    return exp.Var(this=f"\n{query.strip()}\n" if wrapped else query.strip())


def _create_temp(kind: str, stage: str, body: exp.Expr) -> str:
    return _sql(
        exp.Create(
            this=exp.table_(_ident(stage)),
            kind=kind,
            expression=body,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
    )


def stage_view(stage: str, query: str) -> str:
    """`CREATE TEMPORARY VIEW stage AS <query>`: APPEND reads the source once, at insert."""
    return _create_temp("VIEW", stage, _verbatim(query))


def stage_table(stage: str, query: str) -> str:
    """`CREATE TEMPORARY TABLE stage AS <query>`: the data, checked before it is written."""
    return _create_temp("TABLE", stage, _verbatim(query))


def _between(column: exp.Expr) -> exp.Between:
    return exp.Between(this=column, low=parameter("start_dt"), high=parameter("end_dt"))


def incremental_stage(stage: str, query: str, by: str) -> str:
    """Stage only the query's rows inside the window, so rows outside it are never written."""
    body = (
        exp.select(exp.Star())
        .from_(
            exp.Subquery(
                this=_verbatim(query, wrapped=True), alias=exp.TableAlias(this=_ident("_q"))
            )
        )
        .where(_between(_col(by, "_q")))
    )
    return _create_temp("TABLE", stage, body)


def incremental_query(staging: str, stage: str, by: str) -> str | None:
    """The query of an `incremental_stage(stage, query, by)` statement, as written; None for
    other text."""
    probe = "SELECT 1"
    head, _, tail = incremental_stage(stage, probe, by).partition(f"\n{probe}\n")
    if not staging.startswith(head) or not staging.endswith(tail):
        return None
    query = staging[len(head) : len(staging) - len(tail)].strip()
    return query if incremental_stage(stage, query, by) == staging else None


def insert_query(target: str, query: str) -> str:
    """`INSERT INTO target BY NAME <query>`: columns match by name."""
    return _sql(exp.Insert(this=_table(target), expression=_verbatim(query), by_name=True))


def max_of_query(query: str, column: str) -> str:
    """`max_of` for the rows of a query instead of a stage."""
    source = exp.Subquery(
        this=_verbatim(query, wrapped=True), alias=exp.TableAlias(this=_ident("_rows"))
    )
    return _sql(exp.select(_new_high_water(column)).from_(source))


WATERMARK = "watermark"


def _past_watermark(column: exp.Expr, *, inclusive: bool) -> exp.Expr:
    """`$watermark IS NULL OR column > $watermark` (`>=` when `inclusive`)."""
    mark = exp.Placeholder(this=WATERMARK)
    compare = (exp.GTE if inclusive else exp.GT)(this=column, expression=mark.copy())
    return exp.or_(exp.Is(this=mark, expression=exp.Null()), compare)


def watermark_stage(stage: str, query: str, by: str, *, inclusive: bool) -> str:
    """Stage only the source's rows past `$watermark` (all of them when it is NULL)."""
    body = (
        exp.select(exp.Star())
        .from_(
            exp.Subquery(
                this=_verbatim(query, wrapped=True), alias=exp.TableAlias(this=_ident("_q"))
            )
        )
        .where(_past_watermark(_col(by, "_q"), inclusive=inclusive))
    )
    return _create_temp("TABLE", stage, body)


def watermark_of(target: str, by: str, *, lookback: bool) -> str:
    """The target's high-water mark: its largest `by` (minus `$lookback` when `lookback`)."""
    largest: exp.Expr = exp.Max(this=_col(by))
    if lookback:
        largest = exp.Sub(
            this=largest, expression=exp.cast(exp.Placeholder(this="lookback"), "INTERVAL")
        )
    return _sql(exp.select(largest).from_(_table(target)))


def watermark_delete(target: str, by: str) -> str:
    """Delete the target's rows at or past `$watermark` (the staged rows replace them)."""
    return _sql(exp.delete(_table(target), where=_past_watermark(_col(by), inclusive=True)))


def drop_stage(stage: str, *, view: bool = False) -> str:
    return _sql(exp.Drop(tables=[exp.table_(_ident(stage))], kind="VIEW" if view else "TABLE"))


def describe(name: str, *, temp: bool = False) -> str:
    """`DESCRIBE` a table, view or stage (`temp`: a name we generated, always quoted)."""
    return _sql(exp.Describe(this=exp.table_(_ident(name)) if temp else _table(name)))


def create_from(target: str, stage: str) -> str:
    """`CREATE TABLE target AS SELECT * FROM stage` (a target that does not exist yet)."""
    body = exp.select(exp.Star()).from_(exp.table_(_ident(stage)))
    return _sql(exp.Create(this=_table(target), kind="TABLE", expression=body))


def insert_from(target: str, stage: str) -> str:
    """`INSERT INTO target BY NAME SELECT * FROM stage`: columns match by name."""
    body = exp.select(exp.Star()).from_(exp.table_(_ident(stage)))
    return _sql(exp.Insert(this=_table(target), expression=body, by_name=True))


def key_stage(name: str, stage: str, keys: Sequence[str]) -> str:
    """`CREATE TEMPORARY TABLE name AS SELECT keys FROM stage`: the keys of a source that is
    read again to be written (the checks and the delete read this copy of its keys)."""
    body = exp.select(*(_col(k) for k in keys)).from_(exp.table_(_ident(stage)))
    return _create_temp("TABLE", name, body)


def staged_query(staging: str, stage: str) -> str | None:
    """The query of a `stage_table(stage, query)` statement, as written; None for other text."""
    probe = "SELECT 1"
    prefix = stage_table(stage, probe)[: -len(probe)]
    if not staging.startswith(prefix):
        return None
    query = staging[len(prefix) :]
    return query if stage_table(stage, query) == staging else None


def delete_matched(target: str, stage: str, keys: Sequence[str]) -> str:
    """Delete the target rows a source row replaces."""
    return _sql(
        exp.Delete(
            this=_aliased(target, _TARGET, temp=False),
            using=[_aliased(stage, _SOURCE, temp=True)],
            where=exp.Where(this=_keys_match(keys)),
        )
    )


def merge_into(
    target: str, stage: str, keys: Sequence[str], update: Sequence[str], insert: Sequence[str]
) -> str:
    """`MERGE INTO` for a source that lacks some target columns: matched rows get the `update`
    columns, unmatched source rows are inserted with the `insert` columns (others NULL or
    DEFAULT). Run only after the key checks: MERGE INTO itself accepts duplicate keys."""
    whens: list[exp.When] = []
    if update:
        sets = [exp.EQ(this=_col(c), expression=_col(c, _SOURCE)) for c in update]
        whens.append(exp.When(matched=True, then=exp.Update(expressions=sets)))
    values = exp.Tuple(expressions=[_col(c, _SOURCE) for c in insert])
    columns = exp.Tuple(expressions=[_col(c) for c in insert])
    whens.append(exp.When(matched=False, then=exp.Insert(this=columns, expression=values)))
    return _sql(
        exp.Merge(
            this=_aliased(target, _TARGET, temp=False),
            using=_aliased(stage, _SOURCE, temp=True),
            on=_keys_match(keys),
            whens=exp.Whens(expressions=whens),
        )
    )


def add_column(target: str, column: Column) -> str:
    """`ALTER TABLE target ADD COLUMN c type` (nullable: existing rows get NULL); the type is
    DuckDB's own spelling from `DESCRIBE`, kept verbatim."""
    action = exp.ColumnDef(this=_ident(column.name), kind=exp.Var(this=column.type))
    return _sql(exp.Alter(this=_table(target), kind="TABLE", actions=[action]))


def alter_type(target: str, column: Column) -> str:
    """`ALTER TABLE target ALTER COLUMN c SET DATA TYPE type` (a safe widening)."""
    action = exp.AlterColumn(this=_ident(column.name), dtype=exp.Var(this=column.type))
    return _sql(exp.Alter(this=_table(target), kind="TABLE", actions=[action]))


def window_delete(target: str, by: str) -> str:
    """Delete the target's rows inside the window (both ends inclusive)."""
    return _sql(exp.delete(_table(target), where=_between(_col(by))))


def create_state_table() -> str:
    """The incremental state table; a PRIMARY KEY is fine on a table of one row per target."""
    columns = [
        exp.ColumnDef(
            this=_ident("target"),
            kind=exp.DataType.build("VARCHAR"),
            constraints=[exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint())],
        ),
        exp.ColumnDef(this=_ident("column_name"), kind=exp.DataType.build("VARCHAR")),
        exp.ColumnDef(this=_ident("high_water"), kind=exp.DataType.build("TIMESTAMP")),
        exp.ColumnDef(this=_ident("updated_at"), kind=exp.DataType.build("TIMESTAMP")),
    ]
    schema = exp.Schema(this=exp.table_(_ident(STATE_TABLE)), expressions=columns)
    return _sql(exp.Create(this=schema, kind="TABLE", exists=True))


def read_state(state_key: str) -> str:
    """The stored column and high-water mark (as text) of one target."""
    return _sql(
        exp.select(_col("column_name"), exp.cast(_col("high_water"), "VARCHAR"))
        .from_(exp.table_(_ident(STATE_TABLE)))
        .where(exp.EQ(this=_col("target"), expression=exp.Literal.string(state_key)))
    )


def write_state() -> str:
    """Store a target's high-water mark (`$target`, `$column_name`, `$high_water`, `$end_dt`)."""
    values = exp.Tuple(
        expressions=[
            exp.Placeholder(this="target"),
            exp.Placeholder(this="column_name"),
            exp.cast(exp.Placeholder(this="high_water"), "TIMESTAMP"),
            parameter("end_dt"),
        ]
    )
    insert = exp.Insert(
        this=exp.table_(_ident(STATE_TABLE)),
        expression=exp.Values(expressions=[values]),
        alternative="REPLACE",
    )
    return _sql(insert)


def max_of(stage: str, column: str) -> str:
    """The new high-water mark, as text: the larger of `$previous` and the stage's largest
    `column` (NULLs ignored; NULL when both are missing)."""
    return _sql(exp.select(_new_high_water(column)).from_(exp.table_(_ident(stage))))


def _new_high_water(column: str) -> exp.Expr:
    largest = exp.Max(this=exp.cast(_col(column), "TIMESTAMP"))
    previous = exp.cast(exp.Placeholder(this="previous"), "TIMESTAMP")
    # DuckDB's GREATEST skips NULLs; sqlglot's Greatest node would render a NULL-strict CASE.
    value = exp.Anonymous(this="GREATEST", expressions=[previous, largest])
    return exp.cast(value, "VARCHAR")


def window_bounds() -> str:
    """The window as text: `start_dt` = `$previous` - `$lookback` (-infinity when there is no
    previous mark), `end_dt` = now (local time), and their dates."""
    previous = exp.cast(exp.Placeholder(this="previous"), "TIMESTAMP")
    lookback = exp.cast(exp.Placeholder(this="lookback"), "INTERVAL")
    infinity = exp.cast(exp.Literal.string("-infinity"), "TIMESTAMP")
    start = exp.Coalesce(this=exp.Sub(this=previous, expression=lookback), expressions=[infinity])
    now = exp.Anonymous(this="current_localtimestamp", expressions=[])
    inner = exp.select(exp.alias_(start, "s"), exp.alias_(now, "e"))
    text = [exp.cast(exp.column(c), "VARCHAR") for c in ("s", "e")]
    dates = [exp.cast(exp.cast(exp.column(c), "DATE"), "VARCHAR") for c in ("s", "e")]
    return _sql(exp.select(*text, *dates).from_(inner.subquery("w")))


# `table` and/or `view` for `$1` (schema, or NULL) and `$2` (name): what a load's target name is
# in the database (case-insensitive, in the current database and schema).
RELATION_KIND = (
    "SELECT 'table' FROM duckdb_tables() WHERE database_name = current_database() "
    "AND lower(schema_name) = lower(coalesce($1, current_schema())) "
    "AND lower(table_name) = lower($2) "
    "UNION ALL SELECT 'view' FROM duckdb_views() WHERE NOT internal "
    "AND database_name = current_database() "
    "AND lower(schema_name) = lower(coalesce($1, current_schema())) "
    "AND lower(view_name) = lower($2)"
)


# How many FOREIGN KEY constraints reference a table named `$1` (in the current database): a
# referenced row cannot be deleted and inserted again, so such a target is merged with MERGE INTO.
FOREIGN_KEYS_TO = (
    "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY' "
    "AND database_name = current_database() AND lower(referenced_table) = lower($1)"
)


def split_name(target: str) -> tuple[str | None, str]:
    """`(schema, table)` of a target name (`schema` None when unqualified)."""
    table = _table(target)
    return (table.db or None), table.name


def describe_query(query: str) -> str:
    """`DESCRIBE <query>`: the query's columns and types, without running it."""
    return _sql(exp.Describe(this=_verbatim(query)))


def empty_table(target: str, query: str) -> str:
    """`CREATE OR REPLACE TABLE target AS SELECT * FROM (<query>) LIMIT 0`: the table a query
    would create, without its rows (the compile-time schema check's stand-in)."""
    body = (
        exp.select(exp.Star())
        .from_(
            exp.Subquery(
                this=_verbatim(query, wrapped=True), alias=exp.TableAlias(this=_ident("_q"))
            )
        )
        .limit(0)
    )
    return _sql(exp.Create(this=_table(target), kind="TABLE", replace=True, expression=body))
