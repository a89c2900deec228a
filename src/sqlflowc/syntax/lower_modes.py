"""Lowering of a `MODE ...` clause into `ast.LoadMode`.

The grammar admits every clause with every mode; this checks the combinations: `BY` and
`LOOKBACK` only with INCREMENTAL, key columns only with MERGE/UPSERT/INCREMENTAL and listed once,
MERGE/UPSERT with keys, INCREMENTAL with `BY`, a LOOKBACK that is a duration. A clause with an
error lowers to None (the error reported).
"""

from __future__ import annotations

import re
from typing import Any, cast

from lark import Token, Tree

from sqlflowc.diagnostics import Code
from sqlflowc.ir import ast
from sqlflowc.source import Span
from sqlflowc.syntax.lower_values import ValueLowerer

_DURATION = re.compile(
    r"\s*\d+(?:\.\d+)?\s*(?:micro|milli)?(?:second|minute|hour|day|week|month|year)s?\s*",
    re.IGNORECASE,
)


def _valid_duration(text: str) -> bool:
    return bool(_DURATION.fullmatch(text))


def load_mode(lw: ValueLowerer, t: Any) -> ast.LoadMode | None:
    kind_tok, by, lookback, keys_clause = t.children
    span = lw.span(t)
    kind = str(kind_tok).upper()
    keys: tuple[ast.Ident, ...] = ()
    key_word = ""
    parenthesized = True
    ok = True
    if keys_clause is not None:
        key_tok, key_list = keys_clause.children
        key_word = str(key_tok).upper()
        keys = tuple(lw.name(k) for k in key_list.children)
        parenthesized = str(lw.source_text(lw.span(key_list))).startswith("(")
        seen: set[str] = set()
        for k in keys:
            folded = k.value if k.quoted else k.value.lower()
            if folded in seen:
                ok = False
                lw.reporter.error(
                    Code.DUPLICATE_KEY,
                    f"key column `{k.value}` is listed twice",
                    k.span,
                    label="duplicate key column",
                )
            seen.add(folded)
    if kind != "INCREMENTAL":
        for clause, word in ((by, "BY"), (lookback, "LOOKBACK")):
            if clause is not None:
                ok = False
                lw.reporter.error(
                    Code.INCREMENTAL_CLAUSE,
                    f"`{word}` only goes with `MODE INCREMENTAL`",
                    lw.span(clause),
                    label=f"not valid with MODE {kind}",
                    help=f"write `MODE INCREMENTAL BY column` or remove `{word} ...`",
                )
    if kind in {"REPLACE", "APPEND"} and keys_clause is not None:
        lw.reporter.error(
            Code.KEY_NOT_ALLOWED,
            f"`MODE {kind}` takes no key columns",
            lw.span(keys_clause),
            label="keys only apply to MERGE",
            help=f"use `MODE MERGE KEY ({', '.join(k.value for k in keys)})` to upsert by key",
        )
        return None
    if not ok:
        return None
    match kind:
        case "REPLACE":
            return ast.Replace(span=span)
        case "APPEND":
            return ast.Append(span=span)
        case "MERGE" | "UPSERT":
            if not keys:
                lw.reporter.error(
                    Code.MERGE_WITHOUT_KEY,
                    f"`MODE {kind}` needs key columns",
                    span,
                    label="no KEY given",
                    help=f"write `MODE {kind} KEY (id)` naming the columns that identify a row",
                )
                return None
            if kind == "UPSERT":
                spelling = ast.MergeSpelling.UPSERT_KEY
            elif key_word == "MERGE_KEYS":
                spelling = ast.MergeSpelling.MERGE_MERGE_KEYS
            else:
                spelling = ast.MergeSpelling.MERGE_KEY
            return ast.Merge(keys=keys, spelling=spelling, parenthesized=parenthesized, span=span)
        case "INCREMENTAL":
            return _incremental(lw, by, lookback, keys, span)
    raise AssertionError(kind)  # pragma: no cover — MODE_KIND admits only the cases above


def _lookback(lw: ValueLowerer, clause: Tree[Token]) -> ast.Literal:
    """`LOOKBACK '2 days'`, or `LOOKBACK 2 DAYS` as the earlier releases wrote it."""
    if len(clause.children) == 1:
        return lw.string(clause.children[0])
    number, unit = (cast(Token, c) for c in clause.children)
    raw = f"{number} {unit}"
    span = lw.tok_span(number).to(lw.tok_span(unit))
    return ast.Literal(value=raw, raw=raw, span=span)


def _incremental(
    lw: ValueLowerer, by: Any, lookback: Any, keys: tuple[ast.Ident, ...], span: Span
) -> ast.LoadMode | None:
    if by is None:
        lw.reporter.error(
            Code.INCREMENTAL_CLAUSE,
            "`MODE INCREMENTAL` needs `BY column`",
            span,
            help="write `MODE INCREMENTAL BY updated_at`",
        )
        return None
    lb = _lookback(lw, lookback) if lookback is not None else None
    if lb is not None and not _valid_duration(str(lb.value)):
        lw.reporter.error(
            Code.BAD_LOOKBACK,
            f"`{lb.value}` is not a duration",
            lb.span,
            help="write a DuckDB interval such as '2 days', '6 hours' or '1 week'",
        )
        return None
    return ast.Incremental(by=lw.name(by.children[0]), lookback=lb, keys=keys, span=span)
