"""docs/connectors/postgresql.md tells the truth: its profile and its pipelines run, in order,
against a real PostgreSQL database, and do what the page says."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import yaml
from pgserver import PgDatabase
from test_postgres_pipelines import PASSWORD, duck, run

DOC = Path(__file__).parents[2] / "docs" / "connectors" / "postgresql.md"


def blocks(info: str) -> list[str]:
    return re.findall(rf"^```{info}\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.S | re.M)


def test_the_pages_pipelines_run_against_postgresql(tmp_path: Path, pg_db: PgDatabase) -> None:
    (profile_text,) = blocks("yaml")
    profile = yaml.safe_load(profile_text)
    connection = profile["connections"]["warehouse"]
    assert connection["password"] == "${PG_PASSWORD}"
    info = pg_db.params
    connection.update(
        host=info["host"],
        port=info.get("port", 5432),
        dbname=info["dbname"],
        user=info.get("user", "postgres"),
        retry_delay=0.1,
    )
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "dev.yml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    pg_db.run(
        "CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(12,2), "
        "updated_at timestamptz)",
        "INSERT INTO orders SELECT g, 'c' || (g % 4), g * 10.5, "
        "TIMESTAMPTZ '2024-05-01 00:00:00+00' + g * INTERVAL '3 hours' "
        "FROM generate_series(1, 40) g",
    )
    pipelines = blocks("sqlflow")
    assert len(pipelines) == 3
    outputs = []
    for i, text in enumerate(pipelines):
        path = tmp_path / f"doc_{i}.sf"
        path.write_text(text, encoding="utf-8")
        done = run(tmp_path, "run", path.name)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout + done.stderr)
    assert duck(tmp_path, "SELECT count(*) FROM orders") == [(40,)]
    assert duck(tmp_path, "SELECT count(*) FROM big_orders") == [(31,)]
    assert duck(tmp_path, "SELECT * FROM order_ids ORDER BY id LIMIT 1")[0][0] == 1
    assert duck(tmp_path, "SELECT count(*) FROM order_feed") == [(40,)]
    daily = pg_db.rows("SELECT count(*), sum(total), sum(n) FROM analytics.daily")
    assert daily == [(daily[0][0], Decimal("8610.00"), 40)]
    assert pg_db.rows("SELECT count(*) FROM analytics.daily_copy") == [(daily[0][0],)]
    # The incremental pipeline again, after one new and one changed row.
    pg_db.run(
        "INSERT INTO orders VALUES (41, 'c9', 1, TIMESTAMPTZ '2025-01-01 00:00:00+00')",
        "UPDATE orders SET amount = 2, updated_at = TIMESTAMPTZ '2025-01-02 00:00:00+00' "
        "WHERE id = 3",
    )
    again = run(tmp_path, "run", "doc_1.sf")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "inserted 2" in again.stdout  # order_feed appends both versions
    assert "inserted 1, updated 1" in again.stdout  # order_state merges on id
    assert duck(tmp_path, "SELECT amount FROM order_state WHERE id = 3") == [(Decimal("2.00"),)]
    for out in [*outputs, again.stdout, again.stderr]:
        assert PASSWORD not in out
