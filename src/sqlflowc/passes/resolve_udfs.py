"""Resolve Python UDF calls in SQL bodies (LANGUAGE.md §6).

Requires: `bind` has run (SQL bodies have sqlglot trees); `ctx.udfs` is the project's catalog.
Ensures:
- Every UDF call found in a sqlglot tree is rewritten to the UDF's registered name, a quoted
  identifier: `PYTHON_FUNC("python_udfs.text.clean", x)`, `PYTHON_FUNC("text.clean", x)` (any
  unambiguous dotted suffix) and the bare `clean(x)` all become `"python_udfs.text.clean"(x)`.
  A call that leaves out arguments with defaults uses the name `"<qualified>/<n>"` (a DuckDB
  function has one arity). `Sql.udfs` lists the registered names each body needs.
- A table UDF called in FROM (`FROM PYTHON_FUNC("...", t)` or `FROM fn(t)`) becomes a
  `TableUdf` statement placed right before its statement. `CREATE TABLE x AS SELECT * FROM
  fn(t)` (mode REPLACE, nothing else) is replaced by one writing `x`; any other call writes a
  generated table `udf_<fn>_<input>` that the statement reads in place of the call.
- Errors at the call's position: unknown UDF (SF0801, with "did you mean"), wrong argument
  count (SF0802), an ambiguous name (SF0803), a table UDF used as a scalar or the reverse, or a
  table UDF whose input is not a table name (SF0807).
Only the call's head is rewritten in `text` and `display` (arguments stay verbatim, so no
secret leaks into `display`); `origin` is kept in step and the tree is re-parsed.
A bare name that is no UDF is left alone (it is a DuckDB function); a UDF named like a DuckDB
built-in known to sqlglot (`lower`, ...) is reachable only through PYTHON_FUNC.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.ir.program import table_key
from sqlflowc.passes.context import PassContext
from sqlflowc.source import Span
from sqlflowc.udf import UdfKind
from sqlflowc.udf.signature import Udf

PYTHON_FUNC = "PYTHON_FUNC"
_OPEN = {"L_PAREN", "L_BRACKET", "L_BRACE"}
_CLOSE = {"R_PAREN", "R_BRACKET", "R_BRACE"}
_NAME_CHARS = re.compile(r"[^a-z0-9]+")


def resolve_udfs(prog: ir.Program, ctx: PassContext) -> ir.Program:
    """Rewrite UDF calls to registered names and lift table UDF calls into their own steps."""
    resolver = _Resolver(prog, ctx)
    statements: list[ir.Statement] = []
    for stmt in prog.statements:
        statements.extend(resolver.statement(stmt))
    if not resolver.changed:
        return prog
    return dataclasses.replace(prog, statements=tuple(statements))


def registered_name(udf: Udf, nargs: int | None = None) -> str:
    """The DuckDB function name for `udf` called with `nargs` arguments."""
    if nargs is None or nargs == udf.max_args:
        return udf.qualified
    return f"{udf.qualified}/{nargs}"


@dataclass(slots=True)
class _Call:
    """One UDF call in a SQL body: the resolved UDF and the text edit that rewrites it."""

    udf: Udf
    node: exp.Func | None  # None in a body sqlglot cannot parse (found in its tokens)
    nargs: int
    start: int  # text offsets of the call: name .. closing parenthesis (inclusive)
    end: int
    name_end: int  # the name's last character
    args: list[tuple[int, int]]  # text ranges of the arguments as written (PYTHON_FUNC's too)
    python_func: bool
    in_from: bool
    table: exp.Table | None = None  # the FROM item of a call in FROM, when the tree has it


@dataclass(slots=True)
class _Body:
    """The calls of one SQL body, and what resolving them produced."""

    edits: list[tuple[int, int, str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    lifted: list[ir.TableUdf] = field(default_factory=list)
    replaced_by: ir.TableUdf | None = None


class _Resolver:
    def __init__(self, prog: ir.Program, ctx: PassContext) -> None:
        self.ctx = ctx
        self.catalog = ctx.udfs
        self.prog = prog
        self.changed = False
        self.taken = {w for s in prog.statements for w in _writes(s)}

    # -- statements ---------------------------------------------------------------------------

    def statement(self, stmt: ir.Statement) -> list[ir.Statement]:
        match stmt:
            case ir.Load() | ir.TableUdf():
                return [stmt]
            case ir.CreateTable() | ir.CreateView() | ir.Export():
                sql = stmt.query
            case ir.SqlStatement():
                sql = stmt.sql
            case _:
                raise AssertionError(f"unexpected statement {stmt!r}")
        body = self.body(sql, stmt)
        if body.replaced_by is not None:
            self.changed = True
            return [body.replaced_by]
        if not (body.edits or body.lifted or body.names):
            return [stmt]
        self.changed = True
        rewritten = self.apply(sql, body)
        if rewritten is None:
            return [stmt]
        if not body.edits:
            return [_with_sql(stmt, rewritten)]
        return [*body.lifted, self.rebind(_with_sql(stmt, rewritten), sql)]

    def rebind(self, stmt: ir.Statement, before: ir.Sql) -> ir.Statement:
        """Bind a rewritten statement again: its tree and tables now come from the rewritten
        text (generated tables of table UDFs included). A body sqlglot could not parse may
        parse now (a UDF named like a function sqlglot knows, with other arguments), so its
        earlier SF0402 warning is dropped (bind gives it again if it still applies)."""
        from sqlflowc.passes.bind import bind

        span = before.span
        self.ctx.reporter.diagnostics[:] = [
            d
            for d in self.ctx.reporter.diagnostics
            if not (
                d.code is Code.SQL_OPAQUE
                and d.span is not None
                and d.span.file_id == span.file_id
                and span.start <= d.span.start < span.end
            )
        ]
        rebound = bind(dataclasses.replace(self.prog, statements=(stmt,)), self.ctx)
        return rebound.statements[0]

    # -- one SQL body -------------------------------------------------------------------------

    def body(self, sql: ir.Sql, stmt: ir.Statement) -> _Body:
        found = _Body()
        if sql.tree is None:
            calls, ctes = self.token_calls(sql), set()
        else:
            calls = self.calls(sql)
            ctes = {c.alias_or_name.lower() for c in sql.tree.find_all(exp.CTE)}
        for call in calls:
            if call.udf.kind is UdfKind.TABLE:
                self.table_call(sql, stmt, call, ctes, found)
            else:
                self.scalar_call(sql, call, found)
        return found

    def calls(self, sql: ir.Sql) -> list[_Call]:
        """The UDF calls in a body that resolve, each checked for its position (errors
        reported, unresolved calls left out)."""
        assert sql.tree is not None
        found: list[tuple[int, exp.Func | None, exp.Table | None]] = []  # (offset, node, FROM)
        for func in sql.tree.find_all(exp.Func):
            if "start" not in func.meta:
                continue
            owner = func.parent if isinstance(func.parent, exp.Table) else None
            if owner is not None and func.arg_key != "this":
                owner = None
            if owner is not None and (owner.args.get("db") or owner.args.get("catalog")):
                continue  # schema.fn(...) is not a UDF call
            found.append((int(func.meta["start"]), func, owner))
        for item in sql.tree.find_all(exp.Table):
            start = _misparsed_call(item)
            if start is not None and self.catalog.bare(item.name):
                found.append((start, None, item))
        if not found:
            return []
        tokens = _tokens(sql.text)
        if tokens is None:
            return []
        by_start = {t.start: i for i, t in enumerate(tokens)}
        out: list[_Call] = []
        for offset, node, table in sorted(found, key=lambda f: f[0]):
            index = by_start.get(offset)
            extent = _extent(tokens, index) if index is not None else None
            if index is None or extent is None:
                continue
            start, end, args = extent
            token = tokens[index]
            quoted = token.token_type.name == "IDENTIFIER"
            name = str(token.text)
            python_func = not quoted and name.upper() == PYTHON_FUNC
            if not python_func and not self.catalog.udfs:
                continue
            udf = self.resolve(sql, node, name, quoted, python_func, start, end, args)
            if udf is None:
                continue
            nargs = len(args) - (1 if python_func else 0)
            in_from = table is not None
            call = _Call(udf, node, nargs, start, end, token.end, args, python_func, in_from, table)
            if self.check_position(sql, call):
                out.append(call)
        return out

    def token_calls(self, sql: ir.Sql) -> list[_Call]:
        """The UDF calls of a body sqlglot cannot parse, found in its tokens: a UDF's name or
        PYTHON_FUNC before `(`; in FROM when right after FROM or JOIN."""
        if not sql.text.strip() or (PYTHON_FUNC not in sql.text.upper() and not self.catalog.udfs):
            return []
        tokens = _tokens(sql.text)
        if tokens is None:
            return []
        out: list[_Call] = []
        for index, token in enumerate(tokens):
            name = str(token.text)
            quoted = token.token_type.name == "IDENTIFIER"
            python_func = not quoted and name.upper() == PYTHON_FUNC
            if not (python_func or quoted or self.catalog.bare(name)):
                continue
            previous = tokens[index - 1].token_type.name if index else ""
            if previous == "DOT":
                continue
            extent = _extent(tokens, index)
            if extent is None:
                continue
            start, end, args = extent
            udf = self.resolve(sql, None, name, quoted, python_func, start, end, args)
            if udf is None:
                continue
            nargs = len(args) - (1 if python_func else 0)
            in_from = previous in {"FROM", "JOIN"}
            call = _Call(udf, None, nargs, start, end, token.end, args, python_func, in_from)
            if self.check_position(sql, call):
                out.append(call)
        return out

    def resolve(
        self,
        sql: ir.Sql,
        node: exp.Func | None,
        name: str,
        quoted: bool,
        python_func: bool,
        start: int,
        end: int,
        args: list[tuple[int, int]],
    ) -> Udf | None:
        if quoted:
            return self.catalog.get(name)
        if not python_func:
            return self.bare(sql, node, name, start)
        first = _arguments(sql.text, node, args[:1])
        target = _udf_name_argument(first[0] if first else None)
        if target is None:
            where = sql.span_of(*args[0]) if args else sql.span_of(start, end + 1)
            self.ctx.reporter.error(
                Code.UDF_MISUSE,
                "PYTHON_FUNC needs the UDF's name as its first argument",
                where,
                label="expected a quoted name",
                help='write PYTHON_FUNC("python_udfs.module.function", arguments...)',
            )
            return None
        where = sql.span_of(*args[0])
        found = self.catalog.lookup(target)
        if not found:
            self.unknown(where, target)
            return None
        if len(found) > 1:
            self.ambiguous(where, target, found)
            return None
        return found[0]

    def bare(self, sql: ir.Sql, node: exp.Func | None, name: str, start: int) -> Udf | None:
        """The UDF a bare call means: one of that name that DuckDB does not define itself."""
        found = self.catalog.bare(name)
        span = sql.span_of(start, start + len(name))
        builtin = name.lower() in _duckdb_functions()
        if not found:
            if isinstance(node, exp.Anonymous) and not builtin:
                names = sorted({u.name for u in self.catalog.udfs})
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
                if close:
                    self.ctx.reporter.warning(
                        Code.UNKNOWN_UDF,
                        f"`{name}` is neither a DuckDB function nor a UDF",
                        span,
                        label="unknown function",
                        help=f"did you mean the UDF `{close[0]}`?",
                    )
            return None
        if builtin:
            self.ctx.reporter.warning(
                Code.AMBIGUOUS_UDF,
                f"`{name}(...)` calls DuckDB's built-in `{name}`, not the UDF "
                f"`{found[0].qualified}`",
                span,
                label="DuckDB's own function",
                help=f'to call the UDF write PYTHON_FUNC("{found[0].qualified}", ...)',
            )
            return None
        if len(found) > 1:
            self.ambiguous(span, name, found)
            return None
        return found[0]

    def check_position(self, sql: ir.Sql, call: _Call) -> bool:
        udf, span = call.udf, sql.span_of(call.start, call.end + 1)
        if call.in_from and udf.kind is UdfKind.SCALAR:
            self.ctx.reporter.error(
                Code.UDF_MISUSE,
                f"`{udf.qualified}` is a scalar UDF, used here as a table",
                span,
                label="a scalar UDF returns one value per row",
                help=f"call it in the select list: SELECT {udf.name}(column) FROM table",
            )
            return False
        if not call.in_from and udf.kind is UdfKind.TABLE:
            self.ctx.reporter.error(
                Code.UDF_MISUSE,
                f"`{udf.qualified}` is a table UDF, used here as a scalar function",
                span,
                label="a table UDF returns a table",
                help=f"use it in FROM: SELECT * FROM {udf.name}(table_name)",
            )
            return False
        return True

    def scalar_call(self, sql: ir.Sql, call: _Call, body: _Body) -> None:
        udf = call.udf
        if not udf.min_args <= call.nargs <= udf.max_args:
            self.arity(sql.span_of(call.start, call.end + 1), udf, call.nargs)
            return
        name = registered_name(udf, call.nargs)
        body.names.add(name)
        quoted = _quote(name)
        if call.python_func:
            # PYTHON_FUNC("x", a, b) → "x"(a, b): replace up to the second argument.
            stop = call.args[1][0] if len(call.args) > 1 else call.end
            body.edits.append((call.start, stop, quoted + "("))
        else:
            body.edits.append((call.start, call.name_end + 1, quoted))

    def table_call(
        self, sql: ir.Sql, stmt: ir.Statement, call: _Call, ctes: set[str], body: _Body
    ) -> None:
        udf = call.udf
        span = sql.span_of(call.start, call.end + 1)
        arg_ranges = call.args[1:] if call.python_func else call.args
        given = _arguments(sql.text, call.node, call.args)
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
        source = _table_name(given[0]) if given else None
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
            and _whole_query(sql.tree, call.table, misparsed=call.node is None)
        )
        if simple and isinstance(stmt, ir.CreateTable) and isinstance(stmt.mode, ir.Replace):
            body.replaced_by = ir.TableUdf(
                udf=udf.qualified,
                input=source,
                args=args,
                target=stmt.table,
                span=stmt.span,
                reads=frozenset({table_key(source)}),
                writes=frozenset({table_key(stmt.table)}),
            )
            return
        target = self.fresh_name(udf, source)
        body.lifted.append(
            ir.TableUdf(
                udf=udf.qualified,
                input=source,
                args=args,
                target=target,
                span=span,
                reads=frozenset({table_key(source)}),
                writes=frozenset({table_key(target)}),
            )
        )
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
            value = _literal(value_node)
            if value is _NOT_LITERAL:
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
        base = _NAME_CHARS.sub("_", f"udf_{udf.name}_{source}".lower()).strip("_")
        name, n = base, 1
        while table_key(name) in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(table_key(name))
        return name

    # -- rewriting ----------------------------------------------------------------------------

    def apply(self, sql: ir.Sql, body: _Body) -> ir.Sql | None:
        """The body with its calls rewritten (tree dropped: `rebind` parses the new text)."""
        names = tuple(sorted(body.names))
        if not body.edits:
            return dataclasses.replace(sql, udfs=names)
        rewritten = _rewrite(sql, body.edits)
        if rewritten is None:
            self.ctx.reporter.error(
                Code.INTERNAL,
                "internal compiler error: cannot rewrite the UDF calls of this statement; "
                "please report",
                sql.span,
            )
            return None
        return dataclasses.replace(rewritten, tree=None, udfs=names)

    # -- diagnostics --------------------------------------------------------------------------

    def unknown(self, span: Span, name: str) -> None:
        choices = [u.qualified for u in self.catalog.udfs]
        close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
        if not close:
            by_tail = {u.qualified.rsplit(".", 1)[-1]: u.qualified for u in self.catalog.udfs}
            tail = difflib.get_close_matches(name.rsplit(".", 1)[-1], list(by_tail), n=1)
            close = [by_tail[tail[0]]] if tail else []
        if close:
            hint = f"did you mean `{close[0]}`?"
        elif self.catalog.udfs:
            hint = "`sqlflowc udf list` shows the project's UDFs"
        else:
            hint = "this project has no UDFs: put modules in python_udfs/"
        self.ctx.reporter.error(
            Code.UNKNOWN_UDF,
            f"unknown UDF `{name}`",
            span,
            label="no UDF in python_udfs/ has this name",
            help=hint,
        )

    def ambiguous(self, span: Span, name: str, found: list[Udf]) -> None:
        listed = ", ".join(f"`{u.qualified}`" for u in found)
        self.ctx.reporter.error(
            Code.AMBIGUOUS_UDF,
            f"`{name}` could be any of {listed}",
            span,
            label="ambiguous UDF name",
            help=f'name one in full: PYTHON_FUNC("{found[0].qualified}", ...)',
        )

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


_NOT_LITERAL = object()


def _with_sql(stmt: ir.Statement, sql: ir.Sql) -> ir.Statement:
    match stmt:
        case ir.CreateTable() | ir.CreateView() | ir.Export():
            return dataclasses.replace(stmt, query=sql)
        case ir.SqlStatement():
            return dataclasses.replace(stmt, sql=sql)
        case _:
            raise AssertionError(stmt)


def _writes(stmt: ir.Statement) -> frozenset[str]:
    return frozenset() if isinstance(stmt, ir.Export) else stmt.writes


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tokens(text: str) -> list[Any] | None:
    try:
        return list(sqlglot.tokenize(text, dialect="duckdb"))
    except (TokenError, ParseError):
        return None


def _extent(tokens: list[Any], index: int) -> tuple[int, int, list[tuple[int, int]]] | None:
    """(start, end, args) of the call whose name is token `index`: text offsets of the name and
    of the closing parenthesis (inclusive), and each argument's `[start, end)` range."""
    if index + 1 >= len(tokens) or tokens[index + 1].token_type.name != "L_PAREN":
        return None
    depth = 0
    args: list[tuple[int, int]] = []
    first: int | None = None
    last = -1
    for tok in tokens[index + 2 :]:
        kind = tok.token_type.name
        if depth == 0 and kind in {"R_PAREN", "COMMA"}:
            if first is not None:
                args.append((first, last + 1))
            if kind == "R_PAREN":
                return tokens[index].start, tok.start, args
            first = None
            continue
        if kind in _OPEN:
            depth += 1
        elif kind in _CLOSE:
            depth -= 1
        if first is None:
            first = tok.start
        last = tok.end
    return None


