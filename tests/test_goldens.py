"""The golden corpus: `tests/golden/<case>.sf` beside what each stage of the compiler makes of it.

A case that fails to compile is pinned by `<case>.err.txt`, the exact `render_text` of its
diagnostics; a case that compiles by `<case>.plan.txt`, the plan's `to_text()` followed by any
warnings. The earlier stages have their own files, where the case reaches them:
`<case>.fmt.sf`, the case as `sqlflowc fmt` prints it (when it parses, and only where that
differs from the case: a missing `.fmt.sf` pins that `fmt` leaves the case as it is), and
`<case>.program.txt`, the program IR after the program passes (when it compiles;
`tests/program_text.py` renders it), so a change in any stage shows in review.

Every case compiles with an empty environment, with paths shown relative to `tests/golden` and
the project directory shown as `<project>`, so the files are the same on
every machine. Leading comment lines set the inputs:

    -- vars: {"env": "prod"}        the command-line variables (a JSON object)
    -- profile: conns               the profile, from tests/golden/profiles/
    -- project: projects/udf_dup    the project directory (default tests/golden itself)
    -- verify: true                  compile as `check` and `run` do (`verify_sql`: DuckDB's
                                    parser, column checks)

`SQLFLOWC_UPDATE_GOLDENS=1 pytest tests/test_goldens.py` (`nox -s goldens`) rewrites the files,
and the examples in docs/diagnostics.md that show them; review the diff.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from program_text import program_text
from sqlflowc.api import compile_file, format_file
from sqlflowc.backend.plan_io import load_plan
from sqlflowc.diagnostics import Code, CompileError, render_text

GOLDEN = Path(__file__).parent / "golden"
FMT = ".fmt.sf"
CASES = sorted(p for p in GOLDEN.glob("*.sf") if not p.name.endswith(FMT))
SUFFIXES = (".err.txt", ".plan.txt", FMT, ".program.txt")
UPDATE = os.environ.get("SQLFLOWC_UPDATE_GOLDENS") == "1"
DOCS = Path(__file__).parent.parent / "docs" / "diagnostics.md"
PROJECT = "<project>"
WARNINGS = "\n--- warnings\n"
_DIRECTIVE = re.compile(r"--\s*(vars|profile|project|verify):\s*(.*)")
# In the docs, `<!-- golden: case -->` precedes a ```sqlflow block with the case's text and a
# ```text block with its diagnostics; `<!-- golden-output: case -->` only the ```text block.
_DOC_EXAMPLE = re.compile(
    r"<!-- golden(?P<only>-output)?: (?P<case>[\w/]+) -->\n"
    r"(?(only)|```sqlflow\n(?P<source>.*?)```\n)"
    r"```text\n(?P<output>.*?)```\n",
    re.DOTALL,
)

# Codes no `.sf` program can produce (yet), each with the reason; each is still documented.
UNREACHABLE = {
    Code.STEP_FAILED: "run time only (tests/test_cli_errors.py)",
    Code.EXPORT_FAILED: "run time only (tests/test_cli_errors.py)",
    Code.DATABASE_ERROR: "run time only (tests/test_cli_errors.py)",
    Code.BAD_PLAN: "about plan files, not pipelines (test_bad_plan_files below)",
    Code.INTERNAL: "a broken compiler invariant, never the program's fault",
    **{
        code: "run time only: about the data (tests/test_load_modes.py)"
        for code in (Code.SOURCE_NULL_KEYS, Code.SOURCE_DUPLICATE_KEYS, Code.TARGET_DUPLICATE_KEYS)
    },
    Code.UDF_FAILED: "run time only",
    Code.ENGINE_UNAVAILABLE: "run time only, about the Spark installation (tests/test_spark_*.py)",
    Code.HOOK_FAILED: "run time only, about hooks (tests/test_hooks.py)",
    Code.FILE_ERROR: "about the files a command reads and writes, not about a pipeline "
    "(tests/test_cli_files.py)",
    Code.CONNECTOR_WARNING: "run time only, about the data (tests/postgres/)",
    Code.RESUME_REFUSED: "about run records, not pipelines (tests/test_resume.py)",
    Code.TABLE_UDF_OUTPUT: "run time only",
    Code.UDF_UNAVAILABLE: "never raised yet",
    Code.INCREMENTAL_ON_LOAD: "retired: `LOAD ... MODE INCREMENTAL` reads past the target's "
    "high-water mark (tests/postgres/test_postgres_incremental.py)",
    Code.SCHEMA_NOT_CHECKED: "needs a database locked by another process "
    "(tests/test_schema_check.py)",
    Code.SCHEMA_DRIFT: "run time only: a source changed between runs (tests/test_schema_drift.py)",
    Code.SNAPSHOT_FILE: "run time only: about target/schemas/ (tests/test_schema_drift.py)",
}


def directives(case: Path) -> dict[str, Any]:
    """The settings from the case's leading `-- name: value` comment lines."""
    found: dict[str, Any] = {"vars": {}, "profile": None, "project": None, "verify": False}
    text = case.read_bytes().decode("utf-8", errors="replace")
    for line in text.splitlines():
        match = _DIRECTIVE.fullmatch(line.strip())
        if match is None:
            break
        name, value = match.groups()
        found[name] = json.loads(value) if name in ("vars", "verify") else value.strip()
    return found


