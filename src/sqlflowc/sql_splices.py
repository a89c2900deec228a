"""The splice guard: a value spliced into SQL text never changes the statement's structure.

`splice_error(text, splices)` checks a SQL text in which each `splices[i] = (start, end)` is a
value that was spliced in verbatim (the rest is the text as written). The text is read by
DuckDB's own tokenizer and parser (`duckdb.tokenize`, `extract_statements`), so nested `/* */`
comments, `$tag$...$tag$` strings and `E'\\''` escapes are read exactly as DuckDB will read them
when the statement runs. It is compared with the *written* text, in which each value is replaced
by a neutral word (`x`). The splice is an error when:

- a value spliced inside a string, dollar-quoted string, quoted name or comment does not stay
  inside it (it closes it, or a backslash in an `E'...'` string escapes its closing quote);
- a value spliced into bare SQL opens a string, quoted name or comment that runs past the value
  (or is never closed), or holds a `;` that ends the statement;
- a value is glued to the statement's first word (`SEL${rest}`), so it decides the statement's
  kind: a statement that starts with a value has no fixed kind to keep;
- any text as written changes how it is read (a string, comment or quoted name of the written
  text grows, shrinks or merges with another);
- DuckDB counts more than one statement in the text (when it cannot parse the text, its
  tokenizer's `;` tokens count).

A value that holds whole tokens of its own (`'a;b'`, `/* c */`, `"my col"`, `1 -- note` at the
end of a body) is fine. Text is checked with a `\\n;` appended, so a value ending in an
unterminated comment or string is caught even at the end of the text, and a trailing `--`
comment is not mistaken for one.

Most values are plain words or numbers between blanks or quotes: `is_inert` recognises, by the
value's characters and its two neighbours alone, a value that cannot change how anything is
read, and such values skip DuckDB (importing it costs more than a small compilation).

Used by the compiler (`passes/check_splices.py`, on every SQL body with a `${...}`) and by the
executor (secrets substituted into a plan's SQL at run time). `duckdb` is imported on first use.
"""

from __future__ import annotations

import bisect
import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FILLER = "x"
SENTINEL = "\n;"


class Kind(enum.Enum):
    """What a DuckDB token is, as far as the guard cares."""

    CODE = "code"
    SEMICOLON = ";"
    STRING = "string literal"
    DOLLAR = "dollar-quoted string"
    QUOTED_NAME = "quoted name"
    LINE_COMMENT = "`--` comment"
    BLOCK_COMMENT = "`/* */` comment"

    @property
    def opaque(self) -> bool:
        """Text inside it is not SQL: a value must not open, close or leave it."""
        return self not in (Kind.CODE, Kind.SEMICOLON)


class Problem(enum.Enum):
    LEAVES = "leaves"  # a value inside a string/comment/quoted name does not stay in it
    OPENS = "opens"  # a value in bare SQL opens a string/comment that runs past it
    ENDS_STATEMENT = "ends statement"  # a `;` in bare SQL
    CHANGES_KIND = "changes kind"  # glued to the statement's first word
    REREADS = "rereads"  # written text after the value is read differently
    STATEMENTS = "statements"  # DuckDB counts more than one statement
    NOT_TEXT = "not text"  # not valid UTF-8 (undecodable bytes from the command line)


