"""`sqlflowc run PIPELINE --resume [RUN_ID]`: the steps that succeeded are not run again, the
end state equals a clean run's (an APPEND before a failing step is not appended twice, also
when the process was killed at any moment), and a changed plan is refused unless --force.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import sqlflowc
from sqlflowc.runtime.ledger import runs_dir
from sqlflowc.runtime.run_records import list_runs

SQLFLOWC = str(Path(sys.executable).parent / "sqlflowc")

PIPELINE = """\
SOURCE items_csv TYPE CSV PARAMS {"path": "data/items.csv"};
LOAD items FROM items_csv;
LOAD item_log FROM items_csv MODE APPEND;
CREATE TABLE totals AS SELECT count(*) AS n, sum(price) AS total FROM item_log;
CREATE TABLE checked AS SELECT n / ${divisor|1} AS ratio FROM totals;
EXPORT SELECT * FROM checked TO "target/checked.csv" TYPE CSV OPTIONS {"header": true};
"""


def make_project(root: Path, pipeline: str = PIPELINE) -> Path:
    (root / "pipelines").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "sqlflow.yml").write_text("name: resume\n", encoding="utf-8")
    (root / "data" / "items.csv").write_text("id,price\n1,10\n2,20\n3,30\n", encoding="utf-8")
    (root / "pipelines" / "p.sf").write_text(pipeline, encoding="utf-8")
    return root


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the database (but sqlflowc's own), its rows sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE table_name NOT LIKE '\\_sqlflow\\_%' "
                "ESCAPE '\\' ORDER BY 1"
            ).fetchall()
        ]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}
    finally:
        con.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def clean(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The tables of a clean run of the pipeline, in a project of its own."""
    root = make_project(tmp_path / "clean")
    done = subprocess.run([SQLFLOWC, "run", "pipelines/p.sf"], cwd=root, capture_output=True)
    assert done.returncode == 0, done.stderr
    return tables(root / "target" / "sqlflow.duckdb")


def test_an_append_before_a_failing_step_is_not_appended_twice(
    project: Path, clean: dict[str, list[tuple[Any, ...]]]
) -> None:
    failed = sqlflowc("run", "pipelines/p.sf", "--var", "divisor='x'")
    assert failed.exit_code == 3
    failed_id = list_runs(runs_dir(project))[0].run_id
    # The plan changed (another variable): refused, nothing runs.
    refused = sqlflowc("run", "pipelines/p.sf", "--resume")
    assert refused.exit_code == 1
    assert "error[SF0915]: cannot resume: the plan of pipelines/p.sf changed" in refused.stderr
    assert "--force" in refused.stderr and "nothing was run." in refused.stderr
    assert len(list_runs(runs_dir(project))) == 1
    resumed = sqlflowc("run", "pipelines/p.sf", "--resume", failed_id[:-3], "--force")
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming run {failed_id} (failed): 3 of 5 steps done in it" in resumed.stdout
    assert "3 done earlier" in resumed.stdout and "2 ok" in resumed.stdout
    assert tables(project / "target" / "sqlflow.duckdb") == clean
    record = list_runs(runs_dir(project))[0]
    assert record.resumed_from == failed_id and record.status == "succeeded"
    assert record.step("load_item_log").reused_from == failed_id
    assert (project / "target" / "checked.csv").read_text() == "ratio\n3.0\n"