@functools.cache
def _duckdb_functions() -> frozenset[str]:
    """The names of DuckDB's own functions (built-ins and extensions loaded by default)."""
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute("SELECT DISTINCT lower(function_name) FROM duckdb_functions()")
        return frozenset(str(r[0]) for r in rows.fetchall())
    finally:
        con.close()


def _arguments(text: str, node: exp.Func | None, ranges: list[tuple[int, int]]) -> list[exp.Expr]:
    """The argument expressions of a call at `ranges` (empty when one does not parse alone).

    An unknown function keeps its arguments in order; a function sqlglot knows may have
    rearranged them, so each argument's text is parsed on its own."""
    if isinstance(node, exp.Anonymous) and len(node.expressions) >= len(ranges):
        return list(node.expressions[: len(ranges)])
    out: list[exp.Expr] = []
    for start, end in ranges:
        try:
            parsed = sqlglot.parse_one(text[start:end], dialect="duckdb")
        except (ParseError, TokenError):
            return []
        out.append(parsed)
    return out


def _misparsed_call(table: exp.Table) -> int | None:
    """The name offset of `FROM name(args)` that sqlglot read as a table with column aliases
    (it does for names that are keywords to it, such as `keep`); DuckDB reads a table function
    call there, as `FROM t(a)` without AS or an alias name is no alias."""
    alias = table.args.get("alias")
    name = table.this
    if (
        isinstance(name, exp.Identifier)
        and not name.quoted
        and "start" in name.meta
        and isinstance(alias, exp.TableAlias)
        and alias.this is None
        and alias.columns
        and not table.args.get("db")
    ):
        return int(name.meta["start"])
    return None


