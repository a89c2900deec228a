"""Values crossing a Python UDF's boundary: DuckDB types as Arrow types, a UDF's results as an
Arrow array of its declared type, and how a UDF's failure is shown (what it raised, where in the
project, on which row).
"""

from __future__ import annotations

import contextlib
import os
import reprlib
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.runtime.udfs import UdfRaised
    from sqlflowc.udf.signature import Udf

INPUT_SHOWN = 200  # characters of a failing row's input a failure shows

__all__ = ["CAUGHT", "arrow_type", "raised_at", "raised_text", "row_failure", "short", "to_arrow"]


def arrow_type(con: Connection, type_name: str) -> pa.DataType:
    """The Arrow type DuckDB uses for a SQL type (what a UDF returns for it)."""
    table = con.sql(f"SELECT CAST(NULL AS {type_name}) AS v").to_arrow_table()
    assert table is not None
    return table.schema.field(0).type


def to_arrow(
    udf: Udf, values: list[Any], out_type: pa.DataType, fail: Callable[[str], UdfRaised]
) -> pa.Array:
    import pyarrow as pa

    try:
        return pa.array(values, type=out_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError) as err:
        if pa.types.is_decimal(out_type):
            fixed = _quantized(values, out_type)
            if fixed is not None:
                return fixed
        raise fail(
            f"UDF `{udf.qualified}` returned a value that is not {udf.return_type}: {err}"
        ) from err


def _quantized(values: list[Any], out_type: Any) -> pa.Array | None:
    """Decimal results rounded to the declared scale (Arrow refuses to round by itself)."""
    import decimal

    import pyarrow as pa

    step = decimal.Decimal(1).scaleb(-out_type.scale)
    try:
        rounded = [v.quantize(step) if isinstance(v, decimal.Decimal) else v for v in values]
        return pa.array(rounded, type=out_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, decimal.InvalidOperation):
        return None


_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60


def short(value: Any) -> str:
    return _REPR.repr(value)


# What a wrapper catches from the user's function: every exception, and also `SystemExit` and
# `KeyboardInterrupt` when the function raises them itself (not a real Ctrl-C: `_raised`).
CAUGHT = (Exception, SystemExit, KeyboardInterrupt)


def raised_text(err: BaseException) -> str:
    """`ValueError: bad input`, or just `KeyboardInterrupt` when there is no message."""
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def raised_at(err: BaseException, folder: Path | None) -> str:
    """`python_udfs/m.py:18 in boom: return 1 // x`: the last traceback frame in the project's
    `python_udfs/` (the user's own code, not a library it called); "" when there is none."""
    if folder is None:
        return ""
    root = str(folder.resolve()) + os.sep
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.startswith(root)]
    if not frames:
        return ""
    frame = frames[-1]
    shown = frame.filename  # as diagnostics show files: relative to the current directory
    with contextlib.suppress(ValueError):
        shown = str(Path(frame.filename).relative_to(Path.cwd()))
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"{shown}:{frame.lineno} in {frame.name}{code}"


def row_failure(
    udf: Udf,
    fn: Callable[..., Any],
    values: list[list[Any]],
    strict: Sequence[int],
    err: BaseException,
) -> str:
    """The message for a row-at-a-time UDF that raised: the failing row found by running the
    batch again row by row (the first row that raises)."""
    head = f"UDF `{udf.qualified}` raised {raised_text(err)}"
    for row in zip(*values, strict=True):
        if any(row[i] is None for i in strict):
            continue
        try:
            fn(*row)
        except CAUGHT:  # this is the row we are looking for
            shown = "(" + ", ".join(short(v) for v in row) + ")"
            if len(shown) > INPUT_SHOWN:
                shown = shown[: INPUT_SHOWN - 3] + "..."
            return f"{head} on input {shown}"
    return head
