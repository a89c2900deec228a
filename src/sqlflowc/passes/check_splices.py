"""Check that no spliced value changes a SQL body's structure.

Requires: a resolved `Program` whose `Sql.splices` say where each value went.
Ensures: every SQL body with a `${...}` reads, to DuckDB, as the body as written: one statement,
each value inside the string, comment or quoted name it was written in, or making whole tokens of
its own in bare SQL (`sql_splices.splice_error` has the rules). Otherwise `VARIABLE_INJECTION`
(SF0202) at the reference, and nothing runs. A secret value is never shown.

Bodies without a splice are not looked at, so a pipeline without `${...}` in its SQL never loads
DuckDB here.

>>> from sqlflowc.api import compile_context, parse, to_program
>>> ctx = compile_context(cli_vars={"n": "1; DROP TABLE t"})
>>> prog = to_program(parse("SELECT ${n};", sources=ctx.sources), ctx, program_passes=())
>>> _ = check_splices(prog, ctx)
>>> [d.code.value for d in ctx.reporter.diagnostics]
['SF0202']
"""

from __future__ import annotations

from sqlflowc.diagnostics import Code, shown
from sqlflowc.ir import program
from sqlflowc.passes.context import PassContext


def check_splices(prog: program.Program, ctx: PassContext) -> program.Program:
    """Report every SQL body whose spliced values change its structure; `prog` is unchanged."""
    for stmt in prog.statements:
        body = program.sql_body(stmt)
        if body is not None:
            _check(body, ctx)
    return prog


def _check(sql: program.Sql, ctx: PassContext) -> None:
    if not sql.splices:
        return
    from sqlflowc.sql_splices import splice_error

    error = splice_error(sql.text, [(s.start, s.end) for s in sql.splices])
    if error is None:
        return
    splice = sql.splices[error.index]
    value = sql.text[splice.start : splice.end]
    seen = "its value is secret" if splice.secret else f"`{splice.name}` is `{shown(value)}`"
    ctx.reporter.error(
        Code.VARIABLE_INJECTION,
        error.message(splice.name),
        splice.ref,
        label=f"a spliced value must keep the SQL's structure ({seen})",
        help=error.help(),
    )
