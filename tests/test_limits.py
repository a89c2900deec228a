"""Hostile and broken inputs end in a diagnostic within seconds, never a hang, a crash or all the
machine's memory (docs/language.md, "Limits").

The commands run in a child process with an address-space limit, so a regression fails the test
instead of exhausting the machine, and with a timeout.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from sqlflowc.limits import (
    MAX_INCLUDE_DEPTH,
    MAX_NESTING,
    json_nesting,
    size_text,
    value_problem,
)

MEMORY = 2 << 30  # bytes of address space the child may use
TIMEOUT = 60  # seconds: generous for a loaded machine; each case takes a few


def limited(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    return subprocess.run(
        [str(Path(sys.executable).parent / "sqlflowc"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=limit,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "p.sf").write_text("CREATE TABLE t AS SELECT 1 AS a;\n")
    return tmp_path


def assert_diagnostic(result: subprocess.CompletedProcess[str], code: str, text: str) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert f"[{code}]" in result.stderr or code in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


# ------------------------------------------------------------------ includes


def test_a_long_chain_of_includes(project: Path) -> None:
    for i in range(500):
        body = f'INCLUDE "f{i + 1}.sf";\n' if i < 499 else "CREATE TABLE t AS SELECT 1 AS a;\n"
        (project / f"f{i}.sf").write_text(body)
    result = limited(project, "compile", "f0.sf")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0105", f"INCLUDEs nest more than {MAX_INCLUDE_DEPTH} files deep")


def test_includes_that_double_at_every_level(project: Path) -> None:
    for i in range(25):
        body = f'INCLUDE "d{i + 1}.sf";\n' * 2 if i < 24 else "SELECT 1;\n"
        (project / f"d{i}.sf").write_text(body)
    result = limited(project, "compile", "d0.sf")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0105", "expands more than 10,000 INCLUDEs")


# ------------------------------------------------------------------ files that never end


def test_compile_dev_zero(project: Path) -> None:
    result = limited(project, "compile", "/dev/zero")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0913", "cannot read /dev/zero: it is larger than 32 MiB")


def test_include_of_a_file_that_never_ends(project: Path) -> None:
    (project / "zero.sf").symlink_to("/dev/zero")
    (project / "p.sf").write_text('INCLUDE "zero.sf";\n')
    result = limited(project, "compile", "p.sf")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0101", "it is larger than 32 MiB, the limit")


def test_a_plan_that_never_ends_and_a_huge_profile(project: Path) -> None:
    (project / "plan.json").symlink_to("/dev/zero")
    result = limited(project, "run", "plan.json")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0910", "larger than 32 MiB")
    with open(project / "profiles" / "dev.yml", "w") as fh:
        fh.write(("# " + "x" * 1022 + "\n") * (33 * 1024))
    result = limited(project, "compile", "p.sf")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0906", "larger than 32 MiB")


# ------------------------------------------------------------------ deep and huge values


def test_deep_json_in_var_and_vars(project: Path) -> None:
    deep = "[" * 1500 + "]" * 1500
    for option in ("--vars", "--var"):
        arg = '{"x": ' + deep + "}" if option == "--vars" else f"x={deep}"
        result = limited(project, "compile", "p.sf", option, arg)
        assert result.returncode == 2, result.stderr
        assert f"nests deeper than {MAX_NESTING} levels" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_deep_plan_file(project: Path) -> None:
    (project / "plan.json").write_text(
        '{"version": 2, "engine": "duckdb", "steps": ' + "[" * 5000 + "]" * 5000 + "}"
    )
    result = limited(project, "run", "plan.json")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0910", f"nests deeper than {MAX_NESTING} levels")


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (  # an alias bomb: 9 levels of 9 references
            "variables:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9)
            ),
            "it holds more than 100,000 values",
        ),
        ("variables:\n  a: &a [*a]\n", "it contains itself"),
        ("variables:\n  a: " + "[" * 5000 + "]" * 5000 + "\n", "nests"),
        ("variables:\n  a: " + "[" * 150 + "]" * 150 + "\n", "nests deeper than 100 levels"),
    ],
)
def test_hostile_profiles(yaml: str, message: str, project: Path) -> None:
    (project / "profiles" / "dev.yml").write_text(yaml)
    result = limited(project, "compile", "p.sf")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0906", message)


def test_anchors_and_merge_keys_within_the_limits_still_work(project: Path) -> None:
    (project / "profiles" / "dev.yml").write_text(
        "connections:\n"
        "  base: &base {type: csv, has_header: true, path: data/base.csv}\n"
        "  rows: {<<: *base, path: data/rows.csv}\n"
        "variables: {n: 3}\n"
    )
    (project / "p.sf").write_text("CREATE TABLE t AS SELECT ${n} AS a;\n")
    result = limited(project, "compile", "p.sf")
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ threads


def test_threads_are_bounded(project: Path) -> None:
    result = limited(project, "run", "p.sf", "--threads", "100000")
    assert result.returncode == 2
    assert "100000 is not in the range 1<=x<=1024" in result.stderr
    (project / "profiles" / "dev.yml").write_text("engine: {threads: 100000}\n")
    result = limited(project, "run", "p.sf")
    assert result.returncode == 1
    assert_diagnostic(result, "SF0906", "less than or equal to 1024")


# ------------------------------------------------------------------ the helpers


def test_json_nesting_skips_strings() -> None:
    assert json_nesting('{"a": [1, {"b": "[[[[\\"]]"}]}') == 3
    assert json_nesting("plain text") == 0


def test_value_problem() -> None:
    assert value_problem({"a": [1, 2, {"b": None}]}) is None
    looped: list[object] = []
    looped.append(looped)
    assert value_problem(looped) == "it contains itself (a YAML alias inside its own anchor)"
    shared = ["x"] * 1000
    assert value_problem([shared] * 200) is not None  # 200,000 values, counted through sharing


def test_size_text() -> None:
    assert size_text(32 << 20) == "32 MiB"
    assert size_text(1000) == "1000 bytes"
