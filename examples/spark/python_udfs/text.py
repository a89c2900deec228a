"""UDFs the example calls: one row at a time (a Spark Python UDF on Spark) and one on whole
batches of pyarrow arrays (an Arrow UDF on Spark)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sqlflowc.udf import python_scalar_udf


@python_scalar_udf
def title_name(name: str) -> str:
    """`  ada lovelace ` → `Ada Lovelace`."""
    return " ".join(part.capitalize() for part in name.split())


@python_scalar_udf(vectorized=True)
def with_tax(amount: float) -> float:
    """The amount with 20% tax, rounded to cents."""
    result: pa.Array = pc.round(pc.multiply(amount, 1.2), 2)
    return result
