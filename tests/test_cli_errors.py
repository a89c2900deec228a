"""The command line when things go wrong: exit codes, where diagnostics go, what is (not) written.

Exit codes (docs/cli.md): 1 the program has errors (nothing runs, nothing is written), 2 a
usage error, 3 a step failed at run time (what ran, failed and was skipped is listed). No output
ever shows a Python traceback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from helpers import SQLFLOWC, sqlflowc, sqlflowc_process

GOLDEN = Path(__file__).parent / "golden"
TRACEBACK = "Traceback (most recent call last)"
HEAD = re.compile(r"^\S+\.sf:\d+:\d+: error\[SF\d{4}\]: ", re.MULTILINE)

PEOPLE = "id,name,region,age\n1,Ada,eu,36\n2,Grace,us,45\n3,Linus,eu,28\n"

# A pipeline whose `adults` step fails at run time (DuckDB finds the misspelt column `agee`);
# `answer` does not depend on it, `adult_names` does.
FAILING = """\
SOURCE people_csv TYPE CSV PARAMS {"path": "data/people.csv"};
LOAD people FROM people_csv;
CREATE TABLE adults AS
SELECT name, sqrt(name) AS root FROM people WHERE age >= 18;
CREATE TABLE answer AS SELECT 42 AS n;
CREATE TABLE adult_names AS SELECT name FROM adults;
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project directory (with data/people.csv) that is also the working directory."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text(PEOPLE, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def table(database: Path, name: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
    finally:
        con.close()


def tables(database: Path) -> set[str]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


# -- exit 1: the program has errors ---------------------------------------------------------------


def test_compile_error_exits_1_and_runs_nothing(project: Path) -> None:
    (project / "p.sf").write_text(
        'SOURCE people_csv TYPE CSV PARAMS {"path": "data/people.csv"};\n'
        "LOAD people FROM people_csv;\n"
        "LAOD more FROM people_csv;\n",
        encoding="utf-8",
    )
    result = sqlflowc("run", "p.sf")
    assert result.exit_code == 1
    assert result.stderr.startswith("p.sf:3:1: error[SF0002]: unknown statement `LAOD`\n")
    assert result.stderr.endswith("1 error; nothing was run.\n")
    assert result.stdout == ""
    assert not (project / "target").exists(), "no database may be created"


def test_compile_error_writes_no_plan_file(project: Path) -> None:
    (project / "p.sf").write_text("CREATE TABLE t AS SELECT ${missing} AS x;\n", encoding="utf-8")
    result = sqlflowc("compile", "p.sf", "-o", "target/plan.json", "--format", "text")
    assert result.exit_code == 1
    assert result.stderr.startswith("p.sf:1:26: error[SF0201]: unknown variable `missing`\n")
    assert not (project / "target").exists()
    default = sqlflowc("compile", "p.sf", "-o", "target/plan.json")
    assert default.exit_code == 1
    assert default.stderr.startswith("p.sf:1:26: error[SF0201]")  # -o alone: text diagnostics
    as_json = sqlflowc("compile", "p.sf", "-o", "target/plan.json", "--format", "json")
    assert as_json.exit_code == 1
    assert '"code": "SF0201"' in as_json.stderr
    assert not (project / "target").exists()


def test_every_error_is_reported_with_a_count(project: Path) -> None:
    (project / "p.sf").write_text(
        "CREATE TABLE a AS SELECT ${x} AS x;\nCREATE TABLE b AS SELECT ${y} AS y;\n",
        encoding="utf-8",
    )
    result = sqlflowc("check", "p.sf")
    assert result.exit_code == 1
    assert HEAD.findall(result.stderr) == [
        "p.sf:1:26: error[SF0201]: ",
        "p.sf:2:26: error[SF0201]: ",
    ]
    assert result.stderr.endswith("0 of 1 pipeline(s) OK\n")


