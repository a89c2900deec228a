"""Inputs at the edges: deep nesting, BOMs, symlinks and permissions, old comment styles."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from click.testing import CliRunner

from sqlflowc.api import compile_source
from sqlflowc.cli import cli
from sqlflowc.diagnostics import Code, CompileError


def compile_errors(text: str, tmp_path: Path) -> list[Code]:
    try:
        compile_source(text, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={})
    except CompileError as err:
        return [d.code for d in err.diagnostics if d.is_error]
    return []


def test_deep_sql_falls_back_to_duckdb_instead_of_crashing(tmp_path: Path) -> None:
    deep = "CREATE TABLE q AS SELECT " + "(" * 80 + "1" + ")" * 80 + " AS v;\n"
    long_chain = "CREATE TABLE r AS SELECT " + " + ".join(["1"] * 600) + " AS v;\n"
    comp = compile_source(
        deep + long_chain, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={},
        verify_sql=True,
    )  # fmt: skip
    assert [s.id for s in comp.plan.steps] == ["table_q", "table_r"]


def test_deep_if_nesting_is_a_diagnostic(tmp_path: Path) -> None:
    text = "IF true THEN\n" * 300 + "SET x = 1;\n" + "END IF;\n" * 300
    assert compile_errors(text, tmp_path) == [Code.SYNTAX_ERROR]
    nots = "IF " + "NOT " * 3000 + "true THEN SET x = 1; END IF;\n"
    assert compile_errors(nots, tmp_path) == [Code.SYNTAX_ERROR]


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "p.sf").write_bytes(b"\xef\xbb\xbfCREATE TABLE t AS SELECT 1 AS a;\n")
    result = CliRunner().invoke(cli, ["compile", str(tmp_path / "p.sf")])
    assert result.exit_code == 0, result.stderr


def test_fmt_keeps_permissions_and_writes_through_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real.sf"
    real.write_text("create table x as select 1;\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.sf"
    link.symlink_to(real)
    result = CliRunner().invoke(cli, ["fmt", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "CREATE TABLE x AS select 1;\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_new_plan_file_gets_umask_permissions(tmp_path: Path) -> None:
    (tmp_path / "p.sf").write_text("CREATE TABLE t AS SELECT 1 AS a;\n", encoding="utf-8")
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            cli, ["compile", str(tmp_path / "p.sf"), "-o", str(tmp_path / "plan.json")]
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "plan.json").stat().st_mode) == 0o644


def test_mode_keywords_need_a_word_boundary(tmp_path: Path) -> None:
    text = 'SOURCE s TYPE CSV PARAMS {"path": "x.csv"};\nLOAD t FROM s MODE MERGEKEY (id);\n'
    assert compile_errors(text, tmp_path) == [Code.SYNTAX_ERROR]


def test_reference_inside_a_default_is_part_of_that_reference(tmp_path: Path) -> None:
    text = "CREATE TABLE u AS SELECT '${a|\"${b}\"}' AS x;\n"
    comp = compile_source(
        text,
        str(tmp_path / "p.sf"),
        project_dir=tmp_path,
        environ={},
        cli_vars={"a": "A", "b": "B"},
    )
    assert comp.plan.steps[0].sql == ("CREATE OR REPLACE TABLE u AS SELECT 'A' AS x",)


def test_an_unclosed_brace_in_a_value_cannot_hide_a_secret(tmp_path: Path) -> None:
    import duckdb

    (tmp_path / "p.sf").write_text(
        "CREATE TABLE t AS SELECT '${note}' AS n, '${db_password}' AS p;\n", encoding="utf-8"
    )
    db = str(tmp_path / "x.duckdb")
    result = CliRunner().invoke(
        cli,
        ["run", str(tmp_path / "p.sf"), "--db", db, "--var", "note=${x", "--var", "db_password=s3"],
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert duckdb.connect(db, read_only=True).execute("SELECT * FROM t").fetchall() == [
        ("${x", "s3")
    ]
