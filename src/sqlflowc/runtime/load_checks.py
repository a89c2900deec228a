"""What a load checks before it writes, and the error it raises, on either engine
(`runtime/load_modes.py` for DuckDB, `runtime/spark/loads.py` for Spark):

- a MERGE (and an INCREMENTAL load with KEY): NULL or duplicate keys in the source
  (`check_keys`: counted first, listed only when there are any; `check_source_keys` lists them
  on any engine), duplicate keys in the target among the rows the source touches
  (`raise_target_duplicates`, `target_duplicates_error`). Up to 5 offending keys are shown;
- schemas that do not fit (`schema_error`), and what the `evolve` changes do
  (`schema_changes`);
- an INCREMENTAL load's window (`incremental_window`, computed by DuckDB for both engines) and
  the high-water mark it stored (`stored_high_water`).
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlflowc.diagnostics import Code, StepFailure
from sqlflowc.schema import Column, Problem, SchemaDiff
from sqlflowc.sqlbuild import key_checks as checks
from sqlflowc.sqlbuild import loads as sql

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

_SHOWN = 5


class LoadError(StepFailure):
    """A load that must not happen, with its diagnostic code and what to change."""

    def __init__(self, code: Code, message: str, help: str = "") -> None:
        super().__init__(message, code, help)


# A bitmap of one integer key costs a bit per value between the smallest and largest key: used
# while that is at most this many bits per row (a hash of the keys costs more) or this few bits.
_BITMAP_BITS_PER_ROW = 64
_BITMAP_BITS_ANYWAY = 1 << 20


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the checks found: the source's row count and, for a single integer key whose
    values are close enough together, its smallest and largest value (`checks.LOW`,
    `checks.HIGH`), so that distinct keys are counted with a bitmap."""

    rows: int
    params: dict[str, Any] | None = None

    @property
    def bitmap(self) -> bool:
        return self.params is not None


def check_keys(
    con: Connection, target: str, checked: str, keys: Sequence[str], source: Sequence[Column]
) -> Bounds:
    """NULL or duplicate keys in the stage `checked`: counted first (one scan of the keys, then
    a count of the distinct keys), listed only when there are any (`check_source_keys`)."""
    folded = {c.name.lower(): c.type.upper() for c in source}
    integer = len(keys) == 1 and folded.get(keys[0].lower()) in checks.BITMAP_TYPES
    counted = con.execute(checks.key_counts(checked, keys, bounds=integer)).fetchall()[0]
    rows, nulls = int(counted[0]), int(counted[1])
    bounds = Bounds(rows)
    if integer and rows and nulls == 0:
        low, high = counted[2], counted[3]
        if high - low < max(_BITMAP_BITS_PER_ROW * rows, _BITMAP_BITS_ANYWAY):
            bounds = Bounds(rows, {checks.LOW: low, checks.HIGH: high})
    if nulls == 0 and rows > 0:
        query = checks.distinct_keys(checked, keys, bitmap=bounds.bitmap)
        distinct = int(_scalar(con, query, bounds.params))
    else:
        distinct = rows
    if nulls or distinct != rows:
        check_source_keys(
            lambda query: con.execute(query).fetchall(),
            target,
            keys,
            checks.null_keys(checked, keys),
            checks.duplicate_keys(checked, keys),
        )
        raise LoadError(
            Code.SOURCE_DUPLICATE_KEYS,
            f"internal error: the data for `{target}` has {rows:,} rows, {nulls:,} with a NULL "
            f"key and {distinct:,} distinct keys, yet no NULL or duplicate key was found; "
            "nothing was written",
            "please report this",
        )
    return bounds


