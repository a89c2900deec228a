"""Python UDFs doing what user code does: returning None from a non-Optional signature, raising
SystemExit or KeyboardInterrupt, printing while imported, failing deep in a helper — and a real
Ctrl-C during a UDF step. Everything through the `sqlflowc` console script, as a user runs it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from helpers import SQLFLOWC, rows, sqlflowc_process

MODULE = """
    import sys
    import time
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.compute as pc

    from sqlflowc.udf import python_scalar_udf, python_table_udf

    from python_udfs.helpers import check_positive

    print("loading the UDFs")  # must not reach stdout

    @python_scalar_udf
    def maybe_half(x: int) -> int:
        return None if x % 2 else x // 2

    @python_scalar_udf
    def nothing() -> str:
        return None

    @python_scalar_udf(vectorized=True)
    def doubled_or_null(x: int) -> int:
        return pa.array([None if v % 3 == 0 else v * 2 for v in x.to_pylist()], pa.int64())

    @python_scalar_udf
    def quits(x: int) -> int:
        sys.exit(4)

    @python_scalar_udf
    def interrupts(x: int) -> int:
        raise KeyboardInterrupt

    @python_scalar_udf
    def checked(x: int) -> int:
        return check_positive(x - 3)

    @python_scalar_udf
    def slow(x: int) -> int:
        Path("started").touch()
        time.sleep(0.5)
        return x

    @python_table_udf
    def quits_table(t: pa.Table) -> pa.Table:
        raise SystemExit("bye")
