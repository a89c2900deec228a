"""Substituting `${...}` placeholders in a text: secrets in a plan's SQL at run time, profile
connection values. Plain text work with no dependency, so the runtime imports it without the
compiler's IR (`syntax/varref.py` reads references for the compiler and re-exports these).

>>> expand("a ${x} b ${y}", {"x": "1"}.get)
'a 1 b ${y}'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["expand", "expand_with_spans", "substituted"]


def expand(text: str, value_of: Callable[[str], str | None]) -> str:
    """Replace each `${inner}` by `value_of(inner)` in one left-to-right pass (a value is never
    expanded again); None keeps the reference as written."""
    return expand_with_spans(text, value_of)[0]


def expand_with_spans(
    text: str, value_of: Callable[[str], str | None]
) -> tuple[str, list[tuple[int, int, str]]]:
    """`expand`, and where each value went: `(start, end, inner)` in the result."""
    out: list[str] = []
    spans: list[tuple[int, int, str]] = []
    size = pos = 0
    while (start := text.find("${", pos)) >= 0:
        end = text.find("}", start + 2)
        if end < 0:
            break
        out.append(text[pos:start])
        size += start - pos
        inner = text[start + 2 : end]
        value = value_of(inner)
        if value is None:
            # Not ours: keep the `${` and look again just after it, so an unclosed `${` in
            # some other text cannot hide a reference that follows.
            out.append("${")
            size += 2
            pos = start + 2
            continue
        out.append(value)
        spans.append((size, size + len(value), inner))
        size += len(value)
        pos = end + 1
    out.append(text[pos:])
    return "".join(out), spans


def substituted(value: Any, substitute: Callable[[str], str]) -> Any:
    """`value` (parameters, options: JSON data) with `substitute` applied to every string in it.

    >>> substituted({"path": "${dir}/a.csv", "args": [1, "${n}"]}, lambda s: expand(s, "x".format))
    {'path': 'x/a.csv', 'args': [1, 'x']}
    """
    if isinstance(value, str):
        return substitute(value)
    if isinstance(value, Mapping):
        return {k: substituted(v, substitute) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substituted(v, substitute) for v in value]
    return value
