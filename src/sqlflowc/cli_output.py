"""What the commands print, without importing click: `echo` (click's `echo` for a line of
text), diagnostics, the exit statuses, the `--debug` setting. `sqlflowc run` of a cached plan
(`cli_run_target.py`) prints through here without loading click at all. Also the garbage
collector's pause while the command starts (`pause_gc`, `resume_gc`).
"""

from __future__ import annotations

import codecs
import gc
import io
import re
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from sqlflowc.diagnostics import Diagnostic
    from sqlflowc.source import SourceMap

__all__ = [
    "EXIT_COMPILE_ERROR",
    "EXIT_RUNTIME_ERROR",
    "EXIT_USAGE",
    "State",
    "count",
    "echo",
    "pause_gc",
    "print_diagnostics",
    "resume_gc",
]

EXIT_COMPILE_ERROR = 1
EXIT_USAGE = 2
EXIT_RUNTIME_ERROR = 3

_ANSI = re.compile(r"\033\[[0-?]*[ -/]*[@-~]")  # click's: what it strips off a non-terminal


class State:
    """Process-wide settings of the command line (`--debug`; whether `pause_gc` paused the
    garbage collector)."""

    debug = False
    gc_paused = False


def pause_gc() -> None:
    """Pause the garbage collector while the command starts (`main` does, first thing).

    Start-up makes tens of thousands of objects that live as long as the process (modules,
    classes, the functions dataclasses generate, DuckDB's Python layer, the cached plan), and
    almost no garbage: each collection on the way would walk them again for nothing (a tenth
    of a cached run's start-up). `resume_gc` ends the pause."""
    if gc.isenabled():
        gc.disable()
        State.gc_paused = True


def resume_gc() -> None:
    """End `pause_gc` once the command does its work (before click parses the command line;
    for a run, when its steps begin): what start-up made is frozen (no collection walks it
    again, and it is never freed: it would live until the process ends anyway), and the
    collector runs as usual for everything made from then on. Nothing when not paused."""
    if State.gc_paused:
        State.gc_paused = False
        gc.freeze()
        gc.enable()


def echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    """Write `message` (and a newline) to stdout or stderr and flush, exactly as `click.echo`
    does: ANSI codes stripped when the stream is no terminal. A stream click would re-wrap (an
    ASCII encoding, no encoding, not a plain text file) is left to click itself."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    if not _plain_text(stream):
        import click

        click.echo(message, err=err, nl=nl)
        return
    out = message + "\n" if nl else message
    if not out:
        stream.flush()
        return
    if not _isatty(stream) and not type(stream).__module__.startswith("ipykernel."):
        out = _ANSI.sub("", out)
    stream.write(out)
    stream.flush()


def _plain_text(stream: object) -> bool:
    """A text file click writes to as it is (`click._compat._force_correct_text_stream`)."""
    if type(stream) is not io.TextIOWrapper:
        return False
    encoding = getattr(stream, "encoding", None)
    if encoding is None or getattr(stream, "errors", None) is None:
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except Exception:  # noqa: BLE001 - click's `isatty`: anything raised means no
        return False


def print_diagnostics(diags: tuple[Diagnostic, ...], sources: SourceMap | None, fmt: str) -> None:
    from sqlflowc.diagnostics import render_json, render_text
    from sqlflowc.source import SourceMap

    sources = sources if sources is not None else SourceMap()
    if fmt == "json":
        echo(render_json(diags, sources), err=True, nl=False)
    elif diags:
        echo(render_text(diags, sources), err=True, nl=False)


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"
