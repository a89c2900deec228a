"""Surface IR → canonical `.sf` text: what `sqlflowc fmt` writes (`api.format_source` parses
and calls `format_pipeline`).

Contract:
- `parse(format_pipeline(p, text)) == p` (IR equality ignores spans and comments) and formatting is
  idempotent. Every token the IR compares is printed as the user wrote it (`Literal.raw`,
  `Ident.quoted`, `Compare.raw_op`, the merge dialect); keywords are upper-cased; one statement per
  line group, ending in `;`; IF branches indented 4 spaces per level.
- SQL bodies (`Template.text`) are printed byte for byte and follow their keyword on the same line,
  except that a body spanning lines which began on a line of its own stays there, at its original
  indentation (and so does a `TO` after such an EXPORT query). A body that ends in a `--` comment
  gets its `;` (or an EXPORT its `TO`) on the next line, so the comment cannot swallow it.
- Every comment outside SQL bodies is kept: own-line comments stay on their own line before the
  statement that follows them (or at the end of their block); a comment that starts on the line
  where a statement, comment or `THEN`/`ELSE` ended stays on that line; a comment between the
  tokens of a statement moves to its own line before the statement (inside an ELSE IF header or
  before `END IF;` it moves to the end of the branch above). Comments inside other SQL statements
  are part of their text. Blank lines between items are kept (a run collapses to one), never at
  the start of the file or of a branch, never before ELSE/END IF.
- JSON objects are printed `{"a": 1, "b": "x"}` when the line fits in 100 characters, otherwise one
  pair (or array item) per line, indented.
- Parentheses: `ast.Paren` prints its parentheses; around AND/OR/NOT operands (which the IR does not
  mark) parentheses are printed where precedence requires them.
"""

from __future__ import annotations

import bisect
import re
from typing import assert_never

from sqlflowc.ir import ast

INDENT = "    "
MAX_WIDTH = 100

_BLANK_LINE = re.compile(r"\n[ \t\f\r]*\n")
_WS = " \t\f\r\n"

# Binding strength of conditions: an operand binding looser than its place needs gets parentheses.
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4


def format_pipeline(pipeline: ast.Pipeline, text: str) -> str:
    """The canonical text of a pipeline parsed from `text` (which places comments, blank lines)."""
    _, lines = _Printer(text, pipeline.comments).block(pipeline.statements, 0, len(text), 0)
    return "\n".join(lines) + "\n" if lines else ""


