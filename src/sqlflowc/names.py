"""Table names: the one rule every pass, the backend and the runtime compare them by.

DuckDB's rule: a table name is case-insensitive whether it is quoted or not (`"Foo"`, `foo` and
`FOO` are one table; quoting only keeps the spelling for display), and letters fold as ASCII
(`"É"` and `"é"` are two tables). A name in the default schema may be written `main.t`.

`table_key(name)` turns a name as written in SQL (`"Foo"`, `main.t`, `s."a.b"`) into its key:
each part ASCII-lower-cased, a leading `main.` dropped, and a part that is not a plain name
(`a.b`, `my table`) written in double quotes, so `"a.b"` (one table) and `a.b` (table `b` of
schema `a`) keep different keys. `parts_key(parts)` is the same for a name already split into
its parts (a sqlglot `exp.Table`).

Names the tool uses for its own objects are reserved (`is_reserved`): the incremental state table
`_sqlflow_state`, the stages and reads of load steps (`_sqlflow_stage_*`, `_sqlflow_read_*`),
and the temporary tables of table UDFs (`__sqlflowc_*`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

__all__ = [
    "RESERVED_PREFIXES",
    "is_reserved",
    "key_parts",
    "name_parts",
    "parts_key",
    "table_key",
]

RESERVED_PREFIXES = ("_sqlflow_", "__sqlflowc_")
_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@functools.lru_cache(maxsize=4096)
def table_key(name: str) -> str:
    """`table_key('"Foo"') == table_key("main.FOO") == "foo"`; see the module docstring."""
    return parts_key(_parts(name))


def key_parts(key: str) -> tuple[str, str]:
    """`(schema, table)` of a key, unquoted; an unqualified one is in `main`:
    `key_parts('s."a.b"') == ("s", "a.b")`."""
    parts = _parts(key)
    return (parts[-2], parts[-1]) if len(parts) >= 2 else ("main", parts[-1])


# One to three parts, each a plain name or a double-quoted one ("" inside for a quote). A plain
# name's letters are ASCII ones and U+0080..U+FFFF, written as "not ASCII, not above U+FFFF":
# the range itself makes `re` build a table of 65,000 characters (15 ms at every start-up).
_WIDE = r"[^\x00-\x7f\U00010000-\U0010ffff]"
_PART = rf'(?:"(?:[^"]|"")*"|(?:[A-Za-z_]|{_WIDE})(?:[A-Za-z0-9_$]|{_WIDE})*)'
_NAME = re.compile(rf"\s*({_PART})(?:\s*\.\s*({_PART}))?(?:\s*\.\s*({_PART}))?\s*")


def name_parts(name: str) -> list[str]:
    """The parts of a table name as written, unquoted, spelling kept: `s."My T"` gives
    `["s", "My T"]`, and `""` inside quotes is one quote."""
    return _parts(name)


def _parts(name: str) -> list[str]:
    match = _NAME.fullmatch(name)
    if match is not None:  # the usual case, read here without loading sqlglot
        return [
            p[1:-1].replace('""', '"') if p.startswith('"') else p
            for p in match.groups()
            if p is not None
        ]
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        return [part.name for part in exp.to_table(name.strip(), dialect="duckdb").parts]
    except (ParseError, TokenError):
        return [name.strip()]  # not a name sqlglot can read: compared as written


def parts_key(parts: Sequence[str]) -> str:
    """The key of a name given as its parts, unquoted: `parts_key(["main", "Foo"]) == "foo"`."""
    folded = [part.translate(_ASCII_LOWER) for part in parts]
    if len(folded) == 2 and folded[0] == "main":
        folded = folded[1:]
    return ".".join(p if _PLAIN.fullmatch(p) else '"' + p.replace('"', '""') + '"' for p in folded)


def is_reserved(key: str) -> bool:
    """True for a table key naming one of the tool's own objects (`_sqlflow_state`, ...)."""
    last = _LAST_PART.search(key)
    name = "" if last is None else last.group("plain") or last.group("quoted") or ""
    return name.startswith(RESERVED_PREFIXES)


_LAST_PART = re.compile(r'(?:^|\.)(?:"(?P<quoted>(?:[^"]|"")*)"|(?P<plain>[a-z_][a-z0-9_$]*))$')