def test_warnings_alone_exit_0(project: Path) -> None:
    (project / "p.sf").write_text("CREATE TABLE t AS SELECT * FROM somewhere;\n", encoding="utf-8")
    result = sqlflowc("check", "p.sf")
    assert result.exit_code == 0
    assert "p.sf:1:33: warning[SF0502]: table `somewhere` is not created" in result.stderr


@pytest.mark.parametrize("text", ["", "-- to do\n", "SET region = 'eu';\n"])
def test_a_pipeline_with_nothing_to_run_says_so(project: Path, text: str) -> None:
    (project / "empty.sf").write_text(text, encoding="utf-8")
    result = sqlflowc("run", "empty.sf")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("empty.sf:1:1: warning[SF0011]: the pipeline has "), (
        result.stderr
    )
    assert "nothing to run" in result.stderr.splitlines()[0]
    assert "0 steps" in result.stdout


def test_check_format_json(project: Path) -> None:
    (project / "bad.sf").write_text("CREATE TABLE t AS SELECT 1;\nLAOD t FROM s;\n", "utf-8")
    (project / "warn.sf").write_text("CREATE TABLE u AS SELECT * FROM t;\n", encoding="utf-8")
    result = sqlflowc("check", "bad.sf", "warn.sf", "--format", "json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert rows == [
        {
            "severity": "error",
            "code": "SF0002",
            "message": "unknown statement `LAOD`",
            "file": "bad.sf",
            "line": 2,
            "column": 1,
            "end_line": 2,
            "end_column": 5,
            "label": "not a SQLFlow statement or a known SQL statement",
            "help": "did you mean `LOAD`?",
        },
        {
            "severity": "warning",
            "code": "SF0502",
            "message": "table `t` is not created by this pipeline",
            "file": "warn.sf",
            "line": 1,
            "column": 33,
            "end_line": 1,
            "end_column": 34,
            "label": "read here",
            "help": "fine if it already exists in the database",
        },
    ]


def test_check_format_json_when_all_is_well(project: Path) -> None:
    (project / "ok.sf").write_text("CREATE TABLE t AS SELECT 1 AS x;\n", encoding="utf-8")
    result = sqlflowc("check", "ok.sf", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


# -- exit 2: usage errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["compile", "p.sf", "--var", "novalue"], "expected NAME=VALUE"),
        (["compile", "p.sf", "--var", "=3"], "expected NAME=VALUE"),
        (["compile", "p.sf", "--vars", "[1, 2]"], "must be a JSON object"),
        (["compile", "p.sf", "--vars", "{nope"], "not valid JSON"),
        (["run", "p.sf", "--bogus"], "No such option"),
        (["run", "p.sf", "--threads", "0"], "--threads"),
        (["compile", "missing.sf"], "does not exist"),
        (["check", "p.sf", "--format", "yaml"], "--format"),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str], needle: str) -> None:
    (project / "p.sf").write_text("CREATE TABLE t AS SELECT 1 AS x;\n", encoding="utf-8")
    result = sqlflowc(*args)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert not (project / "target").exists()


# -- exit 3: a step fails at run time -------------------------------------------------------------


def test_run_time_failure_exits_3_and_names_the_statement(project: Path) -> None:
    (project / "p.sf").write_text(FAILING, encoding="utf-8")
    result = sqlflowc("run", "p.sf", "--jobs", "1")  # in plan order: table_answer comes after
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert lines[0].startswith("running p.sf: 4 steps on ")
    took = r"\d+(\.\d+)? m?s"  # `12 ms`, or `1.23 s` on a slow machine
    assert re.match(rf"  ✓ load_people  {took}  3 rows$", lines[1])
    assert re.match(rf"  ✗ table_adults  {took}  failed: Binder Error: .*sqrt\(VARCHAR\)", lines[2])
    assert (
        lines[3] == "  - table_answer  skipped: not run: step `table_adults` failed (--fail-fast)"
    )
    assert lines[4].startswith("  - table_adult_names  skipped: ")
    assert re.match(rf"1 ok, 1 failed, 2 skipped in {took}$", lines[5])
    assert result.stderr.startswith(
        "p.sf:4:14: error[SF0905]: step `table_adults` failed: Binder Error: "
    )
    assert "4 | SELECT name, sqrt(name) AS root FROM people WHERE age >= 18;" in result.stderr
    database = project / "target" / "sqlflow.duckdb"
    assert tables(database) == {"people"}, "the failed step left nothing behind"


