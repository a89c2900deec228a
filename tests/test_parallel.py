"""Parallel runs (`--jobs N`): the same tables and files for every N, on the examples and on
randomly generated DAGs; failure policies under parallelism; what runs on which connection."""

from __future__ import annotations

import random
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import sqlflowc
from sqlflowc.api import compile_file
from sqlflowc.backend.plan import CreateTable, Location, Plan, Replace, Sql, TableUdf
from sqlflowc.runtime.executor import EventKind, RunEvent, StepStatus, run_plan
from sqlflowc.runtime.scheduler import pinned_steps

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def snapshot(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table and view of a database, its rows sorted (order is not part of a table)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' ORDER BY 1"
            ).fetchall()
        ]
        # When (and in which run) sqlflowc's own tables were written is not part of the result.
        columns = {
            "_sqlflow_state": "* EXCLUDE (updated_at)",
            "_sqlflow_commits": "step_id",
        }
        return {
            name: sorted(
                con.execute(f'SELECT {columns.get(name, "*")} FROM "{name}"').fetchall(), key=repr
            )
            for name in names
        }
    finally:
        con.close()


def files(project: Path) -> dict[str, bytes]:
    """The files a run wrote under target/ (exports), not its records, snapshots and cache."""
    target = project / "target"
    skip = {"runs", "schemas", "cache"}
    return {
        str(p.relative_to(target)): p.read_bytes()
        for p in sorted(target.rglob("*"))
        if p.is_file()
        and p.suffix not in (".duckdb", ".wal", ".jsonl")
        and not skip.intersection(p.relative_to(target).parts)
    }


# -- the examples ----------------------------------------------------------------------------------


def example_pipelines() -> list[tuple[str, str]]:
    return [
        (project.name, str(pipeline.relative_to(project)))
        for project in sorted(EXAMPLES.iterdir())
        if (project / "pipelines").is_dir()
        for pipeline in sorted((project / "pipelines").glob("*.sf"))
    ]


@pytest.mark.parametrize(("example", "pipeline"), example_pipelines())
def test_examples_give_the_same_tables_and_files_for_every_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: str, pipeline: str
) -> None:
    results = {}
    for jobs in (1, 2, 4):
        project = tmp_path / f"jobs{jobs}"
        shutil.copytree(
            EXAMPLES / example, project, ignore=shutil.ignore_patterns("target", "__pycache__")
        )
        monkeypatch.chdir(project)
        db = project / "target" / "run.duckdb"
        done = sqlflowc("run", pipeline, "--db", str(db), "--jobs", str(jobs))
        assert done.exit_code == 0, done.output
        results[jobs] = (snapshot(db), files(project), done.stdout.splitlines()[1:-1])
    tables, written, lines = results[1]
    assert tables, "the example made tables"
    for jobs in (2, 4):
        assert results[jobs][0] == tables, f"--jobs {jobs} made other tables"
        assert results[jobs][1] == written, f"--jobs {jobs} wrote other files"
        # The plain lines come in plan order whatever ran first.
        assert [line.split()[1] for line in results[jobs][2]] == [line.split()[1] for line in lines]


