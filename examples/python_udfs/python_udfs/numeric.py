"""Numeric UDFs on whole batches: they receive and return pyarrow arrays."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sqlflowc.udf import python_scalar_udf


@python_scalar_udf(vectorized=True)
def to_fahrenheit(celsius: float) -> float:
    """Celsius to Fahrenheit, one Arrow compute kernel per batch."""
    return pc.add(pc.multiply(celsius, 1.8), 32.0)


@python_scalar_udf(vectorized=True)
def round_to(value: float, step: float) -> float:
    """Round to the nearest multiple of `step`."""
    result: pa.Array = pc.multiply(pc.round(pc.divide(value, step)), step)
    return result
