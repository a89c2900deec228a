"""PostgreSQL in pipelines, from the command line: sources (inline, profile connection,
`"connection"` in PARAMS), load modes over them, exports to a connection and to a URI, secrets
never shown, permanent failures named, transient ones retried."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from pgserver import PgDatabase

from helpers import sqlflowc_process

PASSWORD = "s3cr3t-Pa55word"  # sent to the server, which trusts local users and ignores it


@pytest.fixture
def project(tmp_path: Path, pg_db: PgDatabase) -> Iterator[Path]:
    """A project whose profile's connection `warehouse` is the test database."""
    pg_db.warehouse_project(tmp_path, '"${PG_PASSWORD}"', ", retry_delay: 0.1")
    pg_db.run(
        "CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(12,2), "
        "updated_at timestamp)",
        "INSERT INTO orders SELECT g, 'c' || (g % 3), g * 1.25, "
        "TIMESTAMP '2024-01-01' + g * INTERVAL '1 hour' FROM generate_series(1, 30) g",
    )
    yield tmp_path


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it, with PG_PASSWORD set."""
    return sqlflowc_process(*args, cwd=project, env={"PG_PASSWORD": PASSWORD, **env}, timeout=300)


def pipeline(project: Path, text: str, name: str = "p") -> str:
    (project / "pipelines" / f"{name}.sf").write_text(text, encoding="utf-8")
    return f"pipelines/{name}.sf"


def duck(project: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(project / "target" / "dev.duckdb"), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def _no_secret_anywhere(project: Path, *outputs: str) -> None:
    for text in outputs:
        assert PASSWORD not in text
    for path in project.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), f"the password is in {path}"


def test_load_modes_over_a_postgres_source_and_exports_back(
    project: Path, pg_db: PgDatabase
) -> None:
    sf = pipeline(
        project,
        """\
SOURCE orders FROM "warehouse" OPTIONS {"table": "public.orders"};
SOURCE big_orders TYPE POSTGRES PARAMS {"connection": "warehouse",
  "query": "SELECT id, amount FROM orders WHERE amount > 30"};
LOAD raw_orders FROM orders;
LOAD big FROM big_orders MODE MERGE KEY (id);
CREATE TABLE by_customer AS
  SELECT customer, sum(amount) AS total, count(*) AS n FROM raw_orders GROUP BY customer;
EXPORT SELECT * FROM by_customer TO "warehouse" TYPE POSTGRES
  OPTIONS {"table": "analytics.by_customer", "mode": "merge", "key": ["customer"]};
""",
    )
    first = run(project, "run", sf)
    assert first.returncode == 0, first.stdout + first.stderr
    assert duck(project, "SELECT count(*), typeof(any_value(amount)) FROM raw_orders") == [
        (30, "DECIMAL(12,2)")
    ]
    assert duck(project, "SELECT count(*) FROM big") == [(6,)]
    assert "created, inserted 3" in first.stdout
    assert pg_db.rows("SELECT customer, total, n FROM analytics.by_customer ORDER BY 1") == [
        ("c0", __import__("decimal").Decimal("206.25"), 10),
        ("c1", __import__("decimal").Decimal("181.25"), 10),
        ("c2", __import__("decimal").Decimal("193.75"), 10),
    ]
    pg_db.run("INSERT INTO orders VALUES (31, 'c9', 1000, now())")
    second = run(project, "run", sf)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "inserted 1, updated 3" in second.stdout  # c9 is new, c0..c2 matched
    assert duck(project, "SELECT count(*) FROM big") == [(7,)]
    plan = run(project, "compile", sf, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    _no_secret_anywhere(project, first.stdout, first.stderr, second.stdout, plan.stdout)


def test_export_to_a_postgresql_uri_replaces_atomically(project: Path, pg_db: PgDatabase) -> None:
    info = pg_db.params
    user, port = info.get("user", "postgres"), info.get("port", 5432)
    uri = f"postgresql://{user}@{info['host']}:{port}/{info['dbname']}"
    sf = pipeline(
        project,
        f"""\