def test_resume_of_the_same_plan_and_the_refusals(project: Path) -> None:
    pipeline = project / "pipelines" / "p.sf"
    pipeline.write_text(PIPELINE.replace("${divisor|1}", "CAST('x' AS INT)"), encoding="utf-8")
    assert sqlflowc("run", "pipelines/p.sf").exit_code == 3
    failed = list_runs(runs_dir(project))[0]
    again = sqlflowc("run", "pipelines/p.sf", "--resume")  # same plan: no --force needed
    assert again.exit_code == 3, again.output
    assert f"resuming run {failed.run_id} (failed)" in again.stdout
    latest = list_runs(runs_dir(project))[0]
    assert latest.step("load_item_log").reused_from == failed.run_id
    # It resumes the latest run, which resumed the first: the steps done are done in that one.
    third = sqlflowc("run", "pipelines/p.sf", "--resume")
    assert f"resuming run {latest.run_id} (failed)" in third.stdout
    assert list_runs(runs_dir(project))[0].step("load_items").reused_from == failed.run_id
    other_db = sqlflowc("run", "pipelines/p.sf", "--resume", "--db", "target/other.duckdb")
    assert other_db.exit_code == 1 and "the tables of the steps it did are not there" in (
        other_db.stderr
    )
    unknown = sqlflowc("run", "pipelines/p.sf", "--resume", "nope")
    assert unknown.exit_code == 1 and "no run `nope` recorded" in unknown.stderr
    two = sqlflowc("run", "pipelines/p.sf", "pipelines/p.sf", "--resume")
    assert two.exit_code == 2 and "--resume takes one TARGET" in two.output
    pipeline.write_text(PIPELINE, encoding="utf-8")
    assert sqlflowc("run", "pipelines/p.sf", "--resume", "--force").exit_code == 0
    done = sqlflowc("run", "pipelines/p.sf", "--resume")
    assert done.exit_code == 1 and "succeeded: there is nothing to resume" in done.stderr


def test_no_run_to_resume(project: Path) -> None:
    result = sqlflowc("run", "pipelines/p.sf", "--resume")
    assert result.exit_code == 1
    assert "no run of pipelines/p.sf is recorded" in result.stderr


KILL_HOOK = """
import os, signal

def on_step_start(step):
    if step.id == "table_totals":
        os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_before_totals(project: Path) -> Path:
    """Run the pipeline (one step at a time) in a process killed as `table_totals` starts;
    the record of that run."""
    (project / "hooks").mkdir(exist_ok=True)
    (project / "hooks" / "kill.py").write_text(KILL_HOOK, encoding="utf-8")
    try:
        killed = subprocess.run(
            [SQLFLOWC, "run", "pipelines/p.sf", "--jobs", "1"], cwd=project, capture_output=True
        )
    finally:
        (project / "hooks" / "kill.py").unlink()
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (path,) = runs_dir(project).glob("*.jsonl")
    return path


def marks(project: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(project / "target" / "sqlflow.duckdb"), read_only=True) as con:
        return con.execute("SELECT run_id, step_id FROM _sqlflow_commits ORDER BY 1, 2").fetchall()


def test_a_step_killed_after_its_commit_is_not_run_again(
    project: Path, clean: dict[str, list[tuple[Any, ...]]]
) -> None:
    """The ledger's line for a step comes after its COMMIT: a kill in between leaves a step
    `running` in the record whose data is in the database. Its commit mark tells. (The run
    is killed a step later, and the record cut back to before the step's end.)"""
    path = killed_before_totals(project)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    cut = next(
        i for i, x in enumerate(lines) if x["event"] == "step_end" and x["step"] == "load_item_log"
    )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines[:cut]))
    assert list_runs(runs_dir(project))[0].step("load_item_log").state == "interrupted"
    resumed = sqlflowc("run", "pipelines/p.sf", "--resume", "--jobs", "1")
    assert resumed.exit_code == 0, resumed.output
    assert "2 of 5 steps done in it" in resumed.stdout
    assert tables(project / "target" / "sqlflow.duckdb") == clean


