"""PostgreSQL failures: transient or permanent, and the message a user reads.

`is_transient(err)`: whether retrying may help.
- By SQLSTATE (the server said why): class 08 (connection exception), 57P01 admin shutdown
  (`pg_terminate_backend`), 57P02 crash shutdown, 57P03 cannot connect now (starting up),
  40001 serialization failure, 40P01 deadlock detected, 53300 too many connections, 55P03 lock
  not available.
- Without one (libpq failed before or below the protocol): a refused, reset or timed-out
  connection, a server that closed the connection or could not be reached; psycopg's
  `OperationalError` then carries only libpq's message, which is what is looked at.
- Everything else is permanent: authentication (28xxx), a missing database (3D000), table or
  column (42P01, 42703), permission denied (42501), a bad query (42601), a value a column
  cannot hold (22xxx), a violated constraint (23xxx).

`WriteRefused(message, problems)`: an export that cannot be written as asked (nothing was).

`PostgresFailure(err, where, secrets)`: the text shown — `postgres <where>: <server message>`
with PostgreSQL's DETAIL, HINT and CONTEXT lines when it sent them, every secret replaced by
`***` — and `transient`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from sqlflowc.schema import Problem

__all__ = ["PostgresFailure", "WriteRefused", "is_transient", "message_of", "sqlstate_of"]

_TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "53300", "55P03"})
# libpq's words for a connection that could not be made or was lost.
_TRANSIENT_WORDS = (
    "connection refused",
    "connection reset",
    "connection timed out",
    "timeout expired",
    "server closed the connection unexpectedly",
    "terminating connection",
    "could not receive data from server",
    "could not send data to server",
    "no connection to the server",
    "the connection is lost",
    "the connection is closed",
    "consuming input failed",
    "sending query failed",
    "no route to host",
    "network is unreachable",
    "could not translate host name",
    "the database system is starting up",
    "the database system is shutting down",
    "ssl syscall error",
    "error response during ssl exchange",  # a server refusing connections for now
    "too many clients",
    "eof detected",
)


def sqlstate_of(err: BaseException) -> str | None:
    """The SQLSTATE PostgreSQL sent with `err`, if any."""
    state = getattr(err, "sqlstate", None)
    return state if isinstance(state, str) and state else None


def is_transient(err: BaseException) -> bool:
    """Whether retrying the failed operation may succeed (see the module docstring)."""
    state = sqlstate_of(err)
    if state is not None:
        return state.startswith("08") or state in _TRANSIENT_STATES
    if isinstance(err, psycopg.OperationalError | psycopg.InterfaceError | OSError):
        text = str(err).lower()
        return any(word in text for word in _TRANSIENT_WORDS)
    return False


def message_of(err: BaseException) -> str:
    """PostgreSQL's message with its DETAIL, HINT and CONTEXT (one line each), else str(err)."""
    diag = getattr(err, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if not primary:
        return " ".join(str(err).split()) or type(err).__name__
    parts = [primary]
    for label, attr in (
        ("detail", "message_detail"),
        ("hint", "message_hint"),
        ("context", "context"),
    ):
        value = getattr(diag, attr, None)
        if value:
            parts.append(f"{label}: {' '.join(str(value).split())}")
    return "; ".join(parts)


def _mask(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class PostgresFailure(Exception):
    """A PostgreSQL failure as the user sees it (see the module docstring)."""

    def __init__(self, err: BaseException, where: str, secrets: Iterable[str] = ()) -> None:
        self.transient = is_transient(err)
        self.sqlstate = sqlstate_of(err)
        self.message = _mask(f"postgres {where}: {message_of(err)}", secrets)
        super().__init__(self.message)


class WriteRefused(Exception):
    """The rows cannot be written as asked; nothing was written. `problems` carry the codes
    of local loads' schema problems when that is what is wrong."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)