def _udf_name_argument(node: exp.Expr | None) -> str | None:
    """The UDF name of PYTHON_FUNC's first argument: `"a.b.c"` (a quoted identifier in the
    duckdb dialect) or `'a.b.c'`."""
    if isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier):
        return node.this.name if node.this.quoted else None
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    return None


def _table_name(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Column) and all(isinstance(p, exp.Identifier) for p in node.parts):
        return ".".join(p.sql(dialect="duckdb") for p in node.parts)
    return None


def _literal(node: exp.Expr) -> Any:
    match node:
        case exp.Literal() if node.is_string:
            return str(node.this)
        case exp.Literal():
            text = str(node.this)
            try:
                return int(text)
            except ValueError:
                try:
                    return float(text)
                except ValueError:
                    return _NOT_LITERAL
        case exp.Neg():
            inner = _literal(node.this)
            return (
                -inner
                if isinstance(inner, int | float) and not isinstance(inner, bool)
                else _NOT_LITERAL
            )
        case exp.Boolean():
            return bool(node.this)
        case exp.Null():
            return None
    return _NOT_LITERAL


def _whole_query(tree: exp.Expr | None, table: exp.Table, *, misparsed: bool) -> bool:
    """True when the query is exactly `SELECT * FROM <call>` (no alias, clauses or joins);
    `table` is the FROM item holding the call (`misparsed`: read by sqlglot as a table with
    column aliases, which are the call's arguments)."""
    if not isinstance(tree, exp.Select):
        return False
    if len(tree.expressions) != 1 or not isinstance(tree.expressions[0], exp.Star):
        return False
    if tree.expressions[0].args.get("except") or tree.expressions[0].args.get("replace"):
        return False
    source = tree.args.get("from_")
    if not isinstance(source, exp.From) or source.this is not table:
        return False
    if (table.args.get("alias") and not misparsed) or table.args.get("joins"):
        return False
    others = {k for k, v in tree.args.items() if v and k not in {"expressions", "from_"}}
    return not others