def test_files_written_then_read_back_give_the_same_tables_for_every_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline that exports files and loads them back (a file, a partitioned directory),
    then overwrites one: the LOADs wait for the EXPORTs, the last EXPORT for the LOAD."""
    text = (
        "CREATE TABLE t AS SELECT range AS id, range % 3 AS g FROM range(1000);\n"
        "EXPORT t TO 'out/t.csv' TYPE CSV;\n"
        'EXPORT t TO \'out/parts\' TYPE PARQUET OPTIONS {"partition_by": ["g"]};\n'
        'SOURCE back TYPE CSV PARAMS {"path": "out/*.csv"};\n'
        'SOURCE parts TYPE PARQUET PARAMS {"path": "out/parts/*/*.parquet"};\n'
        "LOAD t_back FROM back;\n"
        "LOAD p_back FROM parts;\n"
        "EXPORT SELECT * FROM t WHERE id < 10 TO 'out/t.csv' TYPE CSV;\n"
    )
    results = []
    for jobs in (1, 4):
        project = tmp_path / f"jobs{jobs}"
        project.mkdir()
        (project / "sqlflow.yml").write_text("", encoding="utf-8")
        (project / "p.sf").write_text(text, encoding="utf-8")
        monkeypatch.chdir(project)
        done = sqlflowc("run", "p.sf", "--db", "run.duckdb", "--jobs", str(jobs))
        assert done.exit_code == 0, done.output
        tables = snapshot(project / "run.duckdb")
        assert len(tables["t_back"]) == 1000 and len(tables["p_back"]) == 1000
        written = (project / "out" / "t.csv").read_text().splitlines()
        results.append((tables, written))
    assert results[0] == results[1]
    assert len(results[0][1]) == 11


# -- random DAGs -----------------------------------------------------------------------------------


def random_pipeline(seed: int, size: int) -> str:
    """CREATE TABLE / VIEW statements, each reading up to three earlier ones at random, with an
    APPEND and a MERGE now and then: deterministic contents, a different DAG per seed."""
    rng = random.Random(seed)
    lines = [
        f"CREATE TABLE t0 AS SELECT range AS k, range * {rng.randint(1, 9)} AS v "
        f"FROM range({rng.randint(5, 50)});"
    ]
    names = ["t0"]
    for i in range(1, size):
        picks = rng.sample(names, k=min(len(names), rng.randint(1, 3)))
        union = " UNION ALL ".join(
            f"SELECT k, v + {rng.randint(0, 5)} AS v FROM {p}" for p in picks
        )
        key = f"k % {rng.randint(3, 20)}"
        query = f"SELECT {key} AS k, CAST(sum(v) AS BIGINT) AS v FROM ({union}) GROUP BY 1"
        kind = rng.random()
        if kind < 0.15:
            name = f"v{i}"
            lines.append(f"CREATE VIEW {name} AS {query};")
        elif kind < 0.25 and i > 2:
            target = rng.choice([n for n in names if n.startswith("t")])
            lines.append(f"CREATE TABLE {target} MODE APPEND AS {query};")
            continue
        elif kind < 0.32 and i > 2:
            target = rng.choice([n for n in names if n.startswith("m")] or ["-"])
            if target == "-":
                name = f"m{i}"
                lines.append(f"CREATE TABLE {name} AS {query};")
            else:
                lines.append(f"CREATE TABLE {target} MODE MERGE KEY (k) AS {query};")
                continue
        else:
            name = f"t{i}"
            lines.append(f"CREATE TABLE {name} AS {query};")
        names.append(name)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_a_random_dag_gives_the_same_tables_for_every_jobs(tmp_path: Path, seed: int) -> None:
    (tmp_path / "sqlflow.yml").write_text("", encoding="utf-8")
    pipeline = tmp_path / "p.sf"
    pipeline.write_text(random_pipeline(seed, 40), encoding="utf-8")
    plan = compile_file(pipeline, project_dir=tmp_path).plan
    assert any(len(s.depends_on) > 1 for s in plan.steps), "a DAG, not a chain"
    expected = None
    for jobs in (1, 2, 3, 8):
        db = tmp_path / f"jobs{jobs}.duckdb"
        result = run_plan(plan, database=str(db), jobs=jobs)
        assert result.ok, result.failures
        tables = snapshot(db)
        if expected is None:
            expected = tables
        assert tables == expected, f"--jobs {jobs} made other tables (seed {seed})"


def test_independent_steps_overlap_and_dependents_wait(tmp_path: Path) -> None:
    """Steps that each take a while run at once; a step starts only after its dependencies."""
    slow = "SELECT count(*) AS n FROM range(30000000) a"
    steps = [table(f"s{i}", f"s{i}", f"CREATE OR REPLACE TABLE s{i} AS {slow}") for i in range(4)]
    last = table(
        "last", "last", "CREATE OR REPLACE TABLE last AS SELECT 1 AS x", after=("s0", "s3")
    )
    plan = Plan(pipeline="p.sf", project_dir=str(tmp_path), steps=(*steps, last))
    seen: list[tuple[str, str, float]] = []

    def event(e: RunEvent) -> None:
        assert threading.current_thread() is threading.main_thread()
        seen.append((e.kind.value, e.step_id, time.perf_counter()))

    result = run_plan(plan, database=str(tmp_path / "db.duckdb"), jobs=4, events=event)
    assert result.ok
    starts = {step: at for kind, step, at in seen if kind == "started"}
    ends = {step: at for kind, step, at in seen if kind == "finished"}
    assert max(starts[f"s{i}"] for i in range(4)) < min(ends[f"s{i}"] for i in range(4))
    assert starts["last"] >= max(ends["s0"], ends["s3"])


# -- failure policies ------------------------------------------------------------------------------

_where = iter(range(1, 10_000))


def table(id: str, target: str, sql: str, *, after: tuple[str, ...] = ()) -> CreateTable:
    n = next(_where)
    return CreateTable(
        id=id,
        depends_on=after,
        location=Location("p.sf", n, 1, n, 10),
        writes=(target,),
        target=target,
        mode=Replace(),
        sql=(sql,),
    )


def failing_plan(tmp_path: Path) -> Plan:
    """`slow` takes about a second (more on a busy machine); `bad` (independent, started after
    it) fails at once, while `slow` runs; `after_bad` depends on `bad`, `after_slow` on
    `slow`."""
    return Plan(
        pipeline="p.sf",
        project_dir=str(tmp_path),
        steps=(
            table(
                "slow",
                "slow",
                "CREATE OR REPLACE TABLE slow AS SELECT sum(hash(range)) AS n FROM range(50000000)",
            ),
            table("bad", "bad", "CREATE TABLE bad AS SELECT nope"),
            table("after_bad", "after_bad", "CREATE TABLE after_bad AS SELECT 1", after=("bad",)),
            table(
                "after_slow",
                "after_slow",
                "CREATE OR REPLACE TABLE after_slow AS SELECT * FROM slow",
                after=("slow",),
            ),
        ),
    )


def test_continue_skips_the_dependents_of_a_failure_and_runs_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = run_plan(failing_plan(tmp_path), database=str(db), jobs=4, fail_fast=False)
    status = {o.step_id: o.status for o in result.outcomes}
    assert status == {
        "bad": StepStatus.FAILED,
        "slow": StepStatus.OK,
        "after_bad": StepStatus.SKIPPED,
        "after_slow": StepStatus.OK,
    }
    assert result.outcome("after_bad").message == "depends on failed step `bad`"
    assert [f.step_id for f in result.failures] == ["bad"]
    assert set(snapshot(db)) == {"slow", "after_slow"}


def test_fail_fast_lets_running_steps_finish_and_starts_nothing_new(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = run_plan(failing_plan(tmp_path), database=str(db), jobs=4)
    status = {o.step_id: o.status for o in result.outcomes}
    # `slow` was running when `bad` failed: it finishes and commits; nothing starts after.
    assert status["bad"] is StepStatus.FAILED
    assert status["slow"] is StepStatus.OK
    assert status["after_bad"] is StepStatus.SKIPPED
    assert status["after_slow"] is StepStatus.SKIPPED
    assert result.outcome("after_slow").message == "not run: step `bad` failed (--fail-fast)"
    assert set(snapshot(db)) == {"slow"}


def test_a_failure_under_parallelism_keeps_its_place_and_message(tmp_path: Path) -> None:
    (tmp_path / "sqlflow.yml").write_text("", encoding="utf-8")
    (tmp_path / "p.sf").write_text(
        "CREATE TABLE a AS SELECT 1 AS x;\n"
        "CREATE TABLE b AS SELECT 2 AS y;\n"
        "CREATE TABLE c AS\n  SELECT CAST('ten' AS INTEGER) AS n FROM a;\n",
        encoding="utf-8",
    )
    done = sqlflowc("run", str(tmp_path / "p.sf"), "--db", ":memory:", "--jobs", "4")
    assert done.exit_code == 3
    assert "p.sf:4:" in done.stderr
    assert "step `table_c` failed: Conversion Error" in done.stderr
    assert "4 |   SELECT CAST('ten' AS INTEGER) AS n FROM a;" in done.stderr


# -- which connection -----------------------------------------------------------------------------


def test_temp_tables_and_session_statements_pin_their_steps(tmp_path: Path) -> None:
    loc = Location("p.sf", 1, 1, 1, 2)
    udf = TableUdf(
        id="udf",
        location=loc,
        target="tmp_out",
        udf="python_udfs.m.f",
        input="a",
        args={},
        query="SELECT * FROM a",
        temporary=True,
        reads=("a",),
        writes=("tmp_out",),
    )
    steps = (
        table("a", "a", "CREATE TABLE a AS SELECT 1"),
        udf,
        table("reader", "r", "CREATE TABLE r AS SELECT * FROM tmp_out", after=("udf",)),
        table("free", "f", "CREATE TABLE f AS SELECT 1"),
        Sql(id="set", location=loc, sql="SET search_path = 'main'"),
        table("later", "l", "CREATE TABLE l AS SELECT 1"),
    )
    assert pinned_steps(steps) == {"udf", "reader", "set", "later"}


def test_a_session_setting_holds_for_the_steps_after_it(tmp_path: Path) -> None:
    """`SET` changes the run's connection; the steps after it see it whatever --jobs is."""
    (tmp_path / "sqlflow.yml").write_text("", encoding="utf-8")
    (tmp_path / "p.sf").write_text(
        "CREATE TABLE a AS SELECT 1 AS x;\n"
        "SET SESSION TimeZone = 'Asia/Kolkata';\n"
        "CREATE TABLE tz AS SELECT current_setting('TimeZone') AS zone;\n",
        encoding="utf-8",
    )
    db = tmp_path / "t.duckdb"
    done = sqlflowc("run", str(tmp_path / "p.sf"), "--db", str(db), "--jobs", "4")
    assert done.exit_code == 0, done.output
    assert snapshot(db)["tz"] == [("Asia/Kolkata",)]


