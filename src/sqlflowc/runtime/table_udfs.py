"""Table UDF steps: the input table through the Python function into the step's target.

`run_table_udf(con, udf, target, query, args)` (called by `UdfRuntime.run_table_udf`, inside the
step's transaction): reads the input (`query`) as a pyarrow Table, checks `required_columns`,
calls the function (with a pandas DataFrame when its first parameter is annotated as one, and
the step's literal arguments), checks the result against `output_schema` (names,
case-insensitive, and types: `_fits`), and writes it as `target` with `CREATE OR REPLACE TABLE
... AS SELECT ... FROM <the registered Arrow result>`, each column cast to its declared type.
A result of the wrong shape is SF0809; nothing is written.

A returned column fits its declared type when the types are equal, or the cast is lossless and
unsurprising: a number into the declared numeric type (DuckDB's cast fails on overflow), any
type into VARCHAR (a DATE column declared VARCHAR, as the earlier releases' modules declare dates
read from CSV as text, is written as `2024-01-31`), a safe widening of `sqlflowc.schema`
(`widens`: DATE → TIMESTAMP, TIMESTAMP_S → TIMESTAMP, ...), and an all-NULL column into any
type. Anything else (TIMESTAMP declared DATE, VARCHAR declared INTEGER, BOOLEAN declared
INTEGER, ...) is SF0809.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.plan import JsonValue
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.udfs import UdfStepError, raised_text
from sqlflowc.schema import normalize_type, widens
from sqlflowc.schema.types import INTEGER_TYPES
from sqlflowc.sqlbuild import sql_table
from sqlflowc.udf.signature import Udf

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["run_table_udf"]

_FLOATS = {"FLOAT", "DOUBLE"}


def run_table_udf(
    con: Connection,
    udf: Udf,
    target: str,
    query: str,
    args: Mapping[str, JsonValue],
    *,
    temporary: bool = False,
    raised: Callable[[BaseException, Callable[[], str]], BaseException] | None = None,
) -> tuple[int | None, ...]:
    """Input → function → checked output → `target` (a TEMP table when `temporary`); the row
    count written. `raised` turns what the function raised into what to raise (the runtime's
    `UdfRuntime._raised`: a real Ctrl-C stays an interrupt)."""
    temp = f"__sqlflowc_udf_{uuid.uuid4().hex[:12]}"
    table = con.sql(query).to_arrow_table()
    result = _call(udf, table, args, raised)
    select = _checked_select(con, udf, result)
    con.register(temp, result)
    kind = "TEMP TABLE" if temporary else "TABLE"
    try:
        rows = con.execute(
            f"CREATE OR REPLACE {kind} {sql_table(target)} AS SELECT {select} FROM {temp}"
        ).fetchall()
    finally:
        con.unregister(temp)
    return (int(rows[0][0]) if rows else None,)


def _call(
    udf: Udf,
    table: pa.Table,
    args: Mapping[str, JsonValue],
    raised: Callable[[BaseException, Callable[[], str]], BaseException] | None,
) -> Any:
    import pyarrow as pa

    present = {c.lower() for c in table.column_names}
    missing = [c for c in udf.required_columns if c.lower() not in present]
    if missing:
        raise UdfStepError(
            f"table UDF `{udf.qualified}` requires column(s) "
            + ", ".join(f"`{c}`" for c in missing)
            + f"; its input has {', '.join(table.column_names) or 'no columns'}"
        )
    argument: Any = table
    if udf.pandas_input:
        try:
            argument = table.to_pandas()
        except ImportError:
            raise UdfStepError(
                f"table UDF `{udf.qualified}` takes a pandas DataFrame, but pandas is not installed"
            ) from None
    try:
        result = udf.function(argument, **args)
    except (Exception, SystemExit, KeyboardInterrupt) as err:
        message = (
            f"table UDF `{udf.qualified}` raised {raised_text(err)} "
            f"(input: {table.num_rows} rows, columns {', '.join(table.column_names)})"
        )
        if raised is None:
            raise UdfStepError(message) from err
        outcome = raised(err, lambda: message)
        if outcome is err:
            raise
        raise UdfStepError(str(outcome)) from err
    if isinstance(result, pa.Table | pa.RecordBatchReader):
        return result
    if isinstance(result, pa.RecordBatch):
        return pa.Table.from_batches([result])
    if type(result).__name__ == "DataFrame" and hasattr(result, "columns"):
        try:
            return pa.Table.from_pandas(result, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise UdfStepError(
                f"table UDF `{udf.qualified}` returned a DataFrame that Arrow cannot "
                f"convert: {err}",
                Code.TABLE_UDF_OUTPUT,
            ) from None
    raise UdfStepError(
        f"table UDF `{udf.qualified}` returned {type(result).__name__}; it must return a "
        "pyarrow Table, RecordBatch or RecordBatchReader, or a pandas DataFrame",
        Code.TABLE_UDF_OUTPUT,
    )


def _checked_select(con: Connection, udf: Udf, result: Any) -> str:
    """The select list that writes `result` as `output_schema` says; UdfStepError when
    the columns or their types do not match."""

    schema: pa.Schema = result.schema
    actual = _duckdb_types(con, schema)
    if udf.output_schema is None:
        return ", ".join(_quote(n) for n in actual)
    by_key = {n.lower(): n for n in actual}
    problems: list[str] = []
    declared = {c.lower() for c, _ in udf.output_schema}
    missing = [c for c, _ in udf.output_schema if c.lower() not in by_key]
    extra = [n for n in actual if n.lower() not in declared]
    if missing:
        problems.append("missing " + ", ".join(f"`{c}`" for c in missing))
    if extra:
        problems.append("not declared " + ", ".join(f"`{c}`" for c in extra))
    select: list[str] = []
    for column, declared_type in udf.output_schema:
        name = by_key.get(column.lower())
        if name is None:
            continue
        got = actual[name]
        if got == declared_type and name == column:
            select.append(_quote(name))
        elif _fits(got, declared_type):
            select.append(f"CAST({_quote(name)} AS {declared_type}) AS {_quote(column)}")
        else:
            problems.append(f"`{name}` is {got}, declared {declared_type}")
    if problems:
        raise UdfStepError(
            f"table UDF `{udf.qualified}` returned columns that do not match its "
            f"output_schema: {'; '.join(problems)}",
            Code.TABLE_UDF_OUTPUT,
        )
    return ", ".join(select)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fits(got: str, declared: str) -> bool:
    """Whether a returned column of type `got` is written as `declared` (module docstring)."""
    if got == declared or normalize_type(declared) == "VARCHAR":
        return True
    if _numeric(got) and _numeric(declared):
        return True
    return widens(got, declared)  # also: an all-NULL column ("NULL") into anything


def _numeric(type_name: str) -> bool:
    return type_name in INTEGER_TYPES or type_name in _FLOATS or type_name.startswith("DECIMAL")


def _duckdb_types(con: Connection, schema: pa.Schema) -> dict[str, str]:
    """Column name → DuckDB type name of an Arrow schema (read from an empty table)."""
    import pyarrow as pa

    empty = pa.Table.from_batches([], schema=schema)
    temp = f"__sqlflowc_schema_{uuid.uuid4().hex[:12]}"
    con.register(temp, empty)
    try:
        rel = con.sql(f"SELECT * FROM {temp}")
        return {name: str(typ) for name, typ in zip(rel.columns, rel.types, strict=True)}
    finally:
        con.unregister(temp)
