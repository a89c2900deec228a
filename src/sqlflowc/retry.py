"""Retrying an action on transient faults, with exponential backoff.

Contract of `call_with_retries(action, policy=..., is_transient=..., what=..., on_retry=...)`:
- Calls `action()` and returns its result.
- When it raises an exception (`Exception`, never `KeyboardInterrupt`/`SystemExit`) that
  `is_transient` accepts, and fewer than `policy.retries` retries were made, it reports a
  `RetryEvent` to `on_retry` (before waiting), waits `policy.wait(n)` seconds — `delay` for the
  first retry, doubling after each (`delay * 2**(n-1)`), never more than `max_delay` — and calls
  `action()` again.
- A permanent exception, or a transient one after the last retry, propagates unchanged; the
  exception of the last attempt is the one raised. `action` must leave nothing half-done when it
  raises: it is simply called again.
- `describe` turns an exception into the text of the report (default `str`); callers pass one
  that masks secrets. `sleep` is injectable so tests need not wait.
- The wait is cut short when the run stops: in a thread that called `stop_waits_on(event)`
  (each step's thread does), setting `event` (Ctrl-C, SIGTERM) ends a wait at once with
  `RetryStopped`, a `KeyboardInterrupt` (so no `except Exception` of a connector keeps it), and
  no attempt starts after it: an attempt that fails once the run stopped raises its exception,
  no retry reported. Elsewhere the wait is `time.sleep`.

`stopped()` says whether the run the calling thread works for has stopped, for a connector
waiting on a server (S3 requests end with `RunStopped` when it becomes true): in a step's thread,
its own run's event; in any other thread — DuckDB's own, calling back into a connector, or a
connector's helper thread — whether a run in progress in the process stopped (each run's loop
registers its event with `stops_with`; the signals that stop runs are the process's).
`on_stop(cancel)` is for a wait that polling cannot end (a query a server runs): `cancel()` is
called, in a thread of its own, when the run stops (`stop_run(event)`: the run's loop), or at
once when it already did, until the watch returned is closed.

The module is connector-neutral: each connector classifies its own exceptions (PostgreSQL by
SQLSTATE, S3 by HTTP status) and hands that predicate in.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from sqlflowc.lean_dataclass import dataclass

T = TypeVar("T")

DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = 1.0  # seconds
MAX_DELAY = 60.0  # seconds: a cap on one wait, however many retries are allowed


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry: `retries` after the first attempt, waiting
    `delay` seconds before the first retry and twice as long before each next one."""

    retries: int = DEFAULT_RETRIES
    delay: float = DEFAULT_RETRY_DELAY
    max_delay: float = MAX_DELAY

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, got {self.retries}")
        if self.delay < 0:
            raise ValueError(f"retry delay must be 0 or more seconds, got {self.delay}")

    def wait(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        return float(min(self.max_delay, self.delay * 2 ** (retry - 1)))


NO_RETRIES = RetryPolicy(retries=0)

_STOP: ContextVar[threading.Event | None] = ContextVar("sqlflowc_retry_stop", default=None)
_RUNS: list[threading.Event] = []  # the stop events of the runs in progress (`stops_with`)
_WATCHES: list[StopWatch] = []  # `on_stop`'s, not yet closed
_LOCK = threading.Lock()


class RunStopped(KeyboardInterrupt):
    """The run stopped while a connector waited (see the module docstring)."""


class RetryStopped(RunStopped):
    """The run stopped while a retry waited (see the module docstring)."""


def stop_waits_on(event: threading.Event) -> None:
    """Retry waits in this thread (its context) end when `event` is set."""
    _STOP.set(event)


@contextlib.contextmanager
def stops_with(event: threading.Event) -> Iterator[None]:
    """While the block runs, `stopped()` in threads of no run's step is true once `event` is
    set (a run's loop: see the module docstring)."""
    _RUNS.append(event)
    try:
        yield
    finally:
        _RUNS.remove(event)


class StopWatch:
    """`cancel` called when the run stops, until `close()` (see `on_stop`)."""

    def __init__(self, event: threading.Event | None, cancel: Callable[[], None]) -> None:
        self.event = event  # None: any run's (a thread of no step)
        self.cancel = cancel

    def close(self) -> None:
        with _LOCK:
            if self in _WATCHES:
                _WATCHES.remove(self)

    def __enter__(self) -> StopWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def on_stop(cancel: Callable[[], None]) -> StopWatch:
    """Call `cancel()` (in a thread of its own) when the run the calling thread works for stops,
    until the watch returned is closed (module docstring)."""
    watch = StopWatch(_STOP.get(), cancel)
    with _LOCK:
        _WATCHES.append(watch)
    if stopped():
        _cancel([watch])
    return watch


def stop_run(event: threading.Event) -> None:
    """Stop the run whose event `event` is: set it, and cancel what waits for it (`on_stop`)."""
    event.set()
    with _LOCK:
        watches = [w for w in _WATCHES if w.event is event or w.event is None]
    _cancel(watches)


def _cancel(watches: list[StopWatch]) -> None:
    def cancel() -> None:
        for watch in watches:
            with contextlib.suppress(Exception):  # the wait ends anyway, or the process does
                watch.cancel()

    if watches:
        threading.Thread(target=cancel, name="sqlflowc-cancel", daemon=True).start()


def stopped() -> bool:
    """Whether the run the calling thread works for has stopped (module docstring)."""
    own = _STOP.get()
    if own is not None:
        return own.is_set()
    return any(event.is_set() for event in list(_RUNS))


def pause(seconds: float) -> None:
    """Sleep `seconds`, or until the run stops (`RetryStopped`)."""
    stop = _STOP.get()
    if stop is None:
        time.sleep(seconds)
    elif stop.wait(seconds):
        raise RetryStopped(f"the run stopped while waiting {_seconds(seconds)} to retry")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryEvent:
    """One retry about to happen: `retrying load_orders (2/3) in 2 s: connection reset`."""

    what: str
    retry: int  # 1-based
    retries: int
    wait: float  # seconds
    message: str

    def __str__(self) -> str:
        return (
            f"retrying {self.what} ({self.retry}/{self.retries}) in {_seconds(self.wait)}: "
            f"{self.message}"
        )


def call_with_retries(
    action: Callable[[], T],
    *,
    policy: RetryPolicy,
    is_transient: Callable[[Exception], bool],
    what: str,
    on_retry: Callable[[RetryEvent], None] | None = None,
    describe: Callable[[Exception], str] = str,
    sleep: Callable[[float], None] = pause,
) -> T:
    """`action()`, retried on transient exceptions as the module docstring says."""
    retry = 0
    while True:
        try:
            return action()
        except Exception as err:
            if retry >= policy.retries or not is_transient(err) or stopped():
                raise
            retry += 1
            wait = policy.wait(retry)
            if on_retry is not None:
                message = " ".join(describe(err).split()) or type(err).__name__
                on_retry(
                    RetryEvent(
                        what=what,
                        retry=retry,
                        retries=policy.retries,
                        wait=wait,
                        message=message,
                    )
                )
            sleep(wait)


def _seconds(value: float) -> str:
    return f"{value:g} s"
