"""Load modes through the command line: exit codes 1 and 3, coded messages with the fix, the
plan's SQL, and `--schema-policy` on pipelines and on compiled plans."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from helpers import sqlflowc


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "sqlflow.yml").write_text("", encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text("id,name\n1,Ann\n2,Bob\n", encoding="utf-8")
    (tmp_path / "p.sf").write_text(
        'SOURCE people_csv TYPE CSV PARAMS {"path": "data/people.csv"};\n'
        "LOAD people FROM people_csv MODE UPSERT KEY id;\n",
        encoding="utf-8",
    )
    return tmp_path


def test_compile_shows_the_load_sql_and_mode(project: Path) -> None:
    text = sqlflowc("compile", str(project / "p.sf"))
    assert text.exit_code == 0, text.output
    assert "into people, mode MERGE KEY (id), schema policy strict" in text.stdout
    assert 'DELETE FROM people AS "_target" USING' in text.stdout
    plan = json.loads(sqlflowc("compile", str(project / "p.sf"), "--format", "json").stdout)
    (step,) = plan["steps"]
    assert step["mode"] == {
        "kind": "merge",
        "stage": "_sqlflow_stage_load_people",
        "schema_policy": "strict",
        "keys": ["id"],
    }
    assert step["sql"][0].startswith('CREATE TEMPORARY TABLE "_sqlflow_stage_load_people" AS')


def test_a_run_time_key_error_exits_3_with_its_code_place_and_fix(project: Path) -> None:
    (project / "data" / "people.csv").write_text("id,name\n1,Ann\n1,Bob\n", encoding="utf-8")
    result = sqlflowc("run", str(project / "p.sf"))
    assert result.exit_code == 3
    assert "p.sf:2:1: error[SF0609]: step `load_people` failed: the data for `people` has " in (
        result.stderr
    )
    assert "= help: keep one row per key in the query" in result.stderr
    assert "failed: the data for `people` has duplicate keys (id): 1 (2 rows)" in result.stdout


def test_merge_counts_are_in_the_progress_line(project: Path) -> None:
    first = sqlflowc("run", str(project / "p.sf"))
    assert "2 rows (created, inserted 2, updated 0)" in first.stdout, first.output
    (project / "data" / "people.csv").write_text("id,name\n2,Bo\n3,Cy\n", encoding="utf-8")
    second = sqlflowc("run", str(project / "p.sf"))
    assert "2 rows (inserted 1, updated 1)" in second.stdout, second.output


def test_schema_policy_on_run_and_on_a_compiled_plan(project: Path) -> None:
    assert sqlflowc("run", str(project / "p.sf")).exit_code == 0
    (project / "data" / "people.csv").write_text("id,name,age\n3,Cy,40\n", encoding="utf-8")

    compile_error = sqlflowc("run", str(project / "p.sf"))
    assert compile_error.exit_code == 1 and "error[SF0701]" in compile_error.stderr

    plan = project / "plan.json"
    # compiled against the run's database, the plan is refused; against another, it compiles
    assert sqlflowc("compile", str(project / "p.sf"), "-o", str(plan)).exit_code == 1
    (project / "profiles").mkdir()
    (project / "profiles" / "other.yml").write_text(
        "engine: {path: target/other.duckdb}\n", encoding="utf-8"
    )
    compiled = sqlflowc("compile", str(project / "p.sf"), "-o", str(plan), "--profile", "other")
    assert compiled.exit_code == 0, compiled.output
    db = str(project / "target" / "sqlflow.duckdb")

    strict = sqlflowc("run", str(plan), "--db", db)
    assert strict.exit_code == 3 and "error[SF0701]" in strict.stderr
    evolve = sqlflowc("run", str(plan), "--db", db, "--schema-policy", "evolve")
    assert evolve.exit_code == 0, evolve.output
    assert "added column `age` BIGINT" in evolve.stdout
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT * FROM people ORDER BY id").fetchall() == [
            (1, "Ann", None),
            (2, "Bob", None),
            (3, "Cy", 40),
        ]


def test_a_hand_edited_load_step_is_refused_before_anything_runs(project: Path) -> None:
    plan = project / "plan.json"
    assert sqlflowc("compile", str(project / "p.sf"), "-o", str(plan)).exit_code == 0
    data = json.loads(plan.read_text())
    data["steps"][0]["mode"]["keys"] = "id"
    plan.write_text(json.dumps(data), encoding="utf-8")
    result = sqlflowc("run", str(plan), "--db", str(project / "x.duckdb"))
    assert result.exit_code == 1
    assert "error[SF0910]" in result.stderr
    assert "`steps.0.mode.keys` expects a list of strings, got 'id'" in result.stderr
    assert not (project / "x.duckdb").exists()
