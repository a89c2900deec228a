"""A second module with a `clean`, so that the bare name `clean` is ambiguous."""

from __future__ import annotations

from sqlflow.udfs import python_scalar_udf


@python_scalar_udf
def clean(text: str) -> str:
    return text.strip()