def test_commit_marks_are_removed_once_no_resume_can_read_them(project: Path) -> None:
    """A run that ends removes its own marks (its record says how each step ended) and those
    of the run it resumed; a killed run's stay until then; a run whose record is gone loses
    its marks at the next run's end."""
    assert sqlflowc("run", "pipelines/p.sf").exit_code == 0
    assert marks(project) == []
    failed = sqlflowc("run", "pipelines/p.sf", "--var", "divisor='x'")
    assert failed.exit_code == 3  # load_item_log committed, a later step failed
    assert marks(project) == []
    for path in runs_dir(project).iterdir():
        path.unlink()
    killed = killed_before_totals(project).name.removesuffix(".jsonl")
    assert marks(project) == [(killed, "load_item_log")]
    with duckdb.connect(str(project / "target" / "sqlflow.duckdb")) as con:
        con.execute("INSERT INTO _sqlflow_commits VALUES ('20000101T000000Z-000000', 'x', now())")
    (project / "pipelines" / "other.sf").write_text(
        "CREATE TABLE other_log MODE APPEND AS SELECT 1 AS x;\n", encoding="utf-8"
    )
    assert sqlflowc("run", "pipelines/other.sf").exit_code == 0  # marks, then prunes
    assert marks(project) == [(killed, "load_item_log")]  # still resumable
    resumed = sqlflowc("run", "pipelines/p.sf", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert marks(project) == []
    # Its marks are gone: resuming it again would run its APPEND twice. Refused.
    again = sqlflowc("run", "pipelines/p.sf", "--resume", killed)
    assert again.exit_code == 1
    assert f"cannot resume: run {killed} of pipelines/p.sf was resumed already" in again.stderr


SLOW_PIPELINE = """\
SOURCE items_csv TYPE CSV PARAMS {"path": "data/items.csv"};
LOAD items FROM items_csv;
LOAD item_log FROM items_csv MODE APPEND;
CREATE TABLE busy1 AS SELECT count(*) AS n FROM range(30000000) t(i) WHERE i % 7 = 1;
LOAD item_log FROM items_csv MODE APPEND;
LOAD by_id FROM items_csv MODE MERGE KEY (id);
CREATE TABLE busy2 AS SELECT count(*) AS n FROM range(30000000) t(i) WHERE i % 5 = 1;
CREATE TABLE history MODE APPEND AS SELECT n FROM busy2;
CREATE TABLE totals AS SELECT count(*) AS n, sum(price) AS total FROM item_log;
EXPORT SELECT * FROM totals TO "target/totals.csv" TYPE CSV OPTIONS {"header": true};
"""


@pytest.mark.slow
def test_kill_at_random_moments_then_resume_equals_a_clean_run(tmp_path: Path) -> None:
    reference = make_project(tmp_path / "clean", SLOW_PIPELINE)
    t0 = time.monotonic()
    done = subprocess.run([SQLFLOWC, "run", "pipelines/p.sf"], cwd=reference, capture_output=True)
    took = time.monotonic() - t0
    assert done.returncode == 0, done.stderr
    expected = tables(reference / "target" / "sqlflow.duckdb")
    rng = random.Random(20260106)
    seen: list[str] = []
    # At least 8 kills, and on until 3 of them landed mid-run (a fast machine spends a larger
    # share of the run starting up, so fewer random moments fall inside it).
    for attempt in range(24):
        if attempt >= 8 and seen.count("interrupted") >= 3:
            break
        root = tmp_path / f"killed{attempt}"
        shutil.copytree(reference, root, ignore=shutil.ignore_patterns("target"))
        proc = subprocess.Popen(
            [SQLFLOWC, "run", "pipelines/p.sf"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, took * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        runs = list_runs(runs_dir(root))
        status = runs[0].status if runs else "not started"
        seen.append(status)
        if status != "succeeded":  # else it ended before the kill: nothing to resume
            assert status in ("interrupted", "not started"), status
            args = ["run", "pipelines/p.sf", "--resume"] if runs else ["run", "pipelines/p.sf"]
            resumed = subprocess.run([SQLFLOWC, *args], cwd=root, capture_output=True, text=True)
            assert resumed.returncode == 0, resumed.stderr
        assert tables(root / "target" / "sqlflow.duckdb") == expected, (attempt, status)
    assert seen.count("interrupted") >= 3, seen  # most kills land in the middle of the run
