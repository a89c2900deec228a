"""Limits that keep a broken or hostile input from exhausting time or memory.

Every input the tool reads is bounded, and each bound ends in a diagnostic, not a hang, a crash
or a traceback. The limits are stated for users in docs/language.md ("Limits").

- `MAX_FILE_BYTES`: a pipeline, an included file, a profile or a plan file larger than this is
  refused; `read_bounded` reads at most one byte more (so `/dev/zero` or a huge file never fills
  memory).
- `MAX_INCLUDE_DEPTH`, `MAX_INCLUDES`: INCLUDEs nest at most this deep, and a compilation
  expands at most this many (a file including the next one twice, 25 deep, would otherwise be
  expanded 2^25 times).
- `MAX_NESTING`, `MAX_VALUES`: a JSON or YAML value (`--var`/`--vars`, a profile, a plan)
  nests at most this deep and holds at most this many values, YAML aliases counted each time
  they are used (an alias bomb); an alias inside itself is refused. `json_nesting` measures a
  JSON text before it is parsed (Python's parser recurses); `value_problem` walks a parsed
  value without recursion.
- `MAX_THREADS`: DuckDB worker threads (`--threads`, a profile's `threads:`).
- `MAX_JOBS`: steps run at once (`--jobs`, a profile's `execution.jobs`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_INCLUDES",
    "MAX_INCLUDE_DEPTH",
    "MAX_JOBS",
    "MAX_NESTING",
    "MAX_THREADS",
    "MAX_VALUES",
    "FileTooLarge",
    "json_nesting",
    "read_bounded",
    "size_text",
    "value_problem",
]

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_INCLUDE_DEPTH = 64
MAX_INCLUDES = 10_000
MAX_NESTING = 100
MAX_VALUES = 100_000
MAX_THREADS = 1024
MAX_JOBS = 64


class FileTooLarge(Exception):
    """A file is larger than `MAX_FILE_BYTES` (or never ends: a device)."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.reason = f"it is larger than {size_text(MAX_FILE_BYTES)}, the limit"
        super().__init__(f"{path}: {self.reason}")


def size_text(n: int) -> str:
    """`32 MiB`, `512 KiB`, `100 bytes`."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


READS: contextvars.ContextVar[Callable[[Path | str, bytes | None], None] | None] = (
    contextvars.ContextVar("sqlflowc_reads", default=None)
)
"""Called with each file `read_bounded` reads (None: it could not be read), when set."""


def read_bounded(path: Path | str) -> bytes:
    """The file's bytes; FileTooLarge when it has more than `MAX_FILE_BYTES`; OSError as
    `open` raises it."""
    note = READS.get()  # set while the compile cache records what a compilation reads
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError:
        if note is not None:
            note(path, None)
        raise
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(path)
    if note is not None:
        note(path, data)
    return data


def json_nesting(text: str) -> int:
    """How deeply a JSON text's arrays and objects nest (brackets inside strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def value_problem(
    value: Any, children: Callable[[Any], Sequence[Any] | None] | None = None
) -> str | None:
    """Why a parsed value is too big to work with, or None: deeper than `MAX_NESTING`, more
    than `MAX_VALUES` values, or holding itself (a YAML alias inside its own anchor). Walked
    without recursion, a shared value counted each time it is used. `children(item)` lists an
    item's parts (None: a scalar); by default those of JSON-like data."""
    parts = children or _data_children
    count = 0
    stack: list[tuple[Any, int, tuple[int, ...]]] = [(value, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return f"it holds more than {MAX_VALUES:,} values (YAML aliases count each use)"
        if depth > MAX_NESTING:
            return f"it nests deeper than {MAX_NESTING} levels"
        inside = parts(item)
        if inside is None:
            continue
        if id(item) in path:
            return "it contains itself (a YAML alias inside its own anchor)"
        inner = (*path, id(item))
        stack.extend((child, depth + 1, inner) for child in inside)
    return None


def _data_children(item: Any) -> Sequence[Any] | None:
    if isinstance(item, Mapping):
        return [*item.keys(), *item.values()]
    if isinstance(item, list | tuple | set):
        return list(item)
    return None
