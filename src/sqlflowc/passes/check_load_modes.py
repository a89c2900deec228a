"""Check that each load mode can be carried out by this backend.

Requires: a resolved program. Ensures: every Load/CreateTable uses a mode the backend lowers.
REPLACE is supported; APPEND, MERGE and INCREMENTAL are parsed and validated but their
semantics are not implemented yet, so they are rejected here rather than silently replacing data.
"""

from __future__ import annotations

from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.passes.context import PassContext


def check_load_modes(prog: ir.Program, ctx: PassContext) -> ir.Program:
    """Report load modes the backend cannot run yet."""
    for stmt in prog.statements:
        if not isinstance(stmt, ir.Load | ir.CreateTable):
            continue
        match stmt.mode:
            case ir.Replace():
                continue
            case ir.Append():
                name = "APPEND"
            case ir.Merge():
                name = "MERGE"
            case ir.Incremental():
                name = "INCREMENTAL"
        ctx.reporter.error(
            Code.MODE_NOT_SUPPORTED,
            f"`MODE {name}` is not supported by this version of sqlflowc",
            stmt.mode.span,
            label="would not be carried out",
            help="use `MODE REPLACE` (the default) for now; nothing was run",
        )
    return prog
