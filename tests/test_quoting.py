"""Quoting written out by hand (so that running a plan need not import sqlglot) prints exactly
what sqlglot prints, and table names split exactly as sqlglot splits them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqlflowc.names import name_parts
from sqlflowc.sqlbuild import sql_identifier, sql_qualified, sql_string

PLAIN = st.from_regex(r"[A-Za-z_][A-Za-z0-9_$]{0,8}", fullmatch=True)
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
