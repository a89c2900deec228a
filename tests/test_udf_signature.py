"""UDF decorators and signatures: what a decorated function means in SQL."""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Optional

import pyarrow as pa
import pytest

from sqlflowc.udf import UdfKind, python_scalar_udf, python_table_udf, udf_options
from sqlflowc.udf.signature import Udf, UdfDefinitionError, describe


def described(func: Any) -> Udf:
    options = udf_options(func)
    assert options is not None
    return describe(func, options, "python_udfs.mod", "python_udfs/mod.py")


def test_bare_decorator_marks_and_returns_the_same_function() -> None:
    def clean(text: str) -> str:
        return text.strip()

    marked = python_scalar_udf(clean)
    assert marked is clean
    assert clean(" a ") == "a"
    options = udf_options(clean)
    assert options is not None and options.kind is UdfKind.SCALAR and options.name is None
    # what the earlier releases set, for code that inspects it
    assert vars(clean)["_is_sqlflow_udf"] is True
    assert vars(clean)["_udf_type"] == "scalar"
    assert vars(clean)["_udf_name"] == "clean"


def test_decorator_with_options() -> None:
    @python_scalar_udf(name="tax", vectorized=True)
    def add_tax(price: float) -> float:
        return price

    options = udf_options(add_tax)
    assert options is not None and options.name == "tax" and options.vectorized
    udf = described(add_tax)
    assert (udf.name, udf.qualified) == ("tax", "python_udfs.mod.tax")


def test_not_a_udf() -> None:
    def plain(x: int) -> int:
        return x

    assert udf_options(plain) is None
    assert udf_options(42) is None


@pytest.mark.parametrize(
    ("annotation", "sql_type"),
    [
        (int, "BIGINT"),
        (float, "DOUBLE"),
        (str, "VARCHAR"),
        (bool, "BOOLEAN"),
        (datetime.date, "DATE"),
        (datetime.datetime, "TIMESTAMP"),
        (datetime.time, "TIME"),
        (decimal.Decimal, "DECIMAL(38,10)"),
        (bytes, "BLOB"),
    ],
)
def test_types_from_annotations(annotation: type, sql_type: str) -> None:
    def f(x: Any) -> Any:
        return x

    f.__annotations__ = {"x": annotation, "return": annotation}
    udf = described(python_scalar_udf(f))
    assert udf.params[0].type == sql_type and not udf.params[0].optional
    assert udf.return_type == sql_type


def test_optional_parameters_and_string_annotations() -> None:
    @python_scalar_udf
    # (annotations are strings here: this module uses `from __future__ import annotations`)
    def f(a: Optional[int], b: str | None, c: Optional[float], d: int) -> str | None:  # noqa: UP045
        return None

    udf = described(f)
    assert [(p.type, p.optional) for p in udf.params] == [
        ("BIGINT", True),
        ("VARCHAR", True),
        ("DOUBLE", True),
        ("BIGINT", False),
    ]
    assert udf.return_type == "VARCHAR"
    assert udf.signature() == "f(a BIGINT, b VARCHAR, c DOUBLE, d BIGINT) -> VARCHAR"


def test_defaults_give_the_arity_range_and_untyped_defaults_their_type() -> None:
    @python_scalar_udf
    def add_tax(price: float, rate=0.1) -> float:  # type: ignore[no-untyped-def]
        return float(price * (1 + rate))

    udf = described(add_tax)
    assert (udf.min_args, udf.max_args) == (1, 2)
    assert udf.params[1].type == "DOUBLE" and udf.params[1].default == 0.1
    assert udf.signature() == "add_tax(price DOUBLE, rate DOUBLE := 0.1) -> DOUBLE"


def test_explicit_types_override_annotations() -> None:
    @python_scalar_udf(param_types=["INTEGER"], return_type="DECIMAL(10, 2)")
    def f(x):  # type: ignore[no-untyped-def]
        return x

    udf = described(f)
    assert udf.params[0].type == "INTEGER"
    assert udf.return_type == "DECIMAL(10,2)"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(x) -> int: ...", "parameter `x` of UDF `f` has no type annotation"),
        ("def f(x: list) -> int: ...", "parameter `x` of UDF `f` has type `list`"),
        ("def f(x: int): ...", "the return type of UDF `f` is not annotated"),
        ("def f(x: int) -> dict: ...", "the return type of UDF `f` has type `dict`"),
        ("def f(*xs: int) -> int: ...", "parameter `xs` of UDF `f`: `*args`/`**kwargs`"),
        ("def f(*, x: int) -> int: ...", "parameter `x` of UDF `f` is keyword-only"),
        ("def f(x: 'Nope') -> int: ...", "parameter `x` of UDF `f` has type `Nope`"),
    ],
)
def test_unmappable_signatures_name_the_function_and_parameter(source: str, message: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    func = python_scalar_udf(namespace["f"])
    with pytest.raises(UdfDefinitionError) as caught:
        described(func)
    assert message in str(caught.value)


def test_bad_explicit_types() -> None:
    @python_scalar_udf(return_type="NOTATYPE")
    def f(x: int):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(UdfDefinitionError, match="`NOTATYPE` is not a DuckDB type"):
        described(f)

    @python_scalar_udf(param_types=["INT", "INT"])
    def g(x: int) -> int:
        return x

    with pytest.raises(UdfDefinitionError, match="`param_types` lists 2"):
        described(g)


def test_table_udf() -> None:
    @python_table_udf(
        output_schema={"id": "int", "score": "DOUBLE"}, required_columns=["id", "value"]
    )
    def score(table: pa.Table, factor: float = 2.0, label="x") -> pa.Table:  # type: ignore[no-untyped-def]
        """Score each row.

        More words."""
        return table

    udf = described(score)
    assert udf.kind is UdfKind.TABLE
    assert udf.output_schema == (("id", "INTEGER"), ("score", "DOUBLE"))
    assert udf.required_columns == ("id", "value")
    assert [p.name for p in udf.params] == ["factor", "label"]
    assert not udf.pandas_input and udf.table_param == "table"
    assert udf.first_doc_line == "Score each row."
    assert udf.signature() == (
        "score(TABLE, factor DOUBLE := 2.0, label := 'x') -> TABLE(id INTEGER, score DOUBLE)"
    )
    assert vars(score)["_output_schema"] == {"id": "int", "score": "DOUBLE"}


def test_table_udf_with_a_pandas_annotation_gets_a_dataframe() -> None:
    @python_table_udf
    def legacy(df: pd.DataFrame) -> pd.DataFrame:  # type: ignore[name-defined]  # noqa: F821
        return df

    udf = described(legacy)
    assert udf.pandas_input and udf.output_schema is None
    assert udf.signature() == "legacy(TABLE) -> TABLE"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output_schema": {"id": "NOPE"}}, "column `id` in `output_schema`"),
        ({"output_schema": {}}, "`output_schema` of table UDF `t` is empty"),
        ({"output_schema": {"a": "INT", "A": "INT"}}, "lists column `A` twice"),
    ],
)
def test_bad_table_udfs(kwargs: dict[str, Any], message: str) -> None:
    def t(table: pa.Table) -> pa.Table:
        return table

    with pytest.raises(UdfDefinitionError, match=message):
        described(python_table_udf(**kwargs)(t))

    def no_table() -> pa.Table:
        return pa.table({})

    with pytest.raises(UdfDefinitionError, match="input table as its first parameter"):
        described(python_table_udf(no_table))
