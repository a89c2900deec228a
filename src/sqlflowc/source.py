"""Source files and spans.

Every IR node carries a `Span` (file id plus byte offsets into the file's text); line and column
are computed only when a diagnostic is rendered.
"""

from __future__ import annotations

import bisect
from dataclasses import field
from pathlib import Path

from sqlflowc.lean_dataclass import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range `[start, end)` in one source file."""

    file_id: int
    start: int
    end: int

    def to(self, other: Span) -> Span:
        """The span covering both `self` and `other` (same file)."""
        return Span(self.file_id, min(self.start, other.start), max(self.end, other.end))

    def shifted(self, offset: int, length: int | None = None) -> Span:
        """A sub-span starting `offset` characters into this one."""
        start = self.start + offset
        end = self.end if length is None else start + length
        return Span(self.file_id, start, max(start, end))

    def inner(self) -> Span:
        """The span inside a quoted literal (without its quotes)."""
        return Span(self.file_id, self.start + 1, max(self.start + 1, self.end - 1))


@dataclass(slots=True)
class SourceFile:
    """One file's text with a line-start index for line/column lookup."""

    path: str
    text: str
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._line_starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                self._line_starts.append(i + 1)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset; clamped to the text."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def offset(self, line: int, col: int) -> int:
        """Character offset of a 1-based (line, column)."""
        line = max(1, min(line, len(self._line_starts)))
        return min(self._line_starts[line - 1] + max(col, 1) - 1, len(self.text))

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline."""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]


class SourceMap:
    """All files of one compilation, addressed by a small integer id."""

    def __init__(self) -> None:
        self._files: list[SourceFile] = []
        self._by_path: dict[str, int] = {}

    def add(self, path: str | Path, text: str) -> int:
        """Register a file and return its id (re-adding a path returns the same id)."""
        key = str(path)
        if key in self._by_path:
            return self._by_path[key]
        self._files.append(SourceFile(key, text))
        self._by_path[key] = len(self._files) - 1
        return len(self._files) - 1

    def __getitem__(self, file_id: int) -> SourceFile:
        return self._files[file_id]

    def path(self, span: Span) -> str:
        return self._files[span.file_id].path

    def text(self, span: Span) -> str:
        return self._files[span.file_id].text[span.start : span.end]

    def line_col(self, span: Span) -> tuple[int, int]:
        return self._files[span.file_id].line_col(span.start)

    def location(self, span: Span) -> str:
        """`path:line:col` of the start of a span."""
        line, col = self.line_col(span)
        return f"{self.path(span)}:{line}:{col}"
