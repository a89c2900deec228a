"""An empty pipeline: a file with no statement that does anything — nothing at all, only
comments, only `SET` — is a warning (`EMPTY_PIPELINE`) at its start, so that `sqlflowc run` of
an empty, unsaved or wrong file says so instead of running "0 steps" and succeeding in silence.
An IF block counts as a statement: its branches may do nothing with these values but something
with others.

Requires: the surface pipeline with its INCLUDEs expanded (`expand_includes`), IF blocks still
there (before `fold_conditionals`).
Ensures: the pipeline unchanged; at most one warning.

>>> from sqlflowc.api import compile_context, parse
>>> ctx = compile_context()
>>> _ = warn_if_empty(parse("-- to do\\nSET x = 1;\\n", sources=ctx.sources), ctx)
>>> [d.message for d in ctx.reporter.diagnostics]
['the pipeline has only SET statements: nothing to run']
"""

from __future__ import annotations

from sqlflowc.diagnostics import Code
from sqlflowc.ir import ast
from sqlflowc.passes.context import PassContext
from sqlflowc.source import Span

__all__ = ["warn_if_empty"]


def warn_if_empty(pipeline: ast.Pipeline, ctx: PassContext) -> ast.Pipeline:
    """Warn when the pipeline does nothing (see the module docstring)."""
    if any(not isinstance(s, ast.Set) for s in pipeline.statements):
        return pipeline
    what = "only SET statements" if pipeline.statements else "no statements"
    ctx.reporter.warning(
        Code.EMPTY_PIPELINE,
        f"the pipeline has {what}: nothing to run",
        Span(pipeline.file_id, 0, 0) if pipeline.file_id >= 0 else None,
        help="write the steps (SOURCE and LOAD, CREATE TABLE ... AS, EXPORT), or check that "
        "this is the file you meant",
    )
    return pipeline