class _Printer:
    def __init__(self, text: str, comments: tuple[ast.Comment, ...]) -> None:
        self.text = text
        self.comments = sorted(comments, key=lambda c: c.span.start)
        self.starts = [c.span.start for c in self.comments]

    # -------------------------------------------------------------- comments and layout

    def comments_in(self, lo: int, hi: int) -> list[ast.Comment]:
        """The comments that start in `[lo, hi)`."""
        first, last = bisect.bisect_left(self.starts, lo), bisect.bisect_left(self.starts, hi)
        return self.comments[first:last]

    def blank_between(self, lo: int, hi: int) -> bool:
        return _BLANK_LINE.search(self.text, lo, hi) is not None

    def same_line(self, lo: int, hi: int) -> bool:
        return "\n" not in self.text[lo:hi]

    def skip_trivia(self, pos: int) -> int:
        """The offset of the next token at or after `pos` (whitespace and comments skipped)."""
        text = self.text
        while pos < len(text):
            if text[pos] in _WS:
                pos += 1
            elif text.startswith("--", pos):
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                pos = len(text) if end < 0 else end + 2
            else:
                break
        return pos

    def then_end(self, condition: ast.Condition) -> int:
        """The offset just after the THEN that follows a condition."""
        pos = condition.span.end
        while True:
            pos = self.skip_trivia(pos)
            if self.text.startswith(")", pos):
                pos += 1
            elif self.text[pos : pos + 4].lower() == "then":
                return pos + 4
            else:
                raise AssertionError(f"internal: no THEN after the condition at {pos}")

    def interior(self, stmt: ast.Statement) -> list[ast.Comment]:
        """Comments between a statement's tokens, printed on their own lines before it."""
        start, end = stmt.span.start, stmt.span.end
        match stmt:
            case ast.SqlStatement():
                return []  # they are part of the statement's text
            case ast.If():
                return self.comments_in(start, self.then_end(stmt.branches[0].condition))
            case _:
                return self.comments_in(start, end)

    def block(
        self, stmts: tuple[ast.Statement, ...], lo: int, hi: int, depth: int, header: bool = False
    ) -> tuple[list[str], list[str]]:
        """Print the statements and comments of the text region `[lo, hi)`.

        Returns the comments that belong on the header line (after THEN/ELSE) and the lines.
        """
        ind = INDENT * depth
        head_trailing: list[str] = []
        lines: list[str] = []
        last_end = lo
        line_end: int | None = lo if header else None  # where the item printed last ended

        def place_comments(upto: int) -> None:
            nonlocal last_end, line_end
            for c in self.comments_in(last_end, upto):
                text = _comment_text(c)
                if line_end is not None and self.same_line(line_end, c.span.start):
                    if lines:
                        lines[-1] += " " + text
                    else:
                        head_trailing.append(text)
                else:
                    if lines and self.blank_between(last_end, c.span.start):
                        lines.append("")
                    lines.append(ind + text)
                last_end = line_end = c.span.end

        for stmt in stmts:
            place_comments(stmt.span.start)
            if lines and self.blank_between(last_end, stmt.span.start):
                lines.append("")
            lines.extend(ind + _comment_text(c) for c in self.interior(stmt))
            lines.extend(self.statement(stmt, depth))
            last_end = line_end = stmt.span.end
        place_comments(hi)
        return head_trailing, lines

    # -------------------------------------------------------------- statements

    def statement(self, node: ast.Statement, depth: int) -> list[str]:
        ind = INDENT * depth
        match node:
            case ast.SourceDecl():
                head = f"{ind}SOURCE {node.name.sql} TYPE {node.connector.sql} PARAMS "
                return [head + _json(node.params, _column(head), 1, depth) + ";"]
            case ast.SourceFromProfile():
                head = f"{ind}SOURCE {node.name.sql} FROM {node.connection.raw}"
                return [head + _options(node.options, head, depth) + ";"]
            case ast.Load():
                mode = f" {_mode(node.mode)}" if node.mode is not None else ""
                return [f"{ind}LOAD {node.table.sql} FROM {node.source.sql}{mode};"]
            case ast.CreateTable():
                head = f"{ind}CREATE{' OR REPLACE' if node.or_replace else ''} TABLE"
                head += f"{' IF NOT EXISTS' if node.if_not_exists else ''} {node.table.sql}"
                head += f" {_mode(node.mode)}" if node.mode is not None else ""
                return [self.as_body(head, node.query, ind)]
            case ast.CreateView():
                head = f"{ind}CREATE{' OR REPLACE' if node.or_replace else ''} VIEW"
                head += f"{' IF NOT EXISTS' if node.if_not_exists else ''} {node.view.sql}"
                return [self.as_body(head, node.query, ind)]
            case ast.Export():
                return [self.export(node, depth)]
            case ast.Set():
                return [f"{ind}SET {node.name.sql} = {_scalar(node.value)};"]
            case ast.Include():
                alias = f" AS {node.alias.sql}" if node.alias is not None else ""
                return [f"{ind}INCLUDE {node.path.raw}{alias};"]
            case ast.If():
                return self.if_(node, depth)
            case ast.SqlStatement():
                return [ind + _terminated(node.sql, ind)]
            case _:
                assert_never(node)

    def export(self, node: ast.Export, depth: int) -> str:
        ind = INDENT * depth
        if node.query is not None:
            query, end = node.query.text, node.query.span.end
            before = self.before_body(node.query, ind)
            in_comment = node.query.ends_in_line_comment
        else:
            assert node.table is not None, "internal: EXPORT without a query or a table"
            query, before, end = node.table.sql, " ", node.table.span.end
            in_comment = False
        # A query ending in a `--` comment would swallow a `TO` on the same line; a TO the user
        # put on its own line stays there.
        own_line = "\n" in self.text[end : self.skip_trivia(end)]
        sep = "\n" + ind if own_line or in_comment else " "
        head = f"{ind}EXPORT{before}{query}{sep}TO {node.uri.raw} TYPE {node.format.sql}"
        return head + _options(node.options, head, depth) + ";"

    def as_body(self, head: str, body: ast.Template, ind: str) -> str:
        """`<head> AS <body>;` for CREATE TABLE / CREATE VIEW."""
        return f"{head} AS{self.before_body(body, ind)}{_terminated(body, ind)}"

    def before_body(self, body: ast.Template, ind: str) -> str:
        """What goes between a keyword and a SQL body: a space, or — for a body that began on
        its own line — that line break, then the body's original indentation when it spans
        lines (its later lines keep theirs) or the statement's indentation when it does not."""
        line_start = self.text.rfind("\n", 0, body.span.start) + 1
        prefix = self.text[line_start : body.span.start]
        if line_start > 0 and not prefix.strip(" \t\f\r"):
            return "\n" + (prefix.replace("\r", "") if "\n" in body.text else ind)
        return " "

    def if_(self, node: ast.If, depth: int) -> list[str]:
        ind = INDENT * depth
        out: list[str] = []
        ends = [self.then_end(b.condition) for b in node.branches]
        next_token = 0
        for k, branch in enumerate(node.branches):
            body_end = branch.body[-1].span.end if branch.body else ends[k]
            next_token = self.skip_trivia(body_end)
            if k + 1 < len(node.branches):
                # The next ELSE IF header's comments go to the end of this branch.
                hi = ends[k + 1]
            elif node.else_body is not None:
                hi = next_token
            else:
                hi = node.span.end
            keyword = "IF" if k == 0 else "ELSE IF"
            trailing, lines = self.block(branch.body, ends[k], hi, depth + 1, True)
            head = f"{ind}{keyword} {_condition(branch.condition)} THEN"
            out.append(_with_trailing(head, trailing))
            out.extend(lines)
        if node.else_body is not None:
            if self.text[next_token : next_token + 4].lower() != "else":
                raise AssertionError(f"internal: no ELSE at {next_token}")
            trailing, lines = self.block(
                node.else_body, next_token + 4, node.span.end, depth + 1, True
            )
            out.append(_with_trailing(f"{ind}ELSE", trailing))
            out.extend(lines)
        out.append(f"{ind}END IF;")
        return out