@dataclass(frozen=True, slots=True)
class SpliceError:
    """Why splice `index` breaks the statement; `kind` is the token involved."""

    index: int
    problem: Problem
    kind: Kind = Kind.CODE
    first_word: str = ""  # CHANGES_KIND: the statement's first word as written ...
    became: str = ""  # ... and after splicing
    statements: int = 0  # STATEMENTS: how many DuckDB counts

    def message(self, name: str) -> str:
        """The diagnostic's message about the value of `name`."""
        what = f"the value of `{name}`"
        match self.problem:
            case Problem.LEAVES:
                return f"{what} does not stay inside the {self.kind.value} it is spliced into"
            case Problem.OPENS:
                return f"{what} opens a {self.kind.value} that runs past the value"
            case Problem.ENDS_STATEMENT:
                return f"{what} would end the SQL statement and start another"
            case Problem.CHANGES_KIND:
                return (
                    f"{what} changes the statement from {self.first_word.upper()} to "
                    f"{self.became.upper() or 'nothing'}"
                )
            case Problem.REREADS:
                return f"{what} changes how the SQL written after it is read"
            case Problem.STATEMENTS:
                return f"{what} turns the SQL into {self.statements} statements"
            case Problem.NOT_TEXT:
                return f"{what} is not valid UTF-8 text"

    def help(self) -> str:
        match self.problem:
            case Problem.LEAVES if self.kind in (Kind.STRING, Kind.DOLLAR):
                return (
                    "a value spliced into a quoted literal must not close it: double a `'` "
                    "inside the value (`O''Brien`), or pass the text without quotes"
                )
            case Problem.LEAVES:
                return f"keep the {self.kind.value}'s closing characters out of the value"
            case Problem.OPENS | Problem.REREADS:
                return (
                    "quote the reference in the SQL (`'${x}'`) and keep quotes and comment "
                    "markers out of the value"
                )
            case Problem.ENDS_STATEMENT | Problem.STATEMENTS:
                return "a value may contain `;` only inside a quoted literal"
            case Problem.CHANGES_KIND:
                return "a variable cannot change what kind of statement this is"
            case Problem.NOT_TEXT:
                return "pass the value as UTF-8 (check the terminal's or the file's encoding)"


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int  # exclusive; trailing blanks belong to no token
    kind: Kind


def splice_error(text: str, splices: Sequence[tuple[int, int]]) -> SpliceError | None:
    """The first way the spliced values break `text`'s structure, or None (see the module doc).

    `splices` are the values' `(start, end)` offsets in `text`, in order, not overlapping.
    """
    if all(is_inert(text, start, end) for start, end in splices):
        return None
    return duckdb_splice_error(text, splices)


def duckdb_splice_error(text: str, splices: Sequence[tuple[int, int]]) -> SpliceError | None:
    """`splice_error` without the shortcut for inert values: always asks DuckDB."""
    if not splices:
        return None
    for index, (start, end) in enumerate(splices):
        if not _is_utf8(text[start:end]):
            return SpliceError(index, Problem.NOT_TEXT)
    written, where = _written(text, splices)
    spliced_tokens = _tokens(text + SENTINEL)
    written_tokens = _tokens(written + SENTINEL)
    return (
        _per_value(text, splices, where, spliced_tokens, written_tokens)
        or _first_word(text, written, where, spliced_tokens, written_tokens)
        or _rereads(text, written, splices, where, spliced_tokens, written_tokens)
        or _statements(text, spliced_tokens)
    )


_INERT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_ .,:+-")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_PREFIXES = frozenset("eEbBnNxX")  # E'...', B'...', N'...', X'...'


def is_inert(text: str, start: int, end: int) -> bool:
    """True when the value `text[start:end]` cannot change how any SQL around it is read, by
    its characters and its neighbours alone (no DuckDB needed). Sound for every place a value
    can be: it holds only letters, digits and `_ .,:+-`, no `--`, and is not empty; inside a
    string, quoted name or comment nothing in it can end or extend that; in bare SQL nothing in
    it can start one. Its neighbours must not combine with it: no `$` beside it (a `$tag$`), no
    `-` beside a `-` at its edge (`--`), no word character beside it (glued to a word it could
    change the statement's first word, or make a template's `E'...'` a name and a plain
    string), and no `'` after an E, B, N or X (a string prefix: `0B'1'` is 0 and a bit
    string)."""
    value = text[start:end]
    if not value or "--" in value or not all(ch in _INERT or ch.isalpha() for ch in value):
        return False
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if "$" in (before, after) or _is_word(before) or _is_word(after):
        return False
    if (before == "-" and value[0] == "-") or (after == "-" and value[-1] == "-"):
        return False
    return not (after == "'" and value[-1] in _PREFIXES)


