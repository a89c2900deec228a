"""Lark knows the grammar here: the LALR parser is built once, and `parse_text` runs it.

`parse_text` reports several syntax errors per file: after an error the offending statement is
blanked out (offsets kept) and the text parsed again. What each Lark exception means to the user
(named messages for the common mistakes) is `syntax_errors.diagnose`; these two modules are the
only ones that know Lark.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken

from sqlflowc.diagnostics import Code, Diagnostic
from sqlflowc.syntax.syntax_errors import diagnose

MAX_SYNTAX_ERRORS = 10


def grammar_text() -> str:
    """The grammar: shipped inside the package, or read from the source checkout."""
    packaged = resources.files("sqlflowc").joinpath("grammar/sqlflow.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[3] / "grammar" / "sqlflow.lark"
    return checkout.read_text(encoding="utf-8")


@dataclass(slots=True)
class _CommentSink:
    tokens: list[Token]


_sink = _CommentSink([])


@functools.cache
def build_parser(strict: bool = False) -> Lark:
    """The LALR parser (cached on disk by Lark, so start-up skips the grammar analysis)."""
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        strict=strict,
        propagate_positions=True,
        maybe_placeholders=True,
        cache=not strict,
        lexer_callbacks={"COMMENT": _sink.tokens.append},
    )


def ends_in_line_comment(sql: str) -> bool:
    """Whether a SQL body ends inside a `--` comment, read as the grammar reads SQL bodies
    (strings, dollar quotes, nested comments): a `;` right after it would be in the comment."""
    match = _sql_body().match(sql + ";")
    return match is not None and match.end() > len(sql)


@functools.cache
def _sql_body() -> re.Pattern[str]:
    return re.compile(build_parser().get_terminal("SQL_BODY").pattern.to_regexp())


@functools.cache
def sql_verbs() -> tuple[str, ...]:
    """The SQL verbs a statement may start with: the words of the grammar's `SQL_VERB`."""
    pattern = build_parser().get_terminal("SQL_VERB").pattern.to_regexp()
    words = re.search(r"\(\?:((?:[a-z]+\|)+[a-z]+)\)", pattern)
    assert words is not None, "SQL_VERB starts with an alternation of verbs"
    return tuple(word.upper() for word in words.group(1).split("|"))


@dataclass(frozen=True, slots=True)
class ParseResult:
    tree: Tree[Token] | None
    comments: tuple[Token, ...]
    diagnostics: tuple[Diagnostic, ...]


def parse_text(text: str, file_id: int) -> ParseResult:
    """Parse one file; on syntax errors return every error found (up to MAX_SYNTAX_ERRORS)."""
    parser = build_parser()
    diagnostics: list[Diagnostic] = []
    work = text
    last_pos = -1
    while True:
        _sink.tokens.clear()
        try:
            tree = parser.parse(work)
        except UnexpectedInput as err:
            diag, pos = diagnose(err, work, file_id)
            if pos <= last_pos or (diagnostics and _is_blanking_artifact(err, diag, last_pos)):
                break
            if not (diagnostics and _is_cascade(err)):
                diagnostics.append(diag)
            if diag.code is Code.MISSING_SEMICOLON and isinstance(err, UnexpectedToken):
                # Keep the token that should have followed the `;` (it may close an IF).
                last_pos = pos
                work = _blank_statement(work, pos, keep_from=pos)
                continue
            if len(diagnostics) >= MAX_SYNTAX_ERRORS or _ends_parsing(diag, work):
                break
            last_pos = pos
            work = _blank_statement(work, pos)
            continue
        if diagnostics:
            break
        return ParseResult(tree, tuple(_sink.tokens), ())
    return ParseResult(None, (), tuple(diagnostics))


def _ends_parsing(diag: Diagnostic, text: str) -> bool:
    """After a missing END IF, an unclosed dollar quote or an unclosed `/*`, the rest of the file
    is inside what was left open: nothing after it can be read."""
    if diag.code is Code.MISSING_END_IF:
        return True
    if diag.code is not Code.UNTERMINATED or diag.span is None:
        return False
    opener = text[diag.span.start : diag.span.start + 2]
    return (opener == "/*" and "nested" not in diag.message) or opener.startswith("$")


_BLOCK_OPENER = re.compile(r"\b(?:then|else)\b", re.IGNORECASE)
_NOT_NEWLINE = re.compile(r"[^\n]")


def _is_blanking_artifact(err: UnexpectedInput, diag: Diagnostic, last_pos: int) -> bool:
    """An end of file that comes only from blanking the statement of an earlier error (`IF THEN
    END IF;` left `IF THEN`): nothing after that error is left to report."""
    at_end = isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    )
    return (
        at_end
        and diag.code in (Code.UNEXPECTED_EOF, Code.MISSING_SEMICOLON)
        and diag.span is not None
        and diag.span.start < last_pos
    )


def _is_cascade(err: UnexpectedInput) -> bool:
    """An orphaned `ELSE`/`END IF` after an earlier error: its IF was blanked out with it."""
    return isinstance(err, UnexpectedToken) and err.token.type in {"END_IF", "ELSE_IF", "ELSE"}


def _blank_statement(text: str, pos: int, keep_from: int | None = None) -> str:
    """Replace the statement around `pos` with spaces (newlines kept) so parsing can go on.

    The statement starts after the previous `;` — or after an enclosing `THEN`/`ELSE`, so the
    IF block around a broken statement survives and is not reported again.
    """
    start = text.rfind(";", 0, pos) + 1
    openers = [m.end() for m in _BLOCK_OPENER.finditer(text, start, pos)]
    if openers:
        start = openers[-1]
    end = text.find(";", pos)
    end = len(text) if end < 0 else end + 1
    if keep_from is not None:
        end = keep_from
    return text[:start] + _NOT_NEWLINE.sub(" ", text[start:end]) + text[end:]
