"""The example plugin, `examples/connectors/plugin` (a SQLITE connector), installed with pip the
way a user installs one and used from pipelines through the `sqlflowc` command, in fresh
processes: the compile-time face (parameters, checks, secret fields, schema discovery) and the
run-time face (reads in Arrow batches, atomic exports, `connect test`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from helpers import SQLFLOWC

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "connectors" / "plugin"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin, `pip install`ed into a directory of its own (put on PYTHONPATH)."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build") / "plugin"
    shutil.copytree(PLUGIN, build, ignore=shutil.ignore_patterns("project", "build", "*.egg-info"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), build],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (target / "sqlflowc_sqlite-1.0.0.dist-info" / "entry_points.txt").is_file()
    return target


def with_plugin(
    cwd: Path, *args: str, site: Path | None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed console script in a fresh process, with `site` (the plugin) on the path."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    if site is not None:
        environ["PYTHONPATH"] = str(site)
    environ.update(env or {})
    return subprocess.run(
        [SQLFLOWC, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    shutil.copytree(PLUGIN / "project", work, ignore=shutil.ignore_patterns("target", "*.db"))
    return work


def test_the_example_project_runs(site: Path, project: Path) -> None:
    ran = with_plugin(
        project,
        *("run", "pipelines/1_export_orders.sf", "pipelines/2_report.sf"),
        *("--db", "target/shop.duckdb"),
        site=site,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "export_shop" in ran.stdout and "5 rows (inserted 5)" in ran.stdout
    assert "load_sqlite_orders" in ran.stdout and "5 rows (created, inserted 5)" in ran.stdout
    assert ran.stdout.endswith("2 pipelines: 2 ok\n")
    revenue = [
        "customer,revenue,orders",
        "Grace Hopper,322.0,2",
        "Ada Lovelace,165.75,2",
        "Edsger Dijkstra,99.99,1",
    ]
    assert (project / "target" / "revenue.csv").read_text("utf-8").splitlines() == revenue
    with sqlite3.connect(project / "target" / "report.db") as db:
        assert db.execute("SELECT * FROM revenue").fetchall() == [
            ("Grace Hopper", 322.0, 2),
            ("Ada Lovelace", 165.75, 2),
            ("Edsger Dijkstra", 99.99, 1),
        ]
    # the types survive DuckDB → SQLite → DuckDB (declared types carry them)
    with duckdb.connect(str(project / "target" / "shop.duckdb"), read_only=True) as con:
        types = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'sqlite_orders'"
        ).fetchall()
    assert types == [
        ("order_id", "BIGINT"),
        ("customer", "VARCHAR"),
        ("amount", "DOUBLE"),
        ("ordered_at", "TIMESTAMP"),
    ]

    # INCREMENTAL: the watermark goes into SQLite's query, so an old row is never read — not
    # even one whose amount could not be read as a number
    with sqlite3.connect(project / "data" / "shop.db") as db:
        db.execute(
            "INSERT INTO orders VALUES (6, 'Ada Lovelace', 10.0, '2024-03-04 09:00:00'), "
            "(0, 'Old', 'n/a', '2024-01-01 00:00:00')"
        )
    again = with_plugin(
        project, "run", "pipelines/2_report.sf", "--db", "target/shop.duckdb", site=site
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"load_sqlite_orders .* 1 row \(inserted 1\)", again.stdout), again.stdout
    assert "Ada Lovelace,175.75,3" in (project / "target" / "revenue.csv").read_text("utf-8")


def test_connect_list_and_test_show_the_plugin(site: Path, project: Path) -> None:
    listed = with_plugin(project, "connect", "list", "sqlite", "--format", "json", site=site)
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["type"] == "SQLITE" and entry["distribution"] == "sqlflowc-sqlite"
    assert entry["builtin"] is False
    params = {p["name"]: p for p in entry["params"]}
    assert params["path"]["required"] is True and params["batch_size"]["default"] == 10000
    assert params["key"]["secret"] is True  # declared in `secret_fields`
    assert [o["name"] for o in entry["export_options"]][:2] == ["table", "mode"]

    missing = with_plugin(project, "connect", "test", "shop", site=site)
    assert missing.returncode == 1
    assert missing.stderr.startswith(
        "error: connection `shop` (SQLITE, profile dev): sqlite data/shop.db: database file "
        "not found"
    )
    with sqlite3.connect(project / "data" / "shop.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
        db.execute("CREATE VIEW recent AS SELECT * FROM orders")
    ok = with_plugin(project, "connect", "test", "shop", site=site)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == (
        "ok: connection `shop` (SQLITE, profile dev)\n"
        f"  server: SQLite {sqlite3.sqlite_version} at data/shop.db (2 tables)\n"
        "  objects:\n    orders\n    recent\n"
    )


def test_without_the_plugin_the_type_is_unknown(project: Path) -> None:
    result = with_plugin(project, "check", "pipelines/1_export_orders.sf", site=None)
    assert result.returncode == 1
    assert "error[SF0904]: unknown export format `SQLITE`" in result.stderr


BAD = """\
SOURCE a TYPE SQLITE PARAMS {"path": "data/nope.db", "table": "orders"};
SOURCE b TYPE SQLITE PARAMS {"path": "data/shop.db", "query": "DELETE FROM orders"};
SOURCE c TYPE SQLITE PARAMS {"path": "data/shop.db", "tabel": "orders"};
SOURCE d TYPE SQLITE PARAMS {"path": "data/shop.db", "table": "orders", "batch_size": 0};
"""
MERGE = """\
SOURCE e TYPE SQLITE PARAMS {"path": "data/shop.db", "table": "orders"};
LOAD o FROM e;
LOAD o FROM e MODE MERGE KEY (order_no);
"""


def test_the_compile_time_face_reports_at_the_right_place(site: Path, project: Path) -> None:
    with sqlite3.connect(project / "data" / "shop.db") as db:
        db.execute("CREATE TABLE orders (order_id INTEGER NOT NULL, amount REAL)")
    (project / "pipelines" / "bad.sf").write_text(BAD, encoding="utf-8")
    result = with_plugin(project, "check", "pipelines/bad.sf", site=site)
    assert result.returncode == 1
    err = result.stderr
    assert "bad.sf:1:38: error[SF0903]: SQLITE source `a`: database file not found" in err
    assert "bad.sf:2:63: error[SF0902]: SQLITE source `b`: `query` is a DELETE statement" in err
    assert "bad.sf:3:54: error[SF0902]: unknown parameter `tabel` for SQLITE source `c`" in err
    assert "did you mean `table`?" in err
    assert (
        "bad.sf:4:87: error[SF0902]: SQLITE source `d`: parameter `batch_size`: input should be "
        "greater than or equal to 1, got 0"
    ) in err
    assert "Traceback" not in err
    # schema discovery (SQLite's catalog, through the run-time face) lets the compiler check
    # the MERGE key before anything runs
    (project / "pipelines" / "merge.sf").write_text(MERGE, encoding="utf-8")
    merge = with_plugin(project, "check", "pipelines/merge.sf", site=site)
    assert merge.returncode == 1
    assert (
        "merge.sf:3:15: error[SF0705]: key column `order_no` of table `o` is not a column"
    ) in merge.stderr
    assert "the source has: `order_id`, `amount`" in merge.stderr


def test_a_declared_secret_field_never_reaches_the_plan(site: Path, project: Path) -> None:
    with sqlite3.connect(project / "data" / "shop.db") as db:
        db.execute("CREATE TABLE orders (order_id INTEGER)")
        db.execute("INSERT INTO orders VALUES (1), (2)")
    (project / "pipelines" / "keyed.sf").write_text(
        'SOURCE e TYPE SQLITE PARAMS {"path": "data/shop.db", "table": "orders", '
        '"key": "Hq7-vault-Kz2"};\nLOAD o FROM e;\n',
        encoding="utf-8",
    )
    plan = with_plugin(project, "compile", "pipelines/keyed.sf", site=site)
    assert plan.returncode == 0, plan.stderr
    assert "Hq7-vault-Kz2" not in plan.stdout
    assert '"key": "${__source__.e.key}"' in plan.stdout
    as_json = with_plugin(project, "compile", "pipelines/keyed.sf", "--format", "json", site=site)
    assert "Hq7-vault-Kz2" not in as_json.stdout
    ran = with_plugin(project, "run", "pipelines/keyed.sf", "--db", "target/k.duckdb", site=site)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 rows" in ran.stdout and "Hq7-vault-Kz2" not in ran.stdout + ran.stderr
    # from a variable whose name says nothing of secrets: still kept out of the plan
    (project / "pipelines" / "keyed.sf").write_text(
        'SOURCE e TYPE SQLITE PARAMS {"path": "data/shop.db", "table": "orders", '
        '"key": "${SHOP_DB}"};\nLOAD o FROM e;\n',
        encoding="utf-8",
    )
    env = {"SHOP_DB": "Hq7-vault-Kz2"}
    plan = with_plugin(project, "compile", "pipelines/keyed.sf", "-o", "p.json", site=site, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "Hq7-vault-Kz2" not in (project / "p.json").read_text(encoding="utf-8")
