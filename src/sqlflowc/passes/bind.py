"""Bind SQL bodies: parse each with sqlglot (dialect duckdb); find the tables each reads and writes.

Requires: a resolved `Program` (no variables, no IF, no INCLUDE).
Ensures: every `Sql` has its sqlglot `tree` (None when sqlglot cannot parse a body DuckDB accepts —
such a statement becomes an opaque barrier, with a warning); every statement has `reads`/`writes`
(table keys, see `program.table_key`); SQL syntax errors are reported at their `.sf` position.
Valid DuckDB SQL is never rejected because sqlglot cannot parse it: DuckDB's own parser decides.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope

from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.ir.program import table_key
from sqlflowc.passes.context import PassContext

_QUERY_TYPES = (exp.Query, exp.Values)


def bind(prog: ir.Program, ctx: PassContext) -> ir.Program:
    """Attach sqlglot trees and table reads/writes to every statement."""
    binder = _Binder(ctx)
    statements = tuple(binder.statement(s) for s in prog.statements)
    return dataclasses.replace(prog, statements=statements)


class _Binder:
    def __init__(self, ctx: PassContext) -> None:
        self.ctx = ctx

    def statement(self, stmt: ir.Statement) -> ir.Statement:
        match stmt:
            case ir.Load():
                return dataclasses.replace(stmt, writes=frozenset({table_key(stmt.table)}))
            case ir.CreateTable():
                query = self.query(stmt.query, "CREATE TABLE ... AS")
                return dataclasses.replace(
                    stmt,
                    query=query,
                    reads=_reads(query.tree),
                    writes=frozenset({table_key(stmt.table)}),
                )
            case ir.CreateView():
                query = self.query(stmt.query, "CREATE VIEW ... AS")
                return dataclasses.replace(
                    stmt,
                    query=query,
                    reads=_reads(query.tree),
                    writes=frozenset({table_key(stmt.view)}),
                )
            case ir.Export():
                query = self.query(stmt.query, "EXPORT")
                return dataclasses.replace(stmt, query=query, reads=_reads(query.tree))
            case ir.SqlStatement():
                sql = self.parse(stmt.sql)
                if sql.tree is None:
                    return dataclasses.replace(stmt, sql=sql, barrier=True)
                reads, writes, barrier = _effects(sql.tree)
                return dataclasses.replace(
                    stmt, sql=sql, reads=reads, writes=writes, barrier=barrier
                )
            case _:
                raise AssertionError(f"unexpected statement {stmt!r}")

    def query(self, sql: ir.Sql, where: str) -> ir.Sql:
        """Parse a body that must be a query (SELECT, WITH, VALUES, FROM-first)."""
        bound = self.parse(sql)
        if bound.tree is not None and not isinstance(bound.tree, _QUERY_TYPES):
            self.ctx.reporter.error(
                Code.SQL_WRONG_KIND,
                f"{where} needs a query, found a {bound.tree.key.upper()} statement",
                sql.span_of(0, len(sql.text.split(None, 1)[0]) if sql.text.strip() else 1),
                label="expected SELECT, WITH, VALUES or FROM",
            )
        return bound

    def parse(self, sql: ir.Sql) -> ir.Sql:
        if not sql.text.strip():
            self.ctx.reporter.error(Code.SQL_EMPTY, "empty SQL statement", sql.span)
            return sql
        try:
            trees = sqlglot.parse(sql.text, dialect="duckdb")
        except (ParseError, TokenError) as err:
            return self.fallback(sql, err)
        tree = trees[0] if len(trees) == 1 else None
        if tree is None or isinstance(tree, exp.Command):
            # sqlglot keeps what it does not understand as a Command: let DuckDB decide.
            return self.fallback(sql, None)
        return dataclasses.replace(sql, tree=tree)

    def fallback(self, sql: ir.Sql, err: ParseError | TokenError | None) -> ir.Sql:
        """sqlglot could not parse the body: DuckDB's parser decides (§2)."""
        problem = duckdb_syntax_error(sql.text)
        if problem is None:
            if err is not None:
                self.ctx.reporter.warning(
                    Code.SQL_OPAQUE,
                    "sqlglot cannot analyse this statement; it runs as written, as an "
                    "ordering barrier",
                    sql.span_of(0, min(len(sql.text), len(sql.text.split("\n", 1)[0]))),
                    help="its table dependencies are unknown, so it runs after everything "
                    "before it and before everything after it",
                )
            return sql
        message, position = problem
        start = min(max(position, 0), max(len(sql.text) - 1, 0))
        end = start + max(1, _token_length(sql.text, start))
        self.ctx.reporter.error(
            Code.SQL_SYNTAX,
            f"SQL syntax error: {message}",
            sql.span_of(start, end),
            label="DuckDB cannot parse the SQL here",
        )
        return sql


