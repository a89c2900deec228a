"""No false positives: the column check (SF0711, SF0712) says nothing about any pipeline of
examples/, tests/compat/ or the golden corpus — except the golden cases written to show it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlflowc.api import compile_file
from sqlflowc.diagnostics import Code, CompileError, Diagnostic, render_text
from sqlflowc.profiles import available_profiles, find_project_dir
from test_goldens import GOLDEN, directives

ROOT = Path(__file__).resolve().parents[1]
COLUMN_CODES = (Code.UNKNOWN_COLUMN, Code.AMBIGUOUS_COLUMN)
# The golden cases that exist to show the check (docs/diagnostics.md).
SHOWN = {
    "schema_unknown_column.sf": Code.UNKNOWN_COLUMN,
    "schema_ambiguous_column.sf": Code.AMBIGUOUS_COLUMN,
}


def _projects() -> list[tuple[Path, Path, str | None]]:
    """(project, pipeline, profile) of every example and compat pipeline, every profile."""
    cases: list[tuple[Path, Path, str | None]] = []
    for base in (ROOT / "examples", ROOT / "tests" / "compat"):
        for pipeline in sorted(base.rglob("*.sf")):
            if "target" in pipeline.relative_to(base).parts:
                continue
            project = find_project_dir(pipeline)
            cases += [(project, pipeline, p) for p in available_profiles(project) or [None]]
    return cases


def _compile(pipeline: Path, **kwargs: object) -> tuple[list[Diagnostic], str, bool]:
    """(column diagnostics, everything rendered, whether it compiled)."""
    try:
        comp = compile_file(pipeline, environ={}, verify_sql=True, **kwargs)  # type: ignore[arg-type]
    except CompileError as err:
        assert err.sources is not None
        diags = [d for d in err.diagnostics if d.code in COLUMN_CODES]
        return diags, render_text(err.diagnostics, err.sources), False
    diags = [d for d in comp.warnings if d.code in COLUMN_CODES]
    return diags, render_text(comp.warnings, comp.sources), True


def test_examples_and_compat_pipelines_have_no_column_problems() -> None:
    compiled = 0
    for project, pipeline, profile in _projects():
        found, shown, ok = _compile(pipeline, profile=profile, project_dir=project)
        assert not found, f"{pipeline} [{profile}]\n{shown}"
        compiled += ok
    assert compiled >= 25  # most of them compile: the check has run on them


def test_golden_pipelines_have_no_column_problems_but_the_cases_showing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(GOLDEN)
    compiled = 0
    for case in sorted(GOLDEN.glob("*.sf")):
        settings = directives(case)
        project = GOLDEN / settings["project"] if settings["project"] else GOLDEN
        found, shown, ok = _compile(
            Path(case.name),
            cli_vars=settings["vars"],
            profile=settings["profile"],
            project_dir=project,
        )
        expected = SHOWN.get(case.name)
        assert [d.code for d in found] == ([expected] if expected else []), f"{case.name}\n{shown}"
        compiled += ok
    assert compiled >= 20
