"""Run-time failures render like compile errors: file:line:col, the line, a caret."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from sqlflowc.cli import cli
from sqlflowc.runtime.report import _split_excerpt

DUCKDB_MESSAGE = (
    "Conversion Error: Could not convert string 'abc' to INT32\n\n"
    "LINE 1: CREATE OR REPLACE TABLE b AS SELECT CAST('abc' AS INTEGER) AS y FROM a\n"
    "                                            ^^^^^^^^^^^^^^^^^^^^^^"
)


def test_excerpt_is_split_from_the_message() -> None:
    message, snippet = _split_excerpt(DUCKDB_MESSAGE)
    assert message == "Conversion Error: Could not convert string 'abc' to INT32"
    assert snippet == "CAST('abc' AS INTEGER)"
    assert _split_excerpt("Binder Error: no column x") == ("Binder Error: no column x", "")


def test_failed_step_caret_lands_on_the_failing_expression(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.sf"
    pipeline.write_text(
        "CREATE TABLE a AS SELECT 1 AS x;\n"
        "CREATE TABLE b AS\n    SELECT CAST('abc' AS INTEGER) AS y FROM a;\n",
        encoding="utf-8",
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, ["run", "p.sf", "--db", ":memory:"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 3
    assert "p.sf:3:12: error[SF0905]: step `table_b` failed: Conversion Error" in result.stderr
    assert "3 |     SELECT CAST('abc' AS INTEGER) AS y FROM a;" in result.stderr
    assert "  |            ^^^^^^^^^^^^^^^^^^^^^^ DuckDB reports the error here" in result.stderr
    assert "LINE 1:" not in result.stderr
    assert "Traceback" not in result.output + result.stderr
