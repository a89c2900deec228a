"""Run records: every `sqlflowc run` writes target/runs/<id>.jsonl as it goes; `runs` and
`status` read them back, as text and JSON; a run killed with `kill -9` shows as `interrupted`;
runs of different pipelines at once keep separate records; secrets never reach a record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpers import sqlflowc
from sqlflowc.api import compile_source
from sqlflowc.runtime.hooks import RunRecord, StepRecord, StepState
from sqlflowc.runtime.ledger import Ledger, runs_dir
from sqlflowc.runtime.report import StepOutcome, StepStatus
from sqlflowc.runtime.run_records import find_run, list_runs, read_run

SQLFLOWC = str(Path(sys.executable).parent / "sqlflowc")

PIPELINE = """\
CREATE TABLE a AS SELECT range AS id FROM range(3);
CREATE TABLE b AS SELECT id * 2 AS id FROM a;
CREATE TABLE c AS SELECT id + ${bump|0} AS id FROM b;
CREATE TABLE d AS SELECT * FROM c;
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "sqlflow.yml").write_text("name: records\n", encoding="utf-8")
    (tmp_path / "pipelines" / "chain.sf").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_run_is_recorded_step_by_step(project: Path) -> None:
    ok = sqlflowc("run", "pipelines/chain.sf")
    assert ok.exit_code == 0, ok.output
    failed = sqlflowc("run", "pipelines/chain.sf", "--var", "bump='x'")
    assert failed.exit_code == 3
    runs = list_runs(runs_dir(project))
    assert [r.status for r in runs] == ["failed", "succeeded"]
    latest = runs[0]
    assert [(s.id, s.state) for s in latest.steps] == [
        ("table_a", "succeeded"),
        ("table_b", "succeeded"),
        ("table_c", "failed"),
        ("table_d", "skipped"),
    ]
    c = latest.step("table_c")
    assert c.code == "SF0905" and c.error is not None and "Conversion Error" in c.error
    assert c.attempts == 1 and c.finished_at is not None
    assert latest.step("table_b").rows == 3 and latest.step("table_b").duration_ms is not None
    assert "table_c" in (latest.step("table_d").reason or "")
    assert latest.variables == {"bump": "'x'"}
    assert latest.fingerprint != runs[1].fingerprint  # another variable, another plan
    assert latest.pid == os.getpid() and latest.peak_memory_bytes
    assert (runs_dir(project) / f"{latest.run_id}.plan.json").is_file()


def test_runs_and_status_as_text_and_json(project: Path) -> None:
    assert sqlflowc("run", "pipelines/chain.sf").exit_code == 0
    assert sqlflowc("run", "pipelines/chain.sf", "--var", "bump='x'").exit_code == 3
    listing = sqlflowc("runs")
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert lines[0].split() == [
        *("RUN", "PIPELINE", "STATUS", "STARTED", "(UTC)"),
        *("DURATION", "OK", "FAILED", "SKIPPED"),
    ]
    assert " failed " in lines[1] and lines[1].split()[-3:] == ["2", "1", "1"]
    assert " succeeded " in lines[2] and lines[2].split()[-3:] == ["4", "0", "0"]
    data = json.loads(sqlflowc("runs", "--format", "json", "--limit", "1").output)
    assert len(data) == 1 and data[0]["status"] == "failed"
    assert data[0]["counts"]["skipped"] == 1
    status = sqlflowc("status")
    assert status.exit_code == 0
    assert f"run {data[0]['run_id']}: pipelines/chain.sf failed" in status.output
    assert "table_c" in status.output and "SF0905: Conversion Error" in status.output
    older = json.loads(sqlflowc("runs", "--format", "json").output)[1]["run_id"]
    by_prefix = json.loads(sqlflowc("status", older[:-2], "--format", "json").output)
    assert by_prefix["run_id"] == older and by_prefix["status"] == "succeeded"
    assert [s["state"] for s in by_prefix["steps"]] == ["succeeded"] * 4
    unknown = sqlflowc("status", "nope")
    assert unknown.exit_code == 2 and "no run `nope`" in unknown.output


def test_status_without_runs_is_a_usage_error(project: Path) -> None:
    result = sqlflowc("status")
    assert result.exit_code == 2 and "no runs recorded" in result.output
    assert sqlflowc("runs").output.startswith("no runs recorded")


def test_run_format_json_prints_the_record(project: Path) -> None:
    result = sqlflowc("run", "pipelines/chain.sf", "--format", "json")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["status"] == "succeeded" and len(record["steps"]) == 4
    assert "running pipelines/chain.sf" in result.stderr
    both = sqlflowc("run", "pipelines/chain.sf", "pipelines/chain.sf", "--format", "json")
    assert [r["status"] for r in json.loads(both.stdout)] == ["succeeded", "succeeded"]


