"""Bad input to schema management, through the installed CLI: corrupt or hand-edited snapshot
files (named, never a traceback; a run goes on by capturing again; `check` is not thrown by
them), unknown names ("did you mean"), objects that never had a snapshot."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sqlflowc.schema.store import SnapshotStore

SQLFLOWC = str(Path(sys.executable).with_name("sqlflowc"))
PIPELINE = """\
SOURCE orders_csv TYPE CSV PARAMS {"path": "data/orders.csv"};
LOAD orders FROM orders_csv;
CREATE TABLE totals AS SELECT count(*) AS n, sum(amount) AS amount FROM orders;
"""
COMMANDS = [
    ["list"],
    ["show", "orders_csv"],
    ["history", "orders_csv"],
    ["compare", "orders_csv"],
    ["accept", "orders_csv"],
]


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [SQLFLOWC, *args], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project after one run: every object has its accepted baseline."""
    root = tmp_path_factory.mktemp("bad") / "project"
    for folder in ("data", "pipelines", "profiles"):
        (root / folder).mkdir(parents=True)
    (root / "profiles" / "dev.yml").write_text("variables: {}\n")
    (root / "pipelines" / "p.sf").write_text(PIPELINE)
    (root / "data" / "orders.csv").write_text("id,amount\n1,1.5\n2,2.5\n")
    assert cli(root, "run", "pipelines/p.sf").returncode == 0
    return root


@pytest.fixture
def project(ran: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ran, root)
    return root


def _snapshot_file(root: Path) -> Path:
    entry = SnapshotStore(root).history("source:orders_csv").accepted
    assert entry is not None
    return entry.path


CORRUPTIONS: dict[str, Callable[[str], str]] = {
    "empty": lambda text: "",
    "truncated": lambda text: text[: len(text) // 2],
    "not an object": lambda text: "[1, 2]",
    "fields missing": lambda text: json.dumps({"format": 1}),
    "hand-edited type": lambda text: text.replace('"DOUBLE"', '"VARCHAR"'),
    "hand-edited name": lambda text: text.replace('"amount"', '"amt"'),
}
REASONS = ("not valid JSON", "not a snapshot", "must be", "fingerprint does not match")


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_a_bad_snapshot_file_is_named_by_every_command(project: Path, corrupt: str) -> None:
    path = _snapshot_file(project)
    path.write_text(CORRUPTIONS[corrupt](path.read_text()))
    for command in COMMANDS:
        done = cli(project, "schema", *command)
        out = done.stdout + done.stderr
        assert done.returncode in (0, 2), (command, out)
        assert str(path) in out, (command, out)
        assert any(reason in out for reason in REASONS), (command, out)


def test_binary_garbage_is_named_too(project: Path) -> None:
    path = _snapshot_file(project)
    path.write_bytes(b"\xff\xfe\x00garbage")
    done = cli(project, "schema", "show", "orders_csv")
    assert f"{path}: not UTF-8 text" in done.stdout + done.stderr


@pytest.mark.parametrize("corrupt", ["truncated", "hand-edited type"])
def test_a_run_goes_on_by_capturing_again(project: Path, corrupt: str) -> None:
    path = _snapshot_file(project)
    path.write_text(CORRUPTIONS[corrupt](path.read_text()))
    done = cli(project, "run", "pipelines/p.sf", "--schema-drift", "fail")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning[SF0710]" in done.stderr and str(path.relative_to(project)) in done.stderr
    assert Path(f"{path}.corrupt").exists() and not path.exists()  # set aside, bytes kept
    history = SnapshotStore(project).history("source:orders_csv")
    assert history.accepted is not None and history.problems == ()  # a new baseline
    again = cli(project, "run", "pipelines/p.sf", "--schema-drift", "fail")
    assert again.returncode == 0 and "SF0710" not in again.stderr  # warned once


def test_check_is_not_thrown_by_a_bad_snapshot_file(project: Path) -> None:
    # A source that cannot be read offline is known from its accepted snapshot: a corrupt one
    # is no snapshot (nothing is reported, and nothing is written by `check`).
    store = SnapshotStore(project)
    (project / "pipelines" / "remote.sf").write_text(
        'SOURCE orders_csv TYPE CSV PARAMS {"path": "s3://nowhere/orders.csv"};\n'
        "LOAD orders FROM orders_csv;\n"
        "CREATE TABLE t AS SELECT amuont FROM orders;\n"
    )
    checked = cli(project, "check", "pipelines/remote.sf")
    assert "warning[SF0711]: unknown column `amuont`" in checked.stdout + checked.stderr
    path = _snapshot_file(project)
    path.write_text("{ not json")
    before = sorted(p.name for p in path.parent.iterdir())
    checked = cli(project, "check", "pipelines/remote.sf")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SF0711" not in checked.stdout + checked.stderr
    assert sorted(p.name for p in path.parent.iterdir()) == before
    assert store.history("source:orders_csv").problems


@pytest.mark.parametrize("command", COMMANDS[1:], ids=[c[0] for c in COMMANDS[1:]])
def test_unknown_names_get_did_you_mean(project: Path, command: list[str]) -> None:
    done = cli(project, "schema", command[0], "ordres_csv")
    assert done.returncode == 2
    assert "no schema snapshot of `ordres_csv`" in done.stderr
    assert "did you mean `orders_csv`?" in done.stderr


@pytest.mark.parametrize("command", COMMANDS[1:], ids=[c[0] for c in COMMANDS[1:]])
def test_objects_that_never_had_a_snapshot(
    project: Path, tmp_path: Path, command: list[str]
) -> None:
    done = cli(project, "schema", command[0], "zzz_never_seen")
    assert done.returncode == 2
    assert "no schema snapshot of `zzz_never_seen`" in done.stderr
    assert "`sqlflowc schema list` shows every object with a snapshot" in done.stderr
    empty = tmp_path / "empty"
    (empty / "profiles").mkdir(parents=True)
    done = cli(empty, "schema", command[0], "orders_csv")
    assert done.returncode == 2
    assert "no schema snapshot of `orders_csv`: this project has none yet" in done.stderr