def _is_utf8(value: str) -> bool:
    """False for text with undecodable bytes (`surrogateescape`d from argv or the environment)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_word(ch: str) -> bool:
    """A character of a name or number (DuckDB reads any non-ASCII character as one)."""
    return ch in _WORD or not ch.isascii()


def _written(text: str, splices: Sequence[tuple[int, int]]) -> tuple[str, list[int]]:
    """The text as written, each value replaced by FILLER; where each filler starts in it."""
    parts: list[str] = []
    where: list[int] = []
    pos = size = 0
    for start, end in splices:
        parts.append(text[pos:start])
        size += start - pos
        where.append(size)
        parts.append(FILLER)
        size += len(FILLER)
        pos = end
    parts.append(text[pos:])
    return "".join(parts), where


def _tokens(text: str) -> list[_Token]:
    """DuckDB's tokens of `text`, with character offsets and extents."""
    import duckdb

    raw = duckdb.tokenize(text)
    if text.isascii():
        starts = [pos for pos, _ in raw]
    else:
        data = text.encode("utf-8")
        char_at = [0] * (len(data) + 1)
        offset = 0
        for i, ch in enumerate(text):
            width = len(ch.encode("utf-8"))
            for b in range(width):
                char_at[offset + b] = i
            offset += width
        char_at[len(data)] = len(text)
        starts = [char_at[min(pos, len(data))] for pos, _ in raw]
    tokens: list[_Token] = []
    for i, (start, (_, token_type)) in enumerate(zip(starts, raw, strict=True)):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        while end > start + 1 and text[end - 1] in " \t\n\r\f\v":
            end -= 1
        tokens.append(_Token(start, end, _kind(text, start, str(token_type))))
    return tokens


def _kind(text: str, start: int, token_type: str) -> Kind:
    head = text[start : start + 2]
    if token_type.endswith("comment"):
        return Kind.LINE_COMMENT if head == "--" else Kind.BLOCK_COMMENT
    if token_type.endswith("string_const"):
        return Kind.DOLLAR if head.startswith("$") else Kind.STRING
    if token_type.endswith("identifier") and head.startswith('"'):
        return Kind.QUOTED_NAME
    if token_type.endswith("operator") and head.startswith(";"):
        return Kind.SEMICOLON
    return Kind.CODE


def _at(tokens: list[_Token], starts: list[int], pos: int) -> int:
    """Index of the token holding offset `pos`, or -1 (between tokens)."""
    i = bisect.bisect_right(starts, pos) - 1
    return i if i >= 0 and pos < tokens[i].end else -1


def _per_value(
    text: str,
    splices: Sequence[tuple[int, int]],
    where: list[int],
    spliced: list[_Token],
    written: list[_Token],
) -> SpliceError | None:
    """Each value stays in the token it was spliced into, or opens nothing beyond itself."""
    s_starts = [t.start for t in spliced]
    w_starts = [t.start for t in written]
    for index, ((start, end), filler) in enumerate(zip(splices, where, strict=True)):
        w = _at(written, w_starts, filler)
        context = written[w].kind if w >= 0 else Kind.CODE
        if context.opaque and written[w].start != filler:
            # Spliced into a string, comment or quoted name: the token around the value must
            # be that one, ending where it ends as written (`E'${v}'` with v = `a\` does not).
            value = text[start:end]
            if not value.strip(" \t\n\r\f\v"):
                continue  # blanks: a newline ending a `--` comment is a re-read, found later
            # Blanks at the end of a token belong to no token, so they may trail the value.
            last = start + len(value.rstrip(" \t\n\r\f\v")) - 1
            s = _at(spliced, s_starts, start)
            closes = _in_text(written[w].end, splices, where)
            if (
                s < 0
                or spliced[s].kind is not context
                or text[min(closes, spliced[s].end) : max(closes, spliced[s].end)].strip()
                or _at(spliced, s_starts, last) != s
            ):
                return SpliceError(index, Problem.LEAVES, context)
            continue
        first = max(0, bisect.bisect_right(s_starts, start) - 1)
        for token in spliced[first:]:
            if token.start >= end:
                break
            if token.end <= start:
                continue
            if token.kind.opaque and (token.start < start or token.end > end):
                return SpliceError(index, Problem.OPENS, token.kind)
            if token.kind is Kind.SEMICOLON:
                return SpliceError(index, Problem.ENDS_STATEMENT, token.kind)
    return None