def test_events_and_hook_calls_come_from_the_run_thread(tmp_path: Path) -> None:
    from sqlflowc.runtime.hooks import Hook, Hooks

    threads: set[str] = set()

    def note(record: object) -> None:
        threads.add(threading.current_thread().name)

    hook = Hook(
        name="probe",
        file=None,
        methods={m: note for m in ("on_step_start", "on_step_end", "on_step_failure")},
    )
    plan = failing_plan(tmp_path)
    run_plan(
        plan,
        database=":memory:",
        jobs=4,
        fail_fast=False,
        hooks=Hooks(hooks=(hook,)),
        events=lambda e: note(e),
    )
    assert threads == {threading.main_thread().name}


def test_every_event_kind_of_a_step_comes_once(tmp_path: Path) -> None:
    kinds: dict[str, list[EventKind]] = {}
    run_plan(
        failing_plan(tmp_path),
        database=":memory:",
        jobs=3,
        fail_fast=False,
        events=lambda e: kinds.setdefault(e.step_id, []).append(e.kind),
    )
    assert kinds == {
        "bad": [EventKind.STARTED, EventKind.FAILED],
        "slow": [EventKind.STARTED, EventKind.FINISHED],
        "after_bad": [EventKind.SKIPPED],
        "after_slow": [EventKind.STARTED, EventKind.FINISHED],
    }


def test_a_terminal_gets_the_live_view(tmp_path: Path) -> None:
    """On a terminal, rich draws the running steps; the finished lines are printed as usual."""
    import os
    import pty
    import subprocess
    import sys

    (tmp_path / "sqlflow.yml").write_text("", encoding="utf-8")
    (tmp_path / "p.sf").write_text(
        "CREATE TABLE a AS SELECT count(*) AS n FROM range(300000000);\n"
        "CREATE TABLE b AS SELECT n FROM a;\n",
        encoding="utf-8",
    )
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sqlflowc.cli import main; main()", "run", "p.sf"],
        cwd=tmp_path,
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = shown.decode("utf-8", errors="replace")
    assert "steps done" in text and "running" in text, "the live view was drawn"
    # ✓, or + when the terminal's encoding cannot show it.
    assert re.search(r"[✓+] table_a  \d+ ms  1 row", text)
    assert re.search(r"[✓+] table_b  \d+ ms  1 row", text)
    assert "2 ok in" in text