CREATE TABLE nums AS SELECT range AS n, range * 1.5 AS x FROM range(5);
EXPORT SELECT * FROM nums TO "{uri}" TYPE POSTGRES OPTIONS {{"table": "nums"}};
""",
    )
    done = run(project, "run", sf)
    assert done.returncode == 0, done.stdout + done.stderr
    assert pg_db.rows("SELECT count(*), sum(n) FROM nums") == [(5, 10)]


def test_a_missing_table_fails_at_once_naming_connection_host_and_statement(
    project: Path,
) -> None:
    sf = pipeline(
        project,
        'SOURCE o FROM "warehouse" OPTIONS {"table": "public.orderz", "retries": 3};\n'
        "LOAD o FROM o;\n",
    )
    started = time.perf_counter()
    failed = run(project, "run", sf)
    assert failed.returncode == 3
    out = failed.stdout + failed.stderr
    assert "pipelines/p.sf:2:1" in out
    assert "connection warehouse (127.0.0.1:" in out
    assert 'relation "public.orderz" does not exist' in out
    assert "retrying" not in out
    assert time.perf_counter() - started < 60
    _no_secret_anywhere(project, out)


def test_a_refused_connection_is_retried_then_fails(project: Path) -> None:
    sf = pipeline(
        project,
        'SOURCE o TYPE POSTGRES PARAMS {"host": "127.0.0.1", "port": 1, "dbname": "x", '
        '"password": "${PG_PASSWORD}", "table": "t", "retries": 2, "retry_delay": 0.05};\n'
        "LOAD o FROM o;\n",
    )
    failed = run(project, "run", sf)
    out = failed.stdout + failed.stderr
    assert failed.returncode == 3, out
    assert "load_o  retrying (1/2) in 0.05 s:" in out
    assert "load_o  retrying (2/2) in 0.1 s:" in out
    assert "Connection refused" in out or "connection refused" in out
    assert "127.0.0.1:1/x" in out
    _no_secret_anywhere(project, out)


def test_a_backend_terminated_mid_load_is_retried_and_the_load_completes(
    project: Path, pg_db: PgDatabase
) -> None:
    pg_db.run(
        "CREATE TABLE wide AS SELECT g AS id, repeat(md5(g::text), 10) AS s "
        "FROM generate_series(1, 600000) g"
    )
    sf = pipeline(
        project,
        'SOURCE wide FROM "warehouse" OPTIONS {"table": "wide", "retries": 2};\n'
        "LOAD wide FROM wide;\n",
    )
    done, out = run_cutting_copy(project, pg_db, sf, "COPY (SELECT")
    assert done.returncode == 0, out
    assert "load_wide  retrying (1/2)" in out
    assert duck(project, "SELECT count(*), count(DISTINCT id) FROM wide") == [(600000, 600000)]


def test_a_backend_terminated_mid_export_is_retried_and_the_target_is_whole(
    project: Path, pg_db: PgDatabase
) -> None:
    pg_db.run("CREATE TABLE big (id bigint, s text)", "INSERT INTO big VALUES (0, 'old')")
    sf = pipeline(
        project,
        """\
CREATE TABLE src AS SELECT range AS id, repeat('x', 100) AS s FROM range(1, 1500001);
EXPORT SELECT * FROM src TO "warehouse" TYPE POSTGRES OPTIONS {"table": "big", "retries": 2};
""",
    )
    done, out = run_cutting_copy(project, pg_db, sf, 'COPY "public"')
    assert done.returncode == 0, out
    assert "export_warehouse  retrying (1/2)" in out
    assert "error ignored" not in out  # nothing of psycopg's own logging leaks out
    assert pg_db.rows("SELECT count(*), min(id), max(id) FROM big") == [(1500000, 1, 1500000)]


def run_cutting_copy(
    project: Path, pg_db: PgDatabase, sf: str, copy: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`sqlflowc run sf` while the first server backend running a statement that starts with
    `copy` is terminated mid-way: the finished process and its whole output."""
    killer = threading.Thread(target=_terminate_first_copy, args=(pg_db, copy))
    killer.start()
    try:
        done = run(project, "run", sf)
    finally:
        killer.join()
    return done, done.stdout + done.stderr


def _terminate_first_copy(db: PgDatabase, prefix: str) -> None:
    """Terminate the first backend seen running a statement starting with `prefix`, once it
    has run for a moment (so the COPY is under way)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = db.rows(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND query LIKE %s AND now() - query_start > interval '0.3 s'",
            [prefix + "%"],
        )
        if rows:
            db.rows("SELECT pg_terminate_backend(%s)", [rows[0][0]])
            return
        time.sleep(0.05)
