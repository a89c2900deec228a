"""Ctrl-C and SIGTERM while a run waits on PostgreSQL (a real `sqlflowc run` process; the run's
query waits for a lock another session holds): the run ends promptly with 130 or 143, the
server stops running its query (cancelled, not left to wait for the lock), and the target is
left as before — the DuckDB table, the PostgreSQL table."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import duckdb
import psycopg
import pytest
from pgserver import PgDatabase

from helpers import start, stop

BOUND = 60.0  # seconds: generous, however loaded the machine; the lock is held far longer


def project(tmp_path: Path, pg_db: PgDatabase, pipeline: str) -> Path:
    pg_db.warehouse_project(tmp_path, f"'{pg_db.params.get('password', '')}'")
    pg_db.run(
        "CREATE TABLE orders (id int PRIMARY KEY)",
        "INSERT INTO orders SELECT g FROM generate_series(1, 30) g",
    )
    path = tmp_path / "pipelines" / "p.sf"
    path.write_text(pipeline, encoding="utf-8")
    return path


def waiting_for_the_lock(pg_db: PgDatabase) -> list[tuple[object, ...]]:
    return pg_db.rows(
        "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )


def interrupted_run(path: Path, pg_db: PgDatabase, sig: int) -> tuple[int, str, str, float]:
    """Run the pipeline while another session locks `orders`; send `sig` once the run's query
    waits for the lock. Status, stdout, stderr, seconds from the signal to the end."""
    lock = psycopg.connect(pg_db.dsn)  # a transaction, held until the test is done
    try:
        lock.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        proc = start(path.parent.parent, "run", str(path))
        try:
            deadline = time.monotonic() + 60
            while not waiting_for_the_lock(pg_db):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the run's query never waited for the lock"
                time.sleep(0.05)
            status, out, err, took = stop(proc, sig, timeout=300)
            # The server no longer runs the run's query: cancelled with the run, the lock
            # still held.
            assert waiting_for_the_lock(pg_db) == [], "the query still waits for the lock"
            return status, out, err, took
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    finally:
        lock.rollback()
        lock.close()


@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_signal_cancels_a_load_waiting_for_a_lock(
    tmp_path: Path, pg_db: PgDatabase, sig: int, status: int
) -> None:
    path = project(
        tmp_path,
        pg_db,
        'SOURCE o FROM "warehouse" OPTIONS {"table": "orders"};\nLOAD orders FROM o;\n',
    )
    db = tmp_path / "target" / "dev.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE orders AS SELECT 42 AS id")
    code, out, err, took = interrupted_run(path, pg_db, sig)
    name = signal.Signals(sig).name
    assert code == status, (out, err)
    assert took < BOUND, f"the run went on for {took:.0f} s after {name}"
    assert f"interrupted ({name}); rolled back" in out, out
    assert "retrying" not in out
    assert "Traceback" not in err and "internal error" not in err, err
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT * FROM orders").fetchall() == [(42,)]


def test_sigterm_cancels_an_export_waiting_for_a_lock(tmp_path: Path, pg_db: PgDatabase) -> None:
    path = project(
        tmp_path,
        pg_db,
        "CREATE TABLE fresh AS SELECT range::INT AS id FROM range(100, 110);\n"
        'EXPORT fresh TO "warehouse" TYPE POSTGRES\n'
        '  OPTIONS {"table": "orders", "mode": "append"};\n',
    )
    code, out, err, took = interrupted_run(path, pg_db, signal.SIGTERM)
    assert code == 143, (out, err)
    assert took < BOUND, f"the run went on for {took:.0f} s after SIGTERM"
    assert "interrupted (SIGTERM); rolled back" in out, out
    assert "retrying" not in out
    assert "Traceback" not in err and "internal error" not in err, err
    assert pg_db.rows("SELECT count(*), max(id) FROM orders") == [(30, 30)]
