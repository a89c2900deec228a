"""UDF call sites in SQL text, for `passes/resolve_udfs.py`: the tokens of a call (its name, its
parenthesised arguments), its literal arguments, sqlglot's misreadings of some calls, and text
edits that keep a `Sql`'s display text, origin and splices in step with its text.

Only the call's head is ever edited; arguments stay verbatim, so a secret spliced into an
argument stays a `${name}` reference in `display`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import itertools
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqlflowc.ir import program as ir

__all__ = [
    "NOT_LITERAL",
    "arguments",
    "call_extent",
    "duckdb_functions",
    "literal",
    "misparsed_call",
    "quote",
    "rewrite",
    "table_name",
    "tokens",
    "udf_name_argument",
    "whole_query",
]

_OPEN = {"L_PAREN", "L_BRACKET", "L_BRACE"}
_CLOSE = {"R_PAREN", "R_BRACKET", "R_BRACE"}

NOT_LITERAL = object()


def quote(name: str) -> str:
    """`name` as a DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def tokens(text: str) -> list[Any] | None:
    """sqlglot's tokens of `text` (duckdb dialect), each with its `start`/`end` offsets."""
    try:
        return list(sqlglot.tokenize(text, dialect="duckdb"))
    except (TokenError, ParseError):
        return None


def call_extent(toks: list[Any], index: int) -> tuple[int, int, list[tuple[int, int]]] | None:
    """(start, end, args) of the call whose name is token `index`: text offsets of the name and
    of the closing parenthesis (inclusive), and each argument's `[start, end)` range."""
    if index + 1 >= len(toks) or toks[index + 1].token_type.name != "L_PAREN":
        return None
    depth = 0
    args: list[tuple[int, int]] = []
    first: int | None = None
    last = -1
    for tok in toks[index + 2 :]:
        kind = tok.token_type.name
        if depth == 0 and kind in {"R_PAREN", "COMMA"}:
            if first is not None:
                args.append((first, last + 1))
            if kind == "R_PAREN":
                return toks[index].start, tok.start, args
            first = None
            continue
        if kind in _OPEN:
            depth += 1
        elif kind in _CLOSE:
            depth -= 1
        if first is None:
            first = tok.start
        last = tok.end
    return None


@functools.cache
def duckdb_functions() -> frozenset[str]:
    """The names of DuckDB's own functions (built-ins and extensions loaded by default)."""
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute("SELECT DISTINCT lower(function_name) FROM duckdb_functions()")
        return frozenset(str(r[0]) for r in rows.fetchall())
    finally:
        con.close()


def arguments(text: str, node: exp.Func | None, ranges: list[tuple[int, int]]) -> list[exp.Expr]:
    """The argument expressions of a call at `ranges` (empty when one does not parse alone).

    An unknown function keeps its arguments in order; a function sqlglot knows may have
    rearranged them, so each argument's text is parsed on its own."""
    if isinstance(node, exp.Anonymous) and len(node.expressions) >= len(ranges):
        return list(node.expressions[: len(ranges)])
    out: list[exp.Expr] = []
    for start, end in ranges:
        try:
            parsed = sqlglot.parse_one(text[start:end], dialect="duckdb")
        except (ParseError, TokenError):
            return []
        out.append(parsed)
    return out


def misparsed_call(table: exp.Table) -> int | None:
    """The name offset of `FROM name(args)` that sqlglot read as a table with column aliases
    (it does for names that are keywords to it, such as `keep`); DuckDB reads a table function
    call there, as `FROM t(a)` without AS or an alias name is no alias."""
    alias = table.args.get("alias")
    name = table.this
    if (
        isinstance(name, exp.Identifier)
        and not name.quoted
        and "start" in name.meta
        and isinstance(alias, exp.TableAlias)
        and alias.this is None
        and alias.columns
        and not table.args.get("db")
    ):
        return int(name.meta["start"])
    return None


def udf_name_argument(node: exp.Expr | None) -> str | None:
    """The UDF name of PYTHON_FUNC's first argument: `"a.b.c"` (a quoted identifier in the
    duckdb dialect) or `'a.b.c'`."""
    if isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier):
        return node.this.name if node.this.quoted else None
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    return None


