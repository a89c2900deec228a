"""What `sqlflowc run` shows while it runs, and how it stops.

- `progress(step_ids, err=False)`: the sink for the executor's events of a run of these steps. On a
  terminal, a live view (rich): the steps running, each with its elapsed time, and a count of
  those done, with each finished step's line printed above it as it ends. Otherwise (a pipe, a
  file, `TERM=dumb`) the plain lines only: one per finished, failed, interrupted or skipped
  step (`format_event`), in plan order whatever ran first (a line waits for the steps before
  it), so a log reads the same for every `--jobs`; a retry's line is printed as it happens.
  With `err` (stdout holds JSON), the plain lines go to stderr.
- `stop_on_signals()`: from then on SIGINT (Ctrl-C) and SIGTERM raise `Interrupted` wherever
  the program is (a compile, a profile being read...), never click's `Aborted!`; the executor
  replaces the handlers while steps run, to interrupt them and roll them back.
- `interruption_lines(result)`: what an interrupted run did and did not do, for stderr.
- `default_jobs()`: the number of cores, at most 4.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlflowc.cli_output import echo

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from sqlflowc.runtime.report import RunEvent, RunResult

__all__ = [
    "Interrupted",
    "default_jobs",
    "exit_status",
    "interruption_lines",
    "progress",
    "stop_on_signals",
]

DEFAULT_MAX_JOBS = 4
_SHOWN = 8  # step ids listed per group in the account of an interrupted run


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived outside the steps (not a KeyboardInterrupt: click would turn
    that into `Aborted!` and exit 1)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop_on_signals() -> None:
    """SIGINT and SIGTERM raise `Interrupted` (in the main thread)."""

    def stop(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, stop)


def exit_status(signal_name: str) -> int:
    """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(signal.Signals[signal_name])


def default_jobs() -> int:
    """How many steps run at once by default: one per core, at most `DEFAULT_MAX_JOBS`."""
    return max(1, min(os.cpu_count() or 1, DEFAULT_MAX_JOBS))


def interruption_lines(result: RunResult) -> list[str]:
    """`interrupted by SIGINT (Ctrl-C) after 1.20 s`, then what was done, rolled back and not
    run, by step id."""
    from sqlflowc.runtime.report import StepStatus

    what = {"SIGINT": "SIGINT (Ctrl-C)"}.get(result.interrupted or "", result.interrupted)
    lines = [f"interrupted by {what} after {result.duration_ms / 1000:.2f} s"]
    groups = (
        ("done", StepStatus.OK, "committed"),
        ("rolled back", StepStatus.INTERRUPTED, "stopped while running; left as before"),
        ("failed", StepStatus.FAILED, "see below"),
        ("not run", StepStatus.SKIPPED, ""),
    )
    for label, status, note in groups:
        ids = [o.step_id for o in result.outcomes if o.status is status]
        if not ids:
            continue
        shown = ", ".join(ids[:_SHOWN]) + (
            f", +{len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
        )
        tail = f" ({note})" if note else ""
        lines.append(f"  {label}: {len(ids)} step{'s' * (len(ids) != 1)}{tail}: {shown}")
    return lines


@contextlib.contextmanager
def progress(step_ids: Sequence[str], *, err: bool = False) -> Iterator[Callable[[RunEvent], None]]:
    """The event sink of a run of these steps (see the module docstring)."""
    if err or not _live_terminal():
        yield _InPlanOrder(step_ids, err).event
        return
    from rich.console import Console
    from rich.live import Live

    console = Console(highlight=False)
    view = _LiveView(len(step_ids), console)
    with Live(view, console=console, refresh_per_second=8, transient=True) as live:
        view.live = live
        yield view.event


class _InPlanOrder:
    """The plain lines: one per step that ended (a start is not worth one), in plan order."""

    def __init__(self, step_ids: Sequence[str], err: bool) -> None:
        self.err = err
        self.order = list(step_ids)
        self.next = 0  # the first step whose line is not printed yet
        self.waiting: dict[str, str] = {}  # step id → its line, printed after those before it

    def event(self, event: RunEvent) -> None:
        from sqlflowc.runtime.report import EventKind, format_event

        if event.kind is EventKind.STARTED:
            return
        line = format_event(event)
        if event.kind is EventKind.RETRYING or event.step_id not in self.order[self.next :]:
            echo(line, err=self.err)
            return
        self.waiting[event.step_id] = line
        while self.next < len(self.order) and self.order[self.next] in self.waiting:
            echo(self.waiting.pop(self.order[self.next]), err=self.err)
            self.next += 1


def _live_terminal() -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class _LiveView:
    """The running steps and a count, redrawn by rich's thread; finished lines go above it."""

    def __init__(self, total: int, console: Console) -> None:
        self.total = total
        self.console = console
        self.live: Any = None
        self.lock = threading.Lock()
        self.running: dict[str, tuple[str, float]] = {}  # step id → (what it writes, start)
        self.done = 0

    def event(self, event: RunEvent) -> None:
        from sqlflowc.runtime.report import EventKind, format_event

        with self.lock:
            if event.kind is EventKind.STARTED:
                line = format_event(event).strip()
                self.running[event.step_id] = (line.partition("  ")[2], time.monotonic())
                return
            if event.kind is not EventKind.RETRYING:
                self.running.pop(event.step_id, None)
                self.done += 1
        self.console.print(format_event(event), markup=False, soft_wrap=True)

    def __rich__(self) -> RenderableType:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1))
        now = time.monotonic()
        with self.lock:
            running = list(self.running.items())
            done = self.done
        for step_id, (what, since) in running:
            grid.add_row(
                Spinner("dots", style="cyan"),
                Text(step_id, style="bold"),
                Text(f"{now - since:.1f} s", style="yellow"),
                Text(what, style="dim"),
            )
        summary = f"{done}/{self.total} steps done, {len(running)} running"
        grid.add_row("", Text(summary, style="dim"), "", "")
        return grid
