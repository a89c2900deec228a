"""A failed step keeps its context everywhere it is reported: the statement's `file:line:col`,
the SQL that ran, the engine's message and the attempt (`attempt 1 of 1`) — in the terminal
diagnostic, in `run --format json`, in `sqlflowc status` and in the ledger's lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import sqlflowc_process
from sqlflowc.runtime.ledger import runs_dir

PIPELINE = """\
CREATE TABLE a AS SELECT range AS id FROM range(3);

CREATE TABLE b AS
  SELECT id, CAST('${bad|x}' AS INTEGER) AS n FROM a;
CREATE TABLE c AS SELECT * FROM b;
"""
SQL = "CREATE OR REPLACE TABLE b AS SELECT id, CAST('x' AS INTEGER) AS n FROM a"
ENGINE = "Conversion Error: Could not convert string 'x' to INT32"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "sqlflow.yml").write_text("name: failures\n", encoding="utf-8")
    (tmp_path / "pipelines" / "p.sf").write_text(PIPELINE, encoding="utf-8")
    return tmp_path


def _ledger_lines(project: Path) -> list[dict[str, object]]:
    (path,) = runs_dir(project).glob("*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_failed_sql_step_shows_where_what_ran_the_message_and_the_attempt(
    project: Path,
) -> None:
    failed = sqlflowc_process("run", "pipelines/p.sf", cwd=project)
    assert failed.returncode == 3, failed.stderr
    err = failed.stderr
    assert err.startswith("pipelines/p.sf:3:1: error[SF0905]: step `table_b` failed: "), err
    assert ENGINE in err
    assert "  = note: attempt 1 of 1; the SQL that ran:\n" in err
    assert f"\n      {SQL}\n" in err
    assert "  ✗ table_b" in failed.stdout or "  x table_b" in failed.stdout

    (line,) = [
        e for e in _ledger_lines(project) if e["event"] == "step_end" and e["step"] == "table_b"
    ]
    assert line["state"] == "failed"
    assert line["location"] == "pipelines/p.sf:3:1"
    assert line["sql"] == SQL
    assert ENGINE in str(line["error"])
    assert (line["attempts"], line["max_attempts"]) == (1, 1)
    (end,) = [e for e in _ledger_lines(project) if e["event"] == "run_end"]
    assert end["failures"] == [
        {
            "step": "table_b",
            "code": "SF0905",
            "message": line["error"],
            "location": "pipelines/p.sf:3:1",
            "sql": SQL,
            "attempt": 1,
            "max_attempts": 1,
        }
    ]


def test_the_json_record_and_status_carry_the_same_context(project: Path) -> None:
    failed = sqlflowc_process("run", "pipelines/p.sf", "--format", "json", cwd=project)
    assert failed.returncode == 3, failed.stderr
    record = json.loads(failed.stdout)
    (failure,) = record["failures"]
    assert failure["location"] == "pipelines/p.sf:3:1"
    assert failure["sql"] == SQL
    assert ENGINE in failure["message"]
    assert (failure["attempt"], failure["max_attempts"]) == (1, 1)
    step = next(s for s in record["steps"] if s["id"] == "table_b")
    assert (step["location"], step["sql"], step["attempts"], step["max_attempts"]) == (
        "pipelines/p.sf:3:1",
        SQL,
        1,
        1,
    )

    status = sqlflowc_process("status", cwd=project)
    assert status.returncode == 0, status.stderr
    text = status.stdout
    assert "  step table_b failed at pipelines/p.sf:3:1 (attempt 1 of 1):\n" in text
    assert f"    {ENGINE}" in text
    assert f"    the SQL that ran:\n      {SQL}\n" in text


def test_a_secret_spliced_into_the_sql_that_ran_is_masked(project: Path) -> None:
    (project / "pipelines" / "p.sf").write_text(
        "SET token = '${TOKEN}';\n"
        "CREATE TABLE t AS SELECT 'k-${token}' AS k, CAST('y' AS INTEGER) AS n;\n",
        encoding="utf-8",
    )
    failed = sqlflowc_process(
        "run", "pipelines/p.sf", "--format", "json", cwd=project, env={"TOKEN": "hunter2-secret"}
    )
    assert failed.returncode == 3, failed.stderr
    ran = "CREATE OR REPLACE TABLE t AS SELECT 'k-***' AS k, CAST('y' AS INTEGER) AS n"
    assert f"the SQL that ran:\n      {ran}\n" in failed.stderr
    assert json.loads(failed.stdout)["failures"][0]["sql"] == ran
    assert "hunter2-secret" not in failed.stderr + failed.stdout
    for path in runs_dir(project).iterdir():
        assert "hunter2-secret" not in path.read_text(encoding="utf-8")
