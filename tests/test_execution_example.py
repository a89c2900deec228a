"""examples/execution: its README's session works, and resuming the failed run leaves the same
tables as a clean run (the APPEND before the failed step is not appended twice)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers import sqlflowc

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "execution"


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {
            n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall())
            for n in names
            if not n.startswith("_sqlflow_")
        }
    finally:
        con.close()


def test_the_readme_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = tmp_path / "clean"
    shutil.copytree(EXAMPLE, clean, ignore=shutil.ignore_patterns("target"))
    monkeypatch.chdir(clean)
    assert sqlflowc("run", "pipelines/daily.sf").exit_code == 0
    expected = tables(clean / "target" / "execution.duckdb")

    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("target"))
    monkeypatch.chdir(work)
    first = sqlflowc("run", "pipelines/daily.sf", "--metrics-out", "target/metrics/daily.prom")
    assert first.exit_code == 0, first.output
    families = {
        f.name
        for f in text_string_to_metric_families((work / "target/metrics/daily.prom").read_text())
    }
    assert {"sqlflowc_run_success", "sqlflowc_step_rows_out"} <= families
    assert "succeeded" in sqlflowc("runs").output
    # One step at a time: which steps run after the failure does not depend on timing.
    failed = sqlflowc("run", "pipelines/daily.sf", "--var", "min_amount=abc", "--jobs", "1")
    assert failed.exit_code == 3
    status = sqlflowc("status").output
    assert "5 succeeded, 1 failed, 1 skipped" in status
    report = sqlflowc("report", "-o", "target/report.html")
    assert report.exit_code == 0 and "Conversion Error" in (work / "target/report.html").read_text()
    # The clean side ran once; this side's first run appended too: drop it to compare.
    con = duckdb.connect(str(work / "target" / "execution.duckdb"))
    con.execute("DELETE FROM order_history WHERE rowid < 6")
    con.close()
    resumed = sqlflowc("run", "pipelines/daily.sf", "--resume", "--force")
    assert resumed.exit_code == 0, resumed.output
    assert "2 ok, 5 done earlier" in resumed.output
    assert tables(work / "target" / "execution.duckdb") == expected
    compared = json.loads(sqlflowc("runs", "--compare", "--format", "json").output)
    assert len(compared["baseline"]) == 1