def test_a_cast_error_at_run_time(project: Path) -> None:
    (project / "p.sf").write_text(
        "CREATE TABLE t AS SELECT CAST('ten' AS INTEGER) AS n;\n", encoding="utf-8"
    )
    result = sqlflowc("run", "p.sf")
    assert result.exit_code == 3
    assert result.stderr.startswith("p.sf:1:26: error[SF0905]: step `table_t` failed: Conversion")
    assert "1 | CREATE TABLE t AS SELECT CAST('ten' AS INTEGER) AS n;" in result.stderr
    assert "0 ok, 1 failed" in result.stdout


def test_continue_runs_independent_steps(project: Path) -> None:
    (project / "p.sf").write_text(FAILING, encoding="utf-8")
    result = sqlflowc("run", "p.sf", "--continue")
    assert result.exit_code == 3
    assert re.search(r"^  ✓ table_answer  ", result.stdout, re.MULTILINE)
    assert (
        "  - table_adult_names  skipped: depends on failed step `table_adults`"
        in result.stdout.splitlines()
    )
    assert re.search(r"^2 ok, 1 failed, 1 skipped in ", result.stdout, re.MULTILINE)
    database = project / "target" / "sqlflow.duckdb"
    assert table(database, "answer") == [(42,)]
    assert tables(database) == {"people", "answer"}


def test_fail_fast_is_the_default(project: Path) -> None:
    (project / "p.sf").write_text(FAILING, encoding="utf-8")
    result = sqlflowc("run", "p.sf", "--fail-fast", "--jobs", "1")
    assert result.exit_code == 3
    assert "table_answer  skipped" in result.stdout
    assert tables(project / "target" / "sqlflow.duckdb") == {"people"}


def test_failed_export_is_sf0908_and_leaves_no_file(project: Path) -> None:
    (project / "p.sf").write_text(
        "CREATE TABLE t AS SELECT 1 AS id;\n"
        "EXPORT SELECT sqrt('x' || id) FROM t TO \"target/out.csv\" TYPE CSV;\n",
        encoding="utf-8",
    )
    result = sqlflowc("run", "p.sf")
    assert result.exit_code == 3
    assert result.stderr.startswith("p.sf:2:15: error[SF0908]: step `export_out` failed: ")
    assert list((project / "target").glob("out*")) == []


def test_database_that_cannot_open_is_sf0909(project: Path) -> None:
    (project / "p.sf").write_text("CREATE TABLE t AS SELECT 1 AS id;\n", encoding="utf-8")
    (project / "blocker").write_text("a file, not a directory", encoding="utf-8")
    result = sqlflowc("run", "p.sf", "--db", "blocker/x.duckdb")
    assert result.exit_code == 3
    assert result.stderr.startswith("error[SF0909]: cannot open database blocker/x.duckdb")
    assert "  - table_t  skipped: the database could not be opened" in result.stdout


STARTED_HOOK = """
from pathlib import Path

def on_step_start(step):
    Path("started").touch()
"""


