"""A read waiting for PostgreSQL lets the process's other threads run (steps run at once wait
together): while one thread waits for a slow query to start its COPY, or for the COPY's next
rows, another thread runs Python — here, it finds the waiting backend and cancels it, which it
could only do after the wait if the waiting thread held the GIL (the query would have
finished by then, and not been cancelled)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from pgserver import PgDatabase

from sqlflowc.connectors.postgres.read import ReadSpec, open_rows

SLOW = 20  # seconds the query sleeps unless cancelled; the test waits for it, at worst


def _read_in_thread(db: PgDatabase, query: str) -> tuple[threading.Thread, list[object]]:
    conn = db.connect()
    outcome: list[object] = []

    def read() -> None:
        try:
            rows = open_rows(conn, ReadSpec(query=query))
            try:
                outcome.append(sum(batch.num_rows for batch in rows.reader))
            finally:
                rows.close()
        except Exception as err:  # noqa: BLE001 - what ended the read is the test's subject
            outcome.append(err)
        finally:
            conn.close()

    thread = threading.Thread(target=read)
    thread.start()
    return thread, outcome


def _cancel_when_sleeping(db: PgDatabase, thread: threading.Thread) -> bool:
    """Cancel the read's COPY (on a connection of its own) once it is in `pg_sleep`; False when
    the read ended first."""
    while thread.is_alive():
        waiting = db.rows(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND wait_event = 'PgSleep' AND query LIKE 'COPY (SELECT%%'"
        )
        if len(waiting) == 1:
            db.rows("SELECT pg_cancel_backend(%s)", [waiting[0][0]])
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(f"SELECT 1 AS x FROM pg_sleep({SLOW})", id="before-the-copy-starts"),
        pytest.param(
            "SELECT g AS x FROM generate_series(1, 3) g "
            f"WHERE g < 3 OR pg_sleep({SLOW}) IS NOT NULL",
            id="between-rows",
        ),
    ],
)
def test_another_thread_runs_while_a_read_waits(pg_db: PgDatabase, query: str) -> None:
    thread, outcome = _read_in_thread(pg_db, query)
    cancelled = _cancel_when_sleeping(pg_db, thread)
    thread.join(timeout=SLOW * 3)
    assert cancelled, f"the read ended before it could be cancelled: {outcome}"
    (ended,) = outcome
    assert isinstance(ended, psycopg.errors.QueryCanceled), ended
