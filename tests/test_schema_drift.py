"""Schema capture and drift in real runs, through the installed CLI: baselines, the three
policies and where they are set, tables, bad snapshot files, concurrent runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from helpers import SQLFLOWC, rows, sqlflowc_process
from sqlflowc.schema.store import SnapshotStore

PIPELINE = """\
SOURCE orders_csv TYPE CSV PARAMS {"path": "data/orders.csv"%(params)s};
LOAD orders FROM orders_csv;
CREATE TABLE totals AS SELECT count(*) AS n FROM orders;
"""
V1 = "id,name,amount\n1,a,1.5\n2,b,2.5\n"
ADDED = "id,name,amount,region\n1,a,1.5,eu\n2,b,2.5,us\n3,c,4.0,eu\n"
REMOVED = "id,name\n1,a\n2,b\n"


def project(tmp_path: Path, *, params: str = "", profile: str = "") -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "dev.yml").write_text(profile or "variables: {}\n")
    (tmp_path / "pipelines" / "p.sf").write_text(PIPELINE % {"params": params})
    (tmp_path / "data" / "orders.csv").write_text(V1)
    return tmp_path


def run(root: Path, *args: str, status: int = 0) -> subprocess.CompletedProcess[str]:
    done = sqlflowc_process("run", "pipelines/p.sf", *args, cwd=root)
    assert done.returncode == status, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def db(root: Path) -> Path:
    return root / "target" / "sqlflow.duckdb"


def test_first_run_captures_accepted_baselines(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = run(root)
    assert "SF07" not in done.stderr
    store = SnapshotStore(root)
    assert store.objects() == ["source:orders_csv", "table:orders", "table:totals"]
    for obj in store.objects():
        history = store.history(obj)
        assert len(history.snapshots) == 1 and not history.pending
        snap = history.snapshots[0].snapshot
        assert snap.pipeline == "pipelines/p.sf" and snap.captured_at.endswith("Z")
    source = store.history("source:orders_csv").snapshots[0].snapshot
    assert [(c.name, c.type) for c in source.columns] == [
        ("id", "BIGINT"),
        ("name", "VARCHAR"),
        ("amount", "DOUBLE"),
    ]
    assert source.origin == "CSV data/orders.csv"
    totals = store.history("table:totals").snapshots[0].snapshot
    assert totals.origin == "DuckDB target/sqlflow.duckdb"
    # a steady source: nothing more recorded, nothing reported
    run(root)
    assert all(len(store.history(o).snapshots) == 1 for o in store.objects())


def test_loads_of_one_source_in_one_run_record_one_baseline(tmp_path: Path) -> None:
    """A source's snapshot is written while its load runs; another load of the same source in
    the run (here four, running side by side) reads the store after that write, so the first
    capture is recorded once, and every file is in place when the run has ended."""
    root = project(tmp_path)
    loads = "".join(f"LOAD copy{i} FROM orders_csv MODE APPEND;\n" for i in range(4))
    (root / "pipelines" / "p.sf").write_text(PIPELINE % {"params": ""} + loads)
    run(root, "--jobs", "4")
    store = SnapshotStore(root)
    history = store.history("source:orders_csv")
    assert len(history.snapshots) == 1 and not history.pending and not history.problems
    assert not list((root / "target" / "schemas").rglob(".tmp-*"))


def test_warn_is_the_default(tmp_path: Path) -> None:
    root = project(tmp_path)
    run(root)
    (root / "data" / "orders.csv").write_text(ADDED)
    done = run(root)
    assert "pipelines/p.sf:2:1: warning[SF0709]: the schema of source `orders_csv` changed" in (
        done.stderr
    )
    assert "(compatible: 1 added)" in done.stderr
    assert "= note: added   region  -       VARCHAR  compatible" in done.stderr
    assert "sqlflowc schema accept source:orders_csv" in done.stderr
    assert "table `orders`" not in done.stderr  # follows from its source: reported once
    assert rows(db(root), "SELECT count(*) FROM orders") == [(3,)]
    listing = json.loads(sqlflowc_process("schema", "list", "--format", "json", cwd=root).stdout)
    pending = {r["object"] for r in listing if r["drift_pending"]}
    assert pending == {"source:orders_csv", "table:orders"}
    # accepted: later runs are quiet
    assert sqlflowc_process("schema", "accept", "--all", cwd=root).returncode == 0
    assert "SF0709" not in run(root).stderr


@pytest.mark.parametrize(
    ("params", "profile", "args"),
    [
        (', "schema_drift": "fail"', "", ()),
        ("", "schema_drift: fail\n", ()),
        ("", "", ("--schema-drift", "fail")),
        (', "schema_drift": "accept"', "", ("--schema-drift", "fail")),
    ],
    ids=["source-param", "profile", "command-line", "command-line-wins"],
)
def test_fail_stops_the_source_before_its_data_moves(
    tmp_path: Path, params: str, profile: str, args: tuple[str, ...]
) -> None:
    root = project(tmp_path, params=params, profile=profile)
    run(root)
    before = rows(db(root), "SELECT * FROM orders ORDER BY id")
    (root / "data" / "orders.csv").write_text(REMOVED)
    done = run(root, *args, status=3)
    assert "pipelines/p.sf:2:1: error[SF0709]: step `load_orders` failed: the schema of source" in (
        done.stderr
    )
    assert "with schema_drift `fail` it is not loaded" in done.stderr
    assert "= note: removed  amount  DOUBLE  -      breaking" in done.stderr
    assert "table_totals  skipped" in done.stdout
    assert rows(db(root), "SELECT * FROM orders ORDER BY id") == before
    # the observed schema is recorded: compare shows it, accept lets the next run through
    compare = sqlflowc_process("schema", "compare", "orders_csv", cwd=root)
    assert compare.returncode == 1 and "removed" in compare.stdout
    assert sqlflowc_process("schema", "accept", "orders_csv", cwd=root).returncode == 0
    run(root, *args)
    assert rows(db(root), "SELECT * FROM orders ORDER BY id") == [(1, "a"), (2, "b")]


def test_accept_records_the_new_schema_as_accepted(tmp_path: Path) -> None:
    root = project(tmp_path)
    run(root)
    (root / "data" / "orders.csv").write_text(ADDED)
    done = run(root, "--schema-drift", "accept")
    assert "warning[SF0709]" in done.stderr and "is now the accepted one" in done.stderr
    history = SnapshotStore(root).history("source:orders_csv")
    assert not history.pending and history.acceptances[0].by == "schema_drift=accept"
    assert "SF0709" not in run(root).stderr


def test_a_table_whose_query_changed_is_reported(tmp_path: Path) -> None:
    root = project(tmp_path)
    run(root)
    p = root / "pipelines" / "p.sf"
    p.write_text(p.read_text().replace("count(*) AS n", "count(*)::INTEGER AS n"))
    done = run(root)
    assert "pipelines/p.sf:3:1: warning[SF0709]: the schema of table `totals` changed" in (
        done.stderr
    )
    assert "type (narrowing)" in done.stderr


def test_a_hand_edited_snapshot_is_named_set_aside_and_recaptured(tmp_path: Path) -> None:
    root = project(tmp_path, params=', "schema_drift": "fail"')
    run(root)
    store = SnapshotStore(root)
    path = store.history("source:orders_csv").snapshots[0].path
    path.write_text(path.read_text().replace('"DOUBLE"', '"VARCHAR"'))
    (root / "data" / "orders.csv").write_text(ADDED)
    done = run(root)
    assert f"schema snapshot {path} cannot be used: its fingerprint does not match" in (done.stderr)
    assert "the schema captured now is the accepted baseline of source:orders_csv" in done.stderr
    assert Path(f"{path}.corrupt").exists()
    assert rows(db(root), "SELECT count(*) FROM orders") == [(3,)]
    assert "SF0710" not in run(root).stderr


def test_parquet_sources_are_captured_from_their_footer(tmp_path: Path) -> None:
    root = project(tmp_path)
    parquet = root / "data" / "p.parquet"
    duckdb.execute(f"COPY (SELECT 1::SMALLINT AS a, 'x' AS b) TO '{parquet}' (FORMAT parquet)")
    (root / "pipelines" / "p.sf").write_text(
        'SOURCE p TYPE PARQUET PARAMS {"path": "data/p.parquet"};\nLOAD pq FROM p;\n'
    )
    run(root)
    snap = SnapshotStore(root).history("source:p").snapshots[0].snapshot
    assert [(c.name, c.type) for c in snap.columns] == [("a", "SMALLINT"), ("b", "VARCHAR")]


def test_two_runs_at_once_lose_nothing(tmp_path: Path) -> None:
    root = project(tmp_path)
    for i in range(2):
        (root / "data" / f"s{i}.csv").write_text("a,b\n1,2\n")
        (root / "pipelines" / f"p{i}.sf").write_text(
            f'SOURCE s{i} TYPE CSV PARAMS {{"path": "data/s{i}.csv"}};\nLOAD t{i} FROM s{i};\n'
            'SOURCE shared TYPE CSV PARAMS {"path": "data/orders.csv"};\n'
            f"LOAD u{i} FROM shared;\n"
        )
    procs = [
        subprocess.Popen(
            [SQLFLOWC, "run", f"pipelines/p{i}.sf", "--db", f"target/db{i}.duckdb"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
    store = SnapshotStore(root)
    assert set(store.objects()) == {
        "source:s0",
        "source:s1",
        "source:shared",
        "table:t0",
        "table:t1",
        "table:u0",
        "table:u1",
    }
    assert all(store.history(o).problems == () for o in store.objects())
    assert all(store.history(o).accepted is not None for o in store.objects())


def test_compare_live(tmp_path: Path) -> None:
    root = project(tmp_path)
    run(root)
    done = sqlflowc_process("schema", "compare", "orders_csv", "--live", cwd=root)
    assert done.returncode == 0 and "verdict: identical" in done.stdout
    (root / "data" / "orders.csv").write_text(REMOVED)
    done = sqlflowc_process(
        "schema", "compare", "orders_csv", "--live", "--format", "json", cwd=root
    )
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["new"]["ref"] == "live" and data["verdict"] == "breaking"
    assert len(SnapshotStore(root).history("source:orders_csv").snapshots) == 1  # not recorded
    done = sqlflowc_process("schema", "compare", "table:orders", "--live", cwd=root)
    assert done.returncode == 0 and "verdict: identical" in done.stdout
    done = sqlflowc_process("schema", "compare", "orders_csv", "@0", "@0", "--live", cwd=root)
    assert done.returncode == 2 and "at most one snapshot with --live" in done.stderr
    (root / "pipelines" / "p.sf").write_text("LOAD x FROM nowhere;\n")
    done = sqlflowc_process("schema", "compare", "orders_csv", "--live", cwd=root)
    assert done.returncode == 3 and "error[SF0504]" in done.stderr
    assert "does not compile: source:orders_csv was not read" in done.stderr
    (root / "target" / "sqlflow.duckdb").unlink()
    done = sqlflowc_process("schema", "compare", "table:orders", "--live", cwd=root)
    assert done.returncode == 3 and "there is no database" in done.stderr


def test_written_tables_are_described_as_describe_describes_them() -> None:
    """The tables a run wrote are read with one catalog query for all of them; it must give
    exactly what `DESCRIBE` gives each, and nothing for a view or a table that is gone."""
    import duckdb

    from sqlflowc.runtime.table_columns import describe_table, describe_tables

    con = duckdb.connect()
    con.execute('CREATE SCHEMA "Odd s"')
    con.execute(
        'CREATE TABLE "Odd s"."My T" AS SELECT 1::TINYINT AS a, 1.5::DECIMAL(18,3) AS "b c", '
        "[1, 2] AS d, {'k': 1} AS e, map([1], ['a']) AS f, now()::TIMESTAMPTZ AS g, "
        "'x'::BLOB AS h, 1::UBIGINT AS i, [[1]]::INTEGER[][] AS j"
    )
    con.execute('ALTER TABLE "Odd s"."My T" ALTER a SET NOT NULL')
    con.execute("CREATE TABLE plain AS SELECT 'x' AS s")
    con.execute('CREATE TABLE "My T" AS SELECT 1 AS other')  # same name, schema main
    con.execute("CREATE VIEW v AS SELECT 1 AS x")
    keys = ['"odd s"."my t"', '"Odd s"."My T"', "plain", "main.plain", '"My T"', "v", "gone"]
    found = describe_tables(con, keys)
    for key in keys[:5]:
        rows = con.execute(f"DESCRIBE {key}").fetchall()
        described = [(str(r[0]), str(r[1]), r[2] != "NO") for r in rows]
        assert [(c.name, c.type, c.nullable) for c in found[key]] == described
        assert describe_table(con, key) == found[key]
    assert "v" not in found and "gone" not in found


def test_a_table_is_captured_as_each_step_left_it(tmp_path: Path) -> None:
    """Tables are captured together when the run ends, and before a later step changes one:
    an ALTER after a CREATE is drift within the run, a table dropped later is still recorded."""
    root = project(tmp_path)
    (root / "pipelines" / "p.sf").write_text(
        "CREATE TABLE t AS SELECT 1 AS a;\n"
        "ALTER TABLE t ADD COLUMN b INTEGER;\n"
        "CREATE TABLE s AS SELECT 2 AS x;\n"
        "DROP TABLE s;\n"
        "CREATE TABLE u AS SELECT * FROM t;\n"
    )
    done = run(root)
    assert "the schema of table `t` changed" in done.stderr
    assert "p.sf:2:1" in done.stderr  # at the ALTER, which changed it
    store = SnapshotStore(root)
    assert store.objects() == ["table:s", "table:t", "table:u"]
    t = [[c.name for c in e.snapshot.columns] for e in store.history("table:t").snapshots]
    assert t == [["a", "b"], ["a"]]  # newest first
    assert [c.name for c in store.history("table:s").snapshots[0].snapshot.columns] == ["x"]
    assert [c.name for c in store.history("table:u").snapshots[0].snapshot.columns] == ["a", "b"]


def test_a_csv_load_failing_after_one_detection_reports_as_the_plan_reads(tmp_path: Path) -> None:
    """The load reads a CSV file with what the capture's one detection found; when that read
    fails (a value after the sample that does not fit the detected type), the plan's own
    statement runs, so the failure says what DuckDB says of it, and nothing is loaded."""
    root = project(tmp_path, params=', "sample_size": 1')
    lines = ["id,name,amount", *(f"{i},n{i},{i}.5" for i in range(60_000)), "x,late,1.0"]
    (root / "data" / "orders.csv").write_text("\n".join(lines) + "\n")
    done = run(root, status=3)
    path = root / "data" / "orders.csv"
    scan = f"SELECT * FROM READ_CSV('{path}', header = TRUE, delim = ',', sample_size = 1)"
    with duckdb.connect() as con, pytest.raises(duckdb.ConversionException) as expected:
        con.execute(scan).fetchall()
    said = [line.strip() for line in str(expected.value).splitlines() if line.strip()]
    assert "quote = (empty) (Auto-Detected)" in said  # the read with the detected settings
    for line in said:  # says `(Set By User)`
        assert line in done.stderr
    assert f"AS {scan}" in done.stderr  # the statement shown is the plan's
    tables = rows(db(root), "SELECT table_name FROM duckdb_tables()")
    assert ("orders",) not in tables


def test_a_table_whose_snapshots_cannot_be_written_is_a_warning(tmp_path: Path) -> None:
    """The tables' snapshot files are written together when the steps are over, their first
    captures in one pack: when it cannot be written, each table is a warning at its statement,
    and the rest (the source's) is recorded."""
    root = project(tmp_path)
    blocked = SnapshotStore(root).root / "packs"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("in the way\n")
    done = run(root)
    assert "warning[SF0710]" in done.stderr
    assert "the schema snapshot of table:totals could not be recorded" in done.stderr
    assert "the schema snapshot of table:orders could not be recorded" in done.stderr
    assert "p.sf:3:1" in done.stderr  # the statement that wrote it
    store = SnapshotStore(root)
    assert store.objects() == ["source:orders_csv"]
    assert all(store.history(o).accepted is not None for o in store.objects())
    assert not list((root / "target" / "schemas").rglob(".tmp-*"))
