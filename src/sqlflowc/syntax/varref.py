"""`${name}` / `${name|default}` references: where they are in a text and what they name.

One module for the three places that read references:
- the compiler (`make_template`, `parse_var_ref`): a reference ends at the first `}` outside
  quotes in its default and may not span lines; a malformed or unterminated one is reported;
- profile connection values (`profiles.resolve_connection`) and secret placeholders in a plan
  (`runtime/steps.py`) substitute with `expand` (`expand_with_spans` also says where each
  value went; both live in `sqlflowc.placeholders`, which the runtime imports without the IR),
  which reads a reference from `${` to the next `}` and leaves the rest of the text alone at an
  unterminated `${`.
`split_ref` reads the inside of a reference the same way for all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import ast
from sqlflowc.placeholders import expand, expand_with_spans
from sqlflowc.source import Span

__all__ = [
    "RefParts",
    "expand",
    "expand_with_spans",
    "make_template",
    "parse_var_ref",
    "ref_end",
    "split_ref",
]

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
