"""Paths, as a user writes them: a project whose own path has glob characters, relative paths in
SQL bodies, a missing --project or plan project directory, `file://` and `~` in EXPORT targets,
targets outside the project, long target names, and INCLUDE of a file that is no pipeline.
Through the `sqlflowc` console script, from a working directory that is not the project's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import rows
from helpers import sqlflowc_process as sqlflowc


def project(root: Path, pipeline: str) -> Path:
    """A project (profiles/ marks it) with data/a.csv, data/b.csv and pipelines/p.sf."""
    (root / "profiles").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("id,name\n1,Ada\n2,Grace\n", encoding="utf-8")
    (root / "data" / "b.csv").write_text("id,name\n3,Linus\n", encoding="utf-8")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "p.sf").write_text(pipeline, encoding="utf-8")
    return root


GLOBBED = """\
SOURCE one TYPE CSV PARAMS {"path": "data/a.csv"};
SOURCE all_csv TYPE CSV PARAMS {"path": "data/*.csv"};
SOURCE folder TYPE CSV PARAMS {"path": "data"};
LOAD one FROM one;
LOAD every FROM all_csv;
LOAD folder FROM folder;
EXPORT every TO "target/every.csv" TYPE CSV OPTIONS {"header": true};
"""


@pytest.mark.parametrize("name", ["proj [2024]", "proj*", "what?", "a[b]c"])
def test_glob_characters_in_the_project_directory(tmp_path: Path, name: str) -> None:
    root = project(tmp_path / name, GLOBBED)
    checked = sqlflowc("check", str(root / "pipelines" / "p.sf"), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    done = sqlflowc("run", str(root / "pipelines" / "p.sf"), "--db", "t.duckdb", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    db = tmp_path / "t.duckdb"
    assert rows(db, "SELECT count(*) FROM one") == [(2,)]
    assert rows(db, "SELECT count(*) FROM every") == [(3,)]  # only the user's part is a pattern
    assert rows(db, "SELECT count(*) FROM folder") == [(3,)]
    assert (root / "target" / "every.csv").read_text(encoding="utf-8").count("\n") == 4


def test_a_missing_file_in_such_a_project_is_shown_unescaped(tmp_path: Path) -> None:
    root = project(tmp_path / "proj [2024]", 'SOURCE s TYPE CSV PARAMS {"path": "data/c.csv"};\n')
    done = sqlflowc("check", str(root / "pipelines" / "p.sf"), cwd=tmp_path)
    assert done.returncode == 1
    assert f"file not found: `data/c.csv` (resolved to {root}/data/c.csv)" in done.stderr


def test_a_literal_file_name_with_brackets(tmp_path: Path) -> None:
    root = project(
        tmp_path / "p", 'SOURCE s TYPE CSV PARAMS {"path": "data/report[1].csv"};\nLOAD r FROM s;\n'
    )
    (root / "data" / "report[1].csv").write_text("x\n7\n", encoding="utf-8")
    done = sqlflowc("run", "pipelines/p.sf", "--db", "t.duckdb", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(root / "t.duckdb", "SELECT x FROM r") == [(7,)]


def test_relative_paths_in_sql_bodies_are_project_relative(tmp_path: Path) -> None:
    root = project(
        tmp_path / "proj",
        "CREATE TABLE direct AS SELECT * FROM 'data/a.csv';\n"
        "CREATE TABLE globbed AS SELECT * FROM read_csv('data/*.csv');\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = sqlflowc("run", str(root / "pipelines" / "p.sf"), "--db", "t.duckdb", cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(elsewhere / "t.duckdb", "SELECT count(*) FROM direct") == [(2,)]
    assert rows(elsewhere / "t.duckdb", "SELECT count(*) FROM globbed") == [(3,)]


def test_a_missing_project_directory_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", "CREATE TABLE t AS SELECT 1 AS n;\n")
    missing = tmp_path / "nowhere"
    for command in ("run", "check", "compile", "graph"):
        done = sqlflowc(command, "pipelines/p.sf", "--project", str(missing), cwd=root)
        assert done.returncode == 2, done.stderr
        assert "Directory" in done.stderr and "does not exist" in done.stderr
    assert not missing.exists()


def test_a_plan_whose_project_is_gone_creates_nothing(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", "CREATE TABLE t AS SELECT 1 AS n;\n")
    plan = tmp_path / "plan.json"
    assert sqlflowc("compile", "pipelines/p.sf", "-o", str(plan), cwd=root).returncode == 0
    root.rename(tmp_path / "moved")
    done = sqlflowc("run", str(plan), cwd=tmp_path)
    assert done.returncode == 1
    assert f"error[SF0910]: the project directory of plan {plan} does not exist: {root}" in (
        done.stderr
    )
    assert not root.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moved", "plan.json"]


def test_export_targets_file_uri_home_and_outside_the_project(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    outside = tmp_path / "outside.csv"
    root = project(
        tmp_path / "proj",
        "CREATE TABLE t AS SELECT 1 AS n;\n"
        f'EXPORT t TO "file://{tmp_path}/via%20uri.csv" TYPE CSV;\n'
        'EXPORT t TO "~/in_home.csv" TYPE CSV;\n'
        'EXPORT t TO "../outside.csv" TYPE CSV;\n',
    )
    done = sqlflowc("run", "pipelines/p.sf", "--db", ":memory:", cwd=root, env={"HOME": str(home)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "via uri.csv").read_text(encoding="utf-8") == "n\n1\n"
    assert (home / "in_home.csv").read_text(encoding="utf-8") == "n\n1\n"
    assert outside.read_text(encoding="utf-8") == "n\n1\n"


def test_a_file_uri_on_another_host_is_a_compile_error(tmp_path: Path) -> None:
    root = project(
        tmp_path / "proj",
        'CREATE TABLE t AS SELECT 1 AS n;\nEXPORT t TO "file://server/share/x.csv" TYPE CSV;\n',
    )
    done = sqlflowc("check", "pipelines/p.sf", cwd=root)
    assert done.returncode == 1
    assert "error[SF0904]: `file://server/share/x.csv` names a file on host `server`" in done.stderr


def test_a_long_export_name_and_errors_name_the_target(tmp_path: Path) -> None:
    long_name = "r" * (255 - len(".csv.gz")) + ".csv.gz"
    root = project(
        tmp_path / "proj",
        "CREATE TABLE t AS SELECT 1 AS n;\n"
        f'EXPORT t TO "target/{long_name}" TYPE CSV;\n'
        'EXPORT t TO "target/taken" TYPE CSV;\n',
    )
    (root / "target" / "taken").mkdir(parents=True)
    done = sqlflowc("run", "pipelines/p.sf", "--db", ":memory:", "--continue", cwd=root)
    assert done.returncode == 3
    import gzip

    assert gzip.decompress((root / "target" / long_name).read_bytes()) == b"n\n1\n"
    assert f"failed: Is a directory ({root}/target/taken)" in done.stdout
    assert ".sqlflowc-" not in done.stdout + done.stderr
    # no temporary file left behind (schemas/, runs/ and cache/ hold the run's snapshots,
    # record and compiled plan)
    expected = [long_name, "cache", "runs", "schemas", "taken"]
    assert sorted(os.listdir(root / "target")) == sorted(expected)


def test_include_of_a_file_that_is_no_pipeline_shows_none_of_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$notashadowhash:19000:0:99999:7:::\n", encoding="utf-8")
    root = project(
        tmp_path / "proj",
        f'INCLUDE "{secret}";\nINCLUDE "/etc/shadow";\nINCLUDE "../secret.txt";\n',
    )
    done = sqlflowc("check", "pipelines/p.sf", cwd=root)
    assert done.returncode == 1
    assert done.stderr.count("error[SF0104]") == 3
    assert "notashadowhash" not in done.stderr and "root:" not in done.stderr
    plan = sqlflowc("check", "pipelines/p.sf", "--format", "json", cwd=root)
    assert "notashadowhash" not in plan.stdout
    assert {d["code"] for d in json.loads(plan.stdout)} == {"SF0104"}
