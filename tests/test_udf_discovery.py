"""Discovery of a project's python_udfs/: every module, nested packages, the earlier releases'
import path, import errors at their line, and no trace left in the interpreter."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sqlflowc.diagnostics import Code, render_text
from sqlflowc.source import SourceMap
from sqlflowc.udf.discovery import UdfCatalog, discover_udfs


def project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def discover(root: Path) -> tuple[UdfCatalog, str, list[Code]]:
    sources = SourceMap()
    catalog, problems = discover_udfs(root, sources)
    return catalog, render_text(problems, sources), [p.code for p in problems]


SCALAR = """
from sqlflowc.udf import python_scalar_udf

@python_scalar_udf
def {name}(x: int) -> int:
    return x + {n}
"""


def test_no_python_udfs_directory(tmp_path: Path) -> None:
    catalog, _, codes = discover(tmp_path)
    assert catalog.udfs == () and codes == []


def test_every_module_nested_packages_with_and_without_init(tmp_path: Path) -> None:
    project(
        tmp_path,
        {
            "python_udfs/top.py": SCALAR.format(name="top", n=1),
            "python_udfs/text/__init__.py": SCALAR.format(name="pkg_level", n=2),
            "python_udfs/text/clean.py": SCALAR.format(name="clean", n=3),
            "python_udfs/ns/deeper/leaf.py": SCALAR.format(name="leaf", n=4),  # no __init__
            "python_udfs/not-a-module.py": "raise SystemExit('never imported')",
            "python_udfs/.hidden/x.py": "raise SystemExit('never imported')",
            "python_udfs/notes.txt": "not python",
        },
    )
    catalog, text, codes = discover(tmp_path)
    assert codes == [], text
    assert [u.qualified for u in catalog.udfs] == [
        "python_udfs.ns.deeper.leaf.leaf",
        "python_udfs.text.clean.clean",
        "python_udfs.text.pkg_level",
        "python_udfs.top.top",
    ]
    assert catalog.get("PYTHON_UDFS.TOP.TOP") is not None
    assert [u.qualified for u in catalog.lookup("clean.clean")] == ["python_udfs.text.clean.clean"]
    assert [u.qualified for u in catalog.lookup("leaf")] == ["python_udfs.ns.deeper.leaf.leaf"]
    assert catalog.lookup("eaf") == []  # suffixes are whole dotted parts
    assert catalog.get("python_udfs.top.top").function(1) == 2  # type: ignore[union-attr]


def test_earlier_releases_import_path_and_helpers_inside_the_package(tmp_path: Path) -> None:
    project(
        tmp_path,
        {
            "python_udfs/helpers.py": "FACTOR = 3\n",
            "python_udfs/old.py": """
                from sqlflow.udfs import python_scalar_udf, python_table_udf
                from python_udfs.helpers import FACTOR
                from . import helpers

                @python_scalar_udf
                def triple(x: int) -> int:
                    return x * FACTOR * helpers.FACTOR // 3

                @python_table_udf(output_schema={"x": "BIGINT"})
                def same(df: "pd.DataFrame"):
                    return df
            """,
        },
    )
    before_path = list(sys.path)
    catalog, text, codes = discover(tmp_path)
    assert codes == [], text
    assert {u.name for u in catalog.udfs} == {"triple", "same"}
    assert catalog.bare("triple")[0].function(2) == 6
    # nothing left behind: no sqlflow alias, no project modules, sys.path untouched
    assert sys.path == before_path
    assert not [m for m in sys.modules if m == "sqlflow" or m.startswith("sqlflow.")]
    assert not [m for m in sys.modules if m.split(".")[0] == "python_udfs"]


def test_functions_imported_from_another_module_are_not_registered_twice(tmp_path: Path) -> None:
    project(
        tmp_path,
        {
            "python_udfs/a.py": SCALAR.format(name="inc", n=1),
            "python_udfs/b.py": "from python_udfs.a import inc\n",
        },
    )
    catalog, _, _ = discover(tmp_path)
    assert [u.qualified for u in catalog.udfs] == ["python_udfs.a.inc"]


def test_two_projects_in_one_process_see_their_own_modules(tmp_path: Path) -> None:
    one = project(tmp_path / "one", {"python_udfs/m.py": SCALAR.format(name="f", n=1)})
    two = project(tmp_path / "two", {"python_udfs/m.py": SCALAR.format(name="f", n=100)})
    cat_one, _, _ = discover(one)
    cat_two, _, _ = discover(two)
    again, _, _ = discover(one)
    assert cat_one.udfs[0].function(1) == 2
    assert cat_two.udfs[0].function(1) == 101
    assert again.udfs[0].function(1) == 2


def test_a_changed_module_is_imported_again(tmp_path: Path) -> None:
    root = project(tmp_path, {"python_udfs/m.py": SCALAR.format(name="f", n=1)})
    first, _, _ = discover(root)
    assert discover(root)[0] is first  # unchanged files: cached
    time.sleep(0.01)
    project(root, {"python_udfs/m.py": SCALAR.format(name="f", n=10) + "\n"})
    second, _, _ = discover(root)
    assert second.udfs[0].function(1) == 11


def test_import_error_at_the_failing_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    project(
        tmp_path,
        {
            "python_udfs/good.py": SCALAR.format(name="ok", n=1),
            "python_udfs/broken.py": """
                from sqlflowc.udf import python_scalar_udf

                RATES = {"eu": 0.2}
                DEFAULT = RATES["uk"]
            """,
            "python_udfs/syntax.py": "def f(:\n    pass\n",
            "python_udfs/uses_helper.py": "from python_udfs import helper\n",
            "python_udfs/helper.py": "x = 1\nraise RuntimeError('helper is broken')\n",
        },
    )
    catalog, text, codes = discover(tmp_path)
    assert codes == [Code.UDF_IMPORT_ERROR] * 4
    assert "python_udfs/broken.py:4:1: error[SF0804]: cannot import UDF module " in text
    assert "`python_udfs.broken`: KeyError: 'uk'" in text
    assert "python_udfs/syntax.py:1:7: error[SF0804]: cannot import UDF module " in text
    assert "SyntaxError" in text
    # an error in a helper module is shown where it happens, for each module importing it
    assert text.count("python_udfs/helper.py:2:1:") == 2, text
    # the modules that import still give their UDFs
    assert [u.name for u in catalog.udfs] == ["ok"]


def test_bad_signature_and_duplicates_at_the_def_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project(
        tmp_path,
        {
            "python_udfs/money.py": """
                from sqlflowc.udf import python_scalar_udf

                @python_scalar_udf(
                    name="cents",
                )
                def to_cents(amount: float) -> int:
                    return int(amount * 100)

                @python_scalar_udf(name="cents")
                def as_cents(amount: float) -> int:
                    return int(amount * 100)

                @python_scalar_udf
                def untyped(amount):
                    return amount
            """,
        },
    )
    catalog, text, codes = discover(tmp_path)
    assert sorted(codes, key=lambda c: c.value) == [Code.BAD_UDF_SIGNATURE, Code.DUPLICATE_UDF]
    assert "python_udfs/money.py:14:1: error[SF0805]: parameter `amount` of UDF `untyped`" in text
    # functions are read in name order: `as_cents` is kept, `to_cents` is the duplicate
    assert (
        "python_udfs/money.py:6:1: error[SF0806]: two UDFs are named `python_udfs.money.cents` "
        "(functions `as_cents` and `to_cents`)" in text
    )
    assert [(u.name, u.line) for u in catalog.udfs] == [("cents", 10)]


def test_failed_discovery_is_not_cached(tmp_path: Path) -> None:
    root = project(tmp_path, {"python_udfs/m.py": "import os\nVALUE = os.environ['UDF_TEST_X']\n"})
    _, _, codes = discover(root)
    assert codes == [Code.UDF_IMPORT_ERROR]
    os.environ["UDF_TEST_X"] = "1"
    try:
        _, _, codes = discover(root)
    finally:
        del os.environ["UDF_TEST_X"]
    assert codes == []
