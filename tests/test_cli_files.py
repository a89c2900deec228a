"""Files the commands read and write: a file that cannot be read or written is diagnostic SF0913
naming the file the user gave (status 1) — never "internal error ... bug" — and nothing is left
half-written. Permission checks run the real `sqlflowc` as an unprivileged user (`nobody`
through `setpriv` when the tests run as root, where permission bits do not apply).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SQLFLOWC

PIPELINE = "CREATE TABLE t AS SELECT 1 AS n;\n"
UNFORMATTED = "create table t as SELECT 1 AS n;\n"


def console(*args: str, cwd: Path, user: bool = False) -> subprocess.CompletedProcess[str]:
    """The console script; `user=True` runs it without root's privileges."""
    command = [SQLFLOWC, *args]
    if user and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def assert_file_error(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 1, done.stderr
    assert f"error[SF0913]: {message}" in done.stderr
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def shared() -> Iterator[Path]:
    """A project directory every user may enter (tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="sqlflowc-files-", dir="/tmp"))
    path.chmod(0o755)
    (path / "p.sf").write_text(PIPELINE, encoding="utf-8")
    (path / "p.sf").chmod(0o644)
    (path / "locked").mkdir(mode=0o555)
    (path / "locked").chmod(0o555)
    try:
        yield path
    finally:
        for root, dirs, _ in os.walk(path):
            for d in dirs:
                (Path(root) / d).chmod(0o755)
        shutil.rmtree(path)


def test_compile_and_graph_into_a_read_only_directory(shared: Path) -> None:
    done = console("compile", "p.sf", "-o", "locked/plan.json", cwd=shared, user=True)
    assert_file_error(done, "cannot write locked/plan.json: Permission denied")
    assert done.stderr.endswith("1 error; nothing was written.\n")
    done = console(
        "graph", "p.sf", "--format", "html", "-o", "locked/g.html", cwd=shared, user=True
    )
    assert_file_error(done, "cannot write locked/g.html: Permission denied")
    assert os.listdir(shared / "locked") == []


def test_fmt_of_a_read_only_file_leaves_it_alone(shared: Path) -> None:
    (shared / "ugly.sf").write_text(UNFORMATTED, encoding="utf-8")
    (shared / "ugly.sf").chmod(0o444)
    done = console("fmt", "ugly.sf", cwd=shared, user=True)
    assert_file_error(done, "cannot write ugly.sf: Permission denied")
    assert (shared / "ugly.sf").read_text(encoding="utf-8") == UNFORMATTED
    assert sorted(os.listdir(shared)) == ["locked", "p.sf", "ugly.sf"]  # no temporary file left


@pytest.mark.parametrize("command", ["fmt", "compile", "check", "run", "graph"])
def test_an_unreadable_pipeline_is_a_usage_error(shared: Path, command: str) -> None:
    (shared / "p.sf").chmod(0o000)
    done = console(command, "p.sf", cwd=shared, user=True)
    assert done.returncode == 2, done.stderr
    assert "'p.sf' is not readable" in done.stderr
    assert "internal error" not in done.stderr


def test_init_into_a_read_only_directory(shared: Path) -> None:
    done = console("init", "locked/demo", cwd=shared, user=True)
    assert_file_error(done, "cannot create locked/demo")
    assert "Permission denied" in done.stderr
    assert os.listdir(shared / "locked") == []


def test_init_when_a_part_of_the_path_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    done = console("init", "taken/demo", cwd=tmp_path)
    assert_file_error(done, "cannot create taken/demo/profiles/dev.yml: Not a directory")
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "x"


def test_init_refuses_existing_files_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "demo" / "data").mkdir(parents=True)
    (tmp_path / "demo" / "data" / "orders.csv").write_text("mine\n", encoding="utf-8")
    done = console("init", "demo", cwd=tmp_path)
    assert_file_error(done, "cannot create demo/data/orders.csv: it already exists")
    assert sorted(p.name for p in (tmp_path / "demo").rglob("*")) == ["data", "orders.csv"]


def test_an_output_path_through_a_file(tmp_path: Path) -> None:
    (tmp_path / "p.sf").write_text(PIPELINE, encoding="utf-8")
    (tmp_path / "notes").write_text("x", encoding="utf-8")
    done = console("compile", "p.sf", "-o", "notes/plan.json", cwd=tmp_path)
    assert_file_error(done, "cannot write notes/plan.json: Not a directory")
    assert "a part of the path is a file" in done.stderr


def full_device(tmp_path: Path) -> Path:
    """A device on which every write fails with ENOSPC: a node of /dev/full's device in
    tmp_path when root (so a broken writer can only ever replace that copy), else /dev/full
    itself (which an ordinary user cannot replace)."""
    if not Path("/dev/full").is_char_device():
        pytest.skip("no /dev/full on this system")
    if os.geteuid() != 0:
        return Path("/dev/full")
    node = tmp_path / "full"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.stat("/dev/full").st_rdev)
    return node


def test_a_full_disk(tmp_path: Path) -> None:
    (tmp_path / "p.sf").write_text(PIPELINE, encoding="utf-8")
    device = full_device(tmp_path)
    done = console("compile", "p.sf", "-o", str(device), cwd=tmp_path)
    assert_file_error(done, f"cannot write {device}: No space left on device")
    assert device.is_char_device()  # written through, never replaced


def test_output_to_dev_stdout(tmp_path: Path) -> None:
    (tmp_path / "p.sf").write_text(PIPELINE, encoding="utf-8")
    done = subprocess.run(
        f"{SQLFLOWC} compile p.sf --format json -o /dev/stdout | cat",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("{")


def test_a_long_output_name(tmp_path: Path) -> None:
    """The temporary file has a short name of its own: a name at the limit still works."""
    (tmp_path / "p.sf").write_text(PIPELINE, encoding="utf-8")
    name = "p" * (255 - len(".json")) + ".json"
    done = console("compile", "p.sf", "-o", name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / name).read_text(encoding="utf-8").startswith("{")


def test_fmt_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin1.sf").write_bytes(
        "CREATE TABLE t AS SELECT 'café' AS c;\n".encode("latin-1")
    )
    done = console("fmt", "latin1.sf", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error[SF0009]: latin1.sf is not UTF-8 text (invalid continuation byte at byte 29)\n"
    )
    assert "internal error" not in done.stderr
    assert "café".encode("latin-1") in (tmp_path / "latin1.sf").read_bytes()  # unchanged