def test_a_database_another_process_uses_is_sf0909_naming_it(project: Path) -> None:
    """Two real processes: a run holds the database (a long step); a second run on it exits 3
    with a diagnostic naming the other process and what to do, not DuckDB's lock message."""
    (project / "slow.sf").write_text(
        "CREATE TABLE n AS SELECT count(*) AS n FROM range(100000000000) a;\n", encoding="utf-8"
    )
    (project / "p.sf").write_text("CREATE TABLE t AS SELECT 1 AS id;\n", encoding="utf-8")
    (project / "hooks").mkdir()
    (project / "hooks" / "started.py").write_text(STARTED_HOOK, encoding="utf-8")
    holder = subprocess.Popen(
        [SQLFLOWC, "run", "slow.sf", "--db", "shared.duckdb"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (project / "started").exists():
            assert holder.poll() is None, holder.communicate()
            assert time.monotonic() < deadline, "the first run never started its step"
            time.sleep(0.05)
        (project / "hooks" / "started.py").unlink()
        second = sqlflowc_process("run", "p.sf", "--db", "shared.duckdb", cwd=project)
    finally:
        holder.send_signal(signal.SIGINT)
        holder.communicate(timeout=60)
    assert second.returncode == 3, second.stderr
    first, help_line = second.stderr.splitlines()[:2]
    assert first == (
        f"error[SF0909]: the database shared.duckdb is in use: another process "
        f"(PID {holder.pid}: `{Path(SQLFLOWC).name} run slow.sf --db shared.duckdb`) is using "
        f"the database file {(project / 'shared.duckdb').resolve()}"
    ), second.stderr
    assert help_line.startswith("  = help: DuckDB lets one process at a time write a database")
    assert f"`kill {holder.pid}`" in help_line
    assert "IO Error" not in second.stderr and TRACEBACK not in second.stderr
    assert "  - table_t  skipped: the database could not be opened" in second.stdout
    assert tables(project / "shared.duckdb") == set(), "the second run wrote nothing"


def test_run_time_failure_through_the_console_script(project: Path) -> None:
    (project / "p.sf").write_text(FAILING, encoding="utf-8")
    done = sqlflowc_process("run", "p.sf", "--continue", cwd=project)
    assert done.returncode == 3, done.stderr
    assert "p.sf:4:14: error[SF0905]" in done.stderr
    assert "✓ table_answer" in done.stdout
    assert TRACEBACK not in done.stdout + done.stderr


# -- no traceback, ever ---------------------------------------------------------------------------


def _settings(case: Path) -> list[str]:
    """The case's `-- vars:` / `-- profile:` / `-- project:` lines as command-line options."""
    args: list[str] = []
    text = case.read_bytes().decode("utf-8", errors="replace")
    for line in text.splitlines():
        match = re.fullmatch(r"--\s*(vars|profile|project):\s*(.*)", line.strip())
        if match is None:
            break
        args += [f"--{match.group(1)}", match.group(2).strip()]
    return args


ERROR_CASES = sorted(p.with_suffix("").with_suffix(".sf") for p in GOLDEN.glob("*.err.txt"))


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c.stem for c in ERROR_CASES])
def test_golden_error_cases_through_the_cli(
    case: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(GOLDEN)
    database = tmp_path / "golden.duckdb"
    result = sqlflowc("run", case.name, "--db", str(database), *_settings(case))
    assert result.exit_code == 1
    assert TRACEBACK not in result.output + result.stderr
    assert "internal error" not in result.stderr
    first = case.with_suffix(".err.txt").read_text(encoding="utf-8").splitlines()[0]
    assert result.stderr.startswith(first.replace("<project>", str(GOLDEN.resolve())))
    assert result.stdout == ""
    assert not database.exists()


def test_no_traceback_from_the_console_script(tmp_path: Path) -> None:
    corpus = tmp_path / "golden"
    shutil.copytree(GOLDEN, corpus)
    cases = [case.name for case in ERROR_CASES]
    done = sqlflowc_process("check", *cases, cwd=corpus)
    assert done.returncode == 1
    for stream in (done.stdout, done.stderr):
        assert TRACEBACK not in stream
        assert "internal error" not in stream
    assert done.stderr.endswith(" pipeline(s) OK\n")
    compiled = sqlflowc_process("compile", "plan_ordering.sf", cwd=corpus)
    assert compiled.returncode == 0, compiled.stderr
