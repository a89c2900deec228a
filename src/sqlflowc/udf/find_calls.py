"""The Python UDF calls in one SQL body and the UDF each one means, for `passes/resolve_udfs.py`.

`find_calls(sql, tree, catalog, reporter)` finds the calls:
- in a body sqlglot parsed, as function nodes of its tree (not `schema.fn(...)`), and as
  `FROM name(args)` that sqlglot read as a table with column aliases when `name` is a UDF's;
- in a body it could not parse, in its tokens: a UDF's name, a quoted name or PYTHON_FUNC before
  `(` (not after a `.`); in FROM when right after FROM or JOIN.
A quoted name is a UDF's registered name; PYTHON_FUNC's first argument names one by any
unambiguous dotted suffix; a bare name is the UDF of that name, unless DuckDB has a function of
that name (a warning says so). Reported here: an unknown UDF (SF0801, with "did you mean"), an
ambiguous name (SF0803), PYTHON_FUNC without a name, a scalar UDF in FROM or a table UDF outside
it (SF0807); a bare name close to a UDF's that is no function at all is a warning. A call with
an error is left out of the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import program as ir
from sqlflowc.source import Span
from sqlflowc.suggest import closest
from sqlflowc.udf import UdfKind, sql_calls
from sqlflowc.udf.discovery import UdfCatalog
from sqlflowc.udf.signature import Udf

__all__ = ["PYTHON_FUNC", "Call", "find_calls"]

PYTHON_FUNC = "PYTHON_FUNC"


@dataclass(slots=True)
class Call:
    """One UDF call in a SQL body: the UDF it means and where it is in the text."""

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


def find_calls(
    sql: ir.Sql, tree: exp.Expr | None, catalog: UdfCatalog, reporter: Reporter
) -> list[Call]:
    """The UDF calls of a body (`tree` is its sqlglot tree, None when sqlglot cannot parse it)
    that resolve and stand where their kind belongs, in order."""
    finder = _Finder(catalog, reporter)
    return finder.calls(sql, tree) if tree is not None else finder.token_calls(sql)


class _Finder:
    def __init__(self, catalog: UdfCatalog, reporter: Reporter) -> None:
        self.catalog = catalog
        self.reporter = reporter

    def calls(self, sql: ir.Sql, tree: exp.Expr) -> list[Call]:
        """The UDF calls in a body that resolve, each checked for its position (errors
        reported, unresolved calls left out)."""
        found: list[tuple[int, exp.Func | None, exp.Table | None]] = []  # (offset, node, FROM)
        for func in tree.find_all(exp.Func):
            if "start" not in func.meta:
                continue
            owner = func.parent if isinstance(func.parent, exp.Table) else None
            if owner is not None and func.arg_key != "this":
                owner = None
            if owner is not None and (owner.args.get("db") or owner.args.get("catalog")):
                continue  # schema.fn(...) is not a UDF call
            found.append((int(func.meta["start"]), func, owner))
        for item in tree.find_all(exp.Table):
            start = sql_calls.misparsed_call(item)
            if start is not None and self.catalog.bare(item.name):
                found.append((start, None, item))
        if not found:
            return []
        tokens = sql_calls.tokens(sql.text)
        if tokens is None:
            return []
        by_start = {t.start: i for i, t in enumerate(tokens)}
        out: list[Call] = []
        for offset, node, table in sorted(found, key=lambda f: f[0]):
            index = by_start.get(offset)
            if index is None or not (self.catalog.udfs or _head(tokens[index])[2]):
                continue
            call = self.call(sql, tokens, index, node, table is not None, table)
            if call is not None:
                out.append(call)
        return out

    def token_calls(self, sql: ir.Sql) -> list[Call]:
        """The UDF calls of a body sqlglot cannot parse, found in its tokens: a UDF's name or
        PYTHON_FUNC before `(`; in FROM when right after FROM or JOIN."""
        if not sql.text.strip() or (PYTHON_FUNC not in sql.text.upper() and not self.catalog.udfs):
            return []
        tokens = sql_calls.tokens(sql.text)
        if tokens is None:
            return []
        out: list[Call] = []
        for index, token in enumerate(tokens):
            name, quoted, python_func = _head(token)
            if not (python_func or quoted or self.catalog.bare(name)):
                continue
            previous = tokens[index - 1].token_type.name if index else ""
            if previous == "DOT":
                continue
            call = self.call(sql, tokens, index, None, previous in {"FROM", "JOIN"})
            if call is not None:
                out.append(call)
        return out

    def call(
        self,
        sql: ir.Sql,
        tokens: list[Any],
        index: int,
        node: exp.Func | None,
        in_from: bool,
        table: exp.Table | None = None,
    ) -> Call | None:
        """The UDF call whose name is token `index`, resolved and checked for its position;
        None when it is no call or does not resolve (errors reported)."""
        extent = sql_calls.call_extent(tokens, index)
        if extent is None:
            return None
        start, end, args = extent
        token = tokens[index]
        name, quoted, python_func = _head(token)
        udf = self.resolve(sql, node, name, quoted, python_func, start, end, args)
        if udf is None:
            return None
        nargs = len(args) - (1 if python_func else 0)
        call = Call(udf, node, nargs, start, end, token.end, args, python_func, in_from, table)
        return call if self.check_position(sql, call) else None

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
        first = sql_calls.arguments(sql.text, node, args[:1])
        target = sql_calls.udf_name_argument(first[0] if first else None)
        if target is None:
            where = sql.span_of(*args[0]) if args else sql.span_of(start, end + 1)
            self.reporter.error(
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
        builtin = name.lower() in sql_calls.duckdb_functions()
        if not found:
            if isinstance(node, exp.Anonymous) and not builtin:
                names = sorted({u.name for u in self.catalog.udfs})
                close = closest(name, names, cutoff=0.8)
                if close is not None:
                    self.reporter.warning(
                        Code.UNKNOWN_UDF,
                        f"`{name}` is neither a DuckDB function nor a UDF",
                        span,
                        label="unknown function",
                        help=f"did you mean the UDF `{close}`?",
                    )
            return None
        if builtin:
            self.reporter.warning(
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

    def check_position(self, sql: ir.Sql, call: Call) -> bool:
        udf, span = call.udf, sql.span_of(call.start, call.end + 1)
        if call.in_from and udf.kind is UdfKind.SCALAR:
            self.reporter.error(
                Code.UDF_MISUSE,
                f"`{udf.qualified}` is a scalar UDF, used here as a table",
                span,
                label="a scalar UDF returns one value per row",
                help=f"call it in the select list: SELECT {udf.name}(column) FROM table",
            )
            return False
        if not call.in_from and udf.kind is UdfKind.TABLE:
            self.reporter.error(
                Code.UDF_MISUSE,
                f"`{udf.qualified}` is a table UDF, used here as a scalar function",
                span,
                label="a table UDF returns a table",
                help=f"use it in FROM: SELECT * FROM {udf.name}(table_name)",
            )
            return False
        return True

    # -- diagnostics --------------------------------------------------------------------------

    def unknown(self, span: Span, name: str) -> None:
        choices = [u.qualified for u in self.catalog.udfs]
        close = closest(name, choices)
        if close is None:
            by_tail = {u.qualified.rsplit(".", 1)[-1]: u.qualified for u in self.catalog.udfs}
            tail = closest(name.rsplit(".", 1)[-1], by_tail)
            close = by_tail[tail] if tail is not None else None
        if close is not None:
            hint = f"did you mean `{close}`?"
        elif self.catalog.udfs:
            hint = "`sqlflowc udf list` shows the project's UDFs"
        else:
            hint = "this project has no UDFs: put modules in python_udfs/"
        self.reporter.error(
            Code.UNKNOWN_UDF,
            f"unknown UDF `{name}`",
            span,
            label="no UDF in python_udfs/ has this name",
            help=hint,
        )

    def ambiguous(self, span: Span, name: str, found: list[Udf]) -> None:
        listed = ", ".join(f"`{u.qualified}`" for u in found)
        self.reporter.error(
            Code.AMBIGUOUS_UDF,
            f"`{name}` could be any of {listed}",
            span,
            label="ambiguous UDF name",
            help=f'name one in full: PYTHON_FUNC("{found[0].qualified}", ...)',
        )


def _head(token: Any) -> tuple[str, bool, bool]:
    """(name, quoted, is PYTHON_FUNC) of the token that may name a called function."""
    name = str(token.text)
    quoted = token.token_type.name == "IDENTIFIER"
    return name, quoted, not quoted and name.upper() == PYTHON_FUNC
