"""Resolve Python UDF calls in SQL bodies (docs/language.md, "Python UDFs").

Requires: a `BoundProgram` (SQL bodies have sqlglot trees); `ctx.udfs` is the project's catalog.
Ensures: a `ResolvedProgram`:
- Every UDF call found in a sqlglot tree is rewritten to the UDF's registered name, a quoted
  identifier: `PYTHON_FUNC("python_udfs.text.clean", x)`, `PYTHON_FUNC("text.clean", x)` (any
  unambiguous dotted suffix) and the bare `clean(x)` all become `"python_udfs.text.clean"(x)`.
  A call that leaves out arguments with defaults uses the name `"<qualified>/<n>"` (a DuckDB
  function has one arity). `udfs[i]` lists the registered names statement `i` calls.
- A table UDF called in FROM (`FROM PYTHON_FUNC("...", t)` or `FROM fn(t)`) becomes a
  `TableUdf` statement placed right before its statement. `CREATE TABLE x AS SELECT * FROM
  fn(t)` (mode REPLACE, nothing else) is replaced by one writing `x`; any other call writes a
  generated temporary table `udf_<fn>_<input>` (it lives only while the run's connection does,
  so it never stays in the user's database) that the statement reads in place of the call. In
  a view, which would read that table after the run, a table UDF call is SF0807.
- Errors at the call's position: unknown UDF (SF0801, with "did you mean"), wrong argument
  count (SF0802), an ambiguous name (SF0803), a table UDF used as a scalar or the reverse, or a
  table UDF whose input is not a table name (SF0807).
Only the call's head is rewritten in `text` and `display` (arguments stay verbatim, so no
secret leaks into `display`); `origin` is kept in step. A rewritten statement's binding is
its rewritten text's tree and tables (a body sqlglot could not parse may parse now: a UDF named
like a function sqlglot knows, with other arguments); no diagnostic of another pass is touched.
A bare name that is no UDF is left alone (it is a DuckDB function); a UDF named like a DuckDB
built-in known to sqlglot (`lower`, ...) is reachable only through PYTHON_FUNC.

>>> from sqlflowc.api import compile_context, parse, to_program
>>> from sqlflowc.passes.bind import bind
>>> ctx = compile_context()
>>> text = 'CREATE TABLE t AS SELECT PYTHON_FUNC("python_udfs.m.f", x) FROM a;'
>>> _ = resolve_udfs(bind(to_program(parse(text, sources=ctx.sources), ctx), ctx), ctx)
>>> [d.code.value for d in ctx.reporter.diagnostics]
['SF0801']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.ir.program import udf_table_name
from sqlflowc.names import table_key
from sqlflowc.passes.bind import binding, sqlglot_tree
from sqlflowc.passes.context import PassContext
from sqlflowc.source import Span
from sqlflowc.udf import UdfKind, sql_calls
from sqlflowc.udf.find_calls import Call, find_calls
from sqlflowc.udf.signature import Udf


def resolve_udfs(prog: ir.BoundProgram, ctx: PassContext) -> ir.ResolvedProgram:
    """Rewrite UDF calls to registered names and lift table UDF calls into their own steps."""
    out: list[_Resolved] = [(stmt, found, ()) for stmt, found in prog.bound()]
    if ctx.udfs.udfs or any(_mentions_python_func(s) for s in prog.statements):
        # (else nothing to resolve, and no PYTHON_FUNC call to report as unknown)
        resolver = _Resolver(prog, ctx)
        out = [each for stmt, found in prog.bound() for each in resolver.statement(stmt, found)]
    fields = {f.name: getattr(prog, f.name) for f in dataclasses.fields(ir.BoundProgram)}
    fields["statements"] = tuple(stmt for stmt, _, _ in out)
    fields["bindings"] = tuple(found for _, found, _ in out)
    return ir.ResolvedProgram(**fields, udfs=tuple(names for _, _, names in out))


# A statement, its binding and the registered names of the UDFs it calls.
_Resolved = tuple[ir.Statement, ir.Binding, tuple[str, ...]]


def _mentions_python_func(stmt: ir.Statement) -> bool:
    sql = ir.sql_body(stmt)
    return sql is not None and "python_func" in sql.text.lower()


def _registered_name(udf: Udf, nargs: int | None = None) -> str:
    """The DuckDB function name for `udf` called with `nargs` arguments."""
    if nargs is None or nargs == udf.max_args:
        return udf.qualified
    return f"{udf.qualified}/{nargs}"


@dataclass(slots=True)
class _Body:
    """The calls of one SQL body, and what resolving them produced."""

    edits: list[tuple[int, int, str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    lifted: list[ir.TableUdf] = field(default_factory=list)
    replaced_by: ir.TableUdf | None = None


class _Resolver:
    def __init__(self, prog: ir.BoundProgram, ctx: PassContext) -> None:
        self.ctx = ctx
        self.catalog = ctx.udfs
        self.taken = {w for found in prog.bindings for w in found.writes}

    # -- statements ---------------------------------------------------------------------------

    def statement(self, stmt: ir.Statement, found: ir.Binding) -> list[_Resolved]:
        """The statement, or what replaces it (table UDF steps first), each with its binding
        and the UDFs it calls."""
        sql = ir.sql_body(stmt)
        if sql is None:
            return [(stmt, found, ())]
        body = self.body(sql, found.tree, stmt)
        if body.replaced_by is not None:
            return [_bound(body.replaced_by)]
        if not body.edits:
            return [(stmt, found, ())]
        rewritten = self.apply(sql, body)
        if rewritten is None:
            return [(stmt, found, ())]
        new = _with_sql(stmt, rewritten)
        # The rewritten text's tree: generated tables of table UDFs are read in place of calls.
        found = binding(new, sqlglot_tree(rewritten.text))
        return [*map(_bound, body.lifted), (new, found, tuple(sorted(body.names)))]

    # -- one SQL body -------------------------------------------------------------------------

    def body(self, sql: ir.Sql, tree: exp.Expr | ir.Opaque | None, stmt: ir.Statement) -> _Body:
        found = _Body()
        parsed = tree if isinstance(tree, exp.Expr) else None
        calls = find_calls(sql, parsed, self.catalog, self.ctx.reporter)
        ctes: set[str] = set()
        if parsed is not None:
            ctes = {c.alias_or_name.lower() for c in parsed.find_all(exp.CTE)}
        for call in calls:
            if call.udf.kind is UdfKind.TABLE:
                self.table_call(sql, parsed, stmt, call, ctes, found)
            else:
                self.scalar_call(sql, call, found)
        return found

    def scalar_call(self, sql: ir.Sql, call: Call, body: _Body) -> None:
        udf = call.udf
        if not udf.min_args <= call.nargs <= udf.max_args:
            self.arity(sql.span_of(call.start, call.end + 1), udf, call.nargs)
            return
        name = _registered_name(udf, call.nargs)
        body.names.add(name)
        quoted = sql_calls.quote(name)
        if call.python_func:
            # PYTHON_FUNC("x", a, b) → "x"(a, b): replace up to the second argument.
            stop = call.args[1][0] if len(call.args) > 1 else call.end
            body.edits.append((call.start, stop, quoted + "("))
        else:
            body.edits.append((call.start, call.name_end + 1, quoted))

    def table_call(
        self,
        sql: ir.Sql,
        tree: exp.Expr | None,
        stmt: ir.Statement,
        call: Call,
        ctes: set[str],
        body: _Body,
    ) -> None:
        udf = call.udf
        span = sql.span_of(call.start, call.end + 1)
        arg_ranges = call.args[1:] if call.python_func else call.args
        given = sql_calls.arguments(sql.text, call.node, call.args)
        given = given[1:] if call.python_func else given
        if not arg_ranges:
            self.ctx.reporter.error(
                Code.UDF_ARITY,
                f"table UDF `{udf.qualified}` needs the input table as its first argument",
                span,
                label="no input table",
                help=f"write {udf.name}(table_name)",
            )
            return
        source = sql_calls.table_name(given[0]) if given else None
        if source is None or source.lower() in ctes:
            why = "a CTE" if source is not None else "not a table name"
            self.ctx.reporter.error(
                Code.UDF_MISUSE,
                f"the input of table UDF `{udf.qualified}` must be a table or view "
                f"of the database, and this is {why}",
                sql.span_of(*arg_ranges[0]),
                label="expected a table name",
                help="create a table or view from the query first, then pass its name",
            )
            return
        args = self.literal_args(sql, udf, given[1:], arg_ranges[1:], span)
        if args is None:
            return
        simple = (
            isinstance(stmt, ir.CreateTable)
            and call.table is not None
            and sql_calls.whole_query(tree, call.table, misparsed=call.node is None)
        )
        if simple and isinstance(stmt, ir.CreateTable) and isinstance(stmt.mode, ir.Replace):
            body.replaced_by = _table_udf(udf, source, args, stmt.table, stmt.span)
            return
        if isinstance(stmt, ir.CreateView):
            self.ctx.reporter.error(
                Code.UDF_MISUSE,
                f"table UDF `{udf.qualified}` cannot be called in a view",
                span,
                label="called in a view",
                help="a view runs its query whenever it is read, after the pipeline, when the "
                "function's output is gone; create a table instead (CREATE TABLE ... AS)",
            )
            return
        target = self.fresh_name(udf, source)
        body.lifted.append(_table_udf(udf, source, args, target, span, temporary=True))
        body.edits.append((call.start, call.end + 1, target))

    def literal_args(
        self,
        sql: ir.Sql,
        udf: Udf,
        given: list[exp.Expr],
        ranges: list[tuple[int, int]],
        call_span: Span,
    ) -> dict[str, Any] | None:
        """Extra arguments of a table UDF call by parameter name; None after an error."""
        out: dict[str, Any] = {}
        names = [p.name for p in udf.params]
        positional = True
        ok = True
        for i, (node, where) in enumerate(zip(given, ranges, strict=True)):
            key: str | None = None
            value_node = node
            if isinstance(node, exp.PropertyEQ | exp.Kwarg):
                key = node.this.name
                value_node = node.expression
                positional = False
            elif not positional:
                ok = self.bad_arg(
                    sql.span_of(*where), udf, "a positional argument follows a named one"
                )
                continue
            else:
                key = names[i] if i < len(names) else None
                if key is None:
                    self.arity(call_span, udf, len(given) + 1)
                    return None
            if key not in names:
                ok = self.bad_arg(sql.span_of(*where), udf, f"it has no parameter `{key}`")
                continue
            if key in out:
                ok = self.bad_arg(sql.span_of(*where), udf, f"`{key}` is given twice")
                continue
            value = sql_calls.literal(value_node)
            if value is sql_calls.NOT_LITERAL:
                ok = self.bad_arg(sql.span_of(*where), udf, "its arguments must be literal values")
                continue
            out[key] = value
        if not ok:
            return None
        missing = [p.name for p in udf.params if not p.has_default and p.name not in out]
        if missing:
            self.ctx.reporter.error(
                Code.UDF_ARITY,
                f"table UDF `{udf.qualified}` needs a value for "
                + ", ".join(f"`{m}`" for m in missing),
                call_span,
                label="missing argument",
                help=f"signature: {udf.signature()}",
            )
            return None
        return {n: out[n] for n in names if n in out}

    def fresh_name(self, udf: Udf, source: str) -> str:
        name, n = udf_table_name(udf.name, source), 1
        while table_key(name) in self.taken:
            n += 1
            name = udf_table_name(udf.name, source, n)
        self.taken.add(table_key(name))
        return name

    # -- rewriting ----------------------------------------------------------------------------

    def apply(self, sql: ir.Sql, body: _Body) -> ir.Sql | None:
        """The body with its calls rewritten."""
        rewritten = sql_calls.rewrite(sql, body.edits)
        if rewritten is None:
            self.ctx.reporter.error(
                Code.INTERNAL,
                "internal compiler error: cannot rewrite the UDF calls of this statement; "
                "please report",
                sql.span,
            )
        return rewritten

    # -- diagnostics --------------------------------------------------------------------------

    def arity(self, span: Span, udf: Udf, given: int) -> None:
        lo, hi = udf.min_args, udf.max_args
        if udf.kind is UdfKind.TABLE:
            lo, hi = lo + 1, hi + 1
        wanted = f"{lo}" if lo == hi else f"{lo} to {hi}"
        self.ctx.reporter.error(
            Code.UDF_ARITY,
            f"UDF `{udf.qualified}` takes {wanted} argument{'s' * (hi != 1)}, "
            f"but {given} {'is' if given == 1 else 'are'} given",
            span,
            label="wrong number of arguments",
            help=f"signature: {udf.signature()}",
        )

    def bad_arg(self, span: Span, udf: Udf, why: str) -> bool:
        self.ctx.reporter.error(
            Code.UDF_MISUSE,
            f"invalid argument to table UDF `{udf.qualified}`: {why}",
            span,
            label="this argument",
            help=f"signature: {udf.signature()}",
        )
        return False


# -- helpers --------------------------------------------------------------------------------------


def _table_udf(
    udf: Udf,
    source: str,
    args: dict[str, Any],
    target: str,
    span: Span,
    *,
    temporary: bool = False,
) -> ir.TableUdf:
    return ir.TableUdf(
        udf=udf.qualified,
        input=source,
        args=args,
        target=target,
        temporary=temporary,
        span=span,
    )


def _bound(stmt: ir.TableUdf) -> _Resolved:
    return stmt, binding(stmt, None), ()


def _with_sql(stmt: ir.Statement, sql: ir.Sql) -> ir.Statement:
    match stmt:
        case ir.CreateTable() | ir.CreateView() | ir.Export():
            return dataclasses.replace(stmt, query=sql)
        case ir.SqlStatement():
            return dataclasses.replace(stmt, sql=sql)
        case _:
            raise AssertionError(stmt)
