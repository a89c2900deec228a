"""INCREMENTAL window macros: `@start_dt`, `@end_dt` (TIMESTAMP) and `@start_date`, `@end_date`
(DATE) are found with sqlglot's DuckDB tokenizer, so text in strings and comments is left alone,
and replaced by typed named parameters (`CAST($start_dt AS TIMESTAMP)`) that the executor binds.

>>> bind_macros("SELECT * FROM e WHERE ts > @start_dt AND note <> '@end_dt'")
("SELECT * FROM e WHERE ts > CAST($start_dt AS TIMESTAMP) AND note <> '@end_dt'", ('start_dt',))
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from sqlglot import TokenType, exp, tokenize
from sqlglot.errors import TokenError

from sqlflowc.backend.plan import WindowParameter

# macro → the type it is bound as
MACROS: Mapping[WindowParameter, str] = {
    "start_dt": "TIMESTAMP",
    "end_dt": "TIMESTAMP",
    "start_date": "DATE",
    "end_date": "DATE",
}
_MACRO_NAMES: Mapping[str, WindowParameter] = {name: name for name in MACROS}


def find_macros(query: str) -> list[tuple[WindowParameter, int, int]] | None:
    """`(name, start, end)` of each `@start_dt`-style macro in `query` (end exclusive, name
    lower-cased); None when the text cannot be tokenised. Strings and comments are skipped."""
    try:
        tokens = tokenize(query, read="duckdb")
    except TokenError:
        return None
    found: list[tuple[WindowParameter, int, int]] = []
    for at, word in itertools.pairwise(tokens):
        name = _MACRO_NAMES.get(word.text.lower())
        if (
            at.token_type is TokenType.PARAMETER
            and at.text == "@"
            and word.start == at.end + 1
            and word.token_type is TokenType.VAR
            and name is not None
        ):
            found.append((name, at.start, word.end + 1))
    return found


def bind_macros(query: str) -> tuple[str, tuple[WindowParameter, ...]]:
    """`query` with each macro replaced by its typed parameter, and the macros used."""
    found = find_macros(query) or []
    out: list[str] = []
    pos = 0
    for name, start, end in found:
        out.append(query[pos:start])
        out.append(parameter(name).sql(dialect="duckdb"))
        pos = end
    out.append(query[pos:])
    return "".join(out), tuple(sorted({name for name, _, _ in found}))


def parameter(name: WindowParameter) -> exp.Expr:
    """A macro as the typed named parameter the executor binds: `CAST($start_dt AS TIMESTAMP)`."""
    return exp.cast(exp.Placeholder(this=name), MACROS[name])
