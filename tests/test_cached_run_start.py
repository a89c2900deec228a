"""What a cached `sqlflowc run PIPELINE` costs before and after its steps: it imports only what
running the plan needs (no compiler, no YAML, no schema comparison on a first capture, no
run-record reader), and leaves without the interpreter's finalization only when nothing but
sqlflowc, DuckDB and the standard library ran, with everything it wrote on disk."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import SQLFLOWC, sql, sqlflowc_process
from sqlflowc.schema.store import SnapshotStore

PIPELINE = """\
SOURCE customers_csv TYPE CSV PARAMS {"path": "data/customers.csv", "has_header": true};
SOURCE orders_csv TYPE CSV PARAMS {"path": "data/orders.csv", "has_header": true};
LOAD customers FROM customers_csv;
LOAD orders FROM orders_csv;
CREATE TABLE revenue AS SELECT c.country, SUM(o.amount) AS revenue
FROM orders AS o JOIN customers AS c USING (customer_id) GROUP BY ALL ORDER BY ALL;
EXPORT revenue TO "out/revenue.csv" TYPE CSV OPTIONS {"header": true};
"""

# Modules a cached run of PIPELINE never needs: the compiler and its parsers, the profile's
# reader, the schema comparison (a first capture has nothing to compare with) and its
# rendering, the run-record reader, load modes (sqlglot), UDFs, resuming, the live display.
NOT_IMPORTED = (
    "click",
    "yaml",
    "lark",
    "sqlglot",
    "rich",
    "difflib",
    "sqlflowc.api",
    "sqlflowc.cli_commands",
    "sqlflowc.passes",
    "sqlflowc.syntax",
    "sqlflowc.backend.duckdb",
    "sqlflowc.backend.plan_io",
    "sqlflowc.profile_file",
    "sqlflowc.connectors.catalog",
    "sqlflowc.schema.compare",
    "sqlflowc.schema.render",
    "sqlflowc.runtime.load_modes",
    "sqlflowc.runtime.udfs",
    "sqlflowc.runtime.resume",
    "sqlflowc.runtime.run_records",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pipelines").mkdir(parents=True)
    (root / "profiles").mkdir()
    (root / "data").mkdir()
    (root / "profiles" / "dev.yml").write_text(
        "engine:\n  type: duckdb\n  path: target/run.duckdb\n", encoding="utf-8"
    )
    (root / "data" / "customers.csv").write_text(
        "customer_id,name,country\n1,ann,DE\n2,bob,FR\n3,cy,DE\n", encoding="utf-8"
    )
    (root / "data" / "orders.csv").write_text(
        "order_id,customer_id,amount\n1,1,10.5\n2,2,3.0\n3,3,1.5\n4,1,2.0\n", encoding="utf-8"
    )
    (root / "pipelines" / "small.sf").write_text(PIPELINE, encoding="utf-8")
    return root


def _fresh_run(root: Path) -> None:
    """What a first capture sees: no database, no snapshots, no run records, no output."""
    for name in ("target/run.duckdb", "target/run.duckdb.wal"):
        (root / name).unlink(missing_ok=True)
    for name in ("target/schemas", "target/runs", "out"):
        folder = root / name
        if folder.is_dir():
            for path in sorted(folder.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            folder.rmdir()


def _modules_of_cached_run(root: Path) -> list[str]:
    """Run the pipeline through `main` in a fresh interpreter, as the console script does;
    every module imported."""
    status, modules = _after_cached_run(root, "print(json.dumps([status, sorted(sys.modules)]))\n")
    assert status == 0  # a cached plan was found and ran
    return list(modules)


def _after_cached_run(root: Path, then: str) -> Any:
    """Run the small pipeline as the console script does (`_cached_run`, in a fresh
    interpreter), then the code `then` (which has `status`, `json` and `sys`): the JSON its last
    line prints."""
    code = (
        "import json, sys\n"
        "sys.argv = ['sqlflowc', 'run', 'pipelines/small.sf']\n"
        "from sqlflowc.cli import _cached_run\n"
        "status = _cached_run(sys.argv[1:])\n" + then
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cached_run_imports_only_what_running_needs(project: Path) -> None:
    assert sqlflowc_process("run", "pipelines/small.sf", cwd=project).returncode == 0
    _fresh_run(project)
    modules = _modules_of_cached_run(project)
    # the probe sees what it should: the executor, DuckDB, the CSV connector's run-time face
    assert {"duckdb", "sqlflowc.runtime.executor", "sqlflowc.connectors.files.runtime"} <= set(
        modules
    )
    found = [name for name in NOT_IMPORTED if name in modules]
    assert found == [], f"a cached run imported {found}"
    # A run whose snapshots exist compares the new capture with them: then schema.compare.
    assert "sqlflowc.schema.compare" in _modules_of_cached_run(project)


def test_a_cached_run_s_dataclasses_compile_no_code(project: Path) -> None:
    """The dataclasses a cached run imports are made by `sqlflowc.lean_dataclass` (the standard
    decorator compiles their methods from generated source, `<string>`, at every start)."""
    assert sqlflowc_process("run", "pipelines/small.sf", cwd=project).returncode == 0
    _fresh_run(project)
    status, seen, generated = _after_cached_run(
        project,
        "import dataclasses\n"
        "generated, seen = [], 0\n"
        "for name, module in sorted(sys.modules.items()):\n"
        "    if not name.startswith('sqlflowc'):\n"
        "        continue\n"
        "    for cls in vars(module).values():\n"
        "        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)\n"
        "                and cls.__module__ == name):\n"
        "            continue\n"
        "        seen += 1\n"
        "        for method in ('__init__', '__repr__', '__eq__', '__hash__'):\n"
        "            fn = cls.__dict__.get(method)\n"
        "            fn = getattr(fn, '__wrapped__', fn)\n"
        "            if getattr(getattr(fn, '__code__', None), 'co_filename', '') == '<string>':\n"
        "                generated.append(f'{name}.{cls.__qualname__}.{method}')\n"
        "print(json.dumps([status, seen, generated]))\n",
    )
    assert status == 0 and seen > 40, (status, seen)
    assert generated == []


_TIMINGS = re.compile(r"\d[\d,.]* (ms|s)\b")


def test_a_cached_run_through_the_console_script_leaves_everything_on_disk(
    project: Path,
) -> None:
    """The console script's cached run (which leaves without the interpreter's finalization)
    prints what click's `run` prints, exits 0, and has written the database (checkpointed: no
    WAL left), the export, the snapshots and the run's whole record."""
    first = sqlflowc_process("run", "pipelines/small.sf", cwd=project)  # compiles, caches
    assert first.returncode == 0, first.stdout + first.stderr
    _fresh_run(project)
    cached = sqlflowc_process("run", "pipelines/small.sf", cwd=project)
    assert cached.returncode == 0, cached.stdout + cached.stderr
    assert _TIMINGS.sub("N", cached.stdout) == _TIMINGS.sub("N", first.stdout)
    assert cached.stderr == first.stderr == ""
    assert not (project / "target" / "run.duckdb.wal").exists()
    assert sql(project / "target" / "run.duckdb", "SELECT * FROM revenue") == [
        ("DE", 14.0),
        ("FR", 3.0),
    ]
    assert (project / "out" / "revenue.csv").read_text(encoding="utf-8").splitlines() == [
        "country,revenue",
        "DE,14.0",
        "FR,3.0",
    ]
    store = SnapshotStore(project)  # the tables' first snapshots are one pack
    assert len(store.objects()) >= 4
    assert all(store.history(o).accepted is not None for o in store.objects())
    (record,) = (project / "target" / "runs").glob("*.jsonl")
    last = json.loads(record.read_text(encoding="utf-8").splitlines()[-1])
    assert last["event"] == "run_end" and last["status"] == "succeeded"
    # A failing step: the same status (3) and report as click's run.
    (project / "pipelines" / "small.sf").write_text(
        PIPELINE + "CREATE TABLE bad AS SELECT CAST('x' || revenue AS INT) FROM revenue;\n",
        encoding="utf-8",
    )
    by_click = sqlflowc_process("run", "--fail-fast", "pipelines/small.sf", cwd=project)
    assert by_click.returncode == 3, by_click.stdout + by_click.stderr
    again = sqlflowc_process("run", "pipelines/small.sf", cwd=project)
    assert again.returncode == 3
    assert _TIMINGS.sub("N", again.stdout) == _TIMINGS.sub("N", by_click.stdout)
    assert _TIMINGS.sub("N", again.stderr) == _TIMINGS.sub("N", by_click.stderr)


