"""Check sources and exports against their connectors.

Requires: a resolved program. Ensures, reporting and never raising: every declared source names
a known connector type with valid parameters (and, for local files, existing input); every
export names a known format (a connector that can be written to) with valid options and a
local target.
"""

from __future__ import annotations

from pathlib import Path

from sqlflowc.connectors import check_export, check_source
from sqlflowc.connectors.files.base import export_path
from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.passes.context import PassContext


def check_connectors(prog: ir.Program, ctx: PassContext) -> ir.Program:
    """Validate each source's parameters and each export's options (reports, never raises)."""
    project = Path(prog.project_dir)
    for source in prog.sources.values():
        check_source(source, project, ctx.reporter)
    for stmt in prog.statements:
        if isinstance(stmt, ir.Export):
            scheme = stmt.uri.split("://", 1)[0] if "://" in stmt.uri else ""
            if scheme and scheme.lower() != "file":
                ctx.reporter.error(
                    Code.BAD_EXPORT,
                    f"exports to `{scheme}://` targets are not supported yet",
                    stmt.span,
                    help="export to a local path; remote targets (S3, PostgreSQL) are not "
                    "available in this version",
                )
            elif scheme and "${" not in stmt.uri:
                try:
                    export_path(stmt.uri, project)
                except ValueError as err:
                    ctx.reporter.error(
                        Code.BAD_EXPORT,
                        str(err),
                        stmt.span,
                        help="write file:///absolute/path, or a path relative to the project",
                    )
            if not stmt.uri.strip():
                ctx.reporter.error(
                    Code.BAD_EXPORT,
                    "EXPORT needs a target: the URI is empty",
                    stmt.span,
                    help="write the file to create, e.g. TO 'output/report.csv'",
                )
            check_export(stmt, ctx.reporter)
    return prog
