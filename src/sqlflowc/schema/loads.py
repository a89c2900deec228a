"""Whether the data a load writes fits the table it writes to: the verdict of APPEND, MERGE and
INCREMENTAL loads, shared by the compile-time check (`passes/check_schemas.py`) and the executor
(`runtime/load_modes.py`), so both reach the same verdict with the same wording.

Contract of `check_load(table, source, target, policy, keys=...)`, read from
`compare.compare_columns(old=target, new=source)`:
- Columns match **by name**, case-insensitively (as DuckDB resolves identifiers); order never
  matters.
- A source column the target lacks is a `SCHEMA_EXTRA_COLUMN` problem under `strict`; under
  `evolve` it becomes an `ADD COLUMN` (nullable) in `SchemaDiff.add`.
- A target column the source lacks is filled with its DEFAULT or NULL; when it is NOT NULL
  without a DEFAULT that is a `SCHEMA_MISSING_COLUMN` problem under either policy.
- Types: the source type must be the target type or safely widen to it (`types.widens`). When
  the target's type safely widens to a common type that holds both, that is a
  `SCHEMA_NARROWING` problem under `strict` and an `ALTER COLUMN ... TYPE` in `SchemaDiff.alter`
  under `evolve`. Anything else is `SCHEMA_TYPE_MISMATCH` under either policy.
- Every key column must exist in the source and, unless the target is being created, in the
  target (`KEY_COLUMN_MISSING`).
`by_column_problem` checks an INCREMENTAL `BY` column: a DATE or TIMESTAMP column of the query.
Each problem names the table, the column, both types, and what to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlflowc.diagnostics import Code
from sqlflowc.schema.compare import (
    Added,
    Direction,
    PossibleRename,
    Removed,
    TypeChanged,
    compare_columns,
)
from sqlflowc.schema.model import Column, Policy
from sqlflowc.schema.types import TIME_TYPES, is_watermark_type, normalize_type

__all__ = ["Problem", "SchemaDiff", "by_column_problem", "check_load"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One incompatibility: `column` is None for problems of the whole table."""

    code: Code
    message: str
    help: str
    column: str | None = None


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """The verdict: problems (nothing may be written), else what `evolve` changes first."""

    problems: tuple[Problem, ...] = ()
    add: tuple[Column, ...] = ()
    alter: tuple[Column, ...] = ()  # the column with its new type
    missing: tuple[str, ...] = ()  # target columns the source does not carry

    @property
    def ok(self) -> bool:
        return not self.problems


def check_load(
    table: str,
    source: Sequence[Column],
    target: Sequence[Column] | None,
    policy: Policy,
    *,
    keys: Iterable[str] = (),
) -> SchemaDiff:
    """Check writing `source` into `target` (None: the target does not exist yet)."""
    problems: list[Problem] = []
    src = {c.name.lower() for c in source}
    for key in keys:
        if key.lower() not in src:
            problems.append(_missing_key(table, key, "the source", source))
        elif target is not None and key.lower() not in {c.name.lower() for c in target}:
            problems.append(_missing_key(table, key, f"table `{table}`", target))
    if target is None:
        return SchemaDiff(problems=tuple(problems))
    new_columns: set[str] = set()  # source columns the target lacks
    old_columns: set[str] = set()  # target columns the source lacks
    retyped: dict[str, TypeChanged] = {}
    for change in compare_columns(old=target, new=source).changes:
        match change:
            case Added():
                new_columns.add(change.column.name.lower())
            case Removed():
                old_columns.add(change.column.name.lower())
            case PossibleRename():
                new_columns.add(change.new.name.lower())
                old_columns.add(change.old.name.lower())
            case TypeChanged() if change.direction is not Direction.NARROWING:
                retyped[change.new.name.lower()] = change
    add: list[Column] = []
    alter: list[Column] = []
    for col in source:
        if col.name.lower() in new_columns:
            if policy == "evolve" and normalize_type(col.type) != "NULL":
                add.append(Column(col.name, col.type))
            else:
                problems.append(_extra_column(table, col, policy))
            continue
        retype = retyped.get(col.name.lower())
        if retype is None:
            continue  # the same type, or one that widens into the target's
        have = retype.old
        if retype.common is None:
            problems.append(_mismatch(table, col, have))
        elif policy == "evolve":
            alter.append(Column(have.name, retype.common, have.nullable, have.default))
        else:
            problems.append(_narrowing(table, col, have, retype.common))
    missing = tuple(c for c in target if c.name.lower() in old_columns)
    for have in missing:
        if not have.nullable and have.default is None:
            problems.append(
                Problem(
                    Code.SCHEMA_MISSING_COLUMN,
                    f"column `{have.name}` of table `{table}` is {have.type} NOT NULL, "
                    "but the source has no such column",
                    f"select a value for `{have.name}` in the query, or give the column a "
                    f"DEFAULT (`ALTER TABLE {table} ALTER COLUMN {have.name} SET DEFAULT ...`)",
                    have.name,
                )
            )
    return SchemaDiff(
        problems=tuple(problems),
        add=tuple(add),
        alter=tuple(alter),
        missing=tuple(c.name for c in missing),
    )


