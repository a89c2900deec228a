"""Waiting for PostgreSQL without holding Python's GIL.

libpq's blocking calls (`PQgetResult`, `PQgetCopyData(conn, 0)`) wait inside C with the GIL
held in psycopg's binary build: one thread waiting for a slow query (a `pg_sleep`, a big
sort) stops every other Python thread of the process — steps run at once then take turns.
These functions ask libpq only what it can answer without waiting, and wait for the socket
with `poll`, which lets the other threads run.

- `result(pgconn)`: the next result, as `pgconn.get_result()` would return it.
- `copy_data(pgconn)`: the next chunk of a `COPY ... TO STDOUT`, as `get_copy_data(0)` would
  return it (`(nbytes, data)`; `nbytes` -1 at the end, -2 on error).

When the connection breaks while waiting, the blocking call is made after all: libpq has
closed the socket, so it answers at once, as it would have — with the server's last words
(`terminating connection due to administrator command`) when it sent any.
"""

from __future__ import annotations

import select

import psycopg
from psycopg import pq

__all__ = ["copy_data", "result"]


def result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """`pgconn.get_result()`, waiting for the server outside the GIL."""
    while pgconn.is_busy():
        _readable(pgconn)
        if not _consumed(pgconn):
            break
    return pgconn.get_result()


def copy_data(pgconn: pq.abc.PGconn) -> tuple[int, memoryview]:
    """`pgconn.get_copy_data(0)`, waiting for the server outside the GIL."""
    nbytes, data = pgconn.get_copy_data(1)
    if nbytes:
        return nbytes, data
    if not _consumed(pgconn):  # what the socket holds already, before waiting
        return pgconn.get_copy_data(0)
    nbytes, data = pgconn.get_copy_data(1)
    while not nbytes:
        _readable(pgconn)
        if not _consumed(pgconn):
            return pgconn.get_copy_data(0)
        nbytes, data = pgconn.get_copy_data(1)
    return nbytes, data


def _consumed(pgconn: pq.abc.PGconn) -> bool:
    """Read what the socket holds; False when the connection broke (see the module doc)."""
    try:
        pgconn.consume_input()
    except psycopg.OperationalError:
        return False
    return True


def _readable(pgconn: pq.abc.PGconn) -> None:
    """Wait until the connection's socket has something to read (or is closed)."""
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    poller.poll()
