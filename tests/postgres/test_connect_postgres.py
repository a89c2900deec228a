"""`sqlflowc connect test` against the real PostgreSQL server: a profile connection and a SOURCE of
a pipeline connect and show the server's version and the first tables; a connection that fails
exits 1 with PostgreSQL's reason and no password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pgserver import PgDatabase

from helpers import sqlflowc


def _profile(project: Path, connections: dict[str, dict[str, object]]) -> None:
    (project / "profiles").mkdir(parents=True, exist_ok=True)
    text = json.dumps({"connections": connections}, indent=2)  # JSON is YAML
    (project / "profiles" / "dev.yml").write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_db: PgDatabase) -> Path:
    pg_db.run(
        "CREATE TABLE orders (id integer PRIMARY KEY, amount numeric(10,2))",
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.customers (id integer, name text)",
        "CREATE VIEW recent_orders AS SELECT * FROM orders",
    )
    _profile(tmp_path, {"warehouse": {"type": "postgres", **pg_db.params}})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_profile_connection(project: Path, pg_db: PgDatabase) -> None:
    [(version,)] = pg_db.rows("SHOW server_version")
    params = pg_db.params
    result = sqlflowc("connect", "test", "warehouse")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ok: connection `warehouse` (POSTGRES, profile dev)"
    assert lines[1] == (
        f"  server: PostgreSQL {version.split()[0]} at {params['host']}:"
        f"{params.get('port', 5432)}/{pg_db.name}"
    )
    assert lines[2] == "  objects:"
    assert {line.strip() for line in lines[3:]} == {
        "public.orders",
        "public.recent_orders",
        "sales.customers",
    }
    as_json = json.loads(sqlflowc("connect", "test", "warehouse", "--format", "json").stdout)
    assert as_json["ok"] is True and as_json["type"] == "POSTGRES"
    assert "public.orders" in as_json["objects"] and as_json["more"] is False


def test_many_tables_are_cut_short(project: Path, pg_db: PgDatabase) -> None:
    pg_db.run(*(f"CREATE TABLE t{i:02} (x int)" for i in range(12)))
    result = sqlflowc("connect", "test", "warehouse", "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert len(found["objects"]) == 10 and found["more"] is True
    text = sqlflowc("connect", "test", "warehouse").stdout
    assert text.endswith("    ... (more not shown)\n")


def test_a_failing_connection_names_the_reason_and_hides_the_password(
    project: Path, pg_db: PgDatabase
) -> None:
    params = pg_db.params
    host, port = params["host"], params.get("port", 5432)
    user = params.get("user", "postgres")
    _profile(
        project,
        {
            "gone": {
                "type": "postgres",
                "dsn": f"postgresql://{user}:Pw-Qx81-zz@{host}:{port}/{pg_db.name}_missing",
            },
            "closed": {
                "type": "postgres",
                "host": host,
                "port": 1,
                "dbname": "x",
                "password": "Pw-Qx81-zz",
            },
        },
    )
    gone = sqlflowc("connect", "test", "gone")
    assert gone.exit_code == 1
    assert gone.stdout == ""
    assert gone.stderr.startswith("error: connection `gone` (POSTGRES, profile dev): ")
    assert f'database "{pg_db.name}_missing" does not exist' in gone.stderr
    closed = sqlflowc("connect", "test", "closed", "--format", "json")
    assert closed.exit_code == 1
    assert json.loads(closed.stdout)["ok"] is False
    assert "Connection refused" in closed.stderr
    assert "Pw-Qx81-zz" not in gone.output + closed.output


def test_a_source_of_a_pipeline(project: Path) -> None:
    (project / "p.sf").write_text(
        'SOURCE orders FROM "warehouse" OPTIONS {"table": "public.orders"};\n'
        'SOURCE nothing FROM "warehouse" OPTIONS {"table": "public.nothing"};\n'
        "LOAD orders FROM orders;\n",
        encoding="utf-8",
    )
    result = sqlflowc("connect", "test", "orders", "--pipeline", "p.sf")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: source `orders` (POSTGRES, p.sf)\n  server: PostgreSQL ")
    # `connect test` tests the connection; the table is the run's business
    assert sqlflowc("connect", "test", "nothing", "--pipeline", "p.sf").exit_code == 0
