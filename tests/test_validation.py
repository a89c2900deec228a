"""sqlflowc.validation: lax coercion as pydantic has it, strict mode, errors, descriptions."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqlflowc.validation import (
    Check,
    FieldError,
    Ge,
    Gt,
    ValidationError,
    describe_type,
    schema_fields,
    validate,
)

# -- schemas used below --------------------------------------------------------------------------


def _no_x(value: str) -> str:
    if "x" in value:
        raise ValueError("must not contain x")
    return value.upper()


@dataclass(frozen=True, slots=True, kw_only=True)
class Inner:
    n: Annotated[int, Ge(1)] | None = None
    mode: Literal["a", "b"] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outer:
    name: str
    flag: bool = False
    ratio: float = 1.0
    tags: str | list[str] | None = None
    pair: tuple[str, int] | None = None
    many: tuple[int, ...] = ()
    types: dict[str, str] | None = None
    extra: dict[str, Any] | None = None
    inner: Inner | None = None
    shout: Annotated[str | None, Check(_no_x)] = None
    size: Annotated[int, Gt(0)] | None = None

    def __post_init__(self) -> None:
        if self.flag and self.tags is None:
            raise ValueError("`flag` needs `tags`")


def errors_of(data: Any, schema: type[Any] = Outer, **kw: Any) -> list[FieldError]:
    with pytest.raises(ValidationError) as info:
        validate(schema, data, **kw)
    return list(info.value.errors)


# -- valid input ---------------------------------------------------------------------------------


def test_valid_input_builds_the_schema() -> None:
    out = validate(
        Outer,
        {
            "name": "n",
            "flag": "yes",
            "ratio": 2,
            "tags": ("a", "b"),
            "pair": ["k", "3"],
            "many": [1, 2.0],
            "types": {"a": "INT"},
            "extra": {"k": [1, {"x": None}]},
            "inner": {"n": "2", "mode": "b"},
            "shout": "hey",
            "size": 5,
        },
    )
    assert out == Outer(
        name="n",
        flag=True,
        ratio=2.0,
        tags=["a", "b"],
        pair=("k", 3),
        many=(1, 2),
        types={"a": "INT"},
        extra={"k": [1, {"x": None}]},
        inner=Inner(n=2, mode="b"),
        shout="HEY",  # a check may normalise
        size=5,
    )
    assert validate(Outer, {"name": "n"}) == Outer(name="n")
    assert isinstance(validate(Outer, {"name": "n", "ratio": 2}).ratio, float)


def test_schema_fields_in_declaration_order() -> None:
    fields = schema_fields(Outer)
    assert list(fields)[:3] == ["name", "flag", "ratio"]
    assert fields["name"].required and not fields["flag"].required
    with pytest.raises(TypeError):
        schema_fields(int)


# -- errors --------------------------------------------------------------------------------------


def test_every_problem_is_reported_in_field_order_then_unknown_keys() -> None:
    errors = errors_of({"zz": 1, "ratio": "x", "flag": 2, "aa": 2})
    assert [(e.path, e.kind) for e in errors] == [
        (("name",), "missing"),
        (("flag",), "type"),
        (("ratio",), "type"),
        (("zz",), "unknown"),
        (("aa",), "unknown"),
    ]
    assert errors[1].expected == "a boolean" and errors[1].value == 2
    assert errors[2].expected == "a number" and errors[2].value == "x"
    assert errors[3].accepted == tuple(sorted(schema_fields(Outer)))


def test_nested_paths_and_values() -> None:
    errors = errors_of(
        {
            "name": "n",
            "inner": {"n": 0, "mode": "c", "bogus": 1},
            "types": {"a": 1},
            "many": [1, "x"],
        }
    )
    by_path = {e.path: e for e in errors}
    assert by_path[("inner", "n")].kind == "value"
    assert by_path[("inner", "n")].reason == "Input should be greater than or equal to 1"
    assert by_path[("inner", "n")].value == 0
    assert by_path[("inner", "mode")].expected == 'one of "a", "b"'
    assert by_path[("inner", "bogus")].kind == "unknown"
    assert by_path[("inner", "bogus")].accepted == ("mode", "n")
    assert by_path[("types", "a")].expected == "a string"
    assert by_path[("many", 1)].expected == "an integer"
    assert str(by_path[("inner", "n")]) == (
        "`inner.n`: Input should be greater than or equal to 1, got 0"
    )
    assert str(by_path[("types", "a")]) == "`types.a` expects a string, got 1"


def test_union_reports_the_union_or_the_member_that_matched_its_shape() -> None:
    [e] = errors_of({"name": "n", "tags": 3})
    assert (e.path, e.kind, e.expected) == (("tags",), "type", "a string or a list of strings")
    errors = errors_of({"name": "n", "tags": ["a", 2, 3]})
    assert [(e.path, e.expected) for e in errors] == [
        (("tags", 1), "a string"),
        (("tags", 2), "a string"),
    ]


def test_checks_and_schema_checks() -> None:
    [e] = errors_of({"name": "n", "shout": "xx"})
    assert (e.path, e.kind, e.reason, e.value) == (("shout",), "value", "must not contain x", "xx")
    [e] = errors_of({"name": "n", "size": 0})
    assert e.reason == "Input should be greater than 0"
    [e] = errors_of({"name": "n", "flag": True})
    assert (e.path, e.kind, e.reason) == ((), "value", "`flag` needs `tags`")
    assert str(e) == "`flag` needs `tags`"
    # Checks do not run when the type is already wrong, nor the schema check when a field is.
    [e] = errors_of({"name": "n", "flag": True, "shout": 5})
    assert (e.path, e.kind) == (("shout",), "type")


def test_keys_must_be_strings_and_tuples_have_their_length() -> None:
    [e] = errors_of({"name": "n", "extra": {1: "a"}})
    assert (e.path, e.kind, e.reason, e.value) == (
        ("extra", 1),
        "value",
        "names must be strings",
        1,
    )
    [e] = errors_of({"name": "n", "pair": ["a"]})
    assert (e.path, e.kind, e.reason) == (("pair",), "value", "expected 2 items, not 1")


def test_not_a_mapping_and_the_error_type() -> None:
    [e] = errors_of([1])
    assert e.path == () and e.kind == "type" and e.expected.startswith("an object with keys ")
    with pytest.raises(ValidationError) as info:
        validate(Outer, {"name": 5})
    err = info.value
    assert isinstance(err, ValueError)  # callers that catch ValueError keep working
    assert str(err) == "`name` expects a string, got 5"
    assert err.schema is Outer


def test_unsupported_annotation_is_a_programming_error() -> None:
    @dataclass(frozen=True)
    class Bad:
        when: complex

    with pytest.raises(TypeError, match="unsupported annotation"):
        validate(Bad, {"when": 1j})


# -- coercion: lax (the default) and strict --------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "value", "expected"),
    [
        (bool, 1, True),
        (bool, 0.0, False),
        (bool, "Yes", True),
        (bool, "off", False),
        (bool, b"t", True),
        (int, True, 1),
        (int, 3.0, 3),
        (int, " 1_000 ", 1000),
        (int, "3.00", 3),
        (int, "-0", 0),
        (float, 1, 1.0),
        (float, " 1.5 ", 1.5),
        (float, "1e3", 1000.0),
        (str, b"abc", "abc"),
        (list[str], {"a"}, ["a"]),
        (tuple[int, ...], [1, "2"], (1, 2)),
    ],
)
def test_lax_coercions(tp: Any, value: Any, expected: Any) -> None:
    out = validate(_holder(tp), {"v": value}).v
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    ("tp", "value"),
    [
        (bool, 2),
        (bool, 0.5),
        (bool, " true"),
        (bool, ""),
        (int, 3.5),
        (int, "3."),
        (int, "1e3"),
        (int, "٣"),
        (int, math.inf),
        (float, "x"),
        (float, "٣"),
        (str, 5),
        (str, True),
        (str, b"\xff"),
        (list[str], "abc"),
        (list[str], {"a": 1}),
        (dict[str, str], [("a", "b")]),
        (Literal["auto"], "AUTO"),
        (Literal[1], True),
    ],
)
def test_lax_rejections(tp: Any, value: Any) -> None:
    [e] = errors_of({"v": value}, _holder(tp))
    assert e.kind == "type" and e.expected == describe_type(tp)


@pytest.mark.parametrize(
    ("tp", "value", "ok"),
    [
        (bool, True, True),
        (bool, 1, False),
        (bool, "true", False),
        (int, 1, True),
        (int, True, False),
        (int, 1.0, False),
        (int, "1", False),
        (float, 1, True),
        (float, True, False),
        (str, b"a", False),
        (list[str], ("a",), True),
        (list[str], {"a"}, False),
    ],
)
def test_strict_mode_keeps_bool_and_int_apart(tp: Any, value: Any, ok: bool) -> None:
    schema = _holder(tp)
    if ok:
        validate(schema, {"v": value}, strict=True)
    else:
        errors_of({"v": value}, schema, strict=True)


def test_smart_unions_prefer_an_exact_match() -> None:
    assert validate(_holder(int | str), {"v": "3"}).v == "3"
    assert validate(_holder(str | int), {"v": 3}).v == 3
    assert validate(_holder(float | int), {"v": 3}).v == 3
    assert validate(_holder(bool | int), {"v": 1}).v == 1
    assert validate(_holder(int | bool), {"v": "yes"}).v is True


_HOLDERS: dict[Any, type[Any]] = {}


def _holder(tp: Any) -> type[Any]:
    """A one-field schema `{v: tp}` (annotations resolved from this module's namespace)."""
    if tp not in _HOLDERS:
        _HOLDERS[tp] = dataclass(frozen=True)(type("Holder", (), {"__annotations__": {"v": tp}}))
    return _HOLDERS[tp]


# -- parity with pydantic's lax mode (a test dependency: the oracle) -----------------------------

_TRICKY = st.sampled_from(
    [
        "",
        " ",
        "0",
        "1",
        "2",
        "-1",
        "+3",
        " 3 ",
        "3.0",
        "3.00",
        "3.",
        "3.5",
        "1_000",
        "1__0",
        "_1",
        "1e3",
        "0x10",
        "inf",
        "-inf",
        "nan",
        "Infinity",
        "true",
        "True",
        "TRUE",
        "yes",
        "Y",
        "on",
        "off",
        "f",
        "no",
        "none",
        "null",
        "auto",
        "array",
        ".5",
        "5.",
        "1_0.5",
    ]
)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    _TRICKY,
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
_ANNOTATIONS: list[Any] = [
    bool,
    int,
    float,
    str,
    bool | None,
    int | None,
    str | list[str] | None,
    list[str],
    dict[str, str],
    dict[str, Any],
    dict[str, dict[str, Any]],
    Literal["auto", "newline_delimited", "array"],
    Literal["strict", "evolve"] | None,
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("tp", _ANNOTATIONS, ids=str)
@settings(max_examples=300, deadline=None)
@given(value=_JSON)
def test_same_outcome_as_pydantic_lax_mode(tp: Any, value: Any) -> None:
    import pydantic

    adapter = pydantic.TypeAdapter(tp)
    try:
        expected = adapter.validate_python(value)
    except pydantic.ValidationError:
        expected = ValidationError
    try:
        got = validate(_holder(tp), {"v": value}).v
    except ValidationError:
        got = ValidationError
    assert _same(got, expected), (value, got, expected)


# -- descriptions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "words"),
    [
        (bool, "a boolean"),
        (int | None, "an integer"),
        (Annotated[int, Ge(0)], "an integer"),
        (str | list[str] | None, "a string or a list of strings"),
        (list[Any], "a list"),
        (tuple[int, ...], "a list of integers"),
        (tuple[str, int], "a list of 2 items (a string, an integer)"),
        (dict[str, Any], "an object (a mapping of names to values)"),
        (dict[str, str], "an object whose values are strings"),
        (dict[str, dict[str, Any]], "an object whose values are objects"),
        (list[list[int]], "a list of lists of integers"),
        (Literal["a", "b"], 'one of "a", "b"'),
        (Inner, "an object with keys mode, n"),
        (Any, "any value"),
        (None, "null"),
    ],
)
def test_describe_type(tp: Any, words: str) -> None:
    assert describe_type(tp) == words


# -- why this module exists ----------------------------------------------------------------------


def test_neither_compiling_nor_reading_a_plan_imports_pydantic(tmp_path: Path) -> None:
    """pydantic costs ~110 ms to import: profiles, connector parameters, export options and plan
    files are all checked by sqlflowc.validation (pydantic is only this module's test oracle)."""
    quickstart = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sqlflowc.api import compile_file\n"
        "from sqlflowc.backend.plan_io import load_plan\n"
        f"comp = compile_file(Path({str(quickstart / 'pipelines' / 'quickstart.sf')!r}))\n"
        f"plan = Path({str(tmp_path / 'plan.json')!r})\n"
        "plan.write_text(comp.plan.to_json())\n"
        "assert load_plan(plan) == comp.plan\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
