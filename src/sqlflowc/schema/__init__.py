"""Schemas, shared by the compiler and the runtime: the model (`model`), DuckDB type rules
(`types`), the one comparison of two schemas (`compare`), the verdict of a load (`loads`);
snapshots with their fingerprints (`snapshot`), each object's history of them under
`target/schemas/` (`store`), what a name or snapshot reference means (`lookup`) and how all of
it reads (`render`).

Light: nothing here opens a database or imports DuckDB (reading a schema from a DuckDB
connection is the runtime's, `runtime/schema.py`); `store` is the one module that touches
files.
"""

from __future__ import annotations

from sqlflowc.schema.compare import (
    Added,
    Change,
    Comparison,
    Direction,
    Moved,
    NullabilityChanged,
    PossibleRename,
    Removed,
    TypeChanged,
    Verdict,
    compare_columns,
    describe,
    is_breaking,
)
from sqlflowc.schema.loads import (
    Problem,
    SchemaDiff,
    by_column_problem,
    check_load,
    watermark_column_problem,
)
from sqlflowc.schema.model import Column, Policy
from sqlflowc.schema.types import TIME_TYPES, common_type, normalize_type, widens

__all__ = [
    "TIME_TYPES",
    "Added",
    "Change",
    "Column",
    "Comparison",
    "Direction",
    "Moved",
    "NullabilityChanged",
    "Policy",
    "PossibleRename",
    "Problem",
    "Removed",
    "SchemaDiff",
    "TypeChanged",
    "Verdict",
    "by_column_problem",
    "check_load",
    "common_type",
    "compare_columns",
    "describe",
    "is_breaking",
    "normalize_type",
    "watermark_column_problem",
    "widens",
]
