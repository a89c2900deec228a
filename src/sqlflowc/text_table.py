"""Aligned text tables for the CLI's readable output (`udf list`, `schema ...`).

`format_table(head, rows)` pads every column to its widest cell, two spaces apart; columns in
`right` are right-aligned (numbers); trailing spaces are trimmed, so the last column may be
as long as it likes.

>>> print("\\n".join(format_table(("NAME", "N"), [("a", "1"), ("bb", "10")], right={1})))
NAME   N
a      1
bb    10
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["format_table"]


def format_table(
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    right: frozenset[int] | set[int] = frozenset(),
) -> list[str]:
    """The table's lines: the heading, then one line per row."""
    body = [list(r) for r in rows]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]

    def fmt(line: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [fmt(head), *(fmt(line) for line in body)]