def test_a_project_hook_s_exit_handler_still_runs(project: Path) -> None:
    """A hook (or UDF, or plugin) may expect the interpreter's exit: with one loaded, the
    cached run exits as usual and its exit handler runs."""
    (project / "hooks").mkdir()
    (project / "hooks" / "at_exit.py").write_text(
        "import atexit\nfrom pathlib import Path\n\n"
        "atexit.register(lambda: Path('exit-handler-ran').write_text('yes'))\n\n\n"
        "def on_run_end(run):\n    pass\n",
        encoding="utf-8",
    )
    assert sqlflowc_process("run", "pipelines/small.sf", cwd=project).returncode == 0
    (project / "exit-handler-ran").unlink()
    cached = sqlflowc_process("run", "pipelines/small.sf", cwd=project)
    assert cached.returncode == 0, cached.stdout + cached.stderr
    assert (project / "exit-handler-ran").read_text(encoding="utf-8") == "yes"


def test_a_cached_run_with_stdout_closed_or_cut_short_exits_as_before(project: Path) -> None:
    """Started with its standard output closed, or piped into a reader that stops at once,
    a cached run still runs and exits as it did before it left without finalization."""
    assert sqlflowc_process("run", "pipelines/small.sf", cwd=project).returncode == 0
    closed = _shell(f"{SQLFLOWC} run pipelines/small.sf >&-", project)
    assert closed.returncode == 0, closed.stderr
    assert closed.stderr == ""
    cut = _shell(f"{SQLFLOWC} run pipelines/small.sf | head -c 0", project)
    assert "internal error" not in cut.stderr and "Traceback" not in cut.stderr, cut.stderr
    assert (
        json.loads(
            sorted((project / "target" / "runs").glob("*.jsonl"))[-1]
            .read_text(encoding="utf-8")
            .splitlines()[-1]
        )["event"]
        == "run_end"
    )


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`command` run by the shell in `cwd`, its output captured."""
    return subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True, check=False)
