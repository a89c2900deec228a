"""Plan files of format version 1 still run, and give the tables the pipeline gives today.

`tests/plans_v1/<example>_<pipeline>.json` were written by `sqlflowc compile --format json` at
format version 1 (commit 63b4f4a), from copies of the example projects; the copy's directory is
replaced by `@PROJECT@`, which each test replaces with a fresh copy of the example. Each plan is
run with `sqlflowc run plan.json`, the pipeline itself is run in another copy, and every table
and every exported file must be the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import sqlflowc

ROOT = Path(__file__).resolve().parents[1]
PLANS = Path(__file__).parent / "plans_v1"
FIXTURES = sorted(PLANS.glob("*.json"))


def _copy(example: str, where: Path) -> Path:
    work = where / example
    shutil.copytree(ROOT / "examples" / example, work, ignore=shutil.ignore_patterns("target"))
    return work


def _tables(db: Path) -> dict[str, Any]:
    """Every table's columns and rows, sorted (the incremental state without its timestamp;
    not the commit marks of the run records, which name their runs)."""
    out: dict[str, Any] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        query = "SELECT table_name FROM duckdb_tables() WHERE table_name <> '_sqlflow_commits'"
        names = [r[0] for r in con.execute(query).fetchall()]
        for name in sorted(names):
            columns = con.execute(f'DESCRIBE "{name}"').fetchall()
            select = "target, column_name, high_water" if name == "_sqlflow_state" else "*"
            rows = con.execute(f'SELECT {select} FROM "{name}"').fetchall()
            out[name] = ([(c[0], c[1]) for c in columns], sorted(rows, key=repr))
    return out


def _outputs(work: Path) -> dict[str, bytes]:
    target = work / "target"
    return {
        p.relative_to(target).as_posix(): p.read_bytes()
        for p in sorted(target.rglob("*"))
        # schema snapshots and run records (each stamped with its time), and cached plans are
        # not outputs
        if p.is_file()
        and p.suffix != ".duckdb"
        and p.relative_to(target).parts[0] not in ("schemas", "runs", "cache")
    }


def test_fixtures_are_version_1() -> None:
    assert len(FIXTURES) >= 3
    for path in FIXTURES:
        assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_version_1_plan_runs_like_the_pipeline(
    fixture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = json.loads(fixture.read_text(encoding="utf-8"))
    example = next(
        e for e in ("load_modes", "python_udfs", "quickstart") if fixture.stem.startswith(e)
    )

    old = _copy(example, tmp_path / "v1")
    plan = tmp_path / "plan.json"
    plan.write_text(fixture.read_text(encoding="utf-8").replace("@PROJECT@", str(old)), "utf-8")
    monkeypatch.chdir(old)
    ran = sqlflowc("run", str(plan), "--db", str(tmp_path / "v1.duckdb"))
    assert ran.exit_code == 0, ran.output
    assert f"{len(doc['steps'])} ok" in ran.output

    now = _copy(example, tmp_path / "now")
    monkeypatch.chdir(now)
    again = sqlflowc("run", doc["pipeline"], "--db", str(tmp_path / "now.duckdb"))
    assert again.exit_code == 0, again.output

    tables = _tables(tmp_path / "v1.duckdb")
    assert tables and tables == _tables(tmp_path / "now.duckdb")
    outputs = _outputs(old)
    assert outputs and outputs == _outputs(now)
