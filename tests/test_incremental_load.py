"""`LOAD t FROM files MODE INCREMENTAL BY col`: only rows past the table's largest `col` are
read, the mark is bound (never spliced), LOOKBACK replaces the rows it re-reads, KEY merges.
PostgreSQL's pushdown is tested in tests/postgres/test_postgres_incremental.py."""

from __future__ import annotations

from pathlib import Path

from helpers import rows
from sqlflowc.api import compile_source, run

HEADER = "id,ts,name\n"


def load(project: Path, text: str) -> str:
    """Compile and run `text` on the project's database; the steps' load notes."""
    comp = compile_source(text, str(project / "p.sf"), project_dir=project, environ={})
    result = run(comp.plan, database=str(project / "db.duckdb"))
    assert result.ok, [f.message for f in result.failures]
    return "; ".join(str(o.load) for o in result.outcomes)


def test_rows_past_the_mark_are_read_and_the_rest_left(tmp_path: Path) -> None:
    data = tmp_path / "e.csv"
    data.write_text(HEADER + "1,2024-01-01 00:00:00,O'Brien\n2,2024-01-02 00:00:00,b\n")
    text = (
        'SOURCE e TYPE CSV PARAMS {"path": "e.csv"};\n'
        "LOAD by_id FROM e MODE INCREMENTAL BY id;\n"
        "LOAD by_name FROM e MODE INCREMENTAL BY name;\n"
        "LOAD by_ts FROM e MODE INCREMENTAL BY ts LOOKBACK '1 day';\n"
        "LOAD by_key FROM e MODE INCREMENTAL BY ts KEY (id);\n"
    )
    assert load(tmp_path, text).count("created, inserted 2") == 4
    assert "inserted 0" in load(tmp_path, text)  # nothing new: nothing read
    # a late row (ts before the mark), a changed row (id 2, later ts) and a new one
    with data.open("a") as fh:
        fh.write("3,2023-12-31 00:00:00,c\n2,2024-01-05 00:00:00,b2\n4,2024-01-04 00:00:00,d\n")
    notes = load(tmp_path, text).split("; ")
    db = tmp_path / "db.duckdb"
    assert notes[0] == "inserted 2"  # ids 3 and 4 are past 2
    assert rows(db, "SELECT id FROM by_id ORDER BY ALL") == [(1,), (2,), (3,), (4,)]
    assert notes[1] == "inserted 3"  # the mark is 'b' (byte-wise above "O'Brien"): c, b2, d
    assert rows(db, "SELECT count(*) FROM by_name") == [(5,)]
    # by_ts: the mark is 2024-01-02 minus a day: rows from 2024-01-01 on are re-read and replace
    assert notes[2] == "inserted 4, replaced 2 in the window"
    assert rows(db, "SELECT count(*) FROM by_ts") == [(4,)]  # the late row of 2023 is missed
    assert notes[3] == "inserted 1, updated 1"
    assert rows(db, "SELECT id, name FROM by_key ORDER BY id") == [
        (1, "O'Brien"),
        (2, "b2"),
        (4, "d"),
    ]


def test_the_plan_binds_the_mark(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text(HEADER + "1,2024-01-01 00:00:00,a\n")
    comp = compile_source(
        'SOURCE e TYPE CSV PARAMS {"path": "e.csv"};\nLOAD t FROM e MODE INCREMENTAL BY id;\n',
        str(tmp_path / "p.sf"),
        project_dir=tmp_path,
        environ={},
    )
    (step,) = comp.plan.steps
    staging = step.sql[0]  # type: ignore[union-attr]
    assert 'WHERE $watermark IS NULL OR "_q"."id" > $watermark' in staging
    assert comp.plan.to_dict()["steps"][0]["mode"] == {
        "kind": "incremental_load",
        "stage": "_sqlflow_stage_load_t",
        "schema_policy": "strict",
        "by": "id",
        "lookback": None,
        "keys": [],
    }