def golden_outputs(case: Path) -> dict[str, str]:
    """Suffix → text, for each stage `case` reaches, machine-independent."""
    settings = directives(case)
    project = str(GOLDEN.resolve())
    outputs: dict[str, str] = {}
    cwd = Path.cwd()
    os.chdir(GOLDEN)
    try:
        with contextlib.suppress(CompileError):
            text, formatted = format_file(Path(case.name))
            if formatted != text:
                outputs[FMT] = formatted
        comp = compile_file(
            case.name,
            cli_vars=settings["vars"],
            profile=settings["profile"],
            project_dir=GOLDEN / settings["project"] if settings["project"] else GOLDEN,
            environ={},
            verify_sql=settings["verify"],
        )
    except CompileError as err:
        assert err.sources is not None
        outputs[".err.txt"] = render_text(err.diagnostics, err.sources)
    else:
        outputs[".program.txt"] = program_text(comp.program)
        text = comp.plan.to_text()
        if comp.warnings:
            text += WARNINGS + render_text(comp.warnings, comp.sources)
        outputs[".plan.txt"] = text
    finally:
        os.chdir(cwd)
    return {suffix: text.replace(project, PROJECT) for suffix, text in outputs.items()}


def expected_files(case: Path) -> list[Path]:
    return [case.with_suffix(s) for s in SUFFIXES if case.with_suffix(s).exists()]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path) -> None:
    actual = {case.with_suffix(suffix): text for suffix, text in golden_outputs(case).items()}
    if UPDATE:
        for stale in expected_files(case):
            if stale not in actual:
                stale.unlink()
        for path, text in actual.items():
            path.write_text(text, encoding="utf-8")
        return
    existing = expected_files(case)
    assert existing, f"no golden for {case.name}: run `nox -s goldens`"
    assert sorted(existing) == sorted(actual), f"{case.name} now reaches other stages: {actual}"
    for path, text in actual.items():
        assert text == path.read_text(encoding="utf-8"), path.name


def test_every_golden_has_a_pipeline() -> None:
    outputs = [p for suffix in SUFFIXES for p in GOLDEN.glob(f"*{suffix}")]
    orphans = [p.name for p in outputs if not (GOLDEN / (p.name.split(".")[0] + ".sf")).exists()]
    assert orphans == []


def test_every_code_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = [c.value for c in Code if f"### `{c.value}`" not in docs]
    assert missing == []


def _diagnostics_part(case: str) -> str:
    """What the docs show of a case: its diagnostics (for a plan case, only its warnings)."""
    err = GOLDEN / f"{case}.err.txt"
    if err.exists():
        return err.read_text(encoding="utf-8")
    plan = (GOLDEN / f"{case}.plan.txt").read_text(encoding="utf-8")
    assert WARNINGS in plan, f"{case} has no diagnostics to show"
    return plan.split(WARNINGS, 1)[1]


def test_docs_show_the_golden_output() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    shown = list(_DOC_EXAMPLE.finditer(docs))
    assert len(shown) >= 40

    def current(match: re.Match[str]) -> str:
        case = match["case"]
        out = match.group(0)[: match.end("case") - match.start() + len(" -->\n")]
        if match["only"] is None:
            out += "```sqlflow\n" + (GOLDEN / f"{case}.sf").read_text(encoding="utf-8") + "```\n"
        return out + "```text\n" + _diagnostics_part(case) + "```\n"

    updated = _DOC_EXAMPLE.sub(current, docs)
    if UPDATE:
        DOCS.write_text(updated, encoding="utf-8")
        return
    assert updated == docs, "docs/diagnostics.md is out of date: run `nox -s goldens`"


def test_every_reachable_code_has_a_golden_case() -> None:
    seen: set[str] = set()
    for path in [*GOLDEN.glob("*.err.txt"), *GOLDEN.glob("*.plan.txt")]:
        seen |= set(re.findall(r"(?:error|warning)\[(SF\d{4})\]", path.read_text("utf-8")))
    missing = [c.value for c in Code if c not in UNREACHABLE and c.value not in seen]
    assert missing == []
    unexpected = [c.value for c in UNREACHABLE if c.value in seen]
    assert unexpected == [], "reached after all: remove from UNREACHABLE"


# -- plan files (SF0910): not pipelines, so not in the corpus ------------------------------------


def _plan_error(path: Path) -> str:
    with pytest.raises(CompileError) as caught:
        load_plan(path)
    err = caught.value
    assert err.sources is not None
    assert all(d.code is Code.BAD_PLAN for d in err.diagnostics)
    return render_text(err.diagnostics, err.sources).replace(str(path), "plan.json")


def test_bad_plan_files(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"version": 1, "steps": [}\n', encoding="utf-8")
    assert _plan_error(path) == (
        "plan.json:1:26: error[SF0910]: plan plan.json is not JSON: Expecting value\n"
        "  |\n"
        '1 | {"version": 1, "steps": [}\n'
        "  |                          ^\n"
    )
    path.write_text('{"version": 99, "steps": []}\n', encoding="utf-8")
    assert _plan_error(path) == (
        "plan.json:1:2: error[SF0910]: plan plan.json has format version 99; "
        "this sqlflowc reads versions 1 to 2\n"
        "  |\n"
        '1 | {"version": 99, "steps": []}\n'
        "  |  ^^^^^^^^^\n"
        "  = help: compile the pipeline again with this sqlflowc\n"
    )
