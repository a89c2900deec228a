"""The `sqlflowc` console script: `main()`, the boundary every command runs inside (signals,
exit statuses, an internal error shown as one line, not a traceback).

The commands are click's (`cli_commands.py`; `cli` is importable from here too). One command
line starts without click: `sqlflowc run PIPELINE` (no option) whose plan is in the compile
cache runs it at once (`_cached_run`), printing exactly what the `run` command prints; for
anything else (an option, no cached plan, a path click would refuse) click parses the command
line as always. Such a run then leaves without the interpreter's finalization when nothing but
sqlflowc, DuckDB and the standard library ran in the process (`_leave_at_once`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO, cast

from sqlflowc.cli_output import EXIT_COMPILE_ERROR, State, echo, pause_gc, resume_gc

__all__ = ["main"]  # and `cli`, the click group


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, loaded when asked for
        from sqlflowc.cli_commands import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    pause_gc()  # until the command does its work (`cli_output.resume_gc`)
    embedded = atexit._ncallbacks() > 0  # someone expects to run at the exit: see `_leave_at_once`
    try:
        from sqlflowc.cli_progress import Interrupted, stop_on_signals

        stop_on_signals()
    except KeyboardInterrupt:  # Ctrl-C before the handler is in place: as any other Ctrl-C
        echo("\ninterrupted by SIGINT", err=True)
        sys.exit(130)
    try:
        status = _cached_run(sys.argv[1:])
        if status is not None and not embedded:
            _leave_at_once(status)
        if status is None:
            from sqlflowc.cli_commands import cli

            resume_gc()
            cli.main(standalone_mode=True)
        sys.exit(status)
    except SystemExit as done:
        _exit_now_if_steps_left(done.code)
        raise
    except Interrupted as err:
        echo(f"\ninterrupted by {err}", err=True)
        sys.exit(128 + err.signum)
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        sys.exit(130)
    except OSError as err:
        # A file the command reads or writes outside the places that report it themselves:
        # the user's environment (permissions, a full disk), not a bug.
        if State.debug:
            raise
        from sqlflowc.diagnostics import Code, Diagnostic, render_text
        from sqlflowc.fileio import os_reason
        from sqlflowc.source import SourceMap

        where = f" {err.filename}" if err.filename else ""
        diagnostic = Diagnostic(Code.FILE_ERROR, f"cannot access{where}: {os_reason(err)}")
        echo(render_text([diagnostic], SourceMap()), err=True, nl=False)
        sys.exit(EXIT_COMPILE_ERROR)
    except BaseException as err:
        if State.debug:
            raise
        echo(
            f"internal error: {type(err).__name__}: {err}\n"
            "This is a bug in sqlflowc, not in your pipeline; please report it "
            "(run again with --debug for the traceback).",
            err=True,
        )
        sys.exit(EXIT_COMPILE_ERROR)


def _cached_run(args: list[str]) -> int | None:
    """`sqlflowc run PIPELINE` whose plan is in the compile cache: run it (its exit status);
    None for any other command line, which click parses. Behaves as click's `run` would: the
    same output, and click's own handling of Ctrl-C outside the steps and of a closed pipe."""
    if len(args) != 2 or args[0] != "run" or args[1].startswith("-") or not args[1]:
        return None
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ):
        return None  # click's shell completion
    path = args[1]
    if path.lower().endswith(".json") or not os.path.isfile(path) or not os.access(path, os.R_OK):
        return None  # a plan file, or a path click reports
    from sqlflowc.cli_run_target import RunSettings, cached_plan, print_records, run_one

    target = Path(path)
    settings = RunSettings()
    try:
        cached = cached_plan(target, settings, report_unused=True)
        if cached is None:
            return None
        status, _ = run_one(target, settings, report_unused=True, cached=cached)
        print_records(settings, single=True)
    except (EOFError, KeyboardInterrupt):  # as click's standalone mode ends them
        echo("", err=True)
        echo("Aborted!", err=True)
        sys.exit(1)
    except BrokenPipeError:  # stdout closed early (`| head`): quietly, as click does
        sys.stdout = cast(TextIO, _PipeClosed(sys.stdout))
        sys.stderr = cast(TextIO, _PipeClosed(sys.stderr))
        sys.exit(1)
    return status


# What may run in a process that `_leave_at_once` ends: top-level packages besides the
# standard library (`_distutils_hack`: setuptools' start-up hook in a virtual environment).
_KNOWN_PACKAGES = frozenset({"__main__", "sqlflowc", "duckdb", "_duckdb", "_distutils_hack"})


def _leave_at_once(status: int) -> None:
    """End the process with `status` now, without the interpreter's finalization (every module
    torn down, DuckDB's included: a tenth of a cached run's time), when nothing else can
    expect it: only sqlflowc, DuckDB and the standard library were imported (no project hook,
    UDF, plugin, Spark or rich, whose exit handlers must run), no exit handler was registered
    before `main` (an embedding process, coverage), no other thread is alive, and the output is
    flushed. Otherwise it returns, and the process exits as usual.

    What the run wrote is on disk already: the database was closed (checkpointed), the run's
    record flushed (`runtime/ledger.py`), the snapshots linked in place; the handlers skipped
    are the standard library's and DuckDB's, with nothing left to do."""
    import threading

    if threading.active_count() != 1 or not _only_known_modules():
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # (None: the process was started with it closed)
                stream.flush()
    except (OSError, ValueError):  # a closed pipe: as usual (`_PipeClosed`, click's handling)
        return
    os._exit(status)


def _only_known_modules() -> bool:
    """Whether every imported module is the standard library's or one of `_KNOWN_PACKAGES`."""
    stdlib = os.path.dirname(os.__file__) + os.sep
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in _KNOWN_PACKAGES:
            continue
        file = getattr(module, "__file__", None)
        if file is None:  # built in (or a namespace package: not the standard library's)
            if getattr(module, "__path__", None) is None:
                continue
            return False
        if not file.startswith(stdlib) or "-packages" + os.sep in file[len(stdlib) :]:
            return False  # elsewhere, or in site-packages / dist-packages under it
    return True


class _PipeClosed:
    """A standard stream whose pipe is closed: flushing it at exit raises nothing (click's
    `_PacifyFlushWrapper`)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _exit_now_if_steps_left(code: object) -> None:
    """After a second Ctrl-C the run returned without waiting for its steps: their threads
    still hold the database, and the interpreter's exit would wait on them. Their
    transactions were never committed: leave at once."""
    import threading

    if any(t.name.startswith("sqlflowc-step") and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
