"""`sqlflowc schema list | show | history | compare | accept` on a store of snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SQLFLOWC, sqlflowc
from sqlflowc.schema import Column
from sqlflowc.schema.snapshot import Snapshot
from sqlflowc.schema.store import SnapshotStore

C = Column
V1 = [C("id", "INTEGER", False), C("amount", "DECIMAL(10,2)"), C("name", "VARCHAR")]
V2 = [C("id", "BIGINT", False), C("name", "VARCHAR"), C("region", "VARCHAR")]  # breaking
V3 = [*V1, C("region", "VARCHAR")]  # compatible


def capture(store: SnapshotStore, obj: str, columns: list[Column], *, accept: bool) -> Snapshot:
    snap = Snapshot.capture(obj, columns, origin="CSV data/orders.csv", pipeline="p.sf", run_id="r")
    store.record(snap)
    if accept:
        store.accept(snap, by="first capture")
    return snap


@pytest.fixture
def project(tmp_path: Path) -> Path:
    store = SnapshotStore(tmp_path)
    capture(store, "source:orders", V1, accept=True)
    capture(store, "source:orders", V2, accept=False)
    capture(store, "table:orders", V1, accept=True)
    capture(store, "table:daily_totals", [C("day", "DATE")], accept=True)
    return tmp_path


def schema(project: Path, *args: str) -> tuple[int, str]:
    result = sqlflowc("schema", *args, "--project", str(project))
    return result.exit_code, result.output


def test_list(project: Path) -> None:
    code, out = schema(project, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "OBJECT",
        "COLUMNS",
        "ACCEPTED",
        "ACCEPTED",
        "AT",
        "LATEST",
        "PENDING",
        "DRIFT",
    ]
    assert lines[1].startswith("source:orders") and "breaking: 1 type changed" in lines[1]
    assert "3 objects, 1 with drift pending" in out
    code, out = schema(project, "list", "--format", "json")
    rows = {r["object"]: r for r in json.loads(out)}
    assert rows["source:orders"]["drift_pending"] is True
    assert rows["table:daily_totals"]["columns"] == 1


def test_list_of_a_project_without_snapshots(tmp_path: Path) -> None:
    code, out = schema(tmp_path, "list")
    assert (code, out) == (0, "no schema snapshots yet: a run captures them (target/schemas/)\n")


def test_show_accepted_and_by_reference(project: Path) -> None:
    code, out = schema(project, "show", "source:orders")
    assert code == 0
    assert "(accepted schema, " in out and "amount  DECIMAL(10,2)  yes" in out
    assert "drift pending: the latest snapshot" in out
    code, out = schema(project, "show", "source:orders", "@0", "--format", "json")
    data = json.loads(out)
    assert [c["name"] for c in data["columns"]] == ["id", "name", "region"]
    assert data["accepted"] is False and data["drift_pending"] is True


def test_names_unknown_ambiguous_and_did_you_mean(project: Path) -> None:
    code, out = schema(project, "show", "orders")
    assert code == 2
    assert "`orders` is both a source and a table" in out
    assert "`source:orders` or `table:orders`" in out
    code, out = schema(project, "show", "daily_total")
    assert code == 2 and "did you mean `daily_totals`?" in out
    assert schema(project, "show", "DAILY_TOTALS")[0] == 0
    assert schema(project, "show", "main.daily_totals")[0] == 0
    code, out = schema(project, "history", "source:nothing_like_it")
    assert code == 2 and "no schema snapshot of `source:nothing_like_it`" in out
    assert "schema list" in out


def test_history(project: Path) -> None:
    code, out = schema(project, "history", "source:orders")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "source:orders"
    assert lines[3].startswith("@0") and "observed" in lines[3] and "breaking" in lines[3]
    assert lines[4].startswith("@1") and "accepted" in lines[4] and "first capture" in lines[4]
    data = json.loads(schema(project, "history", "source:orders", "--format", "json")[1])
    assert [s["status"] for s in data["snapshots"]] == ["observed", "accepted"]
    kinds = [c["kind"] for c in data["snapshots"][0]["changes_from_previous"]["changes"]]
    assert kinds == ["type_changed", "added", "removed"]


def test_compare_exit_codes(project: Path) -> None:
    code, out = schema(project, "compare", "source:orders")
    assert code == 1, out
    assert "removed          amount  DECIMAL(10,2)  -        breaking" in out
    assert "verdict: breaking (1 breaking change)" in out
    code, out = schema(project, "compare", "source:orders", "@0", "@0")
    assert (code, out.splitlines()[-1]) == (0, "verdict: identical")
    code, out = schema(project, "compare", "table:orders", "--format", "json")
    assert code == 0 and json.loads(out)["verdict"] == "identical"
    # reversed: V2 → V1 adds `amount` back and removes `region`, still breaking
    code, out = schema(project, "compare", "source:orders", "@0", "@1", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["old"]["ref"] == "@0" and data["verdict"] == "breaking"


def test_compare_compatible_change_exits_0(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    capture(store, "source:orders", V1, accept=True)
    capture(store, "source:orders", V3, accept=False)
    code, out = schema(tmp_path, "compare", "orders")
    assert code == 0 and "verdict: compatible" in out


def test_snapshot_references(project: Path) -> None:
    history = SnapshotStore(project).history("source:orders")
    newest, oldest = (e.snapshot.fingerprint for e in history.snapshots)
    code, out = schema(
        project, "compare", "source:orders", oldest[:6], newest[:12], "--format", "json"
    )
    assert code == 1 and json.loads(out)["new"]["fingerprint"] == newest
    for bad, message in [
        ("@7", "has no snapshot @7"),
        ("@x", "is not a snapshot reference"),
        ("zz", "is not a snapshot reference"),
        ("ffffff", "no snapshot of source:orders has a fingerprint starting with `ffffff`"),
    ]:
        code, out = schema(project, "compare", "source:orders", bad)
        assert code == 2 and message in out, out
    code, out = schema(project, "compare", "source:orders", "a", "b", "c")
    assert code == 2 and "at most two" in out


def test_accept(project: Path) -> None:
    code, out = schema(project, "accept", "source:orders")
    assert code == 0 and "source:orders: accepted " in out and "(was " in out
    assert schema(project, "compare", "source:orders")[0] == 0
    code, out = schema(project, "accept", "source:orders")
    assert code == 0 and "is already accepted" in out
    code, out = schema(project, "accept", "--all")
    assert (code, out) == (0, "no drift pending: nothing to accept\n")
    assert schema(project, "accept")[0] == 2
    assert schema(project, "accept", "orders")[0] == 2  # ambiguous


def test_accept_all(project: Path) -> None:
    store = SnapshotStore(project)
    capture(store, "table:daily_totals", [C("day", "DATE"), C("n", "BIGINT")], accept=False)
    code, out = schema(project, "accept", "--all", "--format", "json")
    assert code == 0
    assert {d["object"] for d in json.loads(out)} == {"source:orders", "table:daily_totals"}
    assert not any(store.history(o).pending for o in store.objects())


def test_unreadable_file_is_named_and_skipped(project: Path) -> None:
    store = SnapshotStore(project)
    latest = store.history("source:orders").snapshots[0].path
    latest.write_text(latest.read_text().replace('"BIGINT"', '"HUGEINT"'))
    code, out = schema(project, "history", "source:orders")
    assert code == 0
    assert f"warning: {latest}: its fingerprint does not match its columns" in out
    assert "@1" not in out  # only the readable snapshot is listed


def test_project_is_found_from_the_current_directory(project: Path) -> None:
    (project / "profiles").mkdir()
    (project / "pipelines").mkdir()
    out = subprocess.run(
        [SQLFLOWC, "schema", "list"],
        cwd=project / "pipelines",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0 and "source:orders" in out.stdout, out.stderr


def test_shell_completion(project: Path) -> None:
    def complete(words: str) -> list[str]:
        env = {
            **os.environ,
            "_SQLFLOWC_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        done = subprocess.run(
            [sys.executable, "-c", "from sqlflowc.cli import cli; cli(prog_name='sqlflowc')"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("sqlflowc schema show ") == [
        "daily_totals",
        "source:orders",
        "table:daily_totals",
        "table:orders",
    ]
    assert complete("sqlflowc schema show so") == ["source:orders"]
    assert complete("sqlflowc schema compare source:orders @") == ["@0", "@1"]