def duckdb_syntax_error(text: str) -> tuple[str, int] | None:
    """DuckDB's verdict on a statement's syntax: None when it parses, else (message, offset)."""
    import duckdb  # only on this rare path: sqlglot already failed

    con = duckdb.connect()
    try:
        row = con.execute("SELECT json_serialize_sql(?)", [text]).fetchall()
    finally:
        con.close()
    result: dict[str, Any] = json.loads(row[0][0])
    if not result.get("error") or result.get("error_type") != "parser":
        return None
    byte_pos = int(result.get("position", 0))
    char_pos = len(text.encode()[:byte_pos].decode(errors="ignore"))
    return str(result.get("error_message", "syntax error")), char_pos


def _token_length(text: str, start: int) -> int:
    n = 0
    while start + n < len(text) and not text[start + n].isspace():
        n += 1
    return n


def _table_keys(tables: list[exp.Table]) -> frozenset[str]:
    keys: set[str] = set()
    for t in tables:
        if not isinstance(t.this, exp.Identifier):
            continue  # a table function such as read_csv(...)
        name = t.name
        if not name or any(c in name for c in "/\\*?") or (t.this.quoted and "." in name):
            continue  # a file path: FROM 'data/*.parquet'
        keys.add(table_key(exp.table_name(t)))
    return frozenset(keys)


def _reads(tree: exp.Expr | None) -> frozenset[str]:
    """Tables a query reads, from sqlglot scopes (CTE names are scopes, not tables)."""
    if tree is None:
        return frozenset()
    tables: list[exp.Table] = []
    try:
        scopes = traverse_scope(tree)
    except (ParseError, ValueError, KeyError, AttributeError):
        # The scope builder rejects some valid DuckDB shapes; fall back to every table node
        # minus the CTE names defined in the statement.
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        tables = [t for t in tree.find_all(exp.Table) if t.name.lower() not in ctes]
        return _table_keys(tables)
    for scope in scopes:
        tables.extend(s for s in scope.sources.values() if isinstance(s, exp.Table))
    return _table_keys(tables)


def _target(node: exp.Expr | None) -> frozenset[str]:
    while isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        return _table_keys([node])
    return frozenset()


def _effects(tree: exp.Expr) -> tuple[frozenset[str], frozenset[str], bool]:
    """(reads, writes, barrier) of a SQL statement run as written."""
    reads = _reads(tree) if isinstance(tree, _QUERY_TYPES) else frozenset()
    match tree:
        case exp.Insert() | exp.Merge():
            target = _target(tree.this)
            return _nested_reads(tree) | target, target, not target
        case exp.Update() | exp.Delete():
            target = _target(tree.this)
            return _nested_reads(tree) | target, target, not target
        case exp.Create() | exp.Drop():
            kind = str(tree.args.get("kind") or "").upper()
            if kind in {"TABLE", "VIEW"}:
                target = _target(tree.this)
                return _nested_reads(tree), target, not target
            if kind == "INDEX":
                on = tree.find(exp.Table)
                target = _target(on)
                return target, target, not target
            return frozenset(), frozenset(), True
        case exp.Alter():
            target = _target(tree.this)
            return target, target, not target
        case exp.Copy():
            target = _target(tree.this)
            return _nested_reads(tree) | target, target, False
        case exp.Summarize() | exp.Describe():
            found = _nested_reads(tree) | _target(tree.this)
            return found, frozenset(), not found
    if isinstance(tree, _QUERY_TYPES):
        return reads, frozenset(), False
    return frozenset(), frozenset(), True


def _nested_reads(tree: exp.Expr) -> frozenset[str]:
    """Tables read by the queries nested in a DML/DDL statement."""
    found: set[str] = set()
    for node in tree.iter_expressions():
        for q in node.find_all(exp.Query):
            if q.parent is None or not isinstance(q.parent, exp.Query):
                found |= _reads(q)
    return frozenset(found)
