"""Tell the catalog which sources the checks will ask about, so that it can read them together.

Requires: an ordered program. Ensures: the program is returned unchanged, and `ctx.catalog` was
handed (`Catalog.prefetch`) the source of every LOAD before the first ordering barrier — the
sources `check_schemas` and `check_columns` will look up — when either will replay the
pipeline (`ctx.verify_sql`, or a load mode other than REPLACE). Nothing is reported: what a
catalog cannot read is reported by the check that asks.

>>> from sqlflowc.api import compile_context, parse, to_ordered, to_program, to_resolved
>>> from sqlflowc.schema.catalog import MappingCatalog
>>> class Noting(MappingCatalog):
...     def prefetch(self, questions):
...         print([name for name, _, _ in questions])
>>> ctx = compile_context(catalog=Noting(), verify_sql=True)
>>> text = 'SOURCE a TYPE CSV PARAMS {"path": "a.csv"}; LOAD t FROM a; LOAD u FROM a;'
>>> prog = to_program(parse(text, sources=ctx.sources), ctx)
>>> ordered = to_ordered(to_resolved(prog, ctx, resolved_passes=()), ctx, checks=())
>>> prefetch_sources(ordered, ctx) is ordered
['a', 'a']
True
"""

from __future__ import annotations

from typing import TypeVar

from sqlflowc.ir import program as ir
from sqlflowc.passes.check_schemas import replays
from sqlflowc.passes.context import PassContext
from sqlflowc.schema.catalog import SourceQuestion

P = TypeVar("P", bound=ir.OrderedProgram)


def prefetch_sources(prog: P, ctx: PassContext) -> P:
    """Hand the catalog the sources the checks will ask for; see the module docstring."""
    if not (ctx.verify_sql or replays(prog)):
        return prog
    questions: list[SourceQuestion] = []
    for stmt, found in prog.bound():
        if found.barrier:
            break
        if isinstance(stmt, ir.Load):
            source = stmt.source
            questions.append((source.name, source.connector, source.params))
    if questions:
        ctx.catalog.prefetch(questions)
    return prog
