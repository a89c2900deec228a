"""UDFs for the golden cases (every golden case compiles with this project's UDFs)."""

from __future__ import annotations

import pyarrow as pa

from sqlflowc.udf import python_scalar_udf, python_table_udf


@python_scalar_udf
def clean(text: str) -> str:
    return text.strip().lower()


@python_scalar_udf
def pad(text: str, width: int = 10) -> str:
    return text.ljust(width)


@python_table_udf(output_schema={"id": "BIGINT", "name": "VARCHAR"})
def adults(people: pa.Table) -> pa.Table:
    return people.select(["id", "name"])


@python_scalar_udf
def shout(text: str) -> str:
    return text.upper() + "!"