def test_secret_variables_are_masked(project: Path) -> None:
    (project / "pipelines" / "chain.sf").write_text(
        "CREATE TABLE t AS SELECT '${api_token}' = '' AS empty, ${n|1} AS n;\n", encoding="utf-8"
    )
    result = sqlflowc("run", "pipelines/chain.sf", "--var", "api_token=hunter2hunter2")
    assert result.exit_code == 0, result.output
    text = "".join(p.read_text() for p in runs_dir(project).iterdir())
    assert "hunter2" not in text
    assert list_runs(runs_dir(project))[0].variables["api_token"] == "***"


def _start(pipeline: str, project: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [SQLFLOWC, "run", pipeline],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


SLOW = """\
CREATE TABLE first AS SELECT 1 AS x;
CREATE TABLE slow AS SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3;
CREATE TABLE after AS SELECT * FROM slow;
"""


def test_a_killed_run_shows_as_interrupted(project: Path) -> None:
    (project / "pipelines" / "slow.sf").write_text(SLOW, encoding="utf-8")
    proc = _start("pipelines/slow.sf", project)
    runs = runs_dir(project)

    def running_slow() -> bool:
        found = list_runs(runs)
        # `first` and `slow` may start together (--jobs): wait for `first` to be done too.
        return (
            bool(found)
            and found[0].step("table_slow").state == "running"
            and found[0].step("table_first").state == "succeeded"
        )

    try:
        _wait_for(running_slow)
        assert list_runs(runs)[0].status == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run = list_runs(runs)[0]
    assert run.status == "interrupted"
    assert [s.state for s in run.steps] == ["succeeded", "interrupted", "pending"]
    shown = sqlflowc("status").output
    assert "interrupted" in shown and "--resume" in shown


def test_concurrent_runs_of_different_pipelines_keep_separate_records(project: Path) -> None:
    (project / "pipelines" / "other.sf").write_text(
        "CREATE TABLE o1 AS SELECT 1 AS x;\nCREATE TABLE o2 AS SELECT * FROM o1;\n",
        encoding="utf-8",
    )
    # Each run its own database: one DuckDB file takes one writer process at a time.
    procs = [
        subprocess.Popen(
            [SQLFLOWC, "run", f"pipelines/{name}.sf", "--db", f"target/{i}.duckdb"],
            cwd=project,
            stdout=subprocess.DEVNULL,
        )
        for i, name in enumerate(("chain", "other", "chain", "other"))
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    runs = list_runs(runs_dir(project))
    assert len({r.run_id for r in runs}) == 4
    for run in runs:
        assert run.status == "succeeded"
        expected = 4 if run.pipeline == "pipelines/chain.sf" else 2
        assert run.count("succeeded") == expected == len(run.steps)


def test_a_line_cut_short_by_a_kill_is_ignored(project: Path) -> None:
    assert sqlflowc("run", "pipelines/chain.sf").exit_code == 0
    path = next(runs_dir(project).glob("*.jsonl"))
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    header["pid"] = gone.pid  # as if another process had written it, and was killed
    lines[0] = json.dumps(header)
    path.write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2])
    run = read_run(path)
    assert run is not None and run.status == "interrupted"
    assert [s.state for s in run.steps] == ["succeeded", "pending", "pending", "pending"]
    assert find_run(runs_dir(project), run.run_id) is not None


def test_the_ledger_is_thread_safe(tmp_path: Path) -> None:
    text = "".join(f"CREATE TABLE t{i} AS SELECT {i} AS x;\n" for i in range(40))
    plan = compile_source(text, str(tmp_path / "p.sf"), project_dir=tmp_path).plan
    ledger = Ledger(tmp_path / "runs", plan)
    at = datetime.now(UTC)
    run = RunRecord(
        run_id="20260101T000000Z-abcdef",
        pipeline=plan.pipeline,
        project_dir=str(tmp_path),
        database=":memory:",
        plan=plan,
        started_at=at,
    )
    ledger.on_run_start(run)

    def work(steps: list[int]) -> None:
        for i in steps:
            step = plan.steps[i]
            ledger.on_step_start(
                StepRecord(run_id=run.run_id, step=step, state=StepState.RUNNING, started_at=at)
            )
            outcome = StepOutcome(step_id=step.id, status=StepStatus.OK, rows=i, duration_ms=1)
            ledger.on_step_end(
                StepRecord(
                    run_id=run.run_id,
                    step=step,
                    state=StepState.SUCCEEDED,
                    started_at=at,
                    finished_at=at,
                    outcome=outcome,
                )
            )

    threads = [threading.Thread(target=work, args=(list(range(k, 40, 4)),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorded = read_run(tmp_path / "runs" / f"{run.run_id}.jsonl")
    assert recorded is not None
    assert [(s.state, s.rows) for s in recorded.steps] == [("succeeded", i) for i in range(40)]
