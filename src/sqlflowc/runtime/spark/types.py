"""Spark's types and DuckDB's, both ways (the mapping docs/engines.md documents).

Spark `bigint`, `int`, `smallint`, `tinyint`, `double`, `float`, `string`, `boolean`, `date`,
`timestamp_ntz`, `decimal(p,s)`, `binary` are DuckDB's BIGINT, INTEGER, SMALLINT, TINYINT,
DOUBLE, FLOAT, VARCHAR, BOOLEAN, DATE, TIMESTAMP, DECIMAL(p,s), BLOB; Spark's `timestamp` (with
the session's time zone) is TIMESTAMP WITH TIME ZONE; arrays, structs and maps map element by
element. The other way, DuckDB type names are written for Spark by sqlglot.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from sqlflowc.schema import Column

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType

__all__ = ["duckdb_columns", "duckdb_type", "spark_ddl", "spark_type"]

_SIMPLE = {
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "binary": "BLOB",
    "void": "INTEGER",
}
_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")


def duckdb_type(dtype: DataType) -> str:
    """The DuckDB name of a Spark type."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(dtype, ArrayType):
        return f"{duckdb_type(dtype.elementType)}[]"
    if isinstance(dtype, StructType):
        return "STRUCT(" + ", ".join(f"{f.name} {duckdb_type(f.dataType)}" for f in dtype) + ")"
    if isinstance(dtype, MapType):
        return f"MAP({duckdb_type(dtype.keyType)}, {duckdb_type(dtype.valueType)})"
    text = str(dtype.simpleString())
    match = _DECIMAL.fullmatch(text)
    if match:
        return f"DECIMAL({match[1]},{match[2]})"
    return _SIMPLE.get(text, text.upper())


def duckdb_columns(schema: StructType) -> list[Column]:
    """A Spark schema as the schema model's columns (DuckDB type names)."""
    return [Column(f.name, duckdb_type(f.dataType), f.nullable) for f in schema]


def spark_type(duckdb: str) -> str:
    """A DuckDB type name as Spark SQL writes it (`VARCHAR` → `STRING`)."""
    return exp.DataType.build(duckdb, dialect="duckdb").sql(dialect="spark")


def spark_ddl(columns: list[tuple[str, str]]) -> str:
    """`a BIGINT, b STRING`: a schema for Spark's readers, from DuckDB column types."""
    quote = sqlglot.exp.to_identifier
    return ", ".join(
        f"{quote(name, quoted=True).sql(dialect='spark')} {spark_type(kind)}"
        for name, kind in columns
    )
