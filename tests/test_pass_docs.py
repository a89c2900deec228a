"""Every pass states its contract in its module docstring with a runnable `>>>` example, and the
examples hold (pytest's doctest runner, as `pytest --doctest-modules src/sqlflowc/passes` would
run them); so do the examples of every other module."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import sqlflowc
from sqlflowc import api

PASSES = [
    *api.SURFACE_PASSES,
    api.LOWERING,
    *api.PROGRAM_PASSES,
    api.BINDING,
    api.RESOLVING,
    *api.RESOLVED_PASSES,
    api.ORDERING,
    *api.CHECKS,
]


@pytest.mark.parametrize("pass_", PASSES, ids=[p.__name__ for p in PASSES])
def test_every_pass_has_a_contract_and_an_example_that_holds(pass_: object) -> None:
    module = importlib.import_module(pass_.__module__)
    doc = module.__doc__ or ""
    assert "Requires" in doc or "Ensures" in doc, f"{module.__name__}: no contract"
    examples = [
        ex
        for test in doctest.DocTestFinder().find(module)
        if test.name.split(".")[-1] in (module.__name__.split(".")[-1], pass_.__name__)  # type: ignore[attr-defined]
        for ex in test.examples
    ]
    assert examples, f"{module.__name__}: no >>> example for {pass_.__name__}"  # type: ignore[attr-defined]
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_api_examples_hold() -> None:
    assert doctest.testmod(api).failed == 0


SRC = Path(sqlflowc.__file__).parent
# Every other module with a `>>>` example in its docstrings (helpers of the passes, the schema
# model, SQL building, ...).
HELPERS = sorted(
    ".".join(("sqlflowc", *path.relative_to(SRC).with_suffix("").parts))
    for path in SRC.rglob("*.py")
    if ">>>" in path.read_text(encoding="utf-8")
)
HELPERS = [h for h in HELPERS if h not in {api.__name__, *(p.__module__ for p in PASSES)}]


@pytest.mark.parametrize("name", HELPERS)
def test_the_examples_of_helper_modules_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
