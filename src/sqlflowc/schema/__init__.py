"""Schemas, shared by the compiler and the runtime: the model (`model`), DuckDB type rules
(`types`), the one comparison of two schemas (`compare`), the verdict of a load (`loads`);
snapshots with their fingerprints (`snapshot`), each object's history of them under
`target/schemas/` (`store`), what a name or snapshot reference means (`lookup`) and how all of
it reads (`render`).

Light: each name is imported from its module when first used (a run capturing schemas never
loads the load checks); nothing here opens a database or imports DuckDB (reading a schema from
a DuckDB connection is the runtime's, `runtime/schema.py`); `store` is the one module that
touches files.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "Added": "compare",
    "Change": "compare",
    "Column": "model",
    "Comparison": "compare",
    "Direction": "compare",
    "Moved": "compare",
    "NullabilityChanged": "compare",
    "Policy": "model",
    "PossibleRename": "compare",
    "Problem": "loads",
    "Removed": "compare",
    "SchemaDiff": "loads",
    "TIME_TYPES": "types",
    "TypeChanged": "compare",
    "Verdict": "compare",
    "by_column_problem": "loads",
    "check_load": "loads",
    "common_type": "types",
    "compare_columns": "compare",
    "describe": "compare",
    "is_breaking": "compare",
    "normalize_type": "types",
    "watermark_column_problem": "loads",
    "widens": "types",
}


def __getattr__(name: str) -> Any:
    """The names above, each imported from its module when first used: a run that captures
    schemas never loads the load checks (`loads`)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
