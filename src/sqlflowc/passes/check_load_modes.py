"""Check the INCREMENTAL macros against the statements that use them.

Requires: a resolved program (SQL bodies as text). Ensures, reporting and never raising:
- `@start_dt`, `@end_dt`, `@start_date`, `@end_date` appear only in the query of a
  `CREATE TABLE ... MODE INCREMENTAL`: anywhere else DuckDB would read `@start_dt` as
  `abs(start_dt)` and fail on a missing column, so it is an error at the macro (SF0611);
- an INCREMENTAL query that uses none of them gets a warning at the mode (SF0612): it reads
  everything on every run, and only its rows inside the window are kept.
Macros are found with sqlglot's DuckDB tokenizer, so text in strings and comments is ignored.
The clause-level rules (MERGE needs KEY, no KEY with APPEND, ...) are checked when lowering.

>>> from sqlflowc.api import compile_context, parse, to_program
>>> ctx = compile_context()
>>> text = "CREATE TABLE t AS SELECT * FROM a WHERE d > @start_dt;"
>>> prog = to_program(parse(text, sources=ctx.sources), ctx)
>>> _ = check_load_modes(prog, ctx)
>>> [d.code.value for d in ctx.reporter.diagnostics]
['SF0611']
"""

from __future__ import annotations

from typing import TypeVar

from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.passes.context import PassContext
from sqlflowc.sqlbuild.macros import MACROS, find_macros

P = TypeVar("P", bound=ir.Program)


def check_load_modes(prog: P, ctx: PassContext) -> P:
    """Report misplaced and missing INCREMENTAL macros."""
    for stmt in prog.statements:
        match stmt:
            case ir.CreateTable() if isinstance(stmt.mode, ir.Incremental):
                if not find_macros(stmt.query.text):
                    names = ", ".join(f"@{m}" for m in MACROS)
                    ctx.reporter.warning(
                        Code.INCREMENTAL_WITHOUT_MACROS,
                        f"the query of INCREMENTAL table `{stmt.table}` uses none of {names}",
                        stmt.mode.span,
                        label="every run reads all the data",
                        help=f"filter the query: `WHERE {stmt.mode.by.value} BETWEEN @start_dt "
                        "AND @end_dt`; rows outside the window are not written either way",
                    )
            case ir.CreateTable() | ir.CreateView() | ir.Export():
                _misplaced(stmt.query, ctx)
            case ir.SqlStatement():
                _misplaced(stmt.sql, ctx)
            case ir.Load() | ir.TableUdf():
                pass
            case _:
                raise AssertionError(stmt)
    return prog


def _misplaced(sql: ir.Sql, ctx: PassContext) -> None:
    if "@" not in sql.text:
        return
    for name, start, end in find_macros(sql.text) or ():
        ctx.reporter.error(
            Code.MACRO_OUTSIDE_INCREMENTAL,
            f"`@{name}` is only bound in `CREATE TABLE ... MODE INCREMENTAL BY column AS ...`",
            sql.span_of(start, end),
            label="no value here",
            help="make this statement an INCREMENTAL table, or use a variable (`${...}`)",
        )
