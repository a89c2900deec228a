"""Masking secret values out of messages: `mask_secrets(text, secrets)`.

A message may hold a secret, whole or in part, in any case: DuckDB quotes the value a cast failed
on (`substr('${api_token}', 2)` puts all but its first character there, `lower(...)` changes its
case), and a syntax error quotes the word it stopped at, which may be one word of a secret. So:

- every run of characters that is made of pieces of at least `MIN_LENGTH` (4) characters of a
  secret, compared ignoring case, is replaced by `***` (the whole secret, any 4-character part of
  it, `UNTER2` of `hunter2`);
- a secret shorter than `MIN_LENGTH` cannot be masked that way without garbling every message
  (`e` would turn `Binder Error` into `Bind***r ***rror`): when it occurs in a message, ignoring
  case, the whole message is replaced by `HIDDEN`;
- DuckDB's `LINE n: <sql>` excerpt keeps its caret under the same text: the caret line is moved
  with the masking of the line above it (a caret computed on the unmasked text, so it reveals
  neither the secret nor its length).

Used by the executor (`runtime/steps.py`, every run-time message) and the compiler (DuckDB's
syntax errors about SQL that holds a secret, `passes/bind.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["HIDDEN", "MASK", "MIN_LENGTH", "mask_secrets"]

MASK = "***"
MIN_LENGTH = 4
HIDDEN = "(the message is not shown: it holds the value of a secret)"
# `LINE 3: select ...` and, under it, the carets DuckDB puts below the failing token.
_EXCERPT = re.compile(r"^(?P<head>LINE \d+: )(?P<line>[^\n]*)\n(?P<pad>[ ]*)(?P<marks>\^+)", re.M)


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value masked; see the module docstring."""
    values = [s for s in secrets if s]
    if not values or not text:
        return text
    folded = text.lower()
    if any(s.lower() in folded for s in values if len(s) < MIN_LENGTH):
        return HIDDEN
    grams = {
        s.lower()[i : i + MIN_LENGTH]
        for s in values
        if len(s) >= MIN_LENGTH
        for i in range(len(s) - MIN_LENGTH + 1)
        if s[i : i + MIN_LENGTH].strip()
    }
    if not grams:
        return text
    hidden = [False] * len(text)
    for i in range(len(text) - MIN_LENGTH + 1):
        if folded[i : i + MIN_LENGTH] in grams:
            hidden[i : i + MIN_LENGTH] = [True] * MIN_LENGTH
    if not any(hidden):
        return text
    masked, where = _replace(text, hidden)
    return _realign_carets(masked, text, where)


def _replace(text: str, hidden: list[bool]) -> tuple[str, list[int]]:
    """`text` with each run of hidden characters as `***`, and where each character of `text`
    (and its end) went in the result."""
    out: list[str] = []
    where: list[int] = []
    size = 0
    for i, ch in enumerate(text):
        if not hidden[i]:
            out.append(ch)
            where.append(size)
            size += 1
        elif i > 0 and hidden[i - 1]:
            where.append(size - len(MASK))
        else:
            out.append(MASK)
            where.append(size)
            size += len(MASK)
    where.append(size)
    return "".join(out), where


def _realign_carets(masked: str, original: str, where: list[int]) -> str:
    """Move the caret line under each `LINE n:` excerpt to where its text went."""
    fixed = masked
    for match in reversed(list(_EXCERPT.finditer(original))):
        line_start = match.start("line")
        start = line_start + len(match.group("pad")) - len(match.group("head"))
        end = start + len(match.group("marks"))
        if start < line_start:
            continue
        new_line_start = where[line_start]
        new_start = where[start]
        new_end = max(where[min(end, len(where) - 1)], new_start + 1)
        head = match.group("head")
        carets = " " * (len(head) + new_start - new_line_start) + "^" * (new_end - new_start)
        marks_start, marks_end = where[match.start("pad")], where[match.end("marks")]
        fixed = fixed[:marks_start] + carets + fixed[marks_end:]
    return fixed