def _names(columns: Sequence[Column]) -> str:
    """The column names for a help: `` `a`, `b` ``, or `none`."""
    return ", ".join(f"`{c.name}`" for c in columns) or "none"


def _missing_key(table: str, key: str, where: str, columns: Sequence[Column]) -> Problem:
    return Problem(
        Code.KEY_COLUMN_MISSING,
        f"key column `{key}` of table `{table}` is not a column of {where}",
        f"the key columns must be in both the source and the table; {where} has: {_names(columns)}",
        key,
    )


def _extra_column(table: str, col: Column, policy: Policy) -> Problem:
    if normalize_type(col.type) == "NULL":
        return Problem(
            Code.SCHEMA_EXTRA_COLUMN,
            f"table `{table}` has no column `{col.name}`, and the source's `{col.name}` has no "
            "type (it is an untyped NULL)",
            f"cast it in the query (`CAST(NULL AS VARCHAR) AS {col.name}`) or drop it",
            col.name,
        )
    help = (
        f"drop `{col.name}` from the query, add it with `ALTER TABLE {table} ADD COLUMN "
        f"{col.name} {col.type}`"
    )
    if policy == "strict":
        help += ", or run with `--schema-policy evolve` to add it automatically"
    return Problem(
        Code.SCHEMA_EXTRA_COLUMN,
        f"table `{table}` has no column `{col.name}` ({col.type} in the source)",
        help,
        col.name,
    )


def _mismatch(table: str, col: Column, have: Column) -> Problem:
    return Problem(
        Code.SCHEMA_TYPE_MISMATCH,
        f"column `{col.name}` of table `{table}` is {have.type}, but the source's is "
        f"{col.type}, which does not convert to {have.type} without loss",
        f"cast it in the query (`CAST({col.name} AS {have.type})`), or rebuild the table "
        "with `MODE REPLACE`",
        col.name,
    )


def _narrowing(table: str, col: Column, have: Column, wider: str) -> Problem:
    return Problem(
        Code.SCHEMA_NARROWING,
        f"column `{col.name}` of table `{table}` is {have.type}, narrower than the source's "
        f"{col.type}",
        f"cast it in the query (`CAST({col.name} AS {have.type})`), or run with "
        f"`--schema-policy evolve` to widen the column to {wider}",
        col.name,
    )


def by_column_problem(table: str, by: str, source: Sequence[Column]) -> Problem | None:
    """The problem with an INCREMENTAL `BY` column, if any: it must be a DATE or TIMESTAMP
    column of the query."""
    col = next((c for c in source if c.name.lower() == by.lower()), None)
    if col is None:
        return Problem(
            Code.KEY_COLUMN_MISSING,
            f"INCREMENTAL BY column `{by}` is not a column of the query for `{table}`",
            f"select `{by}` in the query, or name one of its columns in `BY` ({_names(source)})",
            by,
        )
    if normalize_type(col.type) not in TIME_TYPES:
        return Problem(
            Code.INCREMENTAL_COLUMN_TYPE,
            f"INCREMENTAL BY column `{col.name}` of `{table}` is {col.type}; it must be a DATE "
            "or TIMESTAMP",
            f"cast it in the query (`CAST({col.name} AS TIMESTAMP) AS {col.name}`)",
            col.name,
        )
    return None


def watermark_column_problem(
    table: str, by: str, source: Sequence[Column], *, lookback: str | None
) -> Problem | None:
    """The problem with the `BY` column of a `LOAD ... MODE INCREMENTAL`, if any: a column of
    the source holding numbers, dates, timestamps or text — with LOOKBACK, dates or
    timestamps."""
    col = next((c for c in source if c.name.lower() == by.lower()), None)
    if col is None:
        return Problem(
            Code.KEY_COLUMN_MISSING,
            f"INCREMENTAL BY column `{by}` is not a column of the source of `{table}`",
            f"name one of its columns in `BY` ({_names(source)})",
            by,
        )
    if not is_watermark_type(col.type):
        return Problem(
            Code.INCREMENTAL_COLUMN_TYPE,
            f"INCREMENTAL BY column `{col.name}` of `{table}` is {col.type}; it must hold "
            "numbers, dates, timestamps (to the microsecond) or text",
            "read by a column whose values grow: an id, a sequence number or an updated_at "
            f"(`CAST({col.name} AS TIMESTAMP)` in the source for nanoseconds)",
            col.name,
        )
    if lookback is not None and normalize_type(col.type) not in TIME_TYPES:
        return Problem(
            Code.INCREMENTAL_COLUMN_TYPE,
            f"INCREMENTAL BY column `{col.name}` of `{table}` is {col.type}; LOOKBACK "
            f"{lookback!r} needs a DATE or TIMESTAMP column",
            "remove LOOKBACK, or read by a DATE or TIMESTAMP column",
            col.name,
        )
    return None
