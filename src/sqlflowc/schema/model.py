"""The schema model: a column as DuckDB describes it, and the schema policy of loads.

A schema is an ordered sequence of `Column`s (a list or tuple): the order is the table's or the
source's own. Names keep their spelling; every comparison matches them case-insensitively, as
DuckDB resolves identifiers. `type` is DuckDB's canonical type name (`types.normalize_type`
gives it for any spelling).
"""

from __future__ import annotations

from typing import Literal

from sqlflowc.lean_dataclass import dataclass

__all__ = ["Column", "Policy"]

# How a load treats a source wider than its target: `strict` refuses, `evolve` adds and widens.
Policy = Literal["strict", "evolve"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: name, DuckDB type, nullability; `default` is the DEFAULT expression, if any."""

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
