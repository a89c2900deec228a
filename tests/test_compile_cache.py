"""The compile cache (`sqlflowc run` reuses a plan while everything it was compiled from is
unchanged): a hit loads no compiler, and every input invalidates it — edit it, run again, and
the run shows the edit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import sql, sqlflowc

PIPELINE = """\
INCLUDE "lib.sf";
SOURCE people_csv TYPE CSV PARAMS {"path": "data/people.csv", "has_header": true};
LOAD people FROM people_csv MODE APPEND;
CREATE TABLE out AS
SELECT '${greeting}' AS greeting, '${SFC_CACHE_TEST_ENV|unset}' AS env,
       (SELECT COUNT(*) FROM people) AS n, ${factor} AS factor, double_it(2) AS doubled;
"""
LIB = "SET factor = 1;\n"
UDF = """\
from sqlflowc.udf import python_scalar_udf


@python_scalar_udf
def double_it(x: int) -> int:
    return x * 2
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "pipelines").mkdir(parents=True)
    (root / "profiles").mkdir()
    (root / "data").mkdir()
    (root / "python_udfs").mkdir()
    (root / "python_udfs" / "__init__.py").write_text("")
    (root / "python_udfs" / "fns.py").write_text(UDF)
    (root / "profiles" / "dev.yml").write_text(
        "engine:\n  type: duckdb\n  path: target/db.duckdb\nvariables:\n  greeting: hello\n"
    )
    (root / "pipelines" / "main.sf").write_text(PIPELINE)
    (root / "pipelines" / "lib.sf").write_text(LIB)
    (root / "data" / "people.csv").write_text("id,name\n1,ann\n2,bob\n")
    monkeypatch.chdir(root)
    monkeypatch.delenv("SFC_CACHE_TEST_ENV", raising=False)
    return root


def _run(*args: str) -> tuple[int, str]:
    result = sqlflowc("run", "pipelines/main.sf", *args)
    return result.exit_code, result.output


def _out(root: Path) -> tuple[object, ...]:
    rows = sql(root / "target" / "db.duckdb", "SELECT * FROM out")
    return rows[0]


def _entries(root: Path) -> dict[str, float]:
    folder = root / "target" / "cache"
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} if folder.is_dir() else {}


def _warm() -> None:
    """Two runs: the first creates `people` (which the APPEND's schema check looks up), so the
    second compiles again; after them, a run with nothing changed is a hit."""
    assert _run()[0] == 0
    assert _run()[0] == 0


