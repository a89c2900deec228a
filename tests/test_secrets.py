"""Secrets never show: not in DuckDB's SQL text when they can be parameters, not in messages in
any case or in part, not through a shifted caret; and a plan runs from its file with only the
underlying secrets, also when a SET built one from another."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from helpers import sqlflowc
from sqlflowc.api import compile_source, run
from sqlflowc.runtime.steps import Secrets
from sqlflowc.secret_masking import HIDDEN, mask_secrets

TOKEN = "hunter2xyz"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "profiles").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def run_text(project: Path, text: str, *args: str) -> tuple[int, str]:
    (project / "p.sf").write_text(text)
    result = sqlflowc("run", "p.sf", *args)
    return result.exit_code, result.output + result.stderr


# ------------------------------------------------------------------ masking


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("bad value 'hunter2xyz'", "bad value '***'"),
        ("bad value 'HUNTER2XYZ'", "bad value '***'"),  # lower()/upper() of the secret
        ("could not convert 'unter2xyz' to INT32", "could not convert '***' to INT32"),  # substr
        ('near "2xyz"', 'near "***"'),  # any 4 characters of it
        ('near "xyz"', 'near "xyz"'),  # 3 characters are not masked
        ("Binder Error: nothing secret", "Binder Error: nothing secret"),
    ],
)
def test_masking_any_part_in_any_case(message: str, shown: str) -> None:
    assert mask_secrets(message, [TOKEN]) == shown


def test_a_short_secret_hides_the_whole_message_instead_of_garbling_it() -> None:
    assert mask_secrets("Binder Error: column x", ["e"]) == HIDDEN
    assert mask_secrets("Binder Error: column x", ["E"]) == HIDDEN
    assert mask_secrets("Binder rror: column x", ["zz"]) == "Binder rror: column x"


def test_carets_stay_under_the_same_text_and_reveal_no_length() -> None:
    line = "SELECT CAST('hunter2xyz' AS INT) AS x, nope FROM t"
    caret = " " * (len("LINE 1: ") + line.index("nope")) + "^^^^"
    message = f'Binder Error: column "nope" not found\n\nLINE 1: {line}\n{caret}'
    masked = mask_secrets(message, [TOKEN])
    *_, shown_line, shown_caret = masked.splitlines()
    assert shown_line == "LINE 1: SELECT CAST('***' AS INT) AS x, nope FROM t"
    column = len(shown_caret) - len(shown_caret.lstrip(" "))
    assert shown_line[column : column + 4] == "nope"
    # the same masked text whatever the secret's length
    other = message.replace(TOKEN, TOKEN * 3).replace(caret, " " * 2 * len(TOKEN) + caret)
    assert mask_secrets(other, [TOKEN * 3]) == masked


# ------------------------------------------------------------------ run-time messages


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("CAST(substr('${api_token}', 2) AS INTEGER)", TOKEN),
        ("CAST(lower('${api_token}') AS INTEGER)", TOKEN.upper()),
        ("CAST(upper('${api_token}') AS INTEGER)", TOKEN),
    ],
)
def test_no_part_of_a_secret_in_a_run_time_error(
    expression: str, value: str, project: Path
) -> None:
    code, output = run_text(
        project, f"CREATE TABLE t AS SELECT {expression} AS x;\n", "--var", f"api_token={value}"
    )
    assert code == 3
    assert "Conversion Error" in output
    assert "unter2" not in output.lower() and "2xyz" not in output.lower()


def test_a_one_character_secret_hides_messages_it_is_in(project: Path) -> None:
    code, output = run_text(
        project,
        "CREATE TABLE t AS SELECT CAST(a AS INTEGER) AS n FROM (SELECT '${api_token}' AS a);\n",
        "--var",
        "api_token=e",
    )
    assert code == 3
    assert HIDDEN in output and "***" not in output


def test_a_secret_literal_is_a_parameter_duckdb_never_sees_in_its_sql(project: Path) -> None:
    """DuckDB quotes the failing statement in its error: the secret is not in it."""
    comp = compile_source(
        "CREATE TABLE t AS SELECT '${api_token}' AS a, nope;\n",
        str(project / "p.sf"),
        cli_vars={"api_token": TOKEN},
        project_dir=project,
    )
    result = run(comp.plan, database=":memory:")
    (failure,) = result.failures
    assert "$__sqlflow_secret_1" in failure.message
    assert "***" not in failure.message


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE t AS SELECT '${api_token}' AS a;",
        "CREATE TABLE t MODE MERGE KEY (a) AS SELECT '${api_token}' AS a;",
        "CREATE TABLE t MODE APPEND AS SELECT '${api_token}' AS a;",
        "CREATE TABLE t (a VARCHAR);\nINSERT INTO t SELECT '${api_token}';",
        "CREATE VIEW t AS SELECT '${api_token}' AS a;",
        "CREATE TABLE t AS SELECT * FROM (VALUES ('${api_token}')) v(a) WHERE a = '${api_token}';",
    ],
)
def test_secret_literals_reach_the_database(statement: str, project: Path) -> None:
    code, output = run_text(project, statement + "\n", "--var", f"api_token={TOKEN}")
    assert code == 0, output
    con = duckdb.connect(str(project / "target" / "sqlflow.duckdb"), read_only=True)
    assert con.execute("SELECT a FROM t").fetchall() == [(TOKEN,)]
    con.close()


def test_bound_statement_keeps_named_and_positional_parameters_apart() -> None:
    secrets = Secrets(["api_token"], {"api_token": TOKEN}, {})
    bound = secrets.substitute_sql(
        "SELECT '${api_token}' AS a, '${api_token}' AS b, $start_dt", bind=True
    )
    assert bound.text == "SELECT $__sqlflow_secret_1 AS a, $__sqlflow_secret_1 AS b, $start_dt"
    assert bound.params == {"__sqlflow_secret_1": TOKEN}
    positional = secrets.substitute_sql("SELECT '${api_token}', $1", bind=True)
    assert positional.text == f"SELECT '{TOKEN}', $1" and not positional.params
    inside = secrets.substitute_sql("SELECT 'key=${api_token}'", bind=True)
    assert inside.text == f"SELECT 'key={TOKEN}'" and not inside.params


# ------------------------------------------------------------------ compile-time messages


@pytest.mark.parametrize("value", ["hunter two three", "a b c d", "x; y"])
def test_check_shows_no_word_of_a_secret(value: str, project: Path) -> None:
    (project / "p.sf").write_text("CREATE TABLE t AS SELECT ${api_token} AS x;\n")
    result = sqlflowc("check", "p.sf", "--var", f"api_token={value}")
    assert result.exit_code == 1
    shown = result.output + result.stderr
    for word in value.replace(";", " ").split():
        assert f'"{word}"' not in shown and f"`{word}`" not in shown, shown


# ------------------------------------------------------------------ plans run from their file


def test_a_set_built_secret_runs_from_the_plan_file(project: Path) -> None:
    (project / "p.sf").write_text(
        "SET conn = 'postgres://u:${db_password}@h/db';\n"
        "SET again = '[${conn}]';\n"
        "CREATE TABLE t AS SELECT '${conn}' AS c, '${again}' AS d;\n"
    )
    compiled = sqlflowc("compile", "p.sf", "-o", "plan.json", "--var", "db_password=pw1234")
    assert compiled.exit_code == 0, compiled.stderr
    plan = json.loads((project / "plan.json").read_text())
    assert "pw1234" not in json.dumps(plan)
    assert plan["secret_templates"] == {
        "again": "[${conn}]",
        "conn": "postgres://u:${db_password}@h/db",
    }
    result = sqlflowc("run", "plan.json", "--var", "db_password=other9")
    assert result.exit_code == 0, result.output + result.stderr
    con = duckdb.connect(str(project / "target" / "sqlflow.duckdb"), read_only=True)
    assert con.execute("SELECT c, d FROM t").fetchall() == [
        ("postgres://u:other9@h/db", "[postgres://u:other9@h/db]")
    ]
    con.close()
    missing = sqlflowc("run", "plan.json")
    assert missing.exit_code == 3
    assert "secret `db_password` has no value" in missing.output + missing.stderr
