"""Lifecycle hooks, for real: project `hooks/` modules, an entry point installed with pip, a
connector plugin whose read is retried, hooks that raise, fail to load or are slow, and the
`examples/hooks` project."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import sqlflowc
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.hooks import (
    ENTRY_POINT_GROUP,
    _declares_group,
    load_hooks,
)

ROOT = Path(__file__).resolve().parents[1]

RECORDER = """\
import json
from pathlib import Path

LOG = Path(__file__).resolve().parents[1] / "calls.jsonl"


def _write(entry):
    with LOG.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\\n")


def on_run_start(run):
    _write({"call": "run_start", "run": run.run_id, "ok": run.ok, "steps": len(run.plan.steps)})


def on_step_start(step):
    _write({"call": "step_start", "id": step.id, "state": step.state.value, "run": step.run_id,
            "attempt": step.attempt, "outcome": step.outcome})


def on_step_failure(step):
    _write({"call": "step_failure", "id": step.id, "state": step.state.value,
            "error": step.error})


def on_step_end(step):
    _write({"call": "step_end", "id": step.id, "state": step.state.value, "rows": step.rows,
            "target": step.target, "load": str(step.load) if step.load else None,
            "timed": step.finished_at >= step.started_at and step.duration_ms >= 0})


def on_run_end(run):
    _write({"call": "run_end", "run": run.run_id, "ok": run.ok, "summary": run.result.summary(),
            "finished": run.finished_at is not None})
"""

PIPELINE = """\
CREATE TABLE a AS SELECT 1 AS id;
CREATE TABLE b AS SELECT * FROM missing_table;
CREATE TABLE c AS SELECT 2 AS id;
CREATE TABLE a MODE MERGE KEY (id) AS SELECT * FROM c;
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "project"
    for folder in ("pipelines", "hooks", "profiles"):
        (work / folder).mkdir(parents=True)
    (work / "profiles" / "dev.yml").write_text("engine: {path: target/dev.duckdb}\n", "utf-8")
    (work / "pipelines" / "p.sf").write_text(PIPELINE, encoding="utf-8")
    (work / "hooks" / "record.py").write_text(RECORDER, encoding="utf-8")
    monkeypatch.chdir(work)
    return work


def calls(project: Path) -> list[dict[str, Any]]:
    path = project / "calls.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_lifecycle_call_with_its_record(project: Path) -> None:
    result = sqlflowc("run", "pipelines/p.sf", "--continue", "--db", "t.duckdb", "--jobs", "1")
    assert result.exit_code == 3, result.output
    seen = calls(project)
    run_id = seen[0]["run"]
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)
    assert [(c["call"], c.get("id"), c.get("state")) for c in seen] == [
        ("run_start", None, None),
        ("step_start", "table_a", "running"),
        ("step_end", "table_a", "succeeded"),
        ("step_start", "table_b", "running"),
        ("step_failure", "table_b", "failed"),
        ("step_end", "table_b", "failed"),
        ("step_start", "table_c", "running"),
        ("step_end", "table_c", "succeeded"),
        ("step_start", "table_a_2", "running"),
        ("step_end", "table_a_2", "succeeded"),
        ("run_end", None, None),
    ]
    assert all(c.get("run", run_id) == run_id for c in seen)
    assert seen[0] == {"call": "run_start", "run": run_id, "ok": None, "steps": 4}
    assert seen[1]["attempt"] == 1 and seen[1]["outcome"] is None
    assert "missing_table" in seen[4]["error"]
    assert seen[2]["rows"] == 1 and seen[2]["target"] == "a" and seen[2]["timed"]
    assert seen[9]["load"] == "inserted 1, updated 0"
    assert seen[-1]["ok"] is False and seen[-1]["finished"]
    assert seen[-1]["summary"].startswith("3 ok, 1 failed in ")
    assert "warning[SF0912]" not in result.stderr