def _in_text(offset: int, splices: Sequence[tuple[int, int]], where: list[int]) -> int:
    """The offset in the spliced text of the written text's `offset` (not inside a filler)."""
    shift = 0
    for (start, end), filler in zip(splices, where, strict=True):
        if filler >= offset:
            break
        shift += (end - start) - len(FILLER)
    return offset + shift


def _first_word(
    text: str,
    written: str,
    where: list[int],
    spliced: list[_Token],
    written_tokens: list[_Token],
) -> SpliceError | None:
    """A value glued to the first word as written would decide the statement's kind."""
    head = next((t for t in written_tokens if not t.kind.opaque), None)
    if head is None:
        return None
    for index, filler in enumerate(where):
        if filler == head.start:
            return None  # the statement starts with a value: it has no fixed kind
        if head.start < filler < head.end:
            became = next((t for t in spliced if not t.kind.opaque), None)
            word = text[became.start : became.end] if became is not None else ""
            return SpliceError(
                index,
                Problem.CHANGES_KIND,
                first_word=written[head.start : filler],
                became=word,
            )
    return None


def _rereads(
    text: str,
    written: str,
    splices: Sequence[tuple[int, int]],
    where: list[int],
    spliced: list[_Token],
    written_tokens: list[_Token],
) -> SpliceError | None:
    """Every character as written is read the same way: code stays code, and each string,
    comment or quoted name of the written text is one string, comment or quoted name of the
    spliced text (not cut short, extended or merged with another)."""
    s_cursor = _Cursor(spliced)
    w_cursor = _Cursor(written_tokens)
    w_to_s: dict[int, int] = {}
    s_to_w: dict[int, int] = {}
    # Segments of written text: (offset in text, offset in written, length).
    segments: list[tuple[int, int, int]] = []
    pos = 0
    for (start, end), filler in zip(splices, where, strict=True):
        segments.append((pos, filler - (start - pos), start - pos))
        pos = end
    segments.append((pos, len(written) - (len(text) - pos), len(text) - pos))
    segments.append((len(text), len(written), len(SENTINEL)))
    for index, (t_off, w_off, size) in enumerate(segments):
        for i in range(size):
            s = s_cursor.opaque_at(t_off + i)
            w = w_cursor.opaque_at(w_off + i)
            same = (s < 0 and w < 0) or (
                s >= 0
                and w >= 0
                and w_to_s.setdefault(w, s) == s
                and s_to_w.setdefault(s, w) == w
                and spliced[s].kind is written_tokens[w].kind
            )
            if not same:
                return SpliceError(max(0, min(index, len(splices)) - 1), Problem.REREADS)
    return None


class _Cursor:
    """`opaque_at(pos)` for increasing `pos`: the opaque token holding it, or -1."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def opaque_at(self, pos: int) -> int:
        tokens = self.tokens
        while self.i + 1 < len(tokens) and tokens[self.i + 1].start <= pos:
            self.i += 1
        if not tokens:
            return -1
        token = tokens[self.i]
        return self.i if token.kind.opaque and token.start <= pos < token.end else -1


def _statements(text: str, tokens: list[_Token]) -> SpliceError | None:
    """DuckDB's statement count: its parser's when it parses the text, else its `;` tokens."""
    import duckdb

    try:
        count = len(_parser().extract_statements(text))
    except (duckdb.Error, UnicodeDecodeError):
        # UnicodeDecodeError: DuckDB 2.0.1 cuts some error messages inside a UTF-8 character
        # (`SELECT B'é'`).
        count = 0
        pending = False
        for token in tokens[:-1]:  # the last token is the sentinel `;`
            if token.kind is Kind.SEMICOLON:
                count += pending
                pending = False
            elif token.kind not in (Kind.LINE_COMMENT, Kind.BLOCK_COMMENT):
                pending = True
        count += pending
    if count > 1:
        return SpliceError(0, Problem.STATEMENTS, statements=count)
    return None


@functools.cache
def _parser() -> Any:
    """One in-memory connection, used only for its parser."""
    import duckdb

    return duckdb.connect()
