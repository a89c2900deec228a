"""`sqlflowc udf list` and `sqlflowc udf info NAME`, as a user runs them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from helpers import sqlflowc

TEXT = '''
from typing import Optional

import pyarrow as pa

from sqlflowc.udf import python_scalar_udf, python_table_udf


@python_scalar_udf
def clean(text: str) -> str:
    """Trim and lower-case a string.

    Whitespace inside is kept.
    """
    return text.strip().lower()


@python_scalar_udf(name="pad_to", vectorized=True)
def pad(text: Optional[str], width: int = 10) -> str:
    return text


@python_table_udf(output_schema={"id": "BIGINT", "score": "DOUBLE"}, required_columns=["id"])
def score(table: pa.Table, factor: float = 1.5) -> pa.Table:
    """Score every row."""
    return table
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "python_udfs" / "nested").mkdir(parents=True)
    (root / "pipelines").mkdir()
    (root / "python_udfs" / "text.py").write_text(TEXT.lstrip(), encoding="utf-8")
    (root / "python_udfs" / "nested" / "more.py").write_text(
        "from sqlflow.udfs import python_scalar_udf\n\n"
        "@python_scalar_udf\n"
        "def clean(x: int) -> int:\n"
        "    return x\n",
        encoding="utf-8",
    )
    return root


def test_list_from_a_directory_inside_the_project(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "pipelines")
    result = sqlflowc("udf", "list")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "python_udfs.nested.more\n"
        "  clean   scalar      clean(x BIGINT) -> BIGINT\n"
        "\n"
        "python_udfs.text\n"
        "  clean   scalar      clean(text VARCHAR) -> VARCHAR\n"
        "                      Trim and lower-case a string.\n"
        "  pad_to  vectorized  pad_to(text VARCHAR, width BIGINT := 10) -> VARCHAR\n"
        "  score   table       score(TABLE, factor DOUBLE := 1.5)"
        " -> TABLE(id BIGINT, score DOUBLE)\n"
        "                      Score every row.\n"
        "\n"
        "4 UDFs in ..\n"
    )


def test_list_lines_fit_in_100_characters(tmp_path: Path) -> None:
    columns = ", ".join(f'"column_{i}": "VARCHAR"' for i in range(12))
    (tmp_path / "python_udfs").mkdir()
    (tmp_path / "python_udfs" / "wide.py").write_text(
        textwrap.dedent(
            f"""
            import pyarrow as pa
            from sqlflowc.udf import python_scalar_udf, python_table_udf

            @python_table_udf(output_schema={{{columns}}})
            def widen(t: pa.Table, first_threshold: float = 1.0, second_threshold: float = 2.0,
                      a_label_with_a_long_name: str = "some label") -> pa.Table:
                \"\"\"{"A description that goes on and on " * 6}.\"\"\"
                return t

            @python_scalar_udf
            def {"a_function_with_a_name_much_longer_than_anyone_would_ever_want_to_type_x"}(
                x: int,
            ) -> int:
                return x
            """
        ),
        encoding="utf-8",
    )
    result = sqlflowc("udf", "list", "--project", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100, result.output
    text = " ".join(line.strip() for line in lines)
    for i in range(12):  # the signature is wrapped, never cut
        assert f"column_{i} VARCHAR" in text
    assert "a_label_with_a_long_name VARCHAR := 'some label'" in text
    assert "A description that goes on and on A description" in text and "…" in text


def test_list_from_a_directory_holding_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`examples/` holds the project `examples/python_udfs/`: it is no project itself, and its
    `python_udfs/` is no package of UDF modules."""
    inner = tmp_path / "examples" / "python_udfs"
    (inner / "python_udfs").mkdir(parents=True)
    (inner / "profiles").mkdir()
    (inner / "python_udfs" / "m.py").write_text(
        "from sqlflowc.udf import python_scalar_udf\n\n"
        "@python_scalar_udf\ndef twice(x: int) -> int:\n    return 2 * x\n",
        encoding="utf-8",
    )
    (tmp_path / "examples" / "quickstart" / "profiles").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "examples")
    result = sqlflowc("udf", "list")
    assert result.exit_code == 2
    assert "no project in the current directory or above" in result.output
    assert "projects here: python_udfs, quickstart" in result.output
    assert "python_udfs.python_udfs" not in result.output
    monkeypatch.chdir(inner)
    inside = sqlflowc("udf", "list")
    assert inside.exit_code == 0, inside.output
    assert inside.output.startswith("python_udfs.m\n  twice  scalar  twice(x BIGINT) -> BIGINT\n")


