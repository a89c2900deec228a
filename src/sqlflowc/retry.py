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
  no attempt starts after it. Elsewhere the wait is `time.sleep`.

The module is connector-neutral: each connector classifies its own exceptions (PostgreSQL by
SQLSTATE, S3 by HTTP status) and hands that predicate in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

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


class RetryStopped(KeyboardInterrupt):
    """The run stopped while a retry waited (see the module docstring)."""


def stop_waits_on(event: threading.Event) -> None:
    """Retry waits in this thread (its context) end when `event` is set."""
    _STOP.set(event)


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
            if retry >= policy.retries or not is_transient(err):
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
