"""Schema snapshots and their store: fingerprints, JSON files, history, bad files, concurrency."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sqlflowc.schema import Column
from sqlflowc.schema.drift import capture, resolve_policy
from sqlflowc.schema.snapshot import (
    Snapshot,
    SnapshotError,
    fingerprint,
    snapshot_from_json,
    snapshot_to_json,
)
from sqlflowc.schema.store import SnapshotStore

C = Column
BASE = [C("id", "INTEGER", False), C("name", "VARCHAR"), C("amount", "DECIMAL(10,2)")]


def snap(columns: list[Column], obj: str = "source:orders", run: str = "r1") -> Snapshot:
    return Snapshot.capture(obj, columns, origin="CSV data/orders.csv", pipeline="p.sf", run_id=run)


# ---------------------------------------------------------------------------- fingerprints


@pytest.mark.parametrize(
    "changed",
    [
        [C("ID", "INTEGER", False), *BASE[1:]],  # a name (its spelling)
        [BASE[1], BASE[0], BASE[2]],  # the order
        [C("id", "BIGINT", False), *BASE[1:]],  # a type
        [C("id", "INTEGER", True), *BASE[1:]],  # nullability
        BASE[:2],  # a column fewer
    ],
)
def test_fingerprint_changes_with_names_order_types_nullability(changed: list[Column]) -> None:
    assert fingerprint(changed) != fingerprint(BASE)


def test_fingerprint_ignores_everything_else() -> None:
    same = [C("id", "int", False, default="0"), C("name", "text"), C("amount", "numeric(10, 2)")]
    assert fingerprint(same) == fingerprint(BASE)
    a, b = snap(BASE, run="r1"), snap(same, run="r2")
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 64 and len(a.short) == 12


_NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_TYPES = st.sampled_from(["INTEGER", "VARCHAR", "DECIMAL(18,3)", "STRUCT(a INTEGER)", "DATE[]"])


@given(st.lists(st.tuples(_NAMES, _TYPES, st.booleans()), max_size=8))
def test_snapshot_json_round_trips(cols: list[tuple[str, str, bool]]) -> None:
    original = snap([C(n, t, nullable) for n, t, nullable in cols])
    text = snapshot_to_json(original)
    assert json.loads(text)["fingerprint"] == original.fingerprint
    assert snapshot_from_json(text, "x.json") == original


def test_snapshot_file_has_one_column_per_line() -> None:
    text = snapshot_to_json(snap(BASE))
    assert '    {"name": "amount", "type": "DECIMAL(10,2)", "nullable": true}' in text.splitlines()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t[:-3], "not valid JSON (line"),
        (lambda t: t.replace('"VARCHAR"', '"BIGINT"'), "fingerprint does not match its columns"),
        (lambda t: t.replace('"format": 1', '"format": 7'), "unknown snapshot format 7"),
        (lambda t: t.replace('"nullable": false', '"nullable": "no"'), "`nullable` must be"),
        (lambda t: "[]", "expected a JSON object"),
        (lambda t: t.replace('"object": "source:orders"', '"object": "orders"'), "not an object"),
    ],
)
def test_bad_snapshot_json_is_refused_naming_the_file(edit, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SnapshotError) as err:
        snapshot_from_json(edit(snapshot_to_json(snap(BASE))), "target/x.json")
    assert err.value.path == "target/x.json"
    assert reason in err.value.reason


# ---------------------------------------------------------------------------- the store


def test_history_is_append_only_and_newest_first(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = snap(BASE)
    store.record(first)
    store.accept(first, by="first capture", run_id="r1")
    second = snap([*BASE, C("region", "VARCHAR")], run="r2")
    store.record(second)
    history = store.history("source:orders")
    assert [e.snapshot for e in history.snapshots] == [second, first]
    assert history.accepted is not None and history.accepted.snapshot == first
    assert history.pending
    state = store.state("source:orders")
    assert state.accepted == first and state.latest_short == second.short
    files = sorted(p.name for p in store.directory("source:orders").iterdir())
    before = {p: p.read_bytes() for p in store.directory("source:orders").iterdir()}
    store.accept(second, by="schema accept")
    after = {p: p.read_bytes() for p in store.directory("source:orders").iterdir()}
    assert {p: after[p] for p in before} == before  # nothing rewritten
    assert len(after) == len(files) + 1
    history = store.history("source:orders")
    assert history.accepted is not None and history.accepted.snapshot == second
    assert not history.pending and history.was_accepted(first.fingerprint)
    assert store.objects() == ["source:orders"]


def test_object_names_are_case_insensitive_and_any_characters_are_safe(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    for obj in ("table:analytics.daily", "table:../x y/é", "source:Orders"):
        store.record(snap(BASE, obj=obj))
    assert store.objects() == ["source:orders", "table:../x y/é", "table:analytics.daily"]
    for path in (tmp_path / "target" / "schemas").rglob("*.json"):
        assert path.resolve().is_relative_to((tmp_path / "target" / "schemas").resolve())


def test_unreadable_files_are_reported_and_skipped(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = snap(BASE)
    good = store.record(first)
    store.accept(first, by="first capture")
    edited = store.record(snap([*BASE, C("x", "DATE")], run="r2"))
    edited.write_text(edited.read_text().replace('"DATE"', '"TIMESTAMP"'))
    (store.directory("source:orders") / ".tmp-abc.part").write_text("{")  # a crash leftover
    history = store.history("source:orders")
    assert [e.path for e in history.snapshots] == [good]
    assert [p.path for p in history.problems] == [str(edited)]
    assert "edited by hand" in history.problems[0].reason
    moved = store.quarantine(history.problems[0])
    assert moved is not None and moved.name.endswith(".json.corrupt") and moved.exists()
    assert store.history("source:orders").problems == ()


def test_an_unreadable_accepted_snapshot_leaves_the_object_without_one(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = snap(BASE)
    path = store.record(first)
    store.accept(first, by="first capture")
    path.write_text("not json")
    state = store.state("source:orders")
    assert state.accepted is None
    reasons = [p.reason for p in state.problems]
    assert any("not valid JSON" in r for r in reasons), reasons
    assert any("not in" in r for r in reasons), reasons


def test_two_processes_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from sqlflowc.schema import Column
        from sqlflowc.schema.snapshot import Snapshot
        from sqlflowc.schema.store import SnapshotStore
        store = SnapshotStore(sys.argv[1])
        for i in range(150):
            s = Snapshot.capture("source:orders", [Column(f"c{sys.argv[2]}_{i}", "INTEGER")])
            store.record(s)
            store.accept(s, by="test")
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag]) for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    history = SnapshotStore(tmp_path).history("source:orders")
    assert history.problems == ()
    names = {e.snapshot.columns[0].name for e in history.snapshots}
    assert names == {f"c{tag}_{i}" for tag in "ab" for i in range(150)}
    assert len(history.acceptances) == 300
    assert not list(SnapshotStore(tmp_path).directory("source:orders").glob(".tmp-*"))


def test_a_batch_writes_its_files_when_committed(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    batch = store.batch()
    for name in ("a", "b", "c"):
        drift = capture(batch, snap(BASE, obj=f"table:{name}"), "warn", run_id="r1")
        assert drift.kind == "baseline"
    assert store.objects() == []  # noted, not written
    assert batch.commit() == {}
    assert store.objects() == ["table:a", "table:b", "table:c"]
    for obj in store.objects():
        history = store.history(obj)
        assert history.problems == () and history.accepted is not None
        assert history.acceptances[0].run_id == "r1"
        assert not list(store.directory(obj).glob(".tmp-*"))
    assert batch.commit() == {}  # its files were written once: nothing left to write


def test_a_batch_is_written_file_by_file_where_the_file_system_cannot_be_flushed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlflowc.schema import store_files

    monkeypatch.setattr(store_files, "_LIBC", [None])  # no syncfs(2): each file is fsync'ed
    store = SnapshotStore(tmp_path)
    batch = store.batch()
    for name in ("a", "b", "c"):
        capture(batch, snap(BASE, obj=f"table:{name}"), "warn", run_id="r1")
    assert batch.commit() == {}
    assert store.objects() == ["table:a", "table:b", "table:c"]
    for obj in store.objects():
        history = store.history(obj)
        assert history.problems == () and history.accepted is not None
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_batch_object_that_cannot_be_written_leaves_the_others_complete(
    tmp_path: Path,
) -> None:
    store = SnapshotStore(tmp_path)
    for name in ("a", "c"):  # objects with a history: their files go to their directories
        store.record(snap(BASE, obj=f"table:{name}"))
    blocked = store.directory("table:b")
    blocked.write_text("not a directory")  # where table:b's history would go
    batch = store.batch()
    for name in ("a", "b", "c"):
        capture(batch, snap(BASE, obj=f"table:{name}"), "warn")
    failed = batch.commit()  # one first capture: no pack, its own directory
    assert list(failed) == ["table:b"] and isinstance(failed["table:b"], OSError)
    assert store.objects() == ["table:a", "table:c"]
    assert all(store.history(o).accepted is not None for o in store.objects())
    assert blocked.read_text() == "not a directory"
    assert not (store.root / "packs").exists()
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_pack_that_cannot_be_written_fails_its_objects_only(tmp_path: Path) -> None:
    """The first captures of a batch share one pack: when it cannot be written, none of them
    is recorded, and the batch's other objects (with a history) are complete."""
    store = SnapshotStore(tmp_path)
    store.record(snap(BASE, obj="table:c"))
    (store.root / "packs").write_text("not a directory")  # where the pack would go
    batch = store.batch()
    for name in ("a", "b", "c"):
        capture(batch, snap(BASE, obj=f"table:{name}"), "warn")
    failed = batch.commit()
    assert sorted(failed) == ["table:a", "table:b"]
    assert all(isinstance(err, OSError) for err in failed.values())
    assert store.objects() == ["table:c"] and store.history("table:c").accepted is not None
    assert (store.root / "packs").read_text() == "not a directory"
    assert not list(tmp_path.rglob(".tmp-*"))