def test_list_as_json_with_project(project: Path) -> None:
    result = sqlflowc("udf", "list", "--format", "json", "--project", str(project))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [u["qualified_name"] for u in data] == [
        "python_udfs.nested.more.clean",
        "python_udfs.text.clean",
        "python_udfs.text.pad_to",
        "python_udfs.text.score",
    ]
    pad = data[2]
    assert pad["kind"] == "vectorized"
    assert pad["file"] == "python_udfs/text.py" and pad["line"] == 18
    assert pad["parameters"] == [
        {"name": "text", "type": "VARCHAR", "python_type": "Optional[str]", "optional": True},
        {
            "name": "width",
            "type": "BIGINT",
            "python_type": "int",
            "optional": False,
            "default": 10,
        },
    ]
    score = data[3]
    assert score["output_schema"] == {"id": "BIGINT", "score": "DOUBLE"}
    assert score["input"] == "pyarrow.Table" and score["required_columns"] == ["id"]


def test_list_without_udfs(tmp_path: Path) -> None:
    result = sqlflowc("udf", "list", "--project", str(tmp_path))
    assert result.exit_code == 0
    assert result.output.startswith("no Python UDFs in ")
    assert (
        json.loads(sqlflowc("udf", "list", "--project", str(tmp_path), "--format", "json").output)
        == []
    )


def test_info(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    result = sqlflowc("udf", "info", "text.clean")
    assert result.exit_code == 0, result.output
    assert result.output == textwrap.dedent(
        """\
        python_udfs.text.clean  (scalar UDF)

          signature   clean(text VARCHAR) -> VARCHAR
          defined at  python_udfs/text.py:9
          module      python_udfs.text
          returns     VARCHAR

          parameters
            text  VARCHAR  (Python: str)  NULL → result NULL

          call it in SQL
            SELECT clean(text) FROM ...
            SELECT PYTHON_FUNC("python_udfs.text.clean", text) FROM ...

          Trim and lower-case a string.

          Whitespace inside is kept.
        """
    )
    table = sqlflowc("udf", "info", "score")
    assert table.exit_code == 0, table.output
    assert "  input       pyarrow.Table (parameter `table`)" in table.output
    assert "  output      id BIGINT, score DOUBLE" in table.output
    assert "  requires    id" in table.output
    assert "    SELECT * FROM score(table_name)" in table.output
    pad = sqlflowc("udf", "info", "pad_to", "--format", "json")
    assert json.loads(pad.output)["parameters"][0]["optional"] is True
    assert "NULL → None" in sqlflowc("udf", "info", "pad_to").output


def test_info_errors(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    unknown = sqlflowc("udf", "info", "claen")
    assert unknown.exit_code == 1
    assert "error[SF0801]: unknown UDF `claen`" in unknown.output
    assert "did you mean `clean`?" in unknown.output
    ambiguous = sqlflowc("udf", "info", "clean")
    assert ambiguous.exit_code == 1
    assert "error[SF0803]: `clean` could be any of `python_udfs.nested.more.clean`, " in (
        ambiguous.output
    )
    assert "sqlflowc udf info python_udfs.nested.more.clean" in ambiguous.output
    assert sqlflowc("udf", "info", "nested.more.clean").exit_code == 0
    missing = sqlflowc("udf", "info").exit_code
    assert missing == 2  # usage error


def test_import_errors_are_diagnostics_and_exit_1(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    (project / "python_udfs" / "broken.py").write_text("x = 1\ny = undefined_name\n")
    result = sqlflowc("udf", "list")
    assert result.exit_code == 1
    assert "python_udfs/broken.py:2:1: error[SF0804]: cannot import UDF module " in result.output
    assert "NameError: name 'undefined_name' is not defined" in result.output
    assert "4 UDFs in ." in result.output  # the modules that import are still listed
    as_json = sqlflowc("udf", "list", "--format", "json")
    assert as_json.exit_code == 1