def _rewrite(sql: ir.Sql, edits: list[tuple[int, int, str]]) -> ir.Sql | None:
    """Apply `[start, end) → replacement` edits of `sql.text` to its text, display, origin and
    splices (a splice inside an edited stretch is dropped: it no longer exists)."""
    edits = sorted(edits)
    for (_, end_a, _), (start_b, _, _) in itertools.pairwise(edits):
        if start_b < end_a:
            return None
    text = _splice(sql.text, edits)
    if sql.display == sql.text:
        display = text
    else:
        moved = _align(sql.text, sql.display, edits)
        if moved is None:
            return None
        display = _splice(sql.display, moved)

    def shift(offset: int) -> int:
        delta = 0
        for start, end, repl in edits:
            if end <= offset:
                delta += len(repl) - (end - start)
        return offset + delta

    inside = [(s, e) for s, e, _ in edits]
    points: dict[int, int] = {0: sql.file_offset(0)}
    for t_off, _ in sql.origin:
        if not any(s <= t_off < e for s, e in inside):
            points[shift(t_off)] = sql.file_offset(t_off)
    for start, end, repl in edits:
        points[shift(start)] = sql.file_offset(start)
        if len(repl) > 0:
            points[shift(start) + len(repl)] = sql.file_offset(end)
    origin = tuple(sorted(points.items()))
    splices = tuple(
        (shift(start), shift(end), ref)
        for start, end, ref in sql.splices
        if not any(s < end and start < e for s, e in inside)
    )
    return dataclasses.replace(sql, text=text, display=display, origin=origin, splices=splices)


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    pos = 0
    for start, end, repl in edits:
        out.append(text[pos:start])
        out.append(repl)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _align(
    text: str, display: str, edits: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]] | None:
    """The same edits on `display`, which differs from `text` only where secrets were spliced."""
    blocks = difflib.SequenceMatcher(None, text, display, autojunk=False).get_matching_blocks()
    out: list[tuple[int, int, str]] = []
    for start, end, repl in edits:
        for a, b, size in blocks:
            if a <= start and end <= a + size:
                out.append((b + start - a, b + end - a, repl))
                break
        else:
            return None
    return out
