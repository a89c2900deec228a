"""Lowering of the language's values, shared by the statement lowering (`syntax/lower.py`) and
the load-mode lowering (`syntax/lower_modes.py`): spans of tokens and rules; literals, names and
table names; `${...}` references and templates (`syntax/varref.py`); JSON objects (PARAMS,
OPTIONS), where a duplicate key or an invalid string escape is reported.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, cast

from lark import Token, Tree

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import ast
from sqlflowc.source import Span
from sqlflowc.syntax.parser import ends_in_line_comment
from sqlflowc.syntax.varref import make_template, parse_var_ref


class ValueLowerer:
    """Lowers the values of one file; errors go to `reporter`."""

    def __init__(self, file_id: int, text: str, reporter: Reporter) -> None:
        self.file_id = file_id
        self.text = text
        self.reporter = reporter

    # -------------------------------------------------------------- spans

    def tok_span(self, tok: Token) -> Span:
        start = tok.start_pos or 0
        end = tok.end_pos if tok.end_pos is not None else start + len(tok)
        return Span(self.file_id, start, end)

    def span(self, node: Tree[Token] | Token) -> Span:
        if isinstance(node, Token):
            return self.tok_span(node)
        meta = node.meta
        if getattr(meta, "empty", True):
            return Span(self.file_id, 0, 0)
        return Span(self.file_id, meta.start_pos, meta.end_pos)

    def body_span(self, tok: Token) -> tuple[str, Span]:
        """An opaque SQL token without its trailing whitespace."""
        text = str(tok).rstrip()
        start = tok.start_pos or 0
        return text, Span(self.file_id, start, start + len(text))

    # -------------------------------------------------------------- atoms

    def scalar(self, t: Any) -> ast.Literal | ast.VarRef:
        span = self.span(t)
        tok = t.children[0] if isinstance(t, Tree) and t.children else t
        match t.data if isinstance(t, Tree) else "":
            case "string":
                return self.string(t)
            case "number":
                raw = str(tok)
                value: int | float = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
                return ast.Literal(value=value, raw=raw, span=span)
            case "boolean":
                return ast.Literal(value=str(tok).lower() == "true", raw=str(tok), span=span)
            case "null":
                return ast.Literal(value=None, raw=str(tok), span=span)
            case "var_ref":
                ref = parse_var_ref(str(tok), span, self.reporter)
                return ref if ref is not None else ast.Literal(value="", raw="''", span=span)
        raise AssertionError(f"not a scalar: {t!r}")  # pragma: no cover

    def string(self, t: Any) -> ast.Literal:
        tok = cast(Token, t.children[0] if isinstance(t, Tree) else t)
        raw = str(tok)
        if raw.startswith("'"):
            value = raw[1:-1].replace("''", "'")
        else:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw[1:-1]
        return ast.Literal(value=value, raw=raw, span=self.tok_span(tok))

    def name(self, t: Any) -> ast.Ident:
        tok = cast(Token, t.children[0] if isinstance(t, Tree) else t)
        raw = str(tok)
        span = self.tok_span(tok)
        if tok.type == "QUOTED_IDENT":
            return ast.Ident(value=raw[1:-1].replace('""', '"'), quoted=True, span=span)
        return ast.Ident(value=raw, span=span)

    def table_name(self, t: Any) -> ast.TableName:
        return ast.TableName(
            parts=tuple(self.name(c) for c in t.children if c is not None), span=self.span(t)
        )

    def sql(self, tok: Any) -> ast.Template:
        text, span = self.body_span(tok)
        return self.sql_body(text, span)

    def sql_body(self, text: str, span: Span) -> ast.Template:
        """A SQL body: its references, and whether it ends inside a `--` comment."""
        template = make_template(text, span, self.reporter)
        if "--" not in text or not ends_in_line_comment(text):
            return template
        return dataclasses.replace(template, ends_in_line_comment=True)

    def source_text(self, span: Span) -> str:
        return self.text[span.start : span.end]

    # -------------------------------------------------------------- JSON

    def json_object(self, t: Any) -> ast.JsonObject:
        pairs: list[ast.JsonPair] = []
        seen: set[str] = set()
        for pair in t.children:
            if pair is None:
                continue
            key_tok, value = pair.children
            key = self.json_text(key_tok)
            if key in seen:
                self.reporter.error(
                    Code.INVALID_JSON,
                    f"duplicate key `{key}` in JSON object",
                    self.tok_span(key_tok),
                    label="already given above",
                )
            seen.add(key)
            pairs.append(
                ast.JsonPair(
                    key=key,
                    raw_key=str(key_tok),
                    value=self.json_value(value),
                    span=self.span(pair),
                )
            )
        return ast.JsonObject(pairs=tuple(pairs), span=self.span(t))

    def json_text(self, tok: Token) -> str:
        """The value of a JSON string token; an invalid escape or control character is reported."""
        raw = str(tok)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as err:
            self.reporter.error(
                Code.INVALID_JSON,
                f"invalid JSON string: {err.msg.lower()}",
                self.tok_span(tok),
                label="not a valid JSON string",
                help='JSON strings escape only \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\u0000-style '
                "hex codes; write a tab as \\t",
            )
            return raw[1:-1]
        assert isinstance(value, str)
        return value

    def json_value(self, t: Any) -> ast.JsonValue:
        match t.data:
            case "json_object":
                return self.json_object(t)
            case "json_array":
                items = tuple(self.json_value(v) for v in t.children if v is not None)
                return ast.JsonArray(items=items, span=self.span(t))
            case "json_string":
                tok = t.children[0]
                raw = str(tok)
                value = self.json_text(tok)
                return ast.JsonString(
                    template=make_template(value, self.tok_span(tok).inner(), self.reporter),
                    raw=raw,
                    span=self.tok_span(tok),
                )
        return self.scalar(t)
