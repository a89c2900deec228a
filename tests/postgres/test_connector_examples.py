"""examples/connectors/warehouse runs against the real PostgreSQL server (a database of its own)
and a real S3-protocol server (moto, a bucket of its own, over HTTP): DuckDB → PostgreSQL (the
seed), PostgreSQL → DuckDB → S3 (Parquet), and S3 → DuckDB → PostgreSQL (a MERGE that a second
run updates instead of duplicating), through the `sqlflowc` command in fresh processes, the way
the example's README says to run it: the S3 credentials and endpoint from the AWS environment."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from pgserver import PgDatabase

from helpers import sqlflowc_process
from s3server import MotoServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connectors" / "warehouse"

DAILY = [
    (dt.date(2024, 3, 1), "eu", Decimal("120.50"), 1),
    (dt.date(2024, 3, 1), "us", Decimal("310.00"), 1),
    (dt.date(2024, 3, 2), "eu", Decimal("145.24"), 2),
    (dt.date(2024, 3, 3), "us", Decimal("262.00"), 2),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "warehouse"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("target"))
    return work


def test_warehouse_to_lake_and_back(
    project: Path, pg_db: PgDatabase, s3_server: MotoServer, s3_bucket: str
) -> None:
    env = {"WAREHOUSE_DSN": pg_db.dsn, **s3_server.env}
    pipelines = [f"pipelines/{p.name}" for p in sorted((project / "pipelines").glob("*.sf"))]
    assert len(pipelines) == 3
    bucket = ("--var", f"lake_bucket={s3_bucket}")
    ran = sqlflowc_process("run", *pipelines, *bucket, cwd=project, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "6 rows (created, inserted 6)" in ran.stdout  # the seed created public.orders
    assert "4 rows (created, inserted 4, updated 0)" in ran.stdout
    assert ran.stdout.endswith("3 pipelines: 3 ok\n")

    # exact types both ways: numeric(10,2) in PostgreSQL, DECIMAL(10,2) in DuckDB and Parquet
    assert pg_db.rows(
        "SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns "
        "WHERE table_name = 'orders' AND column_name = 'amount'"
    ) == [("numeric", 10, 2)]
    fs = s3_server.filesystem()
    assert fs.ls(f"{s3_bucket}/daily") == [f"{s3_bucket}/daily/daily_revenue.parquet"]
    lake = project / "copy.parquet"
    fs.get(f"{s3_bucket}/daily/daily_revenue.parquet", str(lake))
    with duckdb.connect() as con:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(lake)]).fetchall()
    assert [(c[0], c[1]) for c in described] == [
        ("day", "DATE"),
        ("region", "VARCHAR"),
        ("revenue", "DECIMAL(38,2)"),
        ("orders", "BIGINT"),
    ]
    assert pg_db.rows("SELECT * FROM daily_revenue ORDER BY day, region") == DAILY

    # a second run merges by (day, region): the same rows, updated, none added
    again = sqlflowc_process("run", pipelines[-1], *bucket, cwd=project, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "4 rows (inserted 0, updated 4)" in again.stdout
    assert pg_db.rows("SELECT * FROM daily_revenue ORDER BY day, region") == DAILY

    # the connections the pipelines use answer `connect test`
    tested = sqlflowc_process("connect", "test", "warehouse", cwd=project, env=env)
    assert tested.returncode == 0, tested.stderr
    assert "public.daily_revenue" in tested.stdout and "public.orders" in tested.stdout
    lake_test = sqlflowc_process("connect", "test", "lake", cwd=project, env=env)
    assert lake_test.returncode == 0, lake_test.stderr
    assert lake_test.stdout.startswith("ok: connection `lake` (S3, profile dev)\n")
    assert f"    {s3_bucket}\n" in lake_test.stdout
    # the endpoint the AWS chain picked from the environment, not "AWS"
    assert f"  server: S3 {s3_server.endpoint}: buckets (" in lake_test.stdout
    source = ("daily_revenue_lake", "--pipeline", pipelines[-1])
    found = sqlflowc_process("connect", "test", *source, *bucket, cwd=project, env=env)
    assert found.returncode == 0, found.stderr
    assert f"    s3://{s3_bucket}/daily/daily_revenue.parquet\n" in found.stdout
    gone = ("--var", f"lake_bucket={s3_bucket}-gone")
    missing = sqlflowc_process("connect", "test", *source, *gone, cwd=project, env=env)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: source `daily_revenue_lake` (PARQUET, ")
    assert "does not exist" in missing.stderr
    for output in (lake_test, found, missing):
        assert s3_server.env["AWS_SECRET_ACCESS_KEY"] not in output.stdout + output.stderr


def test_an_unreachable_warehouse_fails_cleanly(project: Path) -> None:
    env = {"WAREHOUSE_DSN": "postgresql://postgres:Pw-Zr7-kk@127.0.0.1:1/shop"}
    ran = sqlflowc_process("run", "pipelines/0_seed_warehouse.sf", cwd=project, env=env)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert "retrying" in ran.stdout  # refused connections are transient: retried, then failed
    assert "error[SF0908]" in ran.stderr or "error[SF0905]" in ran.stderr
    assert "Connection refused" in ran.stderr
    assert "Pw-Zr7-kk" not in ran.stdout + ran.stderr
