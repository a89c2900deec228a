"""Python UDFs on Spark.

`register(session, udfs, names)` registers every scalar UDF the plan needs under its Spark name
(`backend/spark_sql.spark_udf_name`): a vectorized UDF as an Arrow UDF (called with one
pyarrow Array per argument, per batch, as on DuckDB), a row-at-a-time one as a Spark Python
UDF (called once per row; a NULL argument gives NULL without a call unless the parameter is
`Optional`, as on DuckDB). `table_udf(session, udf, step, query)` calls a table UDF on its
whole input as one Arrow table (`groupBy(...).applyInArrow` over a single group: the function sees
every row at once, as on DuckDB) with the step's literal arguments; its declared output schema
is the output's.
"""

from __future__ import annotations

import typing
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.spark_sql import spark_udf_name
from sqlflowc.runtime.spark.types import spark_ddl, spark_type
from sqlflowc.runtime.steps import StepError
from sqlflowc.udf import UdfKind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sqlflowc.backend.plan import TableUdf
    from sqlflowc.runtime.udfs import UdfRuntime
    from sqlflowc.udf.signature import Udf

__all__ = ["register", "table_udf"]

_ONE = "_sqlflow_one_group"  # the column every row of a table UDF's input is grouped by


def register(session: SparkSession, udfs: UdfRuntime, names: Iterable[str]) -> None:
    """Register the scalar UDFs `names` (registered names, `qualified[/n]`)."""
    from pyspark.sql.functions import udf as python_udf
    from pyspark.sql.pandas.functions import ArrowUDFType, arrow_udf

    for name in names:
        qualified = name.rpartition("/")[0] if name.rpartition("/")[2].isdigit() else name
        udf = udfs.get(qualified)
        if udf.kind is UdfKind.TABLE:
            continue
        returns = spark_type(udf.return_type or "VARCHAR")
        if udf.vectorized:
            scalar = ArrowUDFType.SCALAR
            with warnings.catch_warnings():  # "prefer type hints": the wrapper has none to give
                warnings.simplefilter("ignore", UserWarning)
                function = arrow_udf(_vectorized(udf), returns, scalar)
        else:
            function = python_udf(_row_at_a_time(udf), returns)
        session.udf.register(spark_udf_name(name), function)


def _vectorized(udf: Udf) -> Any:
    func = udf.function

    def call(*arrays: Any) -> Any:
        import pyarrow as pa

        out = func(*arrays)
        return out if isinstance(out, pa.Array | pa.ChunkedArray) else pa.array(out)

    return call


def _row_at_a_time(udf: Udf) -> Any:
    func = udf.function
    hints = typing.get_type_hints(func)
    optional = [
        type(None) in typing.get_args(hints.get(p.name)) if p.name in hints else False
        for p in udf.params
    ]

    def call(*values: Any) -> Any:
        for value, nullable in zip(values, optional, strict=False):
            if value is None and not nullable:
                return None
        return func(*values)

    return call


def table_udf(session: SparkSession, udf: Udf, step: TableUdf, query: str) -> DataFrame:
    """The UDF's output for the rows of `query`."""
    from pyspark.sql import functions as F

    if udf.output_schema is None:
        raise StepError(
            f"table UDF `{udf.qualified}` declares no output schema; Spark needs one "
            "(`@python_table_udf(output_schema={...})`)"
        )
    schema = spark_ddl(list(udf.output_schema))
    func, args, pandas = udf.function, dict(step.args), udf.pandas_input

    def apply(table: Any) -> Any:
        import pyarrow as pa

        table = table.drop_columns([_ONE])
        given = table.to_pandas() if pandas else table
        out = func(given, **args)
        if not isinstance(out, pa.Table):
            out = pa.Table.from_pandas(out, preserve_index=False)
        return out

    frame = session.sql(query).withColumn(_ONE, F.lit(1))
    return frame.groupBy(_ONE).applyInArrow(apply, schema)
