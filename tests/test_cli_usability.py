"""What a new user meets first: several files and directories for check/fmt/run, warnings about
variables nothing uses, `--version`, and `--help` that documents every option with its default
and shows examples. Through the CLI, in a project made by `sqlflowc init`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from helpers import SQLFLOWC, sqlflowc
from sqlflowc.cli import cli


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`sqlflowc init demo`, as the working directory."""
    monkeypatch.chdir(tmp_path)
    assert sqlflowc("init", "demo").exit_code == 0
    monkeypatch.chdir(tmp_path / "demo")
    yield tmp_path / "demo"


# -- unused variables -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_misspelt_variable_is_reported(demo: Path, command: str) -> None:
    result = sqlflowc(command, "pipelines/example.sf", "--var", "min_totl=60")
    assert result.exit_code == 0, result.output
    assert (
        "warning[SF0206]: unused variable `min_totl`, did you mean `min_total`?\n"
        "  = help: pass --var min_total=... instead\n"
    ) in result.stderr


def test_a_variable_used_only_in_a_branch_not_taken_or_by_the_profile_is_used(demo: Path) -> None:
    (demo / "pipelines" / "branches.sf").write_text(
        "IF ${environment} == 'prod' THEN\n"
        "    CREATE TABLE t AS SELECT '${prod_only}' AS p;\n"
        "ELSE IF '${other}' == 'x' THEN\n"
        "    CREATE TABLE u AS SELECT 1 AS one;\n"
        "END IF;\n",
        encoding="utf-8",
    )
    (demo / "profiles" / "dev.yml").write_text(
        "variables:\n  environment: dev\n  greeting: 'hello ${who}'\n", encoding="utf-8"
    )
    result = sqlflowc(
        "check",
        "pipelines/branches.sf",
        *("--var", "prod_only=1", "--var", "other=y", "--var", "who=me", "--var", "nobody=1"),
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("SF0206") == 1
    assert "unused variable `nobody`\n" in result.stderr


def test_vars_json_and_several_pipelines(demo: Path) -> None:
    (demo / "pipelines" / "other.sf").write_text(
        "CREATE TABLE o AS SELECT ${only_here|1} AS n;\n", encoding="utf-8"
    )
    result = sqlflowc(
        "check", "pipelines/", "--vars", '{"only_here": 2, "min_total": 3, "unused_one": 4}'
    )
    assert result.exit_code == 0, result.output
    # Each name is used by one of the two pipelines except `unused_one`: one warning, once.
    assert result.stderr.count("SF0206") == 1
    assert "unused variable `unused_one`" in result.stderr
    assert result.stderr.endswith("2 of 2 pipeline(s) OK\n")


def test_no_unused_warning_after_errors(demo: Path) -> None:
    (demo / "pipelines" / "typo.sf").write_text(
        "CREATE TABLE t AS SELECT ${min_totl} AS n;\n", encoding="utf-8"
    )
    result = sqlflowc("check", "pipelines/typo.sf", "--var", "min_total=1")
    assert result.exit_code == 1
    assert "error[SF0201]: unknown variable `min_totl`" in result.stderr
    assert "did you mean `min_total`?" in result.stderr
    assert "SF0206" not in result.stderr


# -- several files and directories -----------------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_check_a_directory_recursively(demo: Path) -> None:
    write(demo / "pipelines" / "nested" / "bad.sf", "CREATE TABLE t AS SELEC 1;\n")
    write(demo / "pipelines" / "nested" / "notes.txt", "not a pipeline\n")
    write(demo / "pipelines" / ".hidden" / "skip.sf", "this is not parsed\n")
    result = sqlflowc("check", "pipelines")
    assert result.exit_code == 1
    assert "pipelines/nested/bad.sf:1:" in result.stderr
    assert "skip.sf" not in result.stderr
    assert result.stderr.endswith("1 of 2 pipeline(s) OK\n")


def test_check_a_directory_skips_files_others_include(demo: Path) -> None:
    # A fragment that only works inside its includer: `totals` comes from there.
    write(demo / "pipelines" / "parts" / "report.sf", "CREATE TABLE r AS SELECT * FROM totals;\n")
    write(
        demo / "pipelines" / "main.sf",
        'CREATE TABLE totals AS SELECT 1 AS n;\nINCLUDE "parts/report.sf";\n',
    )
    result = sqlflowc("check", "pipelines")
    assert result.exit_code == 0, result.output
    assert "SF0502" not in result.stderr  # the fragment is not checked on its own
    assert result.stderr.endswith(
        "2 of 2 pipeline(s) OK (1 included file checked through their includers)\n"
    )
    # Named explicitly, it is checked on its own.
    alone = sqlflowc("check", "pipelines/parts/report.sf")
    assert "warning[SF0502]: table `totals` is not created by this pipeline" in alone.stderr


def test_a_directory_without_pipelines_is_a_usage_error(demo: Path) -> None:
    result = sqlflowc("check", "data")
    assert result.exit_code == 2
    assert "no .sf files in directory data" in result.stderr


def test_fmt_files_and_directories_with_a_summary(demo: Path) -> None:
    write(demo / "more" / "a.sf", "create table a as SELECT 1;\n")
    write(demo / "more" / "b.sf", "CREATE TABLE b AS SELECT 2;\n")
    write(demo / "more" / "sub" / "c.sf", "create table c as SELECT 3;\n")
    write(demo / "broken.sf", "create table as;\n")
    check = sqlflowc("fmt", "--check", "more")
    assert check.exit_code == 1
    assert check.stderr == (
        "would reformat more/a.sf\nwould reformat more/sub/c.sf\n2 files would be reformatted\n"
    )
    result = sqlflowc("fmt", "more", "broken.sf", "pipelines/example.sf")
    assert result.exit_code == 1
    assert "reformatted more/a.sf\nreformatted more/sub/c.sf\n" in result.stderr
    assert "broken.sf:1:" in result.stderr
    assert result.stderr.endswith("2 files reformatted, 2 unchanged, 1 with errors (not changed)\n")
    assert (demo / "more" / "a.sf").read_text(encoding="utf-8") == "CREATE TABLE a AS SELECT 1;\n"
    assert (demo / "broken.sf").read_text(encoding="utf-8") == "create table as;\n"
    assert sqlflowc("fmt", "--check", "more").exit_code == 0


def test_run_several_pipelines_in_order(demo: Path) -> None:
    write(
        demo / "pipelines" / "b_fails.sf",
        "CREATE TABLE broken AS SELECT sqrt(name) AS r FROM report;\n",
    )
    write(
        demo / "pipelines" / "c_last.sf", "CREATE TABLE last AS SELECT count(*) AS n FROM report;\n"
    )
    first, fails, last = "pipelines/example.sf", "pipelines/b_fails.sf", "pipelines/c_last.sf"
    ok = sqlflowc("run", first, last, "--db", "target/ok.duckdb")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.index("running pipelines/example.sf") < ok.stdout.index(
        "running pipelines/c_last.sf"
    )  # the second sees the tables the first made
    assert ok.stdout.endswith("2 pipelines: 2 ok\n")
    stopped = sqlflowc("run", first, fails, last, "--db", "target/stop.duckdb")
    assert stopped.exit_code == 3
    assert "running pipelines/c_last.sf" not in stopped.stdout
    assert stopped.stdout.endswith(
        "3 pipelines: 1 ok; 1 failed: pipelines/b_fails.sf (status 3); "
        "1 not run: pipelines/c_last.sf\n"
    )
    going = sqlflowc("run", first, fails, last, "--db", "target/go.duckdb", "--continue")
    assert going.exit_code == 3
    assert "running pipelines/c_last.sf" in going.stdout
    assert going.stdout.endswith("3 pipelines: 2 ok; 1 failed: pipelines/b_fails.sf (status 3)\n")


def test_run_several_with_a_compile_error(demo: Path) -> None:
    write(demo / "pipelines" / "bad.sf", "CREATE TABLE t AS SELEC 1;\n")
    result = sqlflowc("run", "pipelines/bad.sf", "pipelines/example.sf", "--continue")
    assert result.exit_code == 1
    assert "1 error; pipelines/bad.sf was not run." in result.stderr
    assert result.stdout.endswith("2 pipelines: 1 ok; 1 failed: pipelines/bad.sf (status 1)\n")


# -- --version and --help ---------------------------------------------------------------------


def test_version_names_the_components_without_importing_duckdb() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from sqlflowc.cli import cli\n"
        "out = CliRunner().invoke(cli, ['--version']).output\n"
        "print(out, end='')\n"
        "print('duckdb' in sys.modules, 'sqlglot' in sys.modules, 'lark' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    import duckdb
    import lark
    import sqlglot

    first, second, imported = done.stdout.splitlines()
    assert first.startswith("sqlflowc ")
    for part in (f"DuckDB {duckdb.__version__}", f"lark {lark.__version__}", "Python 3."):
        assert part in second
    assert "sqlglot " in second and sqlglot.__name__ == "sqlglot"
    assert imported == "False False False"
    console = subprocess.run([SQLFLOWC, "--version"], capture_output=True, text=True, timeout=60)
    assert console.stdout.splitlines()[0] == first


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    yield prefix or "sqlflowc", group
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


@pytest.mark.parametrize(("path", "command"), list(_commands(cli)), ids=lambda x: str(x))
def test_every_option_has_help_and_shows_its_default(path: str, command: click.Command) -> None:
    for param in command.params:
        if not isinstance(param, click.Option) or param.name == "help":
            continue
        name = param.opts[-1]
        assert param.help, f"{path} {name} has no help text"
        takes_value = not param.is_flag and not param.count and not param.multiple
        if takes_value:
            record = param.get_help_record(click.Context(command, show_default=True))
            assert record is not None and "[default: " in record[1], (
                f"{path} {name} shows no default"
            )
    words = [] if path == "sqlflowc" else path.split()
    shown = sqlflowc(*words, "--help").output
    assert re.search(r"\n  Examples:\n    .*sqlflowc ", shown), f"{path} --help has no examples"
    assert "show_default" not in shown
