"""The executor and plan files, on real DuckDB databases and real files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sqlflowc.backend.plan import (
    CreateTable,
    CreateView,
    Export,
    ExportFormat,
    Load,
    Location,
    Plan,
    Replace,
    Source,
    Sql,
    Step,
)
from sqlflowc.backend.plan_io import load_plan
from sqlflowc.connectors import get_connector
from sqlflowc.diagnostics import Code, CompileError, render_text
from sqlflowc.runtime.executor import (
    EventKind,
    RunEvent,
    RunResult,
    format_event,
    run_plan,
)

# -- helpers -------------------------------------------------------------------------------------

_line = iter(range(1, 10_000))


def _where() -> Location:
    n = next(_line)
    return Location("pipelines/p.sf", n, 1, n, 20)


def step(id: str, statement: str, *, after: tuple[str, ...] = ()) -> Sql:
    """A SQL step."""
    return Sql(id=id, depends_on=after, location=_where(), sql=statement)


def table(id: str, target: str, *statements: str, after: tuple[str, ...] = ()) -> CreateTable:
    """A REPLACE table step running `statements` (one, as compiled, or several by hand)."""
    return CreateTable(
        id=id,
        depends_on=after,
        location=_where(),
        writes=(target,),
        target=target,
        mode=Replace(),
        sql=statements,
    )


def export(
    id: str, query: str, uri: str, fmt: ExportFormat, after: tuple[str, ...] = (), **opts: Any
) -> Export:
    return Export(
        id=id, depends_on=after, location=_where(), uri=uri, format=fmt, options=opts, query=query
    )


def make_plan(project: Path, *steps: Step, **kw: Any) -> Plan:
    return Plan(pipeline="pipelines/p.sf", project_dir=str(project), steps=steps, **kw)


def run(
    tmp_path: Path, *steps: Step, plan_kw: dict[str, Any] | None = None, **kw: Any
) -> tuple[RunResult, list[RunEvent], Path]:
    db = tmp_path / "target" / "run.duckdb"
    events: list[RunEvent] = []
    result = run_plan(
        make_plan(tmp_path, *steps, **(plan_kw or {})),
        database=str(db),
        events=events.append,
        **kw,
    )
    return result, events, db


def query(db: Path, sql: str) -> list[Any]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def statuses(result: RunResult) -> dict[str, str]:
    return {o.step_id: o.status.value for o in result.outcomes}


# -- running ------------------------------------------------------------------------------------


def test_runs_steps_and_reports_rows(tmp_path: Path) -> None:
    result, events, db = run(
        tmp_path,
        table("t", "t", "CREATE OR REPLACE TABLE t AS SELECT range AS x FROM range(5)"),
        step("ins", "INSERT INTO t VALUES (10), (11)", after=("t",)),
        CreateView(
            id="v",
            depends_on=("ins",),
            location=_where(),
            view="v",
            sql="CREATE OR REPLACE VIEW v AS SELECT sum(x) AS s FROM t",
        ),
    )
    assert result.ok and statuses(result) == {"t": "ok", "ins": "ok", "v": "ok"}
    assert [(e.kind, e.step_id) for e in events] == [
        (EventKind.STARTED, "t"),
        (EventKind.FINISHED, "t"),
        (EventKind.STARTED, "ins"),
        (EventKind.FINISHED, "ins"),
        (EventKind.STARTED, "v"),
        (EventKind.FINISHED, "v"),
    ]
    assert result.outcome("t").rows == 5 and result.outcome("ins").rows == 2
    assert result.outcome("v").rows is None
    assert query(db, "SELECT s FROM v") == [(31,)]
    assert result.summary().startswith("3 ok in ")


def test_rerun_of_a_persistent_database(tmp_path: Path) -> None:
    steps = (step("t", "CREATE OR REPLACE TABLE t AS SELECT 1 AS x"),)
    for _ in range(2):
        result, _, db = run(tmp_path, *steps)
        assert result.ok
    assert query(db, "SELECT * FROM t") == [(1,)]


def test_load_step_from_a_connector(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "u.csv").write_text("id,joined\n1,2024-01-31\n2,2024-02-01\n")
    csv = get_connector("csv")
    assert csv is not None
    scan = csv.scan_sql({"path": "data/u.csv"}, tmp_path)
    load = Load(
        id="load_u",
        location=_where(),
        target="u",
        source=Source(name="u_csv", connector="csv", params={"path": "data/u.csv"}),
        mode=Replace(),
        sql=(f"CREATE OR REPLACE TABLE u AS {scan}",),
    )
    result, _, db = run(tmp_path, load)
    assert result.ok and result.outcome("load_u").rows == 2
    assert query(db, "SELECT typeof(joined) FROM u LIMIT 1") == [("DATE",)]


def test_failed_step_is_atomic(tmp_path: Path) -> None:
    result, events, db = run(
        tmp_path,
        table("base", "t", "CREATE TABLE t (x INTEGER)", "INSERT INTO t VALUES (1), (2)"),
        table(
            "bad",
            "t",
            "DELETE FROM t",
            "CREATE TABLE fresh AS SELECT 1 AS y",
            "INSERT INTO t VALUES ('not a number')",
            after=("base",),
        ),
    )
    assert not result.ok and statuses(result) == {"base": "ok", "bad": "failed"}
    assert query(db, "SELECT x FROM t ORDER BY x") == [(1,), (2,)]
    assert query(
        db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fresh'"
    ) == [(0,)]
    [failure] = result.failures
    assert failure.step_id == "bad" and failure.code is Code.STEP_FAILED
    assert failure.location == next(e.step.location for e in events if e.step_id == "bad")
    assert "not a number" in failure.message
    assert events[-1].kind is EventKind.FAILED


def branching_steps() -> tuple[Step, ...]:
    return (
        step("a", "CREATE TABLE a AS SELECT 1 AS x"),
        step("b", "SELECT * FROM missing_table"),
        step("c", "CREATE TABLE c AS SELECT 1 AS x"),
        step("d", "CREATE TABLE d AS SELECT 1 AS x", after=("b",)),
        step("e", "CREATE TABLE e AS SELECT 1 AS x", after=("d", "a")),
        step("f", "CREATE TABLE f AS SELECT 1 AS x", after=("a",)),
    )


def test_fail_fast_skips_the_rest(tmp_path: Path) -> None:
    result, events, _ = run(tmp_path, *branching_steps(), fail_fast=True)
    assert statuses(result) == {
        "a": "ok",
        "b": "failed",
        "c": "skipped",
        "d": "skipped",
        "e": "skipped",
        "f": "skipped",
    }
    skipped = [e for e in events if e.kind is EventKind.SKIPPED]
    assert all("step `b` failed (--fail-fast)" in e.message for e in skipped)
    assert "1 ok, 1 failed, 4 skipped" in result.summary()


def test_continue_runs_independent_steps(tmp_path: Path) -> None:
    result, _, db = run(tmp_path, *branching_steps(), fail_fast=False)
    assert statuses(result) == {
        "a": "ok",
        "b": "failed",
        "c": "ok",
        "d": "skipped",
        "e": "skipped",
        "f": "ok",
    }
    assert result.outcome("d").message == "depends on failed step `b`"
    assert result.outcome("e").message == "depends on failed step `b`"
    assert query(db, "SELECT count(*) FROM c") == [(1,)]
    assert [f.step_id for f in result.failures] == ["b"]


def test_unsorted_plan_is_an_internal_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="internal error"):
        run(tmp_path, step("x", "SELECT 1", after=("y",)), step("y", "SELECT 1"))


def test_database_that_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "db_is_a_dir").mkdir()
    events: list[RunEvent] = []
    result = run_plan(
        make_plan(tmp_path, step("x", "SELECT 1")),
        database=str(tmp_path / "db_is_a_dir"),
        events=events.append,
    )
    [failure] = result.failures
    assert failure.code is Code.DATABASE_ERROR and failure.step_id is None
    assert statuses(result) == {"x": "skipped"} and events[0].kind is EventKind.SKIPPED


def test_settings_and_on_connect(tmp_path: Path) -> None:
    seen: list[Any] = []

    def probe(con: duckdb.DuckDBPyConnection) -> None:
        seen.extend(
            con.execute(
                "SELECT current_setting('threads'), current_setting('memory_limit')"
            ).fetchall()
        )

    result = run_plan(
        make_plan(tmp_path, step("x", "SELECT 1")),
        database=":memory:",
        threads=1,
        memory_limit="512MB",
        on_connect=probe,
    )
    assert result.ok
    assert seen == [(1, "488.2 MiB")]


# -- secrets ------------------------------------------------------------------------------------


def test_secrets_substituted_and_masked(tmp_path: Path) -> None:
    secret = "s3cr3t-Value"
    result, events, db = run(
        tmp_path,
        step("keep", "CREATE TABLE creds AS SELECT '${api_token}' AS token"),
        step("leak", 'SELECT * FROM "${api_token}"'),
        plan_kw={"secret_vars": ("api_token",)},
        secrets={"api_token": secret},
        fail_fast=False,
    )
    assert query(db, "SELECT token FROM creds") == [(secret,)]
    [failure] = result.failures
    assert "***" in failure.message and secret not in failure.message
    for event in events:
        assert secret not in event.message and secret not in format_event(event)
    assert all(secret not in o.message for o in result.outcomes)


def test_secret_falls_back_to_plan_secrets(tmp_path: Path) -> None:
    result, _, db = run(
        tmp_path,
        step("s", "CREATE TABLE s AS SELECT '${pw}' AS v"),
        plan_kw={"secret_vars": ("pw",), "secrets": {"pw": "from-plan"}},
    )
    assert result.ok and query(db, "SELECT v FROM s") == [("from-plan",)]


def test_missing_secret_fails_the_step(tmp_path: Path) -> None:
    result, _, _ = run(
        tmp_path,
        step("s", "CREATE TABLE s AS SELECT '${pw}' AS v"),
        plan_kw={"secret_vars": ("pw",)},
    )
    [failure] = result.failures
    assert "secret `pw` has no value" in failure.message


def test_secret_in_a_database_open_error_is_masked(tmp_path: Path) -> None:
    blocker = tmp_path / "topsecret"
    blocker.write_text("a file where a directory should be")
    result = run_plan(
        make_plan(tmp_path, step("x", "SELECT 1")),
        database=str(blocker / "db.duckdb"),
        secrets={"pw": "topsecret"},
    )
    [failure] = result.failures
    assert failure.code is Code.DATABASE_ERROR and "topsecret" not in failure.message


# -- exports ------------------------------------------------------------------------------------

DATA = step(
    "data",
    "CREATE OR REPLACE TABLE people AS SELECT * FROM (VALUES "
    "(1, 'Ann, Jr.', DATE '2024-01-31'), (2, 'Bob', DATE '2024-02-01')) AS v(id, name, born)",
)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".sqlflowc-"))


def test_export_csv_with_options(tmp_path: Path) -> None:
    result, _, _ = run(
        tmp_path,
        DATA,
        export(
            "export_people",
            "SELECT * FROM people ORDER BY id",
            "out/nested/people.csv",
            "csv",
            after=("data",),
            delimiter=";",
            date_format="%d/%m/%Y",
        ),
        export(
            "no_header",
            "SELECT id FROM people ORDER BY id",
            "out/ids.csv",
            "csv",
            after=("data",),
            header=False,
        ),
    )
    assert result.ok, result.failures
    assert result.outcome("export_people").rows == 2
    text = (tmp_path / "out" / "nested" / "people.csv").read_text()
    assert text.splitlines() == ["id;name;born", "1;Ann, Jr.;31/01/2024", "2;Bob;01/02/2024"]
    assert (tmp_path / "out" / "ids.csv").read_text().splitlines() == ["1", "2"]
    assert leftovers(tmp_path / "out" / "nested") == []


def test_export_parquet_is_not_empty(tmp_path: Path) -> None:
    target = tmp_path / "out" / "people.parquet"
    result, _, _ = run(
        tmp_path,
        DATA,
        export(
            "p", "SELECT * FROM people", str(target), "parquet", after=("data",), compression="zstd"
        ),
    )
    assert result.ok, result.failures
    assert target.stat().st_size > 0
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT id, name, born FROM read_parquet('{target}') ORDER BY id"
        ).fetchall()
    assert [r[:2] for r in rows] == [(1, "Ann, Jr."), (2, "Bob")]
    assert str(rows[0][2]) == "2024-01-31"


def test_export_json_is_newline_delimited(tmp_path: Path) -> None:
    result, _, _ = run(
        tmp_path,
        DATA,
        export("j", "SELECT id, name FROM people ORDER BY id", "o.json", "json", after=("data",)),
    )
    assert result.ok, result.failures
    lines = (tmp_path / "o.json").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": 1, "name": "Ann, Jr."},
        {"id": 2, "name": "Bob"},
    ]


def test_export_compression_follows_the_file_name(tmp_path: Path) -> None:
    result, _, _ = run(
        tmp_path, DATA, export("gz", "FROM people", "o.csv.gz", "csv", after=("data",))
    )
    assert result.ok, result.failures
    with gzip.open(tmp_path / "o.csv.gz", "rt") as f:
        assert f.readline().strip() == "id,name,born"


def test_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.csv"
    target.parent.mkdir()
    target.write_text("previous contents\n")
    result, events, _ = run(
        tmp_path,
        DATA,
        export(
            "report",
            "SELECT id, CASE WHEN id = 2 THEN error('boom') ELSE name END AS n FROM people",
            "out/report.csv",
            "csv",
            after=("data",),
        ),
    )
    [failure] = result.failures
    assert failure.code is Code.EXPORT_FAILED and "boom" in failure.message
    assert target.read_text() == "previous contents\n"
    assert leftovers(target.parent) == []
    assert "failed: " in format_event(events[-1])


def test_export_into_an_unwritable_place_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a directory")
    result, _, _ = run(tmp_path, DATA, export("x", "FROM people", "blocker/sub/x.csv", "csv"))
    [failure] = result.failures
    assert failure.code is Code.EXPORT_FAILED and "blocker" in failure.message


def test_export_with_bad_options_from_a_hand_edited_plan(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, DATA, export("x", "FROM people", "x.csv", "csv", sep=";"))
    [failure] = result.failures
    assert "invalid options for a CSV export" in failure.message
    assert not (tmp_path / "x.csv").exists()


def test_export_query_with_trailing_comment(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, DATA, export("c", "SELECT 1 AS one -- note", "c.csv", "csv"))
    assert result.ok, result.failures
    assert (tmp_path / "c.csv").read_text().splitlines() == ["one", "1"]


# -- rendering ----------------------------------------------------------------------------------


def test_format_event() -> None:
    s = table("load_users", "users", "SELECT 1")
    finished = RunEvent(kind=EventKind.FINISHED, step=s, duration_ms=12.3, rows=1000)
    assert format_event(finished, ascii_only=False) == "  ✓ load_users  12 ms  1,000 rows"
    assert format_event(finished, ascii_only=True) == "  + load_users  12 ms  1,000 rows"
    started = RunEvent(kind=EventKind.STARTED, step=s)
    assert format_event(started, ascii_only=True) == "  > load_users  [create_table -> users]"
    failed = RunEvent(kind=EventKind.FAILED, step=s, duration_ms=2500, message="Boom\nLINE 1")
    assert format_event(failed, ascii_only=False) == "  ✗ load_users  2.50 s  failed: Boom"
    note = "retrying (1/3) in 2 s: reset"
    retrying = RunEvent(kind=EventKind.RETRYING, step=s, message=note)
    assert format_event(retrying, ascii_only=False) == f"  ↻ load_users  {note}"
    assert format_event(retrying, ascii_only=True) == f"  ~ load_users  {note}"
    skipped = RunEvent(kind=EventKind.SKIPPED, step=s, message="depends on failed step `x`")
    assert (
        format_event(skipped, ascii_only=True)
        == "  - load_users  skipped: depends on failed step `x`"
    )


# -- plan files ---------------------------------------------------------------------------------


def test_plan_round_trip(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        DATA,
        export("e", "SELECT * FROM people", "o.csv", "csv", after=("data",), header=False),
        variables={"env": "dev", "n": 3},
        secret_vars=("pw",),
    )
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json())
    loaded = load_plan(path)
    assert loaded == plan
    assert loaded.to_json() == plan.to_json()
    result = run_plan(loaded, database=":memory:", secrets={"pw": "x"})
    assert result.ok
    assert (tmp_path / "o.csv").read_text().splitlines()[0] == '1,"Ann, Jr.",2024-01-31'


def bad_plan(tmp_path: Path, text: str) -> tuple[CompileError, str]:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(CompileError) as info:
        load_plan(path)
    err = info.value
    assert all(d.code is Code.BAD_PLAN for d in err.diagnostics)
    assert err.sources is not None
    return err, render_text(err.diagnostics, err.sources)


def test_plan_with_another_version(tmp_path: Path) -> None:
    doc = json.loads(make_plan(tmp_path, DATA).to_json()) | {"version": 99}
    err, text = bad_plan(tmp_path, json.dumps(doc, indent=2))
    [d] = err.diagnostics
    assert "format version 99" in d.message and "reads versions 1 to 2" in d.message
    assert d.help == "compile the pipeline again with this sqlflowc"
    assert "plan.json:2:3:" in text


def test_plan_not_json(tmp_path: Path) -> None:
    _, text = bad_plan(tmp_path, '{\n  "version": 1,\n  oops\n}')
    assert "is not JSON" in text and "plan.json:3:3:" in text


def test_plan_shape_errors(tmp_path: Path) -> None:
    doc = json.loads(make_plan(tmp_path, DATA, step("x", "SELECT 1")).to_json())
    doc["steps"][0]["op"] = "teleport"
    err, _ = bad_plan(tmp_path, json.dumps(doc))
    assert any("steps.0" in d.message and "teleport" in d.message for d in err.diagnostics)
    doc = json.loads(make_plan(tmp_path, DATA, step("x", "SELECT 1")).to_json())
    doc["steps"][0]["depends_on"] = ["x"]
    doc["steps"][1]["id"] = "x"
    err, _ = bad_plan(tmp_path, json.dumps(doc))
    assert "depends on `x`, which is not an earlier step" in err.diagnostics[0].message
