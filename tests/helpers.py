"""Small helpers shared by the test modules (import as `from helpers import ...`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
from click.testing import CliRunner, Result

from sqlflowc.api import Compilation
from sqlflowc.cli import cli

SQLFLOWC = str(Path(sys.executable).parent / "sqlflowc")  # the installed console script


def sql(db: Path, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements on a database file; the rows of the last one."""
    con = duckdb.connect(str(db))
    try:
        out: list[tuple[Any, ...]] = []
        for s in statements:
            out = con.execute(s).fetchall()
        return out
    finally:
        con.close()


def rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows of one query on a database file, opened read-only."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(query).fetchall()


def sqlflowc(*args: str) -> Result:
    """The CLI in-process, as a user would call it; it ends by `sys.exit` or not at all (any
    other exception would be a traceback for the user)."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def sqlflowc_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed console script in a fresh process, as a user runs it (`env` on top of
    this process's environment)."""
    return subprocess.run(
        [SQLFLOWC, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


# sqlflowc's entry point run by this Python, so that a signal reaches sqlflowc itself
SQLFLOWC_MAIN = [sys.executable, "-c", "from sqlflowc.cli import main; main()"]


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`sqlflowc ARGS` started in a fresh process (output captured, no colours), to be signalled
    while it works and ended with `stop`."""
    return subprocess.Popen(
        [*SQLFLOWC_MAIN, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TERM": "dumb"},
    )


def stop(proc: subprocess.Popen[str], sig: int, timeout: float = 60) -> tuple[int, str, str, float]:
    """Send `sig` to a process `start`ed; its status, stdout, stderr and the seconds from the
    signal to its end."""
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err, time.monotonic() - sent


def run_ok(pipeline: str, *args: str) -> Result:
    """`sqlflowc run pipelines/<pipeline>.sf`, which must succeed."""
    result = sqlflowc("run", f"pipelines/{pipeline}.sf", *args)
    assert result.exit_code == 0, result.output
    return result


_IMPORT_PROBE = """
import sys
from click.testing import CliRunner
from sqlflowc.cli import cli
result = CliRunner().invoke(cli, sys.argv[1:])
assert result.exit_code == 0, result.output
print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def imported_modules(cwd: Path, *args: str) -> set[str]:
    """The top-level modules a fresh interpreter has imported once it ran `sqlflowc *args` (the
    CLI in-process, which must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(done.stdout.split())


def compile_text(text: str, root: Path, **settings: Any) -> Compilation:
    """Compile `text` as the pipeline `root/p.sf` of project `root`, with no environment
    variables; `settings` go to `compile_source` (`verify_sql=True` compiles as `check` and
    `run` do)."""
    from sqlflowc.api import compile_source

    return compile_source(text, str(root / "p.sf"), project_dir=root, environ={}, **settings)
