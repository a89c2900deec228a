"""Python UDFs: the decorators a project's `python_udfs/` modules use.

    from sqlflowc.udf import python_scalar_udf, python_table_udf

    @python_scalar_udf
    def clean(text: str) -> str: ...

    @python_scalar_udf(vectorized=True)
    def scale(x: float, factor: float) -> float: ...      # receives pyarrow arrays

    @python_table_udf(output_schema={"id": "BIGINT", "score": "DOUBLE"})
    def outliers(table: pa.Table) -> pa.Table: ...

A decorator only marks the function (it returns the same function object, so it stays an
ordinary Python function); discovery (`sqlflowc.udf.discovery`) reads the marks and the
annotations. Modules written for the earlier releases import the same decorators as
`sqlflow.udfs`; discovery makes that name resolve here. This module imports nothing heavy.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

__all__ = ["UdfKind", "UdfOptions", "python_scalar_udf", "python_table_udf", "udf_options"]

F = TypeVar("F", bound=Callable[..., Any])

MARK = "__sqlflowc_udf__"


class UdfKind(enum.Enum):
    SCALAR = "scalar"
    TABLE = "table"


@dataclass(frozen=True, slots=True)
class UdfOptions:
    """What a decorator recorded; checked and completed by discovery."""

    kind: UdfKind
    name: str | None = None
    vectorized: bool = False
    return_type: str | None = None
    param_types: tuple[str, ...] | None = None
    output_schema: tuple[tuple[str, str], ...] | None = None
    required_columns: tuple[str, ...] = ()


def _mark(func: F, options: UdfOptions) -> F:
    setattr(func, MARK, options)
    # The attributes the earlier releases set, for code that inspects them.
    setattr(func, "_is_sqlflow_udf", True)  # noqa: B010
    setattr(func, "_udf_type", options.kind.value)  # noqa: B010
    setattr(func, "_udf_name", options.name or getattr(func, "__name__", ""))  # noqa: B010
    if options.kind is UdfKind.TABLE:
        schema = dict(options.output_schema) if options.output_schema is not None else None
        setattr(func, "_output_schema", schema)  # noqa: B010
        setattr(func, "_required_columns", list(options.required_columns))  # noqa: B010
    return func


def udf_options(obj: object) -> UdfOptions | None:
    """The options a decorator recorded on `obj`, or None when it is not a UDF."""
    options = getattr(obj, MARK, None)
    return options if isinstance(options, UdfOptions) else None


@overload
def python_scalar_udf(func: F, /) -> F: ...


@overload
def python_scalar_udf(
    func: None = None,
    /,
    *,
    name: str | None = None,
    vectorized: bool = False,
    return_type: str | None = None,
    param_types: Sequence[str] | None = None,
) -> Callable[[F], F]: ...


def python_scalar_udf(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    vectorized: bool = False,
    return_type: str | None = None,
    param_types: Sequence[str] | None = None,
) -> F | Callable[[F], F]:
    """Mark a scalar UDF: `@python_scalar_udf` or `@python_scalar_udf(name=..., ...)`.

    `vectorized=True`: the function receives one pyarrow array per parameter and returns an
    array of the same length (annotate with element types: `def f(x: float) -> float`).
    `return_type` / `param_types`: DuckDB type names overriding the annotations.
    """
    options = UdfOptions(
        kind=UdfKind.SCALAR,
        name=name,
        vectorized=vectorized,
        return_type=return_type,
        param_types=tuple(param_types) if param_types is not None else None,
    )
    if func is not None:
        return _mark(func, options)
    return lambda f: _mark(f, options)


@overload
def python_table_udf(func: F, /) -> F: ...


@overload
def python_table_udf(
    func: None = None,
    /,
    *,
    name: str | None = None,
    output_schema: Mapping[str, str] | None = None,
    required_columns: Sequence[str] | None = None,
    infer: bool = False,
) -> Callable[[F], F]: ...


def python_table_udf(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    output_schema: Mapping[str, str] | None = None,
    required_columns: Sequence[str] | None = None,
    infer: bool = False,
) -> F | Callable[[F], F]:
    """Mark a table UDF: it receives the input table and returns a table.

    The first parameter receives a pyarrow Table, or a pandas DataFrame when annotated as one.
    `output_schema` (column → DuckDB type) is checked against what the function returns;
    `required_columns` must be present in the input. `infer` is accepted for modules written
    for the earlier releases and has no effect (without `output_schema` nothing is checked).
    """
    del infer
    options = UdfOptions(
        kind=UdfKind.TABLE,
        name=name,
        output_schema=tuple(output_schema.items()) if output_schema is not None else None,
        required_columns=tuple(required_columns or ()),
    )
    if func is not None:
        return _mark(func, options)
    return lambda f: _mark(f, options)
