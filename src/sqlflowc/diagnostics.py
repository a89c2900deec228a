"""Diagnostics: the Code enum, Diagnostic, CompileError and their text/JSON rendering.

Every user-facing error is a `Diagnostic` with a code, a span and a message. A pass collects
all the errors it finds in a `Reporter`; the driver stops after the pass
(`Reporter.raise_if_errors`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import field

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.source import SourceMap, Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Code(enum.Enum):
    """Every diagnostic the toolchain emits; each is documented in docs/diagnostics.md."""

    # SF00xx — syntax
    SYNTAX_ERROR = "SF0001"
    UNKNOWN_STATEMENT = "SF0002"
    MISSING_SEMICOLON = "SF0003"
    MISSING_END_IF = "SF0004"
    JSON_TRAILING_COMMA = "SF0005"
    INVALID_JSON = "SF0006"
    UNTERMINATED = "SF0007"
    UNEXPECTED_EOF = "SF0008"
    BAD_ENCODING = "SF0009"
    TRANSACTION_CONTROL = "SF0010"
    EMPTY_PIPELINE = "SF0011"
    # SF01xx — includes
    INCLUDE_NOT_FOUND = "SF0101"
    INCLUDE_CYCLE = "SF0102"
    INCLUDE_PYTHON = "SF0103"
    INCLUDE_NOT_PIPELINE = "SF0104"
    INCLUDE_LIMIT = "SF0105"
    # SF02xx — variables
    UNKNOWN_VARIABLE = "SF0201"
    VARIABLE_INJECTION = "SF0202"
    BAD_VARIABLE_REF = "SF0204"
    SET_SHADOWS_SETTING = "SF0205"
    UNUSED_VARIABLE = "SF0206"
    # SF03xx — conditionals
    BARE_WORD = "SF0301"
    NOT_BOOLEAN = "SF0302"
    BAD_COMPARISON = "SF0303"
    # SF04xx — SQL
    SQL_SYNTAX = "SF0401"
    SQL_OPAQUE = "SF0402"
    SQL_EMPTY = "SF0403"
    SQL_WRONG_KIND = "SF0404"
    # SF05xx — dependencies
    DEPENDENCY_CYCLE = "SF0501"
    UNKNOWN_TABLE = "SF0502"
    DUPLICATE_SOURCE = "SF0503"
    UNKNOWN_SOURCE = "SF0504"
    RESERVED_TABLE = "SF0505"
    # SF06xx — load modes
    MERGE_WITHOUT_KEY = "SF0601"
    KEY_NOT_ALLOWED = "SF0602"
    INCREMENTAL_CLAUSE = "SF0603"
    DUPLICATE_KEY = "SF0604"
    MODE_CONFLICT = "SF0605"
    INCREMENTAL_ON_LOAD = "SF0606"
    BAD_LOOKBACK = "SF0607"
    SOURCE_NULL_KEYS = "SF0608"
    SOURCE_DUPLICATE_KEYS = "SF0609"
    TARGET_DUPLICATE_KEYS = "SF0610"
    MACRO_OUTSIDE_INCREMENTAL = "SF0611"
    INCREMENTAL_WITHOUT_MACROS = "SF0612"
    # SF07xx — schemas: loads, drift, snapshots, columns
    SCHEMA_EXTRA_COLUMN = "SF0701"
    SCHEMA_MISSING_COLUMN = "SF0702"
    SCHEMA_TYPE_MISMATCH = "SF0703"
    SCHEMA_NARROWING = "SF0704"
    KEY_COLUMN_MISSING = "SF0705"
    INCREMENTAL_COLUMN_TYPE = "SF0706"
    TARGET_NOT_A_TABLE = "SF0707"
    SCHEMA_NOT_CHECKED = "SF0708"
    SCHEMA_DRIFT = "SF0709"
    SNAPSHOT_FILE = "SF0710"
    UNKNOWN_COLUMN = "SF0711"
    AMBIGUOUS_COLUMN = "SF0712"
    # SF08xx — Python UDFs
    UNKNOWN_UDF = "SF0801"
    UDF_ARITY = "SF0802"
    AMBIGUOUS_UDF = "SF0803"
    UDF_IMPORT_ERROR = "SF0804"
    BAD_UDF_SIGNATURE = "SF0805"
    DUPLICATE_UDF = "SF0806"
    UDF_MISUSE = "SF0807"
    UDF_FAILED = "SF0808"
    TABLE_UDF_OUTPUT = "SF0809"
    UDF_UNAVAILABLE = "SF0810"
    # SF09xx — connectors, profiles and run time
    UNKNOWN_CONNECTOR = "SF0901"
    BAD_CONNECTOR_PARAM = "SF0902"
    INPUT_NOT_FOUND = "SF0903"
    BAD_EXPORT = "SF0904"
    STEP_FAILED = "SF0905"
    PROFILE_ERROR = "SF0906"
    UNKNOWN_CONNECTION = "SF0907"
    EXPORT_FAILED = "SF0908"
    DATABASE_ERROR = "SF0909"
    BAD_PLAN = "SF0910"
    OBSOLETE_PARAM = "SF0911"
    HOOK_FAILED = "SF0912"
    FILE_ERROR = "SF0913"
    CONNECTOR_WARNING = "SF0914"
    RESUME_REFUSED = "SF0915"
    # SF10xx — engines
    ENGINE_UNSUPPORTED = "SF1001"
    ENGINE_UNAVAILABLE = "SF1002"
    INTERNAL = "SF0999"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message about the program, anchored at a span when there is one."""

    code: Code
    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    label: str = ""
    help: str = ""
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class CompileError(Exception):
    """Raised by the driver when a pass reported errors; carries every diagnostic so far and,
    when known, the SourceMap needed to render them."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: SourceMap | None = None) -> None:
        super().__init__("; ".join(d.message for d in diagnostics if d.is_error))
        self.diagnostics = tuple(diagnostics)
        self.sources = sources


class StepFailure(Exception):
    """A run-time failure its own code explains — a load's checks, a schema drift stop, a UDF,
    a connector: the step fails with this message, code, help and notes (never a traceback).
    One base class, so the executor catches them all without importing the modules that raise
    them (a run of plain SQL steps loads none of them)."""

    def __init__(
        self, message: str, code: Code | None = None, help: str = "", notes: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.help = help
        self.notes = notes


@dataclass(slots=True)
class Reporter:
    """Collects diagnostics across passes; `raise_if_errors` ends the compilation."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(
        self,
        code: Code,
        message: str,
        span: Span | None = None,
        *,
        label: str = "",
        help: str = "",
        notes: tuple[str, ...] = (),
    ) -> None:
        self.add(Diagnostic(code, message, span, Severity.ERROR, label, help, tuple(notes)))

    def warning(
        self,
        code: Code,
        message: str,
        span: Span | None = None,
        *,
        label: str = "",
        help: str = "",
        notes: tuple[str, ...] = (),
    ) -> None:
        self.add(Diagnostic(code, message, span, Severity.WARNING, label, help, tuple(notes)))

    def add(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def raise_if_errors(self, sources: SourceMap | None = None) -> None:
        if self.has_errors:
            raise CompileError(self.diagnostics, sources)


def shown(text: str, limit: int = 60) -> str:
    """`text` as it can be quoted in a one-line message: control characters escaped (`\\n`,
    `\\0`, `\\x1b`), clipped to `limit` characters with `…` when longer."""
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 32 or ord(ch) == 127 else ch)
        if size + len(piece) > limit:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def in_source_order(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics without a place first, then by file and position (stable otherwise)."""

    def key(d: Diagnostic) -> tuple[int, int, int]:
        return (-1, 0, 0) if d.span is None else (d.span.file_id, d.span.start, d.span.end)

    return sorted(diagnostics, key=key)


def render_text(diagnostics: Iterable[Diagnostic], sources: SourceMap) -> str:
    """Render diagnostics as `file:line:col: error[SFxxxx]: message` with the line and a caret."""
    return "".join(_render_one(d, sources) for d in in_source_order(diagnostics))


# How much of a message, and of a source line, a rendered diagnostic shows.
MESSAGE_LIMIT = 1000
LINE_LIMIT = 120


def _render_one(d: Diagnostic, sources: SourceMap) -> str:
    head = f"{d.severity.value}[{d.code.value}]: {_clipped(d.message)}\n"
    out: list[str] = []
    if d.span is None:
        out.append(head)
    else:
        src = sources[d.span.file_id]
        line, col = src.line_col(d.span.start)
        out.append(f"{src.path}:{line}:{col}: {head}")
        text = src.line_text(line)
        end_line, end_col = src.line_col(max(d.span.start, d.span.end - 1))
        width = (end_col - col + 1) if end_line == line else len(text) - col + 1
        shown, at, marks = source_excerpt(text, col - 1, max(1, width))
        gutter = " " * len(str(line))
        out.append(f"{gutter} |\n{line} | {shown}\n")
        label = f" {_clipped(d.label)}" if d.label else ""
        out.append(f"{gutter} | {' ' * at}{'^' * marks}{label}\n")
    if d.help:
        out.append(f"  = help: {_clipped(d.help)}\n")
    out.extend(f"  = note: {_clipped(n)}\n" for n in d.notes)
    return "".join(out)


def source_excerpt(line: str, start: int, width: int) -> tuple[str, int, int]:
    """A source line as shown under a diagnostic, and where its carets go: `(shown, column,
    carets)`. Tabs become spaces and other control characters escapes (`\\0`, `\\x1b`), so
    nothing in the file can act on the terminal; a line longer than `LINE_LIMIT` is cut to the
    part around the carets, `…` marking what is left out."""
    pieces = [" " if ch == "\t" else shown(ch) for ch in line]
    begin = sum(len(p) for p in pieces[:start])
    end = begin + sum(len(p) for p in pieces[start : start + width])
    text = "".join(pieces)
    if len(text) <= LINE_LIMIT:
        return text, begin, max(1, end - begin)
    end = min(end, begin + LINE_LIMIT - 20)  # the carets shown, with room around them
    left = max(0, min(begin - 20, len(text) - LINE_LIMIT))
    right = min(len(text), left + LINE_LIMIT)
    head = "…" if left > 0 else ""
    tail = "…" if right < len(text) else ""
    return head + text[left:right] + tail, begin - left + len(head), max(1, end - begin)


def _clipped(text: str) -> str:
    """A message part, control characters but line breaks escaped, cut at `MESSAGE_LIMIT`."""
    return "\n".join(shown(part, MESSAGE_LIMIT) for part in text.split("\n"))


def to_json(diagnostics: Iterable[Diagnostic], sources: SourceMap) -> list[dict[str, object]]:
    """Diagnostics as plain data (what `--format json` prints)."""
    rows: list[dict[str, object]] = []
    for d in in_source_order(diagnostics):
        row: dict[str, object] = {
            "severity": d.severity.value,
            "code": d.code.value,
            "message": d.message,
        }
        if d.span is not None:
            src = sources[d.span.file_id]
            line, col = src.line_col(d.span.start)
            end_line, end_col = src.line_col(d.span.end)
            row.update(file=src.path, line=line, column=col, end_line=end_line, end_column=end_col)
        if d.label:
            row["label"] = d.label
        if d.help:
            row["help"] = d.help
        if d.notes:
            row["notes"] = list(d.notes)
        rows.append(row)
    return rows


def render_json(diagnostics: Iterable[Diagnostic], sources: SourceMap) -> str:
    return json.dumps(to_json(diagnostics, sources), indent=2) + "\n"