def test_two_processes_committing_batches_at_once_lose_nothing(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from sqlflowc.schema import Column
        from sqlflowc.schema.snapshot import Snapshot
        from sqlflowc.schema.store import SnapshotStore
        store = SnapshotStore(sys.argv[1])
        for i in range(30):
            batch = store.batch()
            for table in range(5):
                columns = [Column(f"c{sys.argv[2]}_{i}", "INTEGER")]
                s = Snapshot.capture(f"table:t{table}", columns)
                batch.record(s)
                batch.accept(s, by="test")
            assert batch.commit() == {}
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag]) for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = SnapshotStore(tmp_path)
    assert store.objects() == [f"table:t{t}" for t in range(5)]
    for obj in store.objects():
        history = store.history(obj)
        assert history.problems == ()
        names = {e.snapshot.columns[0].name for e in history.snapshots}
        assert names == {f"c{tag}_{i}" for tag in "ab" for i in range(30)}
        assert len(history.acceptances) == 60
        assert not list(store.directory(obj).glob(".tmp-*"))


# ---------------------------------------------------------------------------- drift


def test_first_capture_is_the_accepted_baseline(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    drift = capture(store, snap(BASE), "fail", run_id="r1")
    assert (drift.kind, drift.recorded, drift.now_accepted, drift.stops) == (
        "baseline",
        True,
        True,
        False,
    )
    history = store.history("source:orders")
    assert history.accepted is not None and history.acceptances[0].by == "first capture"
    assert history.acceptances[0].run_id == "r1"


def test_steady_schema_writes_nothing(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    capture(store, snap(BASE), "warn")
    files = set(store.directory("source:orders").iterdir())
    drift = capture(store, snap(BASE, run="r2"), "warn")
    assert (drift.kind, drift.recorded) == ("unchanged", False)
    assert set(store.directory("source:orders").iterdir()) == files


@pytest.mark.parametrize(
    ("policy", "accepted_after", "stops"),
    [("fail", False, True), ("warn", False, False), ("accept", True, False)],
)
def test_drift_policies(tmp_path: Path, policy, accepted_after: bool, stops: bool) -> None:  # type: ignore[no-untyped-def]
    store = SnapshotStore(tmp_path)
    capture(store, snap(BASE), "warn")
    changed = snap([*BASE, C("region", "VARCHAR")], run="r2")
    drift = capture(store, changed, policy, run_id="r2")
    assert (drift.kind, drift.stops, drift.now_accepted) == ("drifted", stops, accepted_after)
    assert drift.comparison is not None and drift.verdict.value == "compatible"
    history = store.history("source:orders")
    assert history.latest is not None and history.latest.snapshot == changed
    assert history.pending is not accepted_after
    # the same drift again: reported again, not recorded again
    again = capture(store, snap([*BASE, C("region", "VARCHAR")], run="r3"), policy)
    assert again.recorded is False
    assert again.kind == ("unchanged" if accepted_after else "drifted")


def test_a_case_change_is_no_drift_but_is_recorded(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    capture(store, snap(BASE), "fail")
    drift = capture(store, snap([C("ID", "INTEGER", False), *BASE[1:]]), "fail")
    assert (drift.kind, drift.recorded, drift.now_accepted, drift.stops) == (
        "unchanged",
        True,
        True,
        False,
    )
    assert not store.history("source:orders").pending


def test_a_corrupt_accepted_snapshot_is_quarantined_and_recaptured(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    capture(store, snap(BASE), "fail")
    path = store.history("source:orders").snapshots[0].path
    path.write_text("{ oops")
    drift = capture(store, snap([*BASE, C("x", "DATE")]), "fail")
    assert drift.kind == "baseline" and not drift.stops
    assert drift.problems[0].path == str(path)
    assert Path(str(path) + ".corrupt").read_text() == "{ oops"
    assert store.history("source:orders").problems == ()


def test_resolve_policy_precedence() -> None:
    assert resolve_policy(None, None, None) == "warn"
    assert resolve_policy(None, None, "fail") == "fail"
    assert resolve_policy(None, "accept", "fail") == "accept"
    assert resolve_policy("warn", "accept", "fail") == "warn"
