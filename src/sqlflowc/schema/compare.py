"""The one schema comparison: what changed from an `old` schema to a `new` one, and how much it
matters. Load-mode checks (`loads.check_load`: old = the target table, new = the data written),
schema drift (old = the accepted snapshot, new = what a source has now) and
`sqlflowc schema compare` all read the same `Comparison`.

Contract of `compare_columns(old, new)`:
- Columns match **by name**, case-insensitively; types are compared in DuckDB's canonical
  spelling (`types.normalize_type`), so `int` and `INTEGER` are the same type.
- Every difference is one `Change`, listed in a stable order: the columns of `new` in order
  (added, type changed, nullability changed), then the removed columns in `old`'s order, then
  the moved ones in `new`'s order:
  - `Added` / `Removed`: a column only in `new` / only in `old`;
  - `PossibleRename`: a removed column and an added one of the same type at the same position
    (reported once, instead of the removal and the addition);
  - `TypeChanged` with its `direction`: `WIDENING` when every value of the old type is a value
    of the new one (INTEGER → BIGINT, FLOAT → DOUBLE, DATE → TIMESTAMP), `NARROWING` for the
    reverse, `UNRELATED` otherwise (INTEGER → VARCHAR), and `common`, the narrowest type both
    widen into, if any;
  - `NullabilityChanged`: NOT NULL ↔ nullable;
  - `Moved`: a column whose place relative to the other shared columns changed. Columns are
    matched by name, so a move is compatible; the fewest columns that explain the new order
    are reported (an insertion at the front moves nothing).
- A change is **breaking** when a value the old schema holds may have no place in the new one:
  a removal (or a possible rename), a narrowing or unrelated type change, nullable → NOT NULL.
  Additions, widenings, NOT NULL → nullable and moves are **compatible**.
- `Comparison.verdict`: `identical` (no change), `compatible` (no breaking change) or `breaking`.

>>> from sqlflowc.schema.model import Column
>>> c = compare_columns([Column("id", "INTEGER")], [Column("id", "BIGINT"), Column("x", "DATE")])
>>> [describe(change) for change in c.changes], c.verdict.value
(['`id` type INTEGER → BIGINT (widening)', '`x` added (DATE)'], 'compatible')
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from sqlflowc.schema.model import Column
from sqlflowc.schema.types import common_type, normalize_type, widens

__all__ = [
    "Added",
    "Change",
    "Comparison",
    "Direction",
    "Moved",
    "NullabilityChanged",
    "PossibleRename",
    "Removed",
    "TypeChanged",
    "Verdict",
    "change_to_dict",
    "compare_columns",
    "describe",
    "is_breaking",
]


class Verdict(enum.Enum):
    IDENTICAL = "identical"
    COMPATIBLE = "compatible"
    BREAKING = "breaking"


class Direction(enum.Enum):
    """How a column's type changed, from old to new."""

    WIDENING = "widening"
    NARROWING = "narrowing"
    UNRELATED = "unrelated"


@dataclass(frozen=True, slots=True)
class Added:
    """A column of `new` that `old` does not have."""

    column: Column
    position: int  # 0-based, in `new`


@dataclass(frozen=True, slots=True)
class Removed:
    """A column of `old` that `new` does not have."""

    column: Column
    position: int  # 0-based, in `old`


@dataclass(frozen=True, slots=True)
class PossibleRename:
    """A removed column and an added one at the same place, of the same type."""

    old: Column
    new: Column
    position: int


@dataclass(frozen=True, slots=True)
class TypeChanged:
    """A column kept under its name whose type changed."""

    old: Column
    new: Column
    direction: Direction
    common: str | None  # the narrowest type both widen into


@dataclass(frozen=True, slots=True)
class NullabilityChanged:
    """A column kept under its name that became nullable, or stopped being."""

    old: Column
    new: Column


@dataclass(frozen=True, slots=True)
class Moved:
    """A column kept under its name at another place."""

    column: Column
    old_position: int
    new_position: int


Change = Added | Removed | PossibleRename | TypeChanged | NullabilityChanged | Moved


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every change from `old` to `new` (see the module docstring for the order)."""

    old: tuple[Column, ...]
    new: tuple[Column, ...]
    changes: tuple[Change, ...]

    @property
    def verdict(self) -> Verdict:
        if not self.changes:
            return Verdict.IDENTICAL
        if any(is_breaking(c) for c in self.changes):
            return Verdict.BREAKING
        return Verdict.COMPATIBLE

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if is_breaking(c))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the verdict and each change with its kind and columns."""
        return {
            "verdict": self.verdict.value,
            "changes": [change_to_dict(c) for c in self.changes],
        }


