"""`${name}` / `${name|default}` references: where they are in a text and what they name.

One module for the three places that read references:
- the compiler (`make_template`, `parse_var_ref`): a reference ends at the first `}` outside
  quotes in its default and may not span lines; a malformed or unterminated one is reported;
- profile connection values (`profiles.resolve_connection`) and secret placeholders in a plan
  (`runtime/executor.py`) substitute with `expand` (`expand_with_spans` also says where each
  value went), which reads a reference from `${` to the
  next `}` and leaves the rest of the text alone at an unterminated `${`.
`split_ref` reads the inside of a reference the same way for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.source import Span

if TYPE_CHECKING:  # imported where used: the runtime's `expand` needs no IR
    from sqlflowc.ir import ast

_VAR_START = re.compile(r"\$\{")
_VAR_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")


@dataclass(frozen=True, slots=True)
class RefParts:
    """The inside of a reference: `name|default`."""

    name: str  # as written before `|` (surrounding blanks included)
    default: str | None  # after `|`, stripped and without its quotes; None without `|`
    quoted: bool  # the default was written in quotes (`${x|'10'}` is the text 10)


def split_ref(inner: str) -> RefParts:
    """`split_ref(" x | 'a b' ")` → `RefParts(name=" x ", default="a b", quoted=True)`."""
    name, bar, rest = inner.partition("|")
    if not bar:
        return RefParts(name, None, False)
    written = rest.strip()
    quoted = len(written) >= 2 and written[0] == written[-1] and written[0] in "'\""
    return RefParts(name, written[1:-1] if quoted else written, quoted)


def parse_var_ref(raw: str, span: Span, reporter: Reporter) -> ast.VarRef | None:
    """`${name}` / `${name|default}` → VarRef; a malformed reference is reported."""
    from sqlflowc.ir import ast

    parts = split_ref(raw[2:-1])
    match = _VAR_NAME.fullmatch(parts.name)
    if match is None:
        reporter.error(
            Code.BAD_VARIABLE_REF,
            f"malformed variable reference `{raw}`",
            span,
            label="expected ${name} or ${name|default}",
        )
        return None
    return ast.VarRef(name=match.group(1), default=parts.default, raw=raw, span=span)


def make_template(text: str, span: Span, reporter: Reporter) -> ast.Template:
    """Find the `${...}` references in a text (SQL body, URI, JSON string)."""
    from sqlflowc.ir import ast

    refs: list[ast.VarRef] = []
    offsets: list[int] = []
    after = 0  # a `${` inside a reference's default belongs to that reference
    for m in _VAR_START.finditer(text):
        if m.start() < after:
            continue
        end = ref_end(text, m.start())
        if end < 0:
            reporter.error(
                Code.BAD_VARIABLE_REF,
                "unterminated variable reference `${`",
                span.shifted(m.start(), 2),
                label="no closing `}`",
            )
            continue
        after = end
        raw = text[m.start() : end]
        ref = parse_var_ref(raw, span.shifted(m.start(), end - m.start()), reporter)
        if ref is not None:
            refs.append(ref)
            offsets.append(m.start())
    return ast.Template(text=text, refs=tuple(refs), offsets=tuple(offsets), span=span)


def ref_end(text: str, start: int) -> int:
    """Offset just past the `}` closing the reference at `start` (quotes in a default skipped);
    -1 when the line or the text ends first."""
    i = start + 2
    quote = ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"" and "|" in text[start:i]:
            quote = ch
        elif ch == "}":
            return i + 1
        elif ch == "\n":
            return -1
        i += 1
    return -1


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
