"""examples/load_modes/: each pipeline run as a user runs it, and the rows it leaves checked.

Each test works in a temporary copy of the project (without `target/`), with its own database.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

import pytest

from helpers import rows, run_ok, sqlflowc

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "load_modes"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "load_modes"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("target"))
    monkeypatch.chdir(work)
    return work


def db(project: Path) -> Path:
    return project / "target" / "load_modes.duckdb"


def test_basic_modes(project: Path) -> None:
    first = run_ok("basic_modes")
    assert "(inserted 1, updated 2)" in first.output
    expected = [
        (1, "Keyboard", 49.9),
        (2, "Monitor", 179.0),
        (3, "Mouse", 19.5),
        (4, "Desk lamp", 32.5),
        (5, "Webcam", 59.0),
    ]
    assert rows(db(project), "SELECT * FROM products ORDER BY product_id") == expected
    run_ok("basic_modes")  # REPLACE then MERGE: the same catalog; APPEND: a second snapshot
    assert rows(db(project), "SELECT * FROM products ORDER BY product_id") == expected
    assert rows(db(project), "SELECT count(*), count(DISTINCT product_id) FROM price_history") == [
        (10, 5)
    ]
    assert (project / "target" / "products.csv").read_text().splitlines()[1] == "1,Keyboard,49.9"


def test_composite_keys(project: Path) -> None:
    result = run_ok("composite_keys")
    assert "(inserted 1, updated 1)" in result.output
    assert rows(db(project), "SELECT * FROM stock ORDER BY store_id, sku") == [
        (1, "A-100", 10),
        (1, "B-200", 3),
        (2, "A-100", 7),
        (2, "B-200", 5),
        (2, "C-300", 40),
    ]


def test_schema_compatibility_strict_then_evolve(project: Path) -> None:
    run_ok("schema_compatibility")
    assert rows(db(project), "SELECT sensor_id, value, unit FROM readings ORDER BY sensor_id") == [
        (1, 20.5, "C"),
        (2, 19.25, "C"),
    ]
    shutil.copy(
        project / "data" / "batches" / "readings_batch2.csv",
        project / "data" / "readings_latest.csv",
    )
    strict = sqlflowc("run", "pipelines/schema_compatibility.sf")
    assert strict.exit_code == 1
    assert "error[SF0701]: table `readings` has no column `battery` (DOUBLE in the source)" in (
        strict.output
    )
    assert "--schema-policy evolve" in strict.output
    assert rows(db(project), "SELECT count(*) FROM readings") == [(2,)]

    evolved = run_ok("schema_compatibility", "--schema-policy", "evolve")
    assert "added column `battery` DOUBLE" in evolved.output
    assert rows(
        db(project), "SELECT sensor_id, battery FROM readings ORDER BY taken_at, sensor_id"
    ) == [
        (1, None),
        (2, None),
        (1, 0.93),
        (2, 0.88),
        (3, 0.99),
    ]


def daily(project: Path) -> list[tuple[Any, ...]]:
    return rows(
        db(project),
        "SELECT day, store_id, revenue, events FROM daily_revenue ORDER BY day, store_id",
    )


def test_incremental_over_several_days(project: Path) -> None:
    day = datetime.date
    arrivals = project / "data" / "arrivals"
    run_ok("incremental")
    assert daily(project) == [(day(2024, 3, 1), 1, 55.5, 2), (day(2024, 3, 1), 2, 12.0, 1)]

    again = run_ok("incremental")  # no new data: nothing changes
    assert "(inserted 2, replaced 2 in the window)" in again.output
    assert daily(project) == [(day(2024, 3, 1), 1, 55.5, 2), (day(2024, 3, 1), 2, 12.0, 1)]

    shutil.move(arrivals / "2024-03-02.csv", project / "data" / "events")
    run_ok("incremental")
    shutil.move(arrivals / "2024-03-03.csv", project / "data" / "events")
    run_ok("incremental")
    # event 7 (Mar 2, late, within the 1-day lookback) is counted; event 8 (Feb 28) is too late
    assert daily(project) == [
        (day(2024, 3, 1), 1, 55.5, 2),
        (day(2024, 3, 1), 2, 12.0, 1),
        (day(2024, 3, 2), 1, 18.0, 1),
        (day(2024, 3, 2), 2, 50.0, 2),
        (day(2024, 3, 3), 1, 25.0, 1),
    ]
    assert rows(
        db(project), "SELECT target, column_name, CAST(high_water AS DATE) FROM _sqlflow_state"
    ) == [("daily_revenue", "day", day(2024, 3, 3))]