"""

HELPERS = """
    def check_positive(n):
        if n <= 0:
            raise ValueError(f"{n} is not positive")
        return n
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "python_udfs").mkdir()
    (tmp_path / "python_udfs" / "funcs.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    (tmp_path / "python_udfs" / "helpers.py").write_text(textwrap.dedent(HELPERS), encoding="utf-8")
    (tmp_path / "pipelines").mkdir()
    return tmp_path


def run(project: Path, body: str, *args: str) -> subprocess.CompletedProcess[str]:
    (project / "pipelines" / "p.sf").write_text(
        "CREATE TABLE n AS SELECT range::INTEGER AS x FROM range(1, 7);\n" + body,
        encoding="utf-8",
    )
    return sqlflowc_process("run", "pipelines/p.sf", "--db", "target/t.duckdb", *args, cwd=project)


def db(project: Path) -> Path:
    return project / "target" / "t.duckdb"


def test_none_from_a_non_optional_signature_is_null(project: Path) -> None:
    done = run(
        project,
        "CREATE TABLE r AS SELECT x, maybe_half(x) AS h, doubled_or_null(x) AS d, nothing() AS z "
        "FROM n ORDER BY x;\n"
        "CREATE TABLE with_nulls AS SELECT maybe_half(CASE WHEN x < 3 THEN NULL ELSE x END) AS h, "
        "doubled_or_null(CASE WHEN x = 4 THEN NULL ELSE x END) AS d FROM n ORDER BY x;\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(db(project), "SELECT x, h, d, z FROM r ORDER BY x") == [
        (1, None, 2, None),
        (2, 1, 4, None),
        (3, None, None, None),
        (4, 2, 8, None),
        (5, None, 10, None),
        (6, 3, None, None),
    ]
    # A NULL argument still skips the call (the function never sees None)...
    assert rows(db(project), "SELECT h, d FROM with_nulls") == [
        (None, 2),
        (None, 4),
        (None, None),
        (2, None),
        (None, 10),
        (3, None),
    ]


@pytest.mark.parametrize(
    ("call", "raised", "line"),
    [
        ("quits(x)", "SystemExit: 4", "sys.exit(4)"),
        ("interrupts(x)", "KeyboardInterrupt", "raise KeyboardInterrupt"),
    ],
)
def test_a_udf_raising_systemexit_or_keyboardinterrupt_fails_its_step(
    project: Path, call: str, raised: str, line: str
) -> None:
    done = run(project, f"CREATE TABLE r AS SELECT {call} AS v FROM n;\n")
    assert done.returncode == 3, done.stdout + done.stderr
    name = call.split("(")[0]
    assert (
        f"error[SF0808]: step `table_r` failed: UDF `python_udfs.funcs.{name}` raised {raised} "
        "on input (1)"
    ) in done.stderr
    assert "= note: raised at python_udfs/funcs.py:" in done.stderr
    assert f"in {name}: {line}" in done.stderr
    assert "interrupted" not in done.stderr


def test_a_table_udf_raising_systemexit(project: Path) -> None:
    done = run(project, "CREATE TABLE r AS SELECT * FROM quits_table(n);\n")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "error[SF0808]: step `table_r` failed: table UDF `python_udfs.funcs.quits_table` " in (
        done.stderr
    )
    assert "raised SystemExit: bye" in done.stderr
    assert 'in quits_table: raise SystemExit("bye")' in done.stderr


def test_a_failure_shows_the_users_own_file_and_line(project: Path) -> None:
    done = run(project, "CREATE TABLE r AS SELECT checked(x) AS v FROM n;\n")
    assert done.returncode == 3
    assert "raised ValueError: -2 is not positive on input (1)" in done.stderr
    # The last frame in the user's modules: the helper that raised, not the UDF's wrapper.
    assert "= note: raised at python_udfs/helpers.py:4 in check_positive: " in done.stderr
    assert 'raise ValueError(f"{n} is not positive")' in done.stderr


def test_a_real_ctrl_c_during_a_udf_stops_the_run(project: Path) -> None:
    (project / "pipelines" / "p.sf").write_text(
        "CREATE TABLE keep AS SELECT 1 AS k;\n"
        "CREATE TABLE r AS SELECT slow(range::INTEGER) AS v FROM range(100);\n"
        "CREATE TABLE after AS SELECT 2 AS a;\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [SQLFLOWC, "run", "pipelines/p.sf", "--db", "target/t.duckdb", "--jobs", "1"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (project / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (project / "started").exists()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    # The interrupt stops the run as an interrupt, not as a failed step (3): 130 once the CLI's
    # signal handling maps every interrupt to it, click's `Aborted!` (1) before.
    assert proc.returncode in (1, 130), out + err
    assert "SF0808" not in err and "failed" not in out
    assert "Traceback" not in err
    tables = {t for (t,) in rows(db(project), "SELECT table_name FROM duckdb_tables()")}
    assert tables == {"keep"}  # the interrupted step rolled back; nothing after it ran


def test_print_at_import_does_not_corrupt_json_output(project: Path) -> None:
    (project / "pipelines" / "p.sf").write_text(
        "CREATE TABLE r AS SELECT maybe_half(2) AS h;\n", encoding="utf-8"
    )
    for args in (
        ("check", "pipelines/p.sf", "--format", "json"),
        ("compile", "pipelines/p.sf", "--format", "json"),
        ("udf", "list", "--format", "json"),
    ):
        done = sqlflowc_process(*args, cwd=project)
        assert done.returncode == 0, done.stderr
        json.loads(done.stdout)
        assert "loading the UDFs" in done.stderr


def test_a_module_calling_sys_exit_at_import(project: Path) -> None:
    (project / "python_udfs" / "leaves.py").write_text("import sys\nsys.exit(2)\n", "utf-8")
    (project / "pipelines" / "p.sf").write_text("CREATE TABLE r AS SELECT 1 AS a;\n", "utf-8")
    done = sqlflowc_process("check", "pipelines/p.sf", cwd=project)
    assert done.returncode == 1
    assert "error[SF0804]: cannot import UDF module `python_udfs.leaves`: SystemExit: 2" in (
        done.stderr
    )


def test_the_table_of_a_table_udf_inside_a_query_is_not_left_behind(project: Path) -> None:
    (project / "python_udfs" / "tables.py").write_text(
        textwrap.dedent(
            """
            import pyarrow as pa
            import pyarrow.compute as pc
            from sqlflowc.udf import python_table_udf

            @python_table_udf
            def tagged(t: pa.Table) -> pa.Table:
                return t.append_column("tag", pa.array(["t"] * t.num_rows))
            """
        ),
        encoding="utf-8",
    )
    done = run(
        project,
        "CREATE TABLE r AS SELECT x, tag FROM tagged(n) WHERE x > 4 ORDER BY x;\n"
        "EXPORT SELECT count(*) AS c FROM tagged(n) TO 'target/c.csv' TYPE CSV;\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(db(project), "SELECT * FROM r") == [(5, "t"), (6, "t")]
    tables = {t for (t,) in rows(db(project), "SELECT table_name FROM duckdb_tables()")}
    assert tables == {"n", "r"}
    assert (project / "target" / "c.csv").read_text(encoding="utf-8") == "c\n6\n"
    # ... and not after a failed run either.
    failed = run(project, "CREATE TABLE r2 AS SELECT x, nope FROM tagged(n) WHERE x > 4;\n")
    assert failed.returncode == 3
    tables = {t for (t,) in rows(db(project), "SELECT table_name FROM duckdb_tables()")}
    assert tables == {"n", "r"}


def test_a_table_udf_in_a_view_is_refused(project: Path) -> None:
    (project / "pipelines" / "p.sf").write_text(
        "CREATE TABLE n AS SELECT 1 AS x;\n"
        "CREATE VIEW v AS SELECT * FROM quits_table(n) WHERE x > 0;\n",
        encoding="utf-8",
    )
    done = sqlflowc_process("check", "pipelines/p.sf", cwd=project)
    assert done.returncode == 1
    assert (
        "pipelines/p.sf:2:32: error[SF0807]: table UDF `python_udfs.funcs.quits_table` "
        "cannot be called in a view"
    ) in done.stderr