def table_name(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Column) and all(isinstance(p, exp.Identifier) for p in node.parts):
        return ".".join(p.sql(dialect="duckdb") for p in node.parts)
    return None


def literal(node: exp.Expr) -> Any:
    match node:
        case exp.Literal() if node.is_string:
            return str(node.this)
        case exp.Literal():
            text = str(node.this)
            try:
                return int(text)
            except ValueError:
                try:
                    return float(text)
                except ValueError:
                    return NOT_LITERAL
        case exp.Neg():
            inner = literal(node.this)
            return (
                -inner
                if isinstance(inner, int | float) and not isinstance(inner, bool)
                else NOT_LITERAL
            )
        case exp.Boolean():
            return bool(node.this)
        case exp.Null():
            return None
    return NOT_LITERAL


def whole_query(tree: exp.Expr | None, table: exp.Table, *, misparsed: bool) -> bool:
    """True when the query is exactly `SELECT * FROM <call>` (no alias, clauses or joins);
    `table` is the FROM item holding the call (`misparsed`: read by sqlglot as a table with
    column aliases, which are the call's arguments)."""
    if not isinstance(tree, exp.Select):
        return False
    if len(tree.expressions) != 1 or not isinstance(tree.expressions[0], exp.Star):
        return False
    if tree.expressions[0].args.get("except") or tree.expressions[0].args.get("replace"):
        return False
    source = tree.args.get("from_")
    if not isinstance(source, exp.From) or source.this is not table:
        return False
    if (table.args.get("alias") and not misparsed) or table.args.get("joins"):
        return False
    others = {k for k, v in tree.args.items() if v and k not in {"expressions", "from_"}}
    return not others


def rewrite(sql: ir.Sql, edits: list[tuple[int, int, str]]) -> ir.Sql | None:
    """Apply `[start, end) → replacement` edits of `sql.text` to its text, display, origin and
    splices (a splice inside an edited stretch is dropped: it no longer exists)."""
    edits = sorted(edits)
    for (_, end_a, _), (start_b, _, _) in itertools.pairwise(edits):
        if start_b < end_a:
            return None
    text = _splice(sql.text, edits)
    if sql.display == sql.text:
        display = text
    else:
        moved = _align(sql.text, sql.display, edits)
        if moved is None:
            return None
        display = _splice(sql.display, moved)

    def shift(offset: int) -> int:
        delta = 0
        for start, end, repl in edits:
            if end <= offset:
                delta += len(repl) - (end - start)
        return offset + delta

    inside = [(s, e) for s, e, _ in edits]
    points: dict[int, int] = {0: sql.file_offset(0)}
    for t_off, _ in sql.origin:
        if not any(s <= t_off < e for s, e in inside):
            points[shift(t_off)] = sql.file_offset(t_off)
    for start, end, repl in edits:
        points[shift(start)] = sql.file_offset(start)
        if len(repl) > 0:
            points[shift(start) + len(repl)] = sql.file_offset(end)
    origin = tuple(sorted(points.items()))
    splices = tuple(
        dataclasses.replace(splice, start=shift(splice.start), end=shift(splice.end))
        for splice in sql.splices
        if not any(s < splice.end and splice.start < e for s, e in inside)
    )
    return dataclasses.replace(sql, text=text, display=display, origin=origin, splices=splices)


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    pos = 0
    for start, end, repl in edits:
        out.append(text[pos:start])
        out.append(repl)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _align(
    text: str, display: str, edits: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]] | None:
    """The same edits on `display`, which differs from `text` only where secrets were spliced."""
    blocks = difflib.SequenceMatcher(None, text, display, autojunk=False).get_matching_blocks()
    out: list[tuple[int, int, str]] = []
    for start, end, repl in edits:
        for a, b, size in blocks:
            if a <= start and end <= a + size:
                out.append((b + start - a, b + end - a, repl))
                break
        else:
            return None
    return out