def test_hooks_run_for_a_plan_file_too(project: Path) -> None:
    assert sqlflowc("compile", "pipelines/p.sf", "-o", "plan.json").exit_code == 0
    result = sqlflowc("run", "plan.json", "--db", "t.duckdb", "--jobs", "1")
    assert result.exit_code == 3
    assert [c["call"] for c in calls(project)] == [
        "run_start",
        "step_start",
        "step_end",
        "step_start",
        "step_failure",
        "step_end",
        "run_end",
    ]


def test_a_failing_hook_is_a_warning_and_the_run_goes_on(project: Path) -> None:
    (project / "pipelines" / "p.sf").write_text(
        "CREATE TABLE a AS SELECT 1 AS id;\nCREATE TABLE c AS SELECT * FROM a;\n", "utf-8"
    )
    hooks = project / "hooks"
    (hooks / "a_raises.py").write_text(
        "import sys\n\n\n"
        "def on_step_start(step):\n"
        "    raise RuntimeError(f'no network for {step.id}')\n\n\n"
        "def on_run_end(run):\n"
        "    sys.exit(2)\n",
        encoding="utf-8",
    )
    (hooks / "b_broken.py").write_text("def on_run_start(run)\n    pass\n", "utf-8")
    (hooks / "c_imports.py").write_text("import no_such_module_for_hooks\n", "utf-8")
    (hooks / "d_empty.py").write_text("VALUE = 1\n", "utf-8")
    (hooks / "_helper.py").write_text("raise RuntimeError('never imported')\n", "utf-8")
    result = sqlflowc("run", "pipelines/p.sf", "--db", "t.duckdb")
    assert result.exit_code == 0, result.output
    assert "2 ok in " in result.stdout
    with duckdb.connect("t.duckdb", read_only=True) as con:
        assert con.execute("SELECT * FROM c").fetchall() == [(1,)]
    # the hook after the failing one is still called for everything
    assert [c["call"] for c in calls(project)].count("step_end") == 2
    err = result.stderr
    assert (
        "hooks/a_raises.py:5:5: warning[SF0912]: hook `hooks/a_raises.py` raised RuntimeError in "
        "on_step_start for step `table_a`: no network for table_a; the run went on"
    ) in err
    assert "5 |     raise RuntimeError(f'no network for {step.id}')" in err
    assert "for step `table_c`: no network for table_c" in err
    assert (
        "hooks/a_raises.py:9:5: warning[SF0912]: hook `hooks/a_raises.py` raised SystemExit" in err
    )
    assert (
        "hooks/b_broken.py:1:1: warning[SF0912]: hook `hooks/b_broken.py` cannot be loaded: "
        "SyntaxError: expected ':'; the run goes on without it"
    ) in err
    assert (
        "hooks/c_imports.py:1:1: warning[SF0912]: hook `hooks/c_imports.py` cannot be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module_for_hooks'"
    ) in err
    assert "hook `hooks/d_empty.py` defines none of on_run_start" in err
    assert "_helper" not in err
    assert err.count("warning[SF0912]") == 6


def test_a_slow_hook_only_delays_the_run(project: Path) -> None:
    (project / "pipelines" / "p.sf").write_text("CREATE TABLE a AS SELECT 1 AS id;\n", "utf-8")
    (project / "hooks" / "slow.py").write_text(
        "import time\n\n\ndef on_step_end(step):\n    time.sleep(0.5)\n", encoding="utf-8"
    )
    started = time.perf_counter()
    result = sqlflowc("run", "pipelines/p.sf", "--db", "t.duckdb")
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started >= 0.5
    assert [c["call"] for c in calls(project)][-2:] == ["step_end", "run_end"]


def test_no_hooks_directory_and_no_plugin_means_no_hooks(tmp_path: Path) -> None:
    hooks = load_hooks(tmp_path)
    assert not hooks.active and not hooks.warnings
    assert not _declares_group(ENTRY_POINT_GROUP)


# -- an entry point installed with pip -----------------------------------------------------------