def _touch_later(path: Path, text: str) -> None:
    """Write `text` so that the file's modification time surely differs from before."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10_000_000, before + 10_000_000))


def test_a_second_run_uses_the_cached_plan(project: Path) -> None:
    assert _run()[0] == 0
    # The first run created `people`, which the APPEND's schema check looked up and did not
    # find: the second compiles again, the third reuses the second's plan.
    assert _run()[0] == 0
    second = _entries(project)
    assert len(second) == 1
    assert _run()[0] == 0
    assert _entries(project) == second  # a hit writes nothing
    assert _out(project) == ("hello", "unset", 6, 1, 4)  # APPEND ran three times


def _loaded_after_run(pipeline: str) -> list[str]:
    """Run `pipeline` in a fresh interpreter; the compiler's modules it imported."""
    code = (
        f"import sys; sys.argv = ['sqlflowc', 'run', {pipeline!r}]\n"
        "from sqlflowc.cli import cli\n"
        "try:\n    cli.main(standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "compiler = {'lark', 'sqlglot', 'sqlflowc.syntax', 'sqlflowc.passes'}\n"
        "import json; print(json.dumps(sorted(m for m in sys.modules if m in compiler)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert " ok in " in done.stdout, done.stdout + done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_a_hit_loads_no_compiler(project: Path) -> None:
    everything = ["lark", "sqlflowc.passes", "sqlflowc.syntax", "sqlglot"]
    assert _loaded_after_run("pipelines/main.sf") == everything
    assert _loaded_after_run("pipelines/main.sf") == everything  # `people` exists now
    assert "lark" not in _loaded_after_run("pipelines/main.sf")
    assert "sqlflowc.passes" not in _loaded_after_run("pipelines/main.sf")
    # Plain SQL steps need no sqlglot at run time either.
    chain = "CREATE TABLE t0 AS SELECT 1 AS x;\nCREATE TABLE t1 AS SELECT x + 1 AS x FROM t0;\n"
    (project / "pipelines" / "chain.sf").write_text(chain)
    assert _loaded_after_run("pipelines/chain.sf") == everything
    assert not {"lark", "sqlglot", "sqlflowc.passes"} & set(_loaded_after_run("pipelines/chain.sf"))
    # Nor do loads of local files and an export: their scans and COPY are plain text.
    files = (
        'SOURCE p TYPE CSV PARAMS {"path": "data/people.csv", "has_header": true};\n'
        "LOAD people_too FROM p;\n"
        "EXPORT SELECT * FROM people_too TO 'out/people.csv' TYPE CSV;\n"
    )
    (project / "pipelines" / "files.sf").write_text(files)
    assert _loaded_after_run("pipelines/files.sf") == everything
    assert not {"lark", "sqlglot", "sqlflowc.passes"} & set(_loaded_after_run("pipelines/files.sf"))


def _console(project: Path, entry: str, *args: str) -> tuple[int, str, str, list[str]]:
    """`sqlflowc ARGS` in a fresh interpreter, through the console script (`main`) or through
    click's command line itself (`cli`): exit status, stdout and stderr (durations as `N`), and
    every module it imported."""
    probe = project / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"out = open({str(probe)!r}, 'w')\n"
        "atexit.register(lambda: out.write(json.dumps(sorted(sys.modules))))\n"
        f"sys.argv = ['sqlflowc', *{list(args)!r}]\n"
        + (
            "from sqlflowc.cli import main\nmain()\n"
            if entry == "main"
            else "from sqlflowc.cli import cli\ncli.main(prog_name='sqlflowc')\n"
        )
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    timings = re.compile(r"\d+(\.\d+)? (ms|s)\b")
    modules: list[str] = json.loads(probe.read_text())
    return (
        done.returncode,
        timings.sub("N", done.stdout),
        timings.sub("N", done.stderr),
        modules,
    )


def test_a_cached_run_through_the_console_script_starts_without_click(project: Path) -> None:
    """`sqlflowc run PIPELINE` whose plan is cached runs without click, a YAML or SQL parser,
    and prints what click's `run` prints, for a run that succeeds and one whose step fails."""
    (project / "pipelines" / "files.sf").write_text(
        'SOURCE p TYPE CSV PARAMS {"path": "data/people.csv", "has_header": true};\n'
        "LOAD people_too FROM p;\n"
        "EXPORT SELECT * FROM people_too TO 'out/people.csv' TYPE CSV;\n"
    )
    (project / "pipelines" / "fails.sf").write_text(
        "CREATE TABLE n AS SELECT 1 AS x;\n"
        "CREATE TABLE bad AS SELECT CAST('x' || x AS INT) FROM n;\n"
    )
    for pipeline, status in (("pipelines/files.sf", 0), ("pipelines/fails.sf", 3)):
        first = _console(project, "cli", "run", pipeline)  # compiles, fills the cache
        assert first[0] == status, first
        by_click = _console(project, "cli", "run", pipeline)
        by_main = _console(project, "main", "run", pipeline)
        assert by_main[:3] == by_click[:3]
        assert by_main[0] == status and "running pipelines/" in by_main[1]
        unwanted = {"click", "yaml", "lark", "sqlglot", "sqlflowc.cli_commands"}
        assert not unwanted & set(by_main[3]), unwanted & set(by_main[3])
        # nor what only a plugin, another format, a spliced secret or a load check needs
        unused = {
            "sqlflowc.connectors.conformance",
            "sqlflowc.connectors.files.json",
            "sqlflowc.connectors.files.parquet",
            "sqlflowc.sql_splices",
            "sqlflowc.schema.loads",
        }
        assert not unused & set(by_main[3]), unused & set(by_main[3])
        assert {"click", "sqlflowc.cli_commands"} <= set(by_click[3])  # the probe sees them
    # Anything else is click's: an option, a missing file, no cached plan.
    assert _console(project, "main", "run", "--jobs", "1", "pipelines/files.sf")[0] == 0
    missing = _console(project, "main", "run", "pipelines/nope.sf")
    assert missing[0] == 2 and "does not exist" in missing[2] and "click" in missing[3]
    (project / "target" / "cache").rename(project / "target" / "cache-gone")
    uncached = _console(project, "main", "run", "pipelines/files.sf")
    assert uncached[0] == 0 and "sqlflowc.cli_commands" in uncached[3]


def test_an_unrelated_environment_variable_keeps_the_hit(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the variables the compiler looked up are inputs: a new one it never reads (a
    shell's, CI's) does not make the next run compile again."""
    _warm()
    before = _entries(project)
    monkeypatch.setenv("SFC_CACHE_TEST_UNRELATED", "1")
    assert _run()[0] == 0
    assert _entries(project) == before  # a hit writes nothing
    assert "lark" not in _loaded_after_run("pipelines/main.sf")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("pipeline", ("hello", "unset", 6, 1, 6)),
        ("include", ("hello", "unset", 6, 5, 4)),
        ("profile", ("bonjour", "unset", 6, 1, 4)),
        ("env", ("hello", "from-env", 6, 1, 4)),
        ("var", ("hola", "unset", 6, 1, 4)),
    ],
)
def test_every_input_invalidates_the_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch, edit: str, expected: tuple[object, ...]
) -> None:
    _warm()
    args: list[str] = []
    if edit == "pipeline":
        text = PIPELINE.replace("double_it(2)", "double_it(3)")
        _touch_later(project / "pipelines" / "main.sf", text)
    elif edit == "include":
        _touch_later(project / "pipelines" / "lib.sf", "SET factor = 5;\n")
    elif edit == "profile":
        profile = project / "profiles" / "dev.yml"
        _touch_later(profile, profile.read_text().replace("hello", "bonjour"))
    elif edit == "env":
        monkeypatch.setenv("SFC_CACHE_TEST_ENV", "from-env")
    elif edit == "var":
        args = ["--var", "greeting=hola"]
    code, output = _run(*args)
    assert code == 0, output
    assert _out(project) == expected


def test_a_new_profile_file_invalidates_the_cache(project: Path) -> None:
    assert _run("--profile", "prod")[0] == 1  # no such profile yet: a compile error
    (project / "profiles" / "prod.yml").write_text(
        "engine:\n  type: duckdb\n  path: target/db.duckdb\nvariables:\n  greeting: prod\n"
    )
    code, output = _run("--profile", "prod")
    assert code == 0, output
    assert _out(project)[0] == "prod"


def test_the_profile_comes_with_the_plan_and_follows_home(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hit takes the profile it was compiled with from the cache: a `~` in its database path
    follows the home directory, and an edited engine setting is not taken from a stale one."""
    profile = project / "profiles" / "dev.yml"
    profile.write_text(profile.read_text().replace("target/db.duckdb", "~/home.duckdb"))
    (project / "pipelines" / "home.sf").write_text("CREATE TABLE out AS SELECT 'x' AS greeting;\n")
    for home in ("home1", "home2"):
        (tmp_path / home).mkdir()
        monkeypatch.setenv("HOME", str(tmp_path / home))
        for _ in range(2):  # the second run is a hit when HOME is all that changed
            result = sqlflowc("run", "pipelines/home.sf")
            assert result.exit_code == 0, result.output
        assert sql(tmp_path / home / "home.duckdb", "SELECT greeting FROM out") == [("x",)]
    assert not (project / "target" / "db.duckdb").exists()
    _touch_later(profile, profile.read_text().replace("~/home.duckdb", "target/db.duckdb"))
    result = sqlflowc("run", "pipelines/home.sf")
    assert result.exit_code == 0, result.output
    assert _out(project) == ("x",)


def test_a_changed_udf_signature_is_checked_again(project: Path) -> None:
    _warm()
    changed = UDF.replace("def double_it(x: int)", "def double_it(x: int, y: int)")
    _touch_later(project / "python_udfs" / "fns.py", changed)
    code, output = _run()
    assert code == 1, output  # compiled again: the call's argument count is checked
    assert "double_it" in output


def test_a_changed_source_file_is_checked_again(project: Path) -> None:
    _warm()
    # The CSV gains a column: APPEND into `people` (id, name) is refused at compile time.
    _touch_later(project / "data" / "people.csv", "id,name,extra\n3,cy,x\n")
    code, output = _run()
    assert code == 1, output
    assert "extra" in output


def test_a_changed_table_in_the_database_is_checked_again(project: Path) -> None:
    _warm()
    db = project / "target" / "db.duckdb"
    sql(db, "DROP TABLE people", "CREATE TABLE people (id INTEGER, name INTEGER, other DATE)")
    code, output = _run()
    assert code == 1, output  # the APPEND's schema check ran against the new table


def test_no_cache_neither_reads_nor_writes(project: Path) -> None:
    assert _run("--no-cache")[0] == 0
    assert _entries(project) == {}
    _warm()
    entries = _entries(project)
    _touch_later(project / "pipelines" / "lib.sf", "SET factor = 7;\n")
    assert _run("--no-cache")[0] == 0
    assert _out(project)[3] == 7
    assert _entries(project) == entries


def test_cache_clear(project: Path) -> None:
    assert _run()[0] == 0
    result = sqlflowc("cache", "clear")
    assert result.exit_code == 0
    assert "removed 1 cached plan from" in result.output
    assert _entries(project) == {}
    assert "removed 0 cached plans" in sqlflowc("cache", "clear").output


def test_a_corrupt_entry_is_a_miss(project: Path) -> None:
    assert _run()[0] == 0
    for entry in (project / "target" / "cache").iterdir():
        entry.write_bytes(b"not a pickle")
    code, output = _run()
    assert code == 0, output
    assert _out(project)[2] == 4


def test_a_compilation_with_warnings_is_not_cached(project: Path) -> None:
    code, output = _run("--var", "unused_name=1")
    assert code == 0
    assert "SF0206" in output
    assert _entries(project) == {}
    assert "SF0206" in _run("--var", "unused_name=1")[1]  # shown every time


def test_secrets_are_not_in_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-" + str(time.time_ns())
    (project / "pipelines" / "main.sf").write_text(
        PIPELINE + "CREATE TABLE s AS SELECT length('${api_token}') AS n;\n"
    )
    monkeypatch.setenv("api_token", secret)
    code, output = _run()
    assert code == 0, output
    assert _run()[0] == 0  # from the cache: the secret is taken from the environment again
    assert sql(project / "target" / "db.duckdb", "SELECT n FROM s") == [(len(secret),)]
    for entry in (project / "target" / "cache").iterdir():
        assert secret.encode() not in entry.read_bytes()


def test_a_secret_from_a_default_in_the_pipeline_is_not_cached(project: Path) -> None:
    (project / "pipelines" / "main.sf").write_text(
        "CREATE TABLE s AS SELECT length('${api_token|abc}') AS n;\n"
    )
    for _ in range(3):
        code, output = _run()
        assert code == 0, output
    assert sql(project / "target" / "db.duckdb", "SELECT n FROM s") == [(3,)]
    assert _entries(project) == {}
