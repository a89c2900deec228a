"""The command line as a user runs it: init → compile → run → graph, plan files, --var."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from helpers import sqlflowc

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def test_init_creates_a_project_that_runs(in_tmp: Path) -> None:
    result = sqlflowc("init", "demo")
    assert result.exit_code == 0, result.output
    assert (in_tmp / "demo" / "pipelines" / "example.sf").is_file()
    os.chdir(in_tmp / "demo")
    run = sqlflowc("run", "pipelines/example.sf")
    assert run.exit_code == 0, run.output + run.stderr
    report = (in_tmp / "demo" / "target" / "report_dev.csv").read_text().splitlines()
    assert report[0] == "customer_id,name,region,total,orders"
    # dev keeps customers with a total of at least min_total = 20 (from profiles/dev.yml)
    assert report[1:] == ["1,Ada,eu,65.5,2", "4,Margaret,us,55.1,1"]
    con = duckdb.connect(str(in_tmp / "demo" / "target" / "dev.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM customer_totals").fetchall() == [(4,)]


def test_init_refuses_to_overwrite(in_tmp: Path) -> None:
    assert sqlflowc("init", "demo").exit_code == 0
    again = sqlflowc("init", "demo")
    assert again.exit_code == 1
    assert "already exists" in again.output + again.stderr


def test_compile_to_plan_file_then_run_it(in_tmp: Path) -> None:
    project = in_tmp / "qs"
    shutil.copytree(
        ROOT / "examples" / "quickstart", project, ignore=shutil.ignore_patterns("target")
    )
    plan_path = in_tmp / "plan.json"
    result = sqlflowc("compile", str(project / "pipelines" / "quickstart.sf"), "-o", str(plan_path))
    assert result.exit_code == 0, result.stderr
    plan = json.loads(plan_path.read_text())
    assert [s["id"] for s in plan["steps"]][:3] == [
        "load_customers",
        "load_products",
        "load_orders",
    ]
    assert plan["steps"][3]["depends_on"] == ["load_customers", "load_products", "load_orders"]
    run = sqlflowc("run", str(plan_path), "--db", str(in_tmp / "x.duckdb"))
    assert run.exit_code == 0, run.output + run.stderr
    assert "7 ok" in run.output
    out = (project / "target" / "revenue_by_customer.csv").read_text().splitlines()
    assert out[1] == "Grace Hopper,US,498.0,2"


def test_var_overrides_profile_and_json_typing(in_tmp: Path) -> None:
    (in_tmp / "p.sf").write_text(
        "CREATE TABLE t AS SELECT ${n} + 1 AS n, '${name}' AS name, ${flag} AS flag;\n"
    )
    result = sqlflowc(
        "run",
        "p.sf",
        "--db",
        "out.duckdb",
        "--var",
        "n=41",
        "--vars",
        '{"name": "x y", "flag": true}',
    )
    assert result.exit_code == 0, result.output + result.stderr
    con = duckdb.connect("out.duckdb", read_only=True)
    assert con.execute("SELECT * FROM t").fetchall() == [(42, "x y", True)]


def test_bad_var_is_a_usage_error(in_tmp: Path) -> None:
    (in_tmp / "p.sf").write_text("CREATE TABLE t AS SELECT 1;\n")
    result = sqlflowc("compile", "p.sf", "--var", "novalue")
    assert result.exit_code == 2
    assert "expected NAME=VALUE" in result.output + result.stderr


@pytest.mark.parametrize(
    ("fmt", "needles"),
    [
        ("mermaid", ["flowchart TD", "load_orders --> table_order_lines"]),
        ("dot", ["digraph pipeline {", '"load_orders" -> "table_order_lines";']),
        ("html", ["<!DOCTYPE html>", "<svg", "table_order_lines"]),
    ],
)
def test_graph_formats(in_tmp: Path, fmt: str, needles: list[str]) -> None:
    pipeline = ROOT / "examples" / "quickstart" / "pipelines" / "quickstart.sf"
    result = sqlflowc("graph", str(pipeline), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    for needle in needles:
        assert needle in result.output
    if fmt == "html":
        assert "http://" not in result.output.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in result.output


def test_graph_shows_only_active_branches(in_tmp: Path) -> None:
    (in_tmp / "p.sf").write_text(
        "IF ${env|dev} == 'prod' THEN\n  CREATE TABLE prod_only AS SELECT 1;\n"
        "ELSE\n  CREATE TABLE dev_only AS SELECT 1;\nEND IF;\n"
    )
    dev = sqlflowc("graph", "p.sf").output
    prod = sqlflowc("graph", "p.sf", "--var", "env=prod").output
    assert "dev_only" in dev and "prod_only" not in dev
    assert "prod_only" in prod and "dev_only" not in prod


def test_help_is_fast_enough_to_import_nothing_heavy() -> None:
    code = (
        "import sys, sqlflowc.cli\n"
        "heavy = {'duckdb', 'sqlglot', 'lark', 'pyarrow', 'pydantic'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
