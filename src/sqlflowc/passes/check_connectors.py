"""Check sources and exports against their connectors.

Requires: a resolved program. Ensures, reporting and never raising: every declared source names
a known connector type with valid parameters (and, for local files, existing input, unless an
EXPORT of the pipeline may write it: `connectors.locations`); every export names a known
format (a connector that can be written to) with valid options and a target that connector can
write (`Connector.check_target`).

>>> from sqlflowc.api import compile_context, parse, to_program
>>> ctx = compile_context()
>>> text = 'SOURCE s TYPE NOPE PARAMS {}; LOAD t FROM s;'
>>> prog = to_program(parse(text, sources=ctx.sources), ctx, program_passes=())
>>> _ = check_connectors(prog, ctx)
>>> [d.code.value for d in ctx.reporter.diagnostics]
['SF0901']
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from sqlflowc.connectors import check_export, check_source
from sqlflowc.connectors.locations import export_location, may_read, source_location
from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.passes.context import PassContext

P = TypeVar("P", bound=ir.Program)


def check_connectors(prog: P, ctx: PassContext) -> P:
    """Validate each source's parameters and each export's options (reports, never raises)."""
    project = Path(prog.project_dir)
    exported = [
        export_location(stmt.uri, project)
        for stmt in prog.statements
        if isinstance(stmt, ir.Export)
    ]
    for source in prog.sources.values():
        read = source_location(source, project) if exported else None
        produced = read is not None and any(may_read(read, w) for w in exported)
        check_source(source, project, ctx.reporter, produced=produced)
    for stmt in prog.statements:
        if isinstance(stmt, ir.Export):
            if not stmt.uri.strip():
                ctx.reporter.error(
                    Code.BAD_EXPORT,
                    "EXPORT needs a target: the URI is empty",
                    stmt.span,
                    help="write the file to create, e.g. TO 'output/report.csv'",
                )
            connector = check_export(stmt, ctx.reporter)
            if connector is not None and stmt.uri.strip():
                connector.check_target(stmt.uri, stmt.options, stmt.span, ctx.reporter)
    return prog
