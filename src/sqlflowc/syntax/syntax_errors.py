"""What a Lark syntax error means to the user: `diagnose` turns each exception into a
diagnostic with a named message for the common mistakes (a missing `;`, `MERGE` without `KEY`, a
missing `END IF`, `//` comments, Python operators in a condition, a misspelt keyword (a
statement's first word: SF0002; any other keyword the parser expects there: "did you mean"), an
unterminated string, dollar quote or comment), pointing at the right character: an unexpected end
of file at the last non-blank character, never at line 0.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from sqlflowc.diagnostics import Code, Diagnostic, shown
from sqlflowc.ir.ast import STATEMENT_KEYWORDS
from sqlflowc.source import Span
from sqlflowc.suggest import closest, did_you_mean

_STATEMENT_START_TERMINALS = {*STATEMENT_KEYWORDS, "SQL_VERB"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _sql_verbs() -> tuple[str, ...]:
    from sqlflowc.syntax.parser import sql_verbs  # the parser imports this module

    return sql_verbs()


def diagnose(err: UnexpectedInput, text: str, file_id: int) -> tuple[Diagnostic, int]:
    """The diagnostic for a Lark error in `text`, and the offset parsing failed at."""
    pos = err.pos_in_stream or 0
    if text.startswith("//", pos):
        return Diagnostic(
            Code.SYNTAX_ERROR,
            "`//` does not start a comment",
            Span(file_id, pos, pos + 2),
            label="not a comment",
            help="comments are `-- to the end of the line` or `/* block */`",
        ), pos
    if isinstance(err, UnexpectedCharacters):
        return _unexpected_characters(err, text, file_id), err.pos_in_stream or 0
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            return _unexpected_end(set(err.expected), text, file_id, _open_if(err)), len(text)
        return _unexpected_token(err, text, file_id), tok.start_pos or 0
    if isinstance(err, UnexpectedEOF):
        return _unexpected_end(set(err.expected), text, file_id, _open_if(err)), len(text)
    raise AssertionError(f"unhandled parser error {type(err).__name__}")  # pragma: no cover


def _end_span(text: str, file_id: int) -> Span:
    """A span on the last non-blank character: where an unexpected end of file is reported."""
    end = len(text.rstrip())
    return Span(file_id, max(0, end - 1), max(1, end))


def _prev_token_end(text: str, pos: int) -> int:
    """Offset just after the last non-blank character before `pos` (skips -- comments)."""
    i = pos
    while i > 0:
        line_start = text.rfind("\n", 0, i) + 1
        segment = text[line_start:i]
        dash = _comment_start(segment)
        if dash >= 0:
            segment = segment[:dash]
        stripped = segment.rstrip()
        if stripped:
            return line_start + len(stripped)
        i = line_start - 1
    return 0


def _comment_start(segment: str) -> int:
    quote = ""
    for i, ch in enumerate(segment):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif segment.startswith("--", i):
            return i
    return -1


def _open_if(err: UnexpectedInput) -> int | None:
    """Where the innermost IF still open when the parser stopped begins (from its stack)."""
    state = getattr(err, "state", None)
    stack = getattr(state, "value_stack", None) or ()
    for value in reversed(stack):
        if isinstance(value, Token) and value.type == "IF" and value.start_pos is not None:
            return value.start_pos
    return None


def _unexpected_end(
    expected: set[str], text: str, file_id: int, open_if: int | None = None
) -> Diagnostic:
    span = _end_span(text, file_id)
    if "END_IF" in expected:
        if open_if is not None:
            return Diagnostic(
                Code.MISSING_END_IF,
                "missing `END IF`: this IF is still open at the end of the file",
                Span(file_id, open_if, open_if + 2),
                label="never closed",
                help="close every `IF ... THEN` with `END IF;`",
            )
        return Diagnostic(
            Code.MISSING_END_IF,
            "missing `END IF` before the end of the file",
            span,
            label="the file ends inside an IF block",
            help="close every `IF ... THEN` with `END IF;`",
        )
    if "SEMICOLON" in expected:
        return Diagnostic(
            Code.MISSING_SEMICOLON,
            "missing `;` at the end of the statement",
            span,
            label="expected `;` here",
            help="every statement ends with `;`",
        )
    return Diagnostic(
        Code.UNEXPECTED_EOF,
        "unexpected end of file",
        span,
        label=f"expected {_describe_expected(expected)}",
    )


def _unexpected_token(err: UnexpectedToken, text: str, file_id: int) -> Diagnostic:
    tok = err.token
    # `accepts` is what the parser would really take here (LALR lookaheads are wider).
    expected = set(getattr(err, "accepts", None) or err.expected)
    start = tok.start_pos or 0
    span = Span(file_id, start, tok.end_pos or start + 1)
    found = str(tok)
    if tok.type == "RBRACE" and _previous_char(text, start) == ",":
        comma = _prev_token_end(text, start) - 1
        return Diagnostic(
            Code.JSON_TRAILING_COMMA,
            "trailing comma in JSON object",
            Span(file_id, comma, comma + 1),
            label="remove this comma",
            help="JSON does not allow a comma after the last entry",
        )
    if tok.type == "RSQB" and _previous_char(text, start) == ",":
        comma = _prev_token_end(text, start) - 1
        return Diagnostic(
            Code.JSON_TRAILING_COMMA,
            "trailing comma in JSON array",
            Span(file_id, comma, comma + 1),
            label="remove this comma",
        )
    if expected & _STATEMENT_START_TERMINALS and tok.type == "NAME":
        return _unknown_statement(found, span)
    if tok.type in _OPAQUE_TERMINALS:
        # The fallback lexer took the rest of the statement as SQL: point at its first word.
        return _stray_text(found, start, expected, file_id)
    if "THEN" in expected and tok.type in _STATEMENT_START_TERMINALS | {"END_IF"}:
        at = _prev_token_end(text, start)
        return Diagnostic(
            Code.SYNTAX_ERROR,
            "missing `THEN` after the IF condition",
            Span(file_id, max(0, at - 1), max(1, at)),
            label="expected `THEN` after this",
            help="write `IF condition THEN`",
        )
    if "SEMICOLON" in expected and tok.type in _STATEMENT_START_TERMINALS | {"END_IF", "ELSE_IF"}:
        at = _prev_token_end(text, start)
        return Diagnostic(
            Code.MISSING_SEMICOLON,
            "missing `;` at the end of the statement",
            Span(file_id, max(0, at - 1), max(1, at)),
            label="expected `;` after this",
            help=f"`{shown(found.upper())}` comes before this statement has ended",
        )
    if tok.type in {"SQ_STRING", "DQ_STRING"} and "NAME" in expected:
        load = _LOAD_FROM.search(text, text.rfind(";", 0, start) + 1, start)
        if load is not None:
            return _load_from_file(load.group(1), found, span)
    if _in_json(expected):
        return Diagnostic(
            Code.INVALID_JSON,
            f"invalid JSON: unexpected `{shown(found)}`",
            span,
            label=f"expected {_describe_expected(expected)}",
            help="PARAMS and OPTIONS take JSON: double-quoted keys and strings, no trailing commas",
        )
    return Diagnostic(
        Code.SYNTAX_ERROR,
        f"unexpected `{shown(found)}`",
        span,
        label=f"expected {_describe_expected(expected)}",
        help=_keyword_typo(found, expected),
    )


# `LOAD table FROM ` right before the token (the statement so far).
_LOAD_FROM = re.compile(r"\bload\s+(\S+)\s+from\s*\Z", re.IGNORECASE)
_FORMATS = {".csv": "CSV", ".parquet": "PARQUET", ".json": "JSON", ".jsonl": "JSON"}


def _load_from_file(table: str, written: str, span: Span) -> Diagnostic:
    """`LOAD t FROM 'file.csv'`: LOAD reads a SOURCE; say how to declare one for the file."""
    path = written[1:-1]
    kind = next((k for ext, k in _FORMATS.items() if path.lower().endswith(ext)), "CSV")
    stem = re.sub(r"[^a-z0-9_]+", "_", Path(path).stem.lower()).strip("_") or "file"
    source = f"{stem if stem[0].isalpha() else 'src_' + stem}_{kind.lower()}"
    return Diagnostic(
        Code.SYNTAX_ERROR,
        "LOAD reads a SOURCE, not a file",
        span,
        label="expected the name of a SOURCE",
        help=f"declare the file as a source first: `SOURCE {source} TYPE {kind} "
        f'PARAMS {{"path": {json.dumps(path)}}};` then `LOAD {shown(table)} FROM {source};`',
    )


def _unexpected_characters(err: UnexpectedCharacters, text: str, file_id: int) -> Diagnostic:
    pos = err.pos_in_stream or 0
    allowed = set(err.allowed or ())
    ch = text[pos] if pos < len(text) else ""
    word_match = _WORD.match(text, pos)
    if text.startswith("/*", pos):
        return _block_comment(text, pos, file_id)
    dollar = _DOLLAR_QUOTE.match(text, pos)
    if dollar is not None:
        tag = dollar.group(0)
        return Diagnostic(
            Code.UNTERMINATED,
            "unterminated dollar-quoted string",
            Span(file_id, pos, dollar.end()),
            label=f"this `{tag}` is never closed",
            help=f"end the string with `{tag}` before the statement's `;`",
        )
    if ch in "'\"":
        what = "string" if ch == "'" else "quoted name or string"
        end = text.find("\n", pos)
        return Diagnostic(
            Code.UNTERMINATED,
            f"unterminated {what}",
            Span(file_id, pos, end if end > pos else pos + 1),
            label="this is never closed",
            help="close it before the statement's `;`",
        )
    if word_match and allowed & _STATEMENT_START_TERMINALS:
        return _unknown_statement(word_match.group(0), Span(file_id, pos, word_match.end()))
    if word_match:
        word = word_match.group(0)
        return Diagnostic(
            Code.SYNTAX_ERROR,
            f"unexpected `{shown(word)}`",
            Span(file_id, pos, word_match.end()),
            label=f"expected {_describe_expected(allowed)}",
            help=_keyword_typo(word, allowed),
        )
    return Diagnostic(
        Code.SYNTAX_ERROR,
        f"unexpected character `{shown(ch)}`" if ch else "unexpected end of file",
        Span(file_id, pos, pos + 1),
        label=f"expected {_describe_expected(allowed)}",
    )


# A dollar quote's opening tag, as the grammar reads it (`$$`, `$tag$`).
_DOLLAR_QUOTE = re.compile(
    r"\$(?:[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)?\$"
)
# How deep the grammar reads nested `/* */` comments.
MAX_COMMENT_NESTING = 8


def _block_comment(text: str, pos: int, file_id: int) -> Diagnostic:
    """A `/*` the grammar could not read: never closed, or nested too deep."""
    depth = deepest = 0
    i = pos
    while i < len(text) - 1:
        pair = text[i : i + 2]
        if pair == "/*":
            depth += 1
            deepest = max(deepest, depth)
            i += 2
        elif pair == "*/":
            depth -= 1
            i += 2
            if depth == 0:
                return Diagnostic(
                    Code.UNTERMINATED,
                    f"block comment nested {deepest} deep",
                    Span(file_id, pos, pos + 2),
                    label=f"`/* */` comments nest at most {MAX_COMMENT_NESTING} deep",
                    help="close the inner comments earlier, or use `--` comments",
                )
        else:
            i += 1
    end = text.find("\n", pos)
    return Diagnostic(
        Code.UNTERMINATED,
        "unterminated block comment",
        Span(file_id, pos, end if end > pos else pos + 1),
        label="this is never closed",
        help="`/* */` comments nest: each `/*` needs its own `*/`"
        if deepest > 1
        else "close it before the statement's `;`",
    )


_OPAQUE_TERMINALS = {"SQL_BODY", "EXPORT_QUERY", "SQL_COLUMNS"}
_STRAY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|&&|\|\||!(?!=)|\S")


def _stray_text(found: str, start: int, expected: set[str], file_id: int) -> Diagnostic:
    match = _STRAY.match(found)
    word = match.group(0) if match else found[:1]
    span = Span(file_id, start, start + len(word))
    help_text = ""
    if word in {"&&", "||", "!"}:
        help_text = "conditions use AND, OR and NOT"
    elif not word.isascii():
        help_text = 'names are ASCII letters, digits and _; quote other names: "café"'
    return Diagnostic(
        Code.SYNTAX_ERROR,
        f"unexpected `{shown(word)}`",
        span,
        label=f"expected {_describe_expected(expected)}",
        help=help_text,
    )


def _unknown_statement(word: str, span: Span) -> Diagnostic:
    candidates = [*STATEMENT_KEYWORDS, *_sql_verbs()]
    close = closest(word, candidates, cutoff=_KEYWORD_CUTOFF)
    return Diagnostic(
        Code.UNKNOWN_STATEMENT,
        f"unknown statement `{shown(word)}`",
        span,
        label="not a SQLFlow statement or a known SQL statement",
        help=f"did you mean `{close}`?"
        if close
        else "statements start with "
        + ", ".join(STATEMENT_KEYWORDS)
        + " or a SQL verb such as INSERT",
    )


# The keywords a terminal of the grammar stands for, when it is not named like its keyword.
_TERMINAL_KEYWORDS = {
    "MODE_KIND": ("REPLACE", "APPEND", "MERGE", "UPSERT", "INCREMENTAL"),
    "KEY_WORD": ("KEY",),
    "END_IF": ("END IF",),
    "ELSE_IF": ("ELSE IF",),
}


def _keyword_typo(word: str, expected: set[str]) -> str:
    """`did you mean `FROM`?` when `word` is a misspelling of a keyword the parser expects
    here (`LOAD o FORM o`, `MODE MERG`), else the empty string."""
    if not _WORD.fullmatch(word):
        return ""
    keywords: list[str] = []
    for term in expected:
        if term in _TERMINAL_KEYWORDS:
            keywords.extend(_TERMINAL_KEYWORDS[term])
        elif term.isalpha() and term.isupper() and term not in _TERMINAL_NAMES:
            keywords.append(term)  # an inline keyword terminal, named like the keyword
    return did_you_mean(word, sorted(keywords), cutoff=_KEYWORD_CUTOFF)


_KEYWORD_CUTOFF = 0.7  # as for a misspelt statement keyword: a wrong guess misleads


def _previous_char(text: str, pos: int) -> str:
    end = _prev_token_end(text, pos)
    return text[end - 1] if end > 0 else ""


def _in_json(expected: set[str]) -> bool:
    return bool(expected & {"RBRACE", "COLON", "LBRACE", "RSQB"}) and "NAME" not in expected


_TERMINAL_NAMES = {
    "SEMICOLON": "`;`",
    "NAME": "a name",
    "QUOTED_IDENT": "a quoted name",
    "SQ_STRING": "a string",
    "DQ_STRING": "a string",
    "NUMBER": "a number",
    "VAR_REF": "a ${variable}",
    "SQL_BODY": "a SQL query",
    "EXPORT_QUERY": "a query or table name",
    "SQL_COLUMNS": "a column list",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "EQUAL": "`=`",
    "DOT": "`.`",
    "COMP_OP": "a comparison",
    "MODE_KIND": "REPLACE, APPEND, MERGE, UPSERT or INCREMENTAL",
    "KEY_WORD": "KEY",
    "END_IF": "END IF",
    "ELSE_IF": "ELSE IF",
    "SQL_VERB": "a statement",
}


_FIRST = ("SEMICOLON", "THEN", "AS")


def _describe_expected(expected: set[str]) -> str:
    names: list[str] = []
    for term in sorted(
        expected, key=lambda t: (t not in _FIRST, _FIRST.index(t) if t in _FIRST else 0, t)
    ):
        if term in _TERMINAL_NAMES:
            label = _TERMINAL_NAMES[term]
        elif term.isalpha() and term.isupper():
            label = term  # an inline keyword terminal, named like the keyword
        else:
            continue
        if label not in names:
            names.append(label)
    if not names:
        return "something else"
    if len(names) > 6:
        names = [*names[:6], "..."]
    return " or ".join(names)
