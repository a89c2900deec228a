"""Faults with PostgreSQL: a backend terminated mid-COPY with no retries left is a clean failure
that leaves the target exactly as it was (read and export); secrets are nowhere — not in the
output, the plans, target/ (database, run records), nor in the PostgreSQL database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pgserver import PgDatabase
from test_postgres_pipelines import (
    PASSWORD,
    _no_secret_anywhere,
    duck,
    pipeline,
    project,
    run,
    run_cutting_copy,
)

__all__ = ["project"]  # the fixture, shared with the pipeline tests


def test_a_read_cut_short_without_retries_fails_and_leaves_the_table(
    project: Path, pg_db: PgDatabase
) -> None:
    pg_db.run(
        "CREATE TABLE wide AS SELECT g AS id, repeat(md5(g::text), 10) AS s "
        "FROM generate_series(1, 600000) g"
    )
    first = pipeline(
        project,
        'SOURCE wide FROM "warehouse" OPTIONS {"query": "SELECT * FROM wide WHERE id <= 10"};\n'
        "LOAD wide FROM wide;\n",
        "first",
    )
    assert run(project, "run", first).returncode == 0
    sf = pipeline(
        project,
        'SOURCE wide FROM "warehouse" OPTIONS {"table": "wide", "retries": 0};\n'
        "LOAD wide FROM wide MODE APPEND;\n",
    )
    failed, out = run_cutting_copy(project, pg_db, sf, "COPY (SELECT")
    assert failed.returncode == 3, out
    assert "pipelines/p.sf:2:1" in out
    assert "connection warehouse (127.0.0.1:" in out
    # The server's own reason when it could send it; when the backend was cut off in the middle
    # of a message it cannot, and libpq's is all there is.
    assert (
        "terminating connection due to administrator command" in out
        or "server closed the connection unexpectedly" in out
    )
    assert "retrying" not in out
    # The statement reading the rows failed; what PostgreSQL was asked is said too.
    assert "  = note: attempt 1 of 1; the SQL that ran:\n" in out
    assert '\n      -- "_sqlflow_read_load_wide" reads source `wide` (postgres): wide\n' in out
    assert duck(project, "SELECT count(*), max(id) FROM wide") == [(10, 10)]
    _no_secret_anywhere(project, out)


def test_an_export_cut_short_without_retries_fails_and_leaves_the_table(
    project: Path, pg_db: PgDatabase
) -> None:
    pg_db.run("CREATE TABLE big (id bigint, s text)", "INSERT INTO big VALUES (0, 'old')")
    sf = pipeline(
        project,
        """\
CREATE TABLE src AS SELECT range AS id, repeat('x', 100) AS s FROM range(1, 1500001);
EXPORT SELECT * FROM src TO "warehouse" TYPE POSTGRES
  OPTIONS {"table": "big", "mode": "append", "retries": 0};
""",
    )
    failed, out = run_cutting_copy(project, pg_db, sf, 'COPY "public"')
    assert failed.returncode == 3, out
    assert "pipelines/p.sf:2:1" in out
    assert "connection warehouse (127.0.0.1:" in out
    assert "retrying" not in out
    assert pg_db.rows("SELECT id, s FROM big") == [(0, "old")]
    assert pg_db.rows("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s", ["%staging%"]) == [
        (0,)
    ]
    _no_secret_anywhere(project, out)


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_secrets_are_in_no_output_plan_file_or_database(project: Path, pg_db: PgDatabase) -> None:
    info = pg_db.params
    dsn = (
        f"postgresql://{info.get('user', 'postgres')}:{PASSWORD}@{info['host']}:"
        f"{info.get('port', 5432)}/{info['dbname']}"
    )
    sf = pipeline(
        project,
        f"""\
SET pg_dsn = "{dsn}";
SOURCE orders FROM "warehouse" OPTIONS {{"table": "public.orders"}};
SOURCE by_dsn TYPE POSTGRES PARAMS {{"dsn": "${{pg_dsn}}", "table": "orders"}};
SOURCE unreachable TYPE POSTGRES PARAMS {{"host": "127.0.0.1", "port": 1, "dbname": "x",
  "password": "${{PG_PASSWORD}}", "table": "t", "retries": 1, "retry_delay": 0.05}};
LOAD a FROM orders MODE INCREMENTAL BY updated_at;
LOAD b FROM by_dsn;
EXPORT SELECT * FROM a TO "{dsn}" TYPE POSTGRES OPTIONS {{"table": "copied"}};
LOAD c FROM unreachable;
""",
    )
    outputs = []
    for args in (
        ("compile", sf, "--format", "json"),
        ("compile", sf, "-o", "target/plan.json"),
        ("run", sf),
        ("run", "target/plan.json"),
        ("run", sf, "--format", "json"),
    ):
        done = run(project, *args)
        outputs += [done.stdout, done.stderr]
    assert "pipelines/p.sf:9:1" in "".join(outputs)  # the unreachable source failed, named
    assert pg_db.rows("SELECT count(*) FROM copied") == [(30,)]
    dump = subprocess.run(
        ["pg_dump", "--no-owner", pg_db.dsn], capture_output=True, check=True
    ).stdout
    assert b"copied" in dump
    assert PASSWORD.encode() not in dump
    activity = pg_db.rows(  # this test's database: other tests run beside it on the server
        "SELECT string_agg(application_name || query, ' ') FROM pg_stat_activity "
        "WHERE datname = current_database()"
    )
    assert PASSWORD not in str(activity)
    for out in outputs:
        assert PASSWORD not in out
    written = [p for p in project.rglob("*") if p.is_file() and p.parent.name != "pipelines"]
    assert any(p.name == "plan.json" for p in written)
    assert any(p.suffix == ".duckdb" for p in written)
    for path in written:  # the plan, the database, run records, schema snapshots
        assert PASSWORD.encode() not in path.read_bytes(), f"the password is in {path}"
