"""Ctrl-C (SIGINT) and SIGTERM sent to a real `sqlflowc run` process: the running steps are
interrupted and rolled back, what was done and not done is printed, the status is 130 or 143;
the same during a compile, an EXPORT (no temporary file left) and a Python UDF."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from helpers import start, stop

# A hook that tells the test which steps have started (a file per step).
STARTED_HOOK = """
from pathlib import Path

def on_step_start(step):
    Path(step.run_id and "started").mkdir(exist_ok=True)
    (Path("started") / step.id).touch()
"""

SLOW = "SELECT count(*) AS n FROM range(100000000000) a"


def project(tmp_path: Path, pipeline: str) -> Path:
    (tmp_path / "sqlflow.yml").write_text("", encoding="utf-8")
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "started.py").write_text(STARTED_HOOK, encoding="utf-8")
    (tmp_path / "p.sf").write_text(pipeline, encoding="utf-8")
    return tmp_path


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def tables(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize(
    ("sig", "status", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_a_signal_interrupts_the_running_steps_and_rolls_them_back(
    tmp_path: Path, sig: int, status: int, name: str
) -> None:
    root = project(
        tmp_path,
        "CREATE TABLE a AS SELECT 1 AS x;\n"
        f"CREATE TABLE b AS {SLOW};\n"
        f"CREATE TABLE c AS {SLOW.replace(' a', ' c')};\n"
        "CREATE TABLE d AS SELECT n FROM b;\n",
    )
    proc = start(root, "run", "p.sf", "--db", "t.duckdb", "--jobs", "4")
    wait_for(root / "started" / "table_b", proc)
    wait_for(root / "started" / "table_c", proc)
    time.sleep(0.3)
    code, out, err, took = stop(proc, sig)
    assert code == status, (out, err)
    assert took < 10, "the statements were interrupted promptly"
    assert "  ✓ table_a" in out
    assert "  ! table_b" in out and f"interrupted ({name}); rolled back" in out
    assert f"  - table_d  skipped: not run: the run was interrupted ({name})" in out
    assert f"interrupted by {name}" in err
    assert "done: 1 step (committed): table_a" in err
    assert "rolled back: 2 steps" in err and "table_b, table_c" in err
    assert "not run: 1 step: table_d" in err
    assert "internal error" not in err and "Traceback" not in err
    assert tables(root / "t.duckdb") == {"a"}
    # The run's record says so too: `sqlflowc status`, and `--resume` takes it up.
    from sqlflowc.runtime.ledger import runs_dir
    from sqlflowc.runtime.run_records import list_runs

    run = list_runs(runs_dir(root))[0]
    assert run.status == "interrupted"
    assert {s.id: s.state for s in run.steps} == {
        "table_a": "succeeded",
        "table_b": "interrupted",
        "table_c": "interrupted",
        "table_d": "skipped",
    }


def test_ctrl_c_during_a_compile_exits_130(tmp_path: Path) -> None:
    # The compile imports the project's UDF modules; this one says it started, then takes its
    # time, so the signal surely arrives while the compile runs (however fast the machine).
    root = project(tmp_path, "CREATE TABLE t AS SELECT 1 AS x;\n")
    udfs = root / "python_udfs"
    udfs.mkdir()
    (udfs / "__init__.py").write_text("")
    started = root / "compile-started"
    (udfs / "slow.py").write_text(
        f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(60)\n"
    )
    proc = start(root, "compile", "p.sf", "-o", "plan.json")
    deadline = time.monotonic() + 60
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the compile ended before the signal"
    code, _, err, _ = stop(proc, signal.SIGINT)
    assert code == 130, err
    assert "Aborted!" not in err and "Traceback" not in err
    assert "interrupted by SIGINT" in err
    assert not (root / "plan.json").exists()


def test_an_interrupted_export_leaves_no_temporary_file(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "EXPORT SELECT range AS x, md5(range::VARCHAR) AS h FROM range(3000000000) "
        'TO "out/big.csv" TYPE CSV;\n',
    )
    proc = start(root, "run", "p.sf", "--db", "t.duckdb")
    wait_for(root / "started" / "export_big", proc)
    deadline = time.monotonic() + 30
    while not any((root / "out").glob(".sqlflowc-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any((root / "out").glob(".sqlflowc-*")), "the export was writing its temporary file"
    code, out, err, _ = stop(proc, signal.SIGINT)
    assert code == 130, (out, err)
    assert "! export_big" in out
    assert list((root / "out").iterdir()) == [], "no temporary file, no half-written target"


UDF_MODULE = '''
"""A slow UDF."""
import time
from pathlib import Path

from sqlflowc.udf import python_scalar_udf


@python_scalar_udf
def slow_double(x: int) -> int:
    """Doubles x, slowly."""
    Path("udf_running").touch()
    time.sleep(0.05)
    return x * 2
'''


def test_ctrl_c_during_a_python_udf_exits_130(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "CREATE TABLE src AS SELECT range AS x FROM range(100000);\n"
        "CREATE TABLE doubled AS\n"
        'SELECT PYTHON_FUNC("python_udfs.slow.slow_double", x) AS y FROM src;\n',
    )
    (root / "python_udfs").mkdir()
    (root / "python_udfs" / "__init__.py").write_text("", encoding="utf-8")
    (root / "python_udfs" / "slow.py").write_text(UDF_MODULE, encoding="utf-8")
    proc = start(root, "run", "p.sf", "--db", "t.duckdb")
    wait_for(root / "udf_running", proc)
    code, out, err, took = stop(proc, signal.SIGINT)
    assert code == 130, (out, err)
    assert took < 10
    assert "! table_doubled" in out
    assert "Traceback" not in err and "internal error" not in err
    assert tables(root / "t.duckdb") == {"src"}


STUCK_UDF = '''
"""A UDF that takes its time over each row."""
import time
from pathlib import Path

from sqlflowc.udf import python_scalar_udf


@python_scalar_udf
def stuck(x: int) -> int:
    """Returns x after a long wait."""
    Path("udf_running").touch()
    time.sleep(30)
    return x
'''


def test_a_second_ctrl_c_does_not_wait_for_the_steps(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "CREATE TABLE src AS SELECT range AS x FROM range(10);\n"
        'CREATE TABLE out AS SELECT PYTHON_FUNC("python_udfs.stuck.stuck", x) AS y FROM src;\n',
    )
    (root / "python_udfs").mkdir()
    (root / "python_udfs" / "__init__.py").write_text("", encoding="utf-8")
    (root / "python_udfs" / "stuck.py").write_text(STUCK_UDF, encoding="utf-8")
    proc = start(root, "run", "p.sf", "--db", "t.duckdb")
    wait_for(root / "udf_running", proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    assert proc.poll() is None, "the first Ctrl-C waits for the UDF's row to end"
    code, out, err, took = stop(proc, signal.SIGINT)
    assert code == 130, (out, err)
    assert took < 10, "the second Ctrl-C left at once"
    assert "! table_out" in out and "rolled back: 1 step" in err
    assert tables(root / "t.duckdb") == {"src"}


RETRY_HOOK = """
from pathlib import Path

