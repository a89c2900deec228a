"""A PostgreSQL source that fails transiently, then permanently or until its retries run out:
the failure says which attempt it was (`attempt 3 of 4`), where the LOAD is, the SQL that ran
(with what was asked of PostgreSQL) and the server's message — on the terminal, in
`run --format json` and in the ledger."""

from __future__ import annotations

import json
from pathlib import Path

from pgserver import PgDatabase
from test_postgres_pipelines import pipeline, project, run

from sqlflowc.runtime.ledger import runs_dir

__all__ = ["project"]  # the fixture, shared with the pipeline tests

TRANSIENT = "try again later"
PERMANENT = "the answer is gone for good"


def _flaky(db: PgDatabase, transient_calls: int) -> None:
    """`flaky()` raises a serialization failure (transient, 40001) on its first
    `transient_calls` calls, then division by zero (permanent, 22012). A sequence counts the
    calls: it is not rolled back with the failed statement."""
    db.run(
        "CREATE SEQUENCE calls",
        f"""CREATE FUNCTION flaky() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('calls') <= {transient_calls} THEN
    RAISE EXCEPTION '{TRANSIENT}' USING ERRCODE = '40001';
  END IF;
  RAISE EXCEPTION '{PERMANENT}' USING ERRCODE = '22012';
END $$""",
    )


def _source(project: Path, retries: int) -> str:
    return pipeline(
        project,
        'SOURCE f FROM "warehouse" OPTIONS {"query": "SELECT flaky() AS x", '
        f'"retries": {retries}, "retry_delay": 0.01}};\n'
        "LOAD answers FROM f;\n",
    )


def test_transient_then_permanent_fails_on_the_attempt_it_reached(
    project: Path, pg_db: PgDatabase
) -> None:
    _flaky(pg_db, transient_calls=2)
    failed = run(project, "run", _source(project, retries=3), "--format", "json")
    assert failed.returncode == 3, failed.stderr
    err = failed.stderr
    assert "load_answers  retrying (1/3)" in err and "load_answers  retrying (2/3)" in err
    assert "retrying (3/3)" not in err  # a permanent error is not retried
    assert err.count(TRANSIENT) == 2
    head = "pipelines/p.sf:2:1: error[SF0905]: step `load_answers` failed: postgres connection "
    assert head in err
    assert PERMANENT in err
    assert "  = note: attempt 3 of 4; the SQL that ran:\n" in err
    asked = '-- "_sqlflow_read_load_answers" reads source `f` (postgres): SELECT flaky() AS x'
    assert f"\n      {asked}\n" in err

    record = json.loads(failed.stdout)
    (failure,) = record["failures"]
    assert (failure["attempt"], failure["max_attempts"]) == (3, 4)
    assert failure["location"] == "pipelines/p.sf:2:1"
    assert PERMANENT in failure["message"]
    assert failure["sql"].endswith(asked)
    (step,) = record["steps"]
    assert (step["attempts"], step["max_attempts"], step["retries"]) == (3, 4, 2)

    (path,) = runs_dir(project).glob("*.jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    retries = [e for e in lines if e["event"] == "step_retry"]
    assert [(e["attempt"], TRANSIENT in e["error"]) for e in retries] == [(2, True), (3, True)]
    (end,) = [e for e in lines if e["event"] == "step_end"]
    assert (end["attempts"], end["max_attempts"], end["location"]) == (3, 4, "pipelines/p.sf:2:1")
    assert PERMANENT in end["error"]
    assert end["sql"] == failure["sql"]


def test_transient_until_the_retries_run_out(project: Path, pg_db: PgDatabase) -> None:
    _flaky(pg_db, transient_calls=100)
    failed = run(project, "run", _source(project, retries=2))
    assert failed.returncode == 3, failed.stderr
    err = failed.stdout + failed.stderr
    assert "load_answers  retrying (2/2)" in err
    assert "step `load_answers` failed: postgres connection " in err
    assert PERMANENT not in err
    assert "  = note: attempt 3 of 3; the SQL that ran:\n" in err
    assert pg_db.rows("SELECT last_value FROM calls") == [(3,)]
