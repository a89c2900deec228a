"""Quoting written out by hand (so that running a plan need not import sqlglot) prints exactly
what sqlglot prints, and table names split exactly as sqlglot splits them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from sqlflowc.names import name_parts
from sqlflowc.sqlbuild import select_from, sql_identifier, sql_qualified, sql_string, table_function
from sqlflowc.sqlbuild.literals import RESERVED


def _identifier(word: str) -> bool:
    """Whether sqlglot reads `word` as a name, not a keyword (`ON."0"` it splits wrongly)."""
    tokens = DuckDB().tokenize(word)
    return len(tokens) == 1 and tokens[0].token_type is TokenType.VAR


PLAIN = st.from_regex(r"[A-Za-z_][A-Za-z0-9_$]{0,8}", fullmatch=True).filter(_identifier)
QUOTED = st.text(min_size=1, max_size=8).map(lambda t: '"' + t.replace('"', '""') + '"')


@given(st.text())
def test_strings_and_identifiers_are_quoted_as_sqlglot_quotes_them(text: str) -> None:
    assert sql_string(text) == exp.Literal.string(text).sql(dialect="duckdb")
    assert sql_identifier(text) == exp.to_identifier(text, quoted=True).sql(dialect="duckdb")


@given(st.lists(st.one_of(PLAIN, QUOTED), min_size=1, max_size=3), st.sampled_from(["", "  "]))
def test_names_split_as_sqlglot_splits_them(parts: list[str], pad: str) -> None:
    name = pad + ".".join(parts) + pad
    try:
        expected = [p.name for p in exp.to_table(name.strip(), dialect="duckdb").parts]
    except (ParseError, TokenError):
        return
    assert name_parts(name) == expected
    assert sql_qualified(name) == ".".join(sql_identifier(p) for p in expected)


def _sqlglot_value(value: object) -> exp.Expression:
    """What the scan builders printed when they built sqlglot trees."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, list):
        return exp.Array(expressions=[_sqlglot_value(v) for v in value])
    assert isinstance(value, dict)
    return exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.Literal.string(str(k)), expression=_sqlglot_value(v))
            for k, v in value.items()
        ]
    )


SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),  # see sql_value
    st.text(max_size=6),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = st.one_of(
    st.sampled_from(sorted(RESERVED)), st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
)


@given(
    st.text(min_size=1, max_size=8),
    st.dictionaries(KEYS, st.one_of(st.none(), VALUES), max_size=4),
    st.one_of(st.none(), st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=3)),
)
def test_scans_are_built_as_sqlglot_builds_them(
    location: str, named: dict[str, object], columns: list[str] | None
) -> None:
    args: list[exp.Expression] = [exp.Literal.string(location)]
    for key, value in named.items():
        if value is not None:
            args.append(exp.EQ(this=exp.column(key), expression=_sqlglot_value(value)))
    function = exp.Anonymous(this="read_csv", expressions=args)
    projection: list[exp.Expression] = (
        [exp.column(exp.to_identifier(c, quoted=True)) for c in columns]
        if columns
        else [exp.Star()]
    )
    expected = exp.select(*projection).from_(exp.Table(this=function)).sql(dialect="duckdb")
    assert select_from(table_function("read_csv", location, named), columns) == expected


def test_reserved_words_are_sqlglots() -> None:
    assert frozenset(DuckDB().generator().RESERVED_KEYWORDS) == RESERVED