def compare_columns(old: Sequence[Column], new: Sequence[Column]) -> Comparison:
    """Every change from `old` to `new`; see the module docstring."""
    old_by_name = {c.name.lower(): (i, c) for i, c in enumerate(old)}
    new_names = {c.name.lower() for c in new}
    removed = {i: c for i, c in enumerate(old) if c.name.lower() not in new_names}
    changes: list[Change] = []
    shared: list[tuple[int, int, Column]] = []  # (old position, new position, new column)
    for position, col in enumerate(new):
        found = old_by_name.get(col.name.lower())
        if found is None:
            was = removed.get(position)
            if was is not None and normalize_type(was.type) == normalize_type(col.type):
                del removed[position]
                changes.append(PossibleRename(was, col, position))
            else:
                changes.append(Added(col, position))
            continue
        old_position, was = found
        shared.append((old_position, position, col))
        before, after = normalize_type(was.type), normalize_type(col.type)
        if before != after:
            direction = _direction(before, after)
            changes.append(TypeChanged(was, col, direction, common_type(before, after)))
        if was.nullable != col.nullable:
            changes.append(NullabilityChanged(was, col))
    changes.extend(Removed(c, i) for i, c in sorted(removed.items()))
    changes.extend(_moves(shared))
    return Comparison(tuple(old), tuple(new), tuple(changes))


def _direction(old: str, new: str) -> Direction:
    if widens(old, new):
        return Direction.WIDENING
    if widens(new, old):
        return Direction.NARROWING
    return Direction.UNRELATED


def _moves(shared: list[tuple[int, int, Column]]) -> list[Moved]:
    """The fewest shared columns whose moving explains the new order: those outside a longest
    run that keeps its old relative order (a longest increasing subsequence)."""
    tails: list[int] = []  # tails[k]: smallest old position ending a run of length k + 1
    tail_index: list[int] = []
    previous: list[int] = [-1] * len(shared)
    for i, (old_position, _, _) in enumerate(shared):
        k = bisect.bisect_left(tails, old_position)
        if k == len(tails):
            tails.append(old_position)
            tail_index.append(i)
        else:
            tails[k] = old_position
            tail_index[k] = i
        previous[i] = tail_index[k - 1] if k > 0 else -1
    kept: set[int] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        kept.add(i)
        i = previous[i]
    return [
        Moved(col, old_position, new_position)
        for i, (old_position, new_position, col) in enumerate(shared)
        if i not in kept
    ]


def is_breaking(change: Change) -> bool:
    """Whether a value the old schema holds may have no place in the new one."""
    match change:
        case Added() | Moved():
            return False
        case Removed() | PossibleRename():
            return True
        case TypeChanged():
            return change.direction is not Direction.WIDENING
        case NullabilityChanged():
            return not change.new.nullable
        case _:
            assert_never(change)


def describe(change: Change) -> str:
    """One line for people: `` `id` type INTEGER → BIGINT (widening) ``."""
    match change:
        case Added():
            return f"`{change.column.name}` added ({change.column.type})"
        case Removed():
            return f"`{change.column.name}` removed (was {change.column.type})"
        case PossibleRename():
            return (
                f"`{change.old.name}` removed and `{change.new.name}` added at its position "
                f"({change.new.type}): possibly renamed"
            )
        case TypeChanged():
            return (
                f"`{change.new.name}` type {change.old.type} → {change.new.type} "
                f"({change.direction.value})"
            )
        case NullabilityChanged():
            now = "nullable" if change.new.nullable else "NOT NULL"
            was = "nullable" if change.old.nullable else "NOT NULL"
            return f"`{change.new.name}` {was} → {now}"
        case Moved():
            return (
                f"`{change.column.name}` moved from position {change.old_position + 1} "
                f"to {change.new_position + 1}"
            )
        case _:
            assert_never(change)


def _column(col: Column) -> dict[str, Any]:
    return {"name": col.name, "type": col.type, "nullable": col.nullable}


def change_to_dict(change: Change) -> dict[str, Any]:
    """One change as JSON data: `kind`, `breaking`, the columns involved, `summary`."""
    out: dict[str, Any]
    match change:
        case Added():
            out = {"kind": "added", "column": _column(change.column), "position": change.position}
        case Removed():
            out = {"kind": "removed", "column": _column(change.column), "position": change.position}
        case PossibleRename():
            out = {
                "kind": "possible_rename",
                "old": _column(change.old),
                "new": _column(change.new),
                "position": change.position,
            }
        case TypeChanged():
            out = {
                "kind": "type_changed",
                "old": _column(change.old),
                "new": _column(change.new),
                "direction": change.direction.value,
            }
        case NullabilityChanged():
            out = {
                "kind": "nullability_changed",
                "old": _column(change.old),
                "new": _column(change.new),
            }
        case Moved():
            out = {
                "kind": "moved",
                "column": _column(change.column),
                "old_position": change.old_position,
                "new_position": change.new_position,
            }
        case _:
            assert_never(change)
    out["breaking"] = is_breaking(change)
    out["summary"] = describe(change)
    return out