def check_source_keys(
    fetch: Callable[[str], Sequence[Sequence[Any]]],
    target: str,
    keys: Sequence[str],
    null_keys: str,
    duplicate_keys: str,
) -> None:
    """NULL or duplicate source keys: nothing may be written. `fetch` runs a query on the
    engine at hand (DuckDB, Spark) and gives its rows; `null_keys` and `duplicate_keys` are
    that engine's queries (`sqlbuild.key_checks.null_keys`, `.duplicate_keys` or their Spark
    forms)."""
    names = ", ".join(keys)
    nulls = fetch(null_keys)
    if nulls:
        total = int(nulls[0][-1])
        shown = ", ".join(_show_key(row[:-1]) for row in nulls)
        raise LoadError(
            Code.SOURCE_NULL_KEYS,
            f"the data for `{target}` has {total:,} row{'s' * (total != 1)} with a NULL key "
            f"({names}): {shown}{' (first 5)' if total > _SHOWN else ''}; nothing was written",
            f"a NULL key matches no row: filter those rows out "
            f"(`WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)}`) or give them a key",
        )
    dups = fetch(duplicate_keys)
    if dups:
        shown = ", ".join(f"{_show_key(row[:-1])} ({row[-1]} rows)" for row in dups)
        raise LoadError(
            Code.SOURCE_DUPLICATE_KEYS,
            f"the data for `{target}` has duplicate keys ({names}): {shown}"
            f"{' (first 5)' if len(dups) >= _SHOWN else ''}; nothing was written",
            "keep one row per key in the query, e.g. `QUALIFY row_number() OVER "
            f"(PARTITION BY {names} ORDER BY ...) = 1`, or use more key columns",
        )


def schema_error(problems: Sequence[Problem]) -> LoadError:
    """The error for a load whose schemas do not fit: the first problem, and how many more."""
    first, more = problems[0], len(problems) - 1
    extra = f" (and {more} more schema problem{'s' * (more != 1)})" if more else ""
    return LoadError(first.code, first.message + extra + "; nothing was written", first.help)


def schema_changes(diff: SchemaDiff) -> tuple[str, ...]:
    """What the `evolve` changes of `diff` do, in the order they are made: widened columns,
    then added ones."""
    return (
        *(f"widened `{c.name}` to {c.type}" for c in diff.alter),
        *(f"added column `{c.name}` {c.type}" for c in diff.add),
    )


def incremental_window(
    con: Connection, previous: str | None, lookback: str | None
) -> dict[str, str]:
    """The four macro values as text: start = previous - lookback (or -infinity), end = now."""
    start_dt, end_dt, start_date, end_date = con.execute(
        sql.window_bounds(), {"previous": previous, "lookback": lookback or "0 seconds"}
    ).fetchall()[0]
    return {
        "start_dt": str(start_dt),
        "end_dt": str(end_dt),
        "start_date": str(start_date),
        "end_date": str(end_date),
    }


def stored_high_water(column: Any, value: Any, by: str) -> str | None:
    """A stored high-water mark as text, when it is one of the same `BY` column (else None:
    the next window starts from the beginning)."""
    if value is None or str(column).lower() != by.lower():
        return None
    return str(value)


def raise_target_duplicates(con: Connection, target: str, stage: str, keys: Sequence[str]) -> None:
    raise target_duplicates_error(
        con.execute(checks.target_duplicates(target, stage, keys)).fetchall(), target, keys
    )


def target_duplicates_error(
    rows: Sequence[Sequence[Any]], target: str, keys: Sequence[str]
) -> LoadError:
    """The error for duplicate target keys, from the rows of any engine's `target_duplicates`
    query (the key values, then the count)."""
    shown = ", ".join(f"{_show_key(row[:-1])} ({row[-1]} rows)" for row in rows)
    return LoadError(
        Code.TARGET_DUPLICATE_KEYS,
        f"table `{target}` holds several rows for keys the data updates ({', '.join(keys)}): "
        f"{shown}{' (first 5)' if len(rows) >= _SHOWN else ''}; nothing was written",
        f"a MERGE needs unique keys in the table: remove the duplicates from `{target}` "
        "(or rebuild it with MODE REPLACE), then run again",
    )


def _show_key(values: Sequence[Any]) -> str:
    shown = [_show_value(v) for v in values]
    return shown[0] if len(shown) == 1 else f"({', '.join(shown)})"


def _show_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return "'" + text.replace("'", "''") + "'"
    if isinstance(value, datetime.date | datetime.time | decimal.Decimal):
        return str(value)
    return repr(value)


def _scalar(con: Connection, query: str, params: Mapping[str, Any] | None = None) -> Any:
    rows = con.execute(query, params).fetchall() if params else con.execute(query).fetchall()
    return rows[0][0] if rows else None