HOOK_PACKAGE = """\
import json
from pathlib import Path


class Notifier:
    \"\"\"An entry point naming a class: sqlflowc makes one with no arguments.\"\"\"

    def __init__(self):
        self.steps = []

    def on_step_end(self, step):
        self.steps.append([step.id, step.state.value, step.rows])

    def on_run_end(self, run):
        out = Path(run.project_dir) / "notified.json"
        out.write_text(json.dumps({"run": run.run_id, "ok": run.ok, "steps": self.steps}))
"""


def _wheel(directory: Path, package: str, module: str, entry_points: str) -> Path:
    """A minimal wheel of one module `package/__init__.py` declaring `entry_points`."""
    dist = package.replace("_", "-")
    wheel = directory / f"{package}-1.0-py3-none-any.whl"
    info = f"{package}-1.0.dist-info"
    files = {
        f"{package}/__init__.py": module,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": entry_points,
    }
    record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in {**files, f"{info}/RECORD": record}.items():
            z.writestr(name, text)
    return wheel


def _pip_install(wheel: Path, site: Path) -> None:
    install = ["install", "-q", "--no-index", "--no-deps", "--target", str(site)]
    pip = subprocess.run(
        [sys.executable, "-m", "pip", *install, str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr


def _run(work: Path, site: Path | None) -> subprocess.CompletedProcess[str]:
    """`sqlflowc run pipelines/p.sf` in a fresh process, with `site` on PYTHONPATH."""
    exe = Path(sys.executable).parent / "sqlflowc"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [str(exe), "run", "pipelines/p.sf", "--db", "t.duckdb"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_an_installed_entry_point_is_called(tmp_path: Path) -> None:
    site = tmp_path / "site"
    entry = f"[{ENTRY_POINT_GROUP}]\nnotifier = sqlflowc_test_hook:Notifier\n"
    _pip_install(_wheel(tmp_path, "sqlflowc_test_hook", HOOK_PACKAGE, entry), site)
    assert (site / "sqlflowc_test_hook-1.0.dist-info" / "entry_points.txt").exists()
    work = tmp_path / "project"
    (work / "pipelines").mkdir(parents=True)
    (work / "sqlflow.yml").write_text("# the project directory\n", encoding="utf-8")
    (work / "pipelines" / "p.sf").write_text(
        "CREATE TABLE a AS SELECT range AS id FROM range(3);\nCREATE TABLE b AS SELECT * FROM a;\n",
        encoding="utf-8",
    )
    ran = _run(work, site)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    notified = json.loads((work / "notified.json").read_text(encoding="utf-8"))
    assert notified["ok"] is True and re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", notified["run"])
    assert notified["steps"] == [["table_a", "succeeded", 3], ["table_b", "succeeded", 3]]

    # without the package on the path, nothing is called
    (work / "notified.json").unlink()
    again = _run(work, None)
    assert again.returncode == 0 and not (work / "notified.json").exists()


FLAKY_CONNECTOR = """\
import pyarrow as pa

from sqlflowc.connectors.base import Connector
from sqlflowc.connectors.runtime import (
    ArrowBatches, ConnectionTest, ConnectorError, ConnectorRuntime,
)

ATTEMPTS = []


class FlakyConnector(Connector):
    name = "FLAKY"
    description = "fails once with a transient error, then reads three rows"
    runtime_class = "sqlflowc_flaky:FlakyRuntime"


class FlakyRuntime(ConnectorRuntime):
    def read(self, params, request):
        ATTEMPTS.append(len(ATTEMPTS) + 1)
        if len(ATTEMPTS) == 1:
            raise ConnectorError("connection reset by peer", transient=True)
        return ArrowBatches(reader=pa.table({"id": [1, 2, 3]}).to_reader())

    def test(self, params, project_dir):
        return ConnectionTest(server="flaky")
"""


def test_a_retried_read_is_reported_and_reaches_on_step_retry(tmp_path: Path) -> None:
    site = tmp_path / "site"
    entry = "[sqlflowc.connectors]\nflaky = sqlflowc_flaky:FlakyConnector\n"
    _pip_install(_wheel(tmp_path, "sqlflowc_flaky", FLAKY_CONNECTOR, entry), site)
    work = tmp_path / "project"
    for folder in ("pipelines", "hooks", "profiles"):
        (work / folder).mkdir(parents=True)
    (work / "profiles" / "dev.yml").write_text("engine: {path: target/dev.duckdb}\n", "utf-8")
    (work / "hooks" / "record.py").write_text(
        RECORDER + "\n\ndef on_step_retry(step):\n    _write({'call': 'step_retry', "
        "'id': step.id, 'state': step.state.value, 'attempt': step.attempt, "
        "'error': step.error})\n",
        encoding="utf-8",
    )
    (work / "pipelines" / "p.sf").write_text(
        'SOURCE s TYPE FLAKY PARAMS {"retry_delay": 0};\nLOAD t FROM s;\n', encoding="utf-8"
    )
    ran = _run(work, site)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert re.search(
        r"^  \S load_t  retrying \(1/3\) in 0 s: connection reset by peer$", ran.stdout, flags=re.M
    ), ran.stdout
    assert "1 ok in " in ran.stdout
    seen = calls(work)
    assert [(c["call"], c.get("id"), c.get("state")) for c in seen] == [
        ("run_start", None, None),
        ("step_start", "load_t", "running"),
        ("step_retry", "load_t", "retrying"),
        ("step_end", "load_t", "succeeded"),
        ("run_end", None, None),
    ]
    assert seen[2]["attempt"] == 2 and seen[2]["error"] == "connection reset by peer"
    assert seen[3]["rows"] == 3


def test_the_scan_for_entry_points_sees_a_declaring_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nx = pkg:x\n", "utf-8")
    assert not _declares_group(ENTRY_POINT_GROUP)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _declares_group(ENTRY_POINT_GROUP)


# -- examples/hooks and its docs ------------------------------------------------------------------


def test_the_hooks_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "hooks"
    shutil.copytree(ROOT / "examples" / "hooks", work, ignore=shutil.ignore_patterns("target"))
    monkeypatch.chdir(work)
    result = sqlflowc("run", "pipelines/orders.sf")
    assert result.exit_code == 0, result.output
    assert re.search(
        r"^hook: run \d{8}T\d{6}Z-[0-9a-f]{6} of pipelines/orders.sf succeeded: 3 ok in ",
        result.stdout,
        flags=re.M,
    )
    log = [
        json.loads(line) for line in (work / "target" / "run_log.jsonl").read_text().splitlines()
    ]
    assert [(e["step"], e["op"], e["state"], e["rows"]) for e in log] == [
        ("load_orders", "load", "succeeded", 5),
        ("table_revenue_by_region", "create_table", "succeeded", 3),
        ("export_revenue_by_region", "export", "succeeded", 3),
    ]
    assert log[2]["target"] == "target/revenue_by_region.csv"

    # the failing hook shown in docs/diagnostics.md, for real
    (work / "hooks" / "notify.py").write_text(
        '"""Tell the team."""\n\n\ndef on_step_end(step):\n    raise RuntimeError("no network")\n',
        encoding="utf-8",
    )
    again = sqlflowc("run", "pipelines/orders.sf")
    assert again.exit_code == 0, again.output
    docs = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    shown = docs.split("### `SF0912`", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert shown in again.stderr


def test_the_docs_show_the_example_hook() -> None:
    docs = (ROOT / "docs" / "execution.md").read_text(encoding="utf-8")
    module = (ROOT / "examples" / "hooks" / "hooks" / "run_log.py").read_text(encoding="utf-8")
    assert f"```python\n{module}```\n" in docs
    assert f"### `{Code.HOOK_FAILED.value}`" in (ROOT / "docs" / "diagnostics.md").read_text()