def on_step_retry(step):
    Path("retrying").touch()
"""


def test_ctrl_c_while_a_connector_waits_to_retry_stops_at_once(tmp_path: Path) -> None:
    """A source that cannot connect waits 50 s before its first retry; Ctrl-C during that
    wait ends the run at once (well before the wait would have), with status 130."""
    root = project(
        tmp_path,
        'SOURCE o TYPE POSTGRES PARAMS {"host": "127.0.0.1", "port": 1, "dbname": "x", '
        '"table": "t", "retries": 3, "retry_delay": 50};\n'
        "LOAD o FROM o;\n",
    )
    (root / "hooks" / "retrying.py").write_text(RETRY_HOOK, encoding="utf-8")
    proc = start(root, "run", "p.sf")
    wait_for(root / "retrying", proc)
    status, out, err, took = stop(proc, signal.SIGINT)
    assert status == 130, out + err
    assert took < 40, f"the run went on for {took:.1f} s after Ctrl-C"
    assert "load_o  retrying (1/3) in 50 s" in out
    assert "interrupted (SIGINT); rolled back" in out
    assert "retrying (2/3)" not in out


# The console script, with Ctrl-C arriving while `main` imports the module that installs the
# signal handlers: a KeyboardInterrupt raised by that import (the window is a few milliseconds,
# so the test makes it happen there rather than waiting for a lucky signal).
CTRL_C_AT_START = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "sqlflowc.cli_progress":
            raise KeyboardInterrupt
        return None

from sqlflowc.cli import main
sys.meta_path.insert(0, CtrlC())
sys.argv = ["sqlflowc", "--version"]
main()
"""


def test_ctrl_c_before_the_signal_handlers_are_installed_exits_130(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_AT_START], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "interrupted by SIGINT"
