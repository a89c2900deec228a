"""Packs of the snapshot store: a batch's first captures in one file, read like any other
history — by the store, by every `sqlflowc schema` command and by runs —, next to stores of
files only; a damaged record, concurrent first captures, and later drift."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import sqlflowc, sqlflowc_process
from sqlflowc.schema import Column
from sqlflowc.schema.drift import capture
from sqlflowc.schema.snapshot import Snapshot
from sqlflowc.schema.store import PackRecordError, SnapshotStore

C = Column
V1 = [C("id", "INTEGER", False), C("name", "VARCHAR")]
V2 = [*V1, C("region", "VARCHAR")]  # a column added

PIPELINE = """\
SOURCE orders_csv TYPE CSV PARAMS {"path": "data/orders.csv"};
LOAD orders FROM orders_csv;
CREATE TABLE totals AS SELECT count(*) AS n FROM orders;
CREATE TABLE names AS SELECT name FROM orders;
"""


def snap(obj: str, columns: list[Column], run: str = "r1") -> Snapshot:
    return Snapshot.capture(obj, columns, origin="DuckDB t.duckdb", pipeline="p.sf", run_id=run)


def first_captures(store: SnapshotStore, *objects: str, run: str = "r1") -> None:
    batch = store.batch()
    for obj in objects:
        assert capture(batch, snap(obj, V1, run), "warn", run_id=run).kind == "baseline"
    assert batch.commit() == {}


def packs(store: SnapshotStore) -> list[Path]:
    return sorted((store.root / "packs").glob("*.pack"))


def project(tmp_path: Path) -> Path:
    for folder in ("data", "pipelines", "profiles"):
        (tmp_path / folder).mkdir()
    (tmp_path / "profiles" / "dev.yml").write_text("variables: {}\n")
    (tmp_path / "pipelines" / "p.sf").write_text(PIPELINE)
    (tmp_path / "data" / "orders.csv").write_text("id,name\n1,a\n2,b\n")
    return tmp_path


def run(root: Path) -> subprocess.CompletedProcess[str]:
    done = sqlflowc_process("run", "pipelines/p.sf", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def schema(root: Path, *args: str) -> tuple[int, str]:
    result = sqlflowc("schema", *args, "--project", str(root))
    return result.exit_code, result.output


# ---------------------------------------------------------------------------- the store


def test_a_batch_of_first_captures_is_one_pack(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first_captures(store, *(f"table:t{i}" for i in range(5)))
    [pack] = packs(store)
    assert not (store.root / "table").exists()  # no directory per object
    assert store.objects() == [f"table:t{i}" for i in range(5)]
    for i in range(5):
        history = store.history(f"table:t{i}")
        assert history.problems == () and not history.pending
        assert history.accepted is not None and history.accepted.path == pack
        assert [(a.by, a.run_id) for a in history.acceptances] == [("first capture", "r1")]
        state = store.state(f"table:t{i}")
        assert state.accepted == history.accepted.snapshot and state.problems == ()
        assert state.latest_short == state.accepted.short
    text = pack.read_text()  # readable: each record a header line, then the baseline's JSON
    assert text.count("\n@ table/t") == 4 and text.startswith("@ table/t0 ")
    assert '    {"name": "id", "type": "INTEGER", "nullable": false},' in text
    assert not list(tmp_path.rglob(".tmp-*"))


def test_one_first_capture_goes_to_its_directory(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first_captures(store, "table:only")
    assert not (store.root / "packs").exists()
    assert [p.name[-14:] for p in store.directory("table:only").iterdir()] == [".baseline.json"]


def test_later_drift_of_an_object_first_recorded_in_a_pack(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first_captures(store, "table:a", "table:b")
    [pack] = packs(store)
    before = pack.read_bytes()
    drift = capture(store, snap("table:a", V2, "r2"), "warn", run_id="r2")
    assert (drift.kind, drift.recorded, drift.now_accepted) == ("drifted", True, False)
    assert drift.accepted is not None and drift.accepted.columns == tuple(V1)
    history = store.history("table:a")
    assert history.pending and history.latest is not None
    assert history.latest.path.parent == store.directory("table:a")  # made when first needed
    assert history.accepted is not None and history.accepted.path == pack
    assert store.state("table:a").latest_short == history.latest.snapshot.short
    assert capture(store, snap("table:a", V2, "r3"), "warn").recorded is False  # not again
    store.accept(history.latest.snapshot, by="schema accept")
    history = store.history("table:a")
    assert not history.pending and history.was_accepted(history.snapshots[1].snapshot.fingerprint)
    assert store.state("table:a").accepted == history.latest.snapshot
    assert capture(store, snap("table:a", V1, "r4"), "warn").kind == "drifted"  # back: drift
    assert store.history("table:b").accepted is not None and not store.history("table:b").pending
    assert pack.read_bytes() == before  # never rewritten


def test_mixed_stores_of_files_and_packs_read_alike(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    old = snap("table:old", V1)  # a history of files only, as stores before packs hold them
    store.baseline(old)
    store.record(snap("table:old", V2))
    store.record(snap("source:feed", V1))
    store.accept(snap("source:feed", V1), by="first capture")
    first_captures(store, "table:new1", "table:new2", "source:fresh")
    assert store.objects() == [
        "source:feed",
        "source:fresh",
        "table:new1",
        "table:new2",
        "table:old",
    ]
    assert store.history("table:old").pending and len(store.history("table:old").snapshots) == 2
    assert not store.history("source:feed").pending
    assert all(store.history(o).accepted is not None for o in store.objects())
    assert store.has_history("table:new1") and not store.has_history("table:none")


def test_every_schema_command_reads_packs(tmp_path: Path) -> None:
    root = project(tmp_path)
    run(root)
    store = SnapshotStore(root)
    [pack] = packs(store)  # the two tables', captured together; the source's in its directory
    assert store.objects() == ["source:orders_csv", "table:names", "table:orders", "table:totals"]
    assert not store.directory("table:totals").exists()
    code, out = schema(root, "list")
    assert code == 0 and "table:totals" in out and "4 objects\n" in out
    code, out = schema(root, "show", "totals")
    assert code == 0 and "1  n       BIGINT  yes" in out and "(accepted schema, " in out
    code, out = schema(root, "history", "table:totals", "--format", "json")
    data = json.loads(out)
    assert code == 0 and [s["status"] for s in data["snapshots"]] == ["accepted"]
    assert data["snapshots"][0]["file"] == str(pack)
    assert data["acceptances"][0]["by"] == "first capture"
    code, out = schema(root, "compare", "table:totals")
    assert code == 0 and "verdict: identical" in out
    # later drift: recorded in the table's own directory, pending, accepted by the CLI
    (root / "pipelines" / "p.sf").write_text(
        PIPELINE.replace("count(*) AS n", "count(*) AS n, max(id) AS top")
    )
    assert "table `totals`" in run(root).stderr
    code, out = schema(root, "list", "--format", "json")
    pending = [r["object"] for r in json.loads(out) if r["drift_pending"]]
    assert pending == ["table:totals"]
    code, out = schema(root, "compare", "table:totals")
    assert "top" in out
    code, out = schema(root, "accept", "--all")
    assert code == 0 and "table:totals: accepted" in out
    code, out = schema(root, "history", "table:totals")
    assert code == 0 and "was accepted" in out
    assert store.directory("table:totals").is_dir()
    assert [p.name for p in packs(store)] == [pack.name]  # no new pack: no new object


# ---------------------------------------------------------------------------- damage


def _damage(pack: Path, obj: str) -> bytes:
    """Hand-edit the record of `obj` in `pack` (a column's name): its fingerprint no longer
    matches. The pack's bytes after the edit."""
    text = pack.read_text()
    head = text.index(f"@ {obj.replace(':', '/')} ")
    end = text.find("\n@ ", head)
    record = text[head : end if end >= 0 else len(text)]
    text = text.replace(record, record.replace('{"name": "', '{"name": "x', 1))
    pack.write_text(text)
    return text.encode()


def test_a_damaged_record_is_its_objects_problem_only(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first_captures(store, "table:a", "table:b", "table:c")
    [pack] = packs(store)
    damaged = _damage(pack, "table:b")
    history = SnapshotStore(tmp_path).history("table:b")
    [problem] = history.problems
    assert isinstance(problem, PackRecordError) and problem.path == str(pack)
    assert "table:b" in problem.reason and "fingerprint does not match" in problem.reason
    assert history.snapshots == () and history.accepted is None
    for other in ("table:a", "table:c"):
        assert SnapshotStore(tmp_path).history(other).problems == ()
    # set aside: the record's bytes beside its object's other files; the pack as it was
    aside = store.quarantine(problem)
    assert aside is not None and str(aside) == problem.aside
    assert aside.parent == store.directory("table:b") and aside.name.endswith(".json.corrupt")
    assert aside.read_text().startswith("@ table/b ") and '"name": "xid"' in aside.read_text()
    assert store.quarantine(problem) == aside  # twice (two runs at once): one copy
    assert pack.read_bytes() == damaged
    fresh = SnapshotStore(tmp_path)
    assert fresh.history("table:b").problems == () and fresh.state("table:b").accepted is None
    assert all(fresh.history(f"table:{o}").accepted is not None for o in "ac")
    # a new first capture of table:b goes to its directory (it has one now)
    assert capture(fresh, snap("table:b", V1, "r2"), "warn").kind == "baseline"
    assert fresh.history("table:b").accepted is not None and len(packs(fresh)) == 1


def test_a_run_sets_a_damaged_record_aside_and_captures_again(tmp_path: Path) -> None:
    root = project(tmp_path)
    run(root)
    store = SnapshotStore(root)
    [pack] = packs(store)
    damaged = _damage(pack, "table:totals")
    code, out = schema(root, "list")
    assert code == 0 and f"warning: {pack}: the baseline of table:totals: " in out
    assert "table:names" in out
    done = run(root)
    assert "warning[SF0710]" in done.stderr and str(pack.relative_to(root)) in done.stderr
    aside = next(store.directory("table:totals").glob("*.corrupt"))
    assert f"set aside as {aside.relative_to(root)}" in done.stderr.replace(str(root) + "/", "")
    assert "is the accepted baseline of table:totals" in done.stderr
    assert pack.read_bytes() == damaged
    again = run(root)
    assert "SF07" not in again.stderr  # set aside once, captured again: nothing to say
    for obj in store.objects():
        history = store.history(obj)
        assert history.problems == () and history.accepted is not None and not history.pending


def test_a_damaged_header_is_reported_as_the_packs(tmp_path: Path) -> None:
    root = tmp_path
    store = SnapshotStore(root)
    first_captures(store, "table:a", "table:b", "table:c")
    [pack] = packs(store)
    text = pack.read_text()
    pack.write_text(text.replace("@ table/b ", "@ tabel/b "))
    fresh = SnapshotStore(root)
    [problem] = fresh.problems()
    assert problem.path == str(pack) and "record 2 has a damaged header" in problem.reason
    assert fresh.objects() == ["table:a", "table:c"]  # table:b's record names no object now
    code, out = schema(root, "list")
    assert code == 0 and f"warning: {pack}: record 2 has a damaged header" in out


# ---------------------------------------------------------------------------- concurrency


def test_concurrent_first_captures_both_keep_their_packs(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from sqlflowc.schema import Column
        from sqlflowc.schema.drift import capture
        from sqlflowc.schema.snapshot import Snapshot
        from sqlflowc.schema.store import SnapshotStore
        store = SnapshotStore(sys.argv[1])
        batch = store.batch()
        for table in range(40):
            s = Snapshot.capture(f"table:t{table}", [Column("id", "INTEGER")], run_id=sys.argv[2])
            capture(batch, s, "warn", run_id=sys.argv[2])
        assert batch.commit() == {}
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag]) for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = SnapshotStore(tmp_path)
    assert store.objects() == sorted(f"table:t{t}" for t in range(40))
    for obj in store.objects():
        history = store.history(obj)
        assert history.problems == () and history.accepted is not None
        runs = sorted(a.run_id or "" for a in history.acceptances)
        assert runs in (["a"], ["a", "b"], ["b"])
    assert not list(tmp_path.rglob(".tmp-*"))
    # whether each saw the other's pack depends on timing; no capture was lost either way
    both = [p for p in packs(store)]
    assert 1 <= len(both) <= 2
    recorded = sum(len(store.history(o).acceptances) for o in store.objects())
    records = sum(p.read_text().count("@ table/") for p in both)
    assert recorded == records >= 40