# ------------------------------------------------------------------ pieces


def _comment_text(comment: ast.Comment) -> str:
    return comment.text.rstrip() if comment.text.startswith("--") else comment.text


def _with_trailing(line: str, comments: list[str]) -> str:
    return " ".join([line, *comments])


def _column(text: str) -> int:
    """The column at which the next character after `text` is printed."""
    return len(text) - text.rfind("\n") - 1


def _terminated(body: ast.Template, ind: str) -> str:
    """A SQL body and its `;` (on the next line when the body ends in a `--` comment)."""
    return f"{body.text}\n{ind};" if body.ends_in_line_comment else f"{body.text};"


def _scalar(node: ast.Literal | ast.VarRef) -> str:
    match node:
        case ast.Literal():
            return node.raw
        case ast.VarRef():
            return _var_ref(node)
        case _:
            assert_never(node)


def _var_ref(ref: ast.VarRef) -> str:
    if ref.raw:
        return ref.raw
    return "${" + ref.name + ("" if ref.default is None else "|" + ref.default) + "}"


def _mode(mode: ast.LoadMode) -> str:
    match mode:
        case ast.Replace():
            return "MODE REPLACE"
        case ast.Append():
            return "MODE APPEND"
        case ast.Merge():
            keys = ", ".join(k.sql for k in mode.keys)
            return f"MODE {mode.spelling.value} {f'({keys})' if mode.parenthesized else keys}"
        case ast.Incremental():
            out = f"MODE INCREMENTAL BY {mode.by.sql}"
            if mode.lookback is not None:
                out += f" LOOKBACK {mode.lookback.raw}"
            if mode.keys:
                out += f" KEY ({', '.join(k.sql for k in mode.keys)})"
            return out
        case _:
            assert_never(mode)


# ------------------------------------------------------------------ conditions


def _condition(node: ast.Condition, needs: int = 0) -> str:
    """A condition printed with single spaces; parenthesised when it binds looser than `needs`."""
    strength = _ATOM
    match node:
        case ast.Or():
            strength = _OR
            text = " OR ".join(_condition(o, _AND) for o in node.operands)
        case ast.And():
            strength = _AND
            text = " AND ".join(_condition(o, _NOT) for o in node.operands)
        case ast.Not():
            strength = _NOT
            text = f"NOT {_condition(node.operand, _NOT)}"
        case ast.Compare():
            op = node.raw_op or node.op.value
            text = f"{_condition(node.left, _ATOM)} {op} {_condition(node.right, _ATOM)}"
        case ast.InList():
            options = ", ".join(_condition(o, _ATOM) for o in node.options)
            keyword = "NOT IN" if node.negated else "IN"
            text = f"{_condition(node.operand, _ATOM)} {keyword} ({options})"
        case ast.Paren():
            text = f"({_condition(node.inner)})"
        case ast.Literal() | ast.VarRef():
            text = _scalar(node)
        case ast.BareName():
            text = node.name
        case _:
            assert_never(node)
    return f"({text})" if strength < needs else text


# ------------------------------------------------------------------ JSON


def _options(options: ast.JsonObject | None, head: str, depth: int) -> str:
    if options is None:
        return ""
    return " OPTIONS " + _json(options, _column(head) + len(" OPTIONS "), 1, depth)


def _json(value: ast.JsonValue, column: int, after: int, depth: int) -> str:
    """A JSON value printed from `column`, followed on its line by `after` more characters."""
    compact = _json_compact(value)
    if column + len(compact) + after <= MAX_WIDTH:
        return compact
    inner = INDENT * (depth + 1)
    match value:
        case ast.JsonObject(pairs=pairs) if pairs:
            items = []
            for i, pair in enumerate(pairs):
                head = f"{inner}{pair.raw_key}: "
                comma = 1 if i + 1 < len(pairs) else 0
                items.append(head + _json(pair.value, len(head), comma, depth + 1))
            return "{\n" + ",\n".join(items) + "\n" + INDENT * depth + "}"
        case ast.JsonArray(items=values) if values:
            items = [
                inner + _json(v, len(inner), 1 if i + 1 < len(values) else 0, depth + 1)
                for i, v in enumerate(values)
            ]
            return "[\n" + ",\n".join(items) + "\n" + INDENT * depth + "]"
        case _:
            return compact


def _json_compact(value: ast.JsonValue) -> str:
    match value:
        case ast.JsonObject():
            pairs = (f"{p.raw_key}: {_json_compact(p.value)}" for p in value.pairs)
            return "{" + ", ".join(pairs) + "}"
        case ast.JsonArray():
            return "[" + ", ".join(_json_compact(v) for v in value.items) + "]"
        case ast.JsonString():
            return value.raw
        case ast.Literal() | ast.VarRef():
            return _scalar(value)
        case _:
            assert_never(value)
