"""Bind SQL bodies: parse each with sqlglot (dialect duckdb); find the tables each reads and writes.

Requires: a resolved `Program` (no variables, no IF, no INCLUDE).
Ensures: a `BoundProgram` with one `Binding` per statement: the body's sqlglot tree (`OPAQUE`
when sqlglot cannot parse a body DuckDB accepts: such a statement is an ordering barrier, which
`build_dag` warns of), the tables it reads and writes (table keys, see `names.table_key`).
SQL syntax errors are reported at their `.sf` position. Valid DuckDB SQL is never rejected
because sqlglot cannot parse it: DuckDB's own parser decides. `binding` and `sqlglot_tree` do the
same without diagnostics, for a pass that rewrites a body (`resolve_udfs`).

>>> from sqlflowc.api import compile_context, parse, to_program
>>> ctx = compile_context()
>>> text = "CREATE TABLE t AS SELECT * FROM a JOIN b USING (id);"
>>> prog = to_program(parse(text, sources=ctx.sources), ctx, program_passes=())
>>> found = bind(prog, ctx).bindings[0]
>>> sorted(found.reads), sorted(found.writes), found.barrier
(['a', 'b'], ['t'], False)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
from collections.abc import Iterable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope

from sqlflowc.diagnostics import Code
from sqlflowc.ir import ast
from sqlflowc.ir import program as ir
from sqlflowc.names import parts_key, table_key
from sqlflowc.passes.context import PassContext
from sqlflowc.secret_masking import mask_secrets

__all__ = ["bind", "binding", "duckdb_syntax_error", "sqlglot_tree"]

_QUERY_TYPES = (exp.Query, exp.Values)

# sqlglot logs "falling back to parsing as a Command" on stderr; build_dag's SF0402 warning
# says it.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def bind(prog: ir.Program, ctx: PassContext) -> ir.BoundProgram:
    """The program with a `Binding` for every statement."""
    binder = _Binder(ctx, prog.secrets.values())
    fields = {f.name: getattr(prog, f.name) for f in dataclasses.fields(ir.Program)}
    return ir.BoundProgram(**fields, bindings=tuple(binder.statement(s) for s in prog.statements))


def sqlglot_tree(text: str) -> exp.Expr | ir.Opaque:
    """sqlglot's tree of one statement, `OPAQUE` when sqlglot cannot parse it (no diagnostic)."""
    try:
        trees = sqlglot.parse(text, dialect="duckdb")
    except (ParseError, TokenError, RecursionError):
        # RecursionError: sqlglot's parser is recursive; DuckDB's handles deep nesting.
        return ir.OPAQUE
    tree = trees[0] if len(trees) == 1 else None
    if tree is None or isinstance(tree, exp.Command):
        return ir.OPAQUE  # sqlglot keeps what it does not understand as a Command
    return tree


def binding(stmt: ir.Statement, tree: exp.Expr | ir.Opaque | None) -> ir.Binding:
    """What `stmt` reads and writes, given the tree of its SQL body (None for a LOAD or a
    table UDF)."""
    match stmt:
        case ir.Load():
            return ir.Binding(
                tree=None,
                reads=frozenset(),
                writes=frozenset({table_key(stmt.table)}),
                barrier=False,
            )
        case ir.TableUdf():
            return ir.Binding(
                tree=None,
                reads=frozenset({table_key(stmt.input)}),
                writes=frozenset({table_key(stmt.target)}),
                barrier=False,
            )
        case ir.CreateTable() | ir.CreateView():
            target = stmt.table if isinstance(stmt, ir.CreateTable) else stmt.view
            return ir.Binding(
                tree=tree,
                reads=_reads(tree),
                writes=frozenset({table_key(target)}),
                barrier=not isinstance(tree, exp.Expr),
            )
        case ir.Export():
            return ir.Binding(
                tree=tree,
                reads=_reads(tree),
                writes=frozenset(),
                barrier=not isinstance(tree, exp.Expr),
            )
        case ir.SqlStatement():
            if not isinstance(tree, exp.Expr):
                return ir.Binding(tree=tree, reads=frozenset(), writes=frozenset(), barrier=True)
            reads, writes, barrier = _effects(tree)
            return ir.Binding(tree=tree, reads=reads, writes=writes, barrier=barrier)
        case _:
            raise AssertionError(f"unexpected statement {stmt!r}")


class _Binder:
    def __init__(self, ctx: PassContext, secrets: Iterable[str] = ()) -> None:
        self.ctx = ctx
        self.secrets = tuple(secrets)

    def statement(self, stmt: ir.Statement) -> ir.Binding:
        match stmt:
            case ir.CreateTable() | ir.CreateView():
                verb = "TABLE" if isinstance(stmt, ir.CreateTable) else "VIEW"
                return binding(stmt, self.query(stmt.query, f"CREATE {verb} ... AS"))
            case ir.Export():
                return binding(stmt, self.query(stmt.query, "EXPORT"))
            case ir.SqlStatement():
                return binding(stmt, self.parse(stmt.sql))
            case _:
                return binding(stmt, None)

    def query(self, sql: ir.Sql, where: str) -> exp.Expr | ir.Opaque:
        """Parse a body that must be a query (SELECT, WITH, VALUES, FROM-first)."""
        tree = self.parse(sql)
        if isinstance(tree, exp.Expr) and not isinstance(tree, _QUERY_TYPES):
            self.ctx.reporter.error(
                Code.SQL_WRONG_KIND,
                f"{where} needs a query, found {_a(tree.key.upper())} statement",
                sql.span_of(0, len(sql.text.split(None, 1)[0]) if sql.text.strip() else 1),
                label="expected SELECT, WITH, VALUES or FROM",
            )
        return tree

    def parse(self, sql: ir.Sql) -> exp.Expr | ir.Opaque:
        """The body's tree; a syntax error (DuckDB's parser decides) is reported, and the body
        is `OPAQUE` then (the compilation stops after this pass)."""
        if not sql.text.strip():
            self.ctx.reporter.error(Code.SQL_EMPTY, "empty SQL statement", sql.span)
            return ir.OPAQUE
        tree = sqlglot_tree(sql.text)
        if isinstance(tree, exp.Expr) and not self.ctx.verify_sql:
            return tree
        problem = duckdb_syntax_error(sql.text)
        if problem is not None:
            self.syntax_error(sql, *problem)
            return ir.OPAQUE
        return tree

    def syntax_error(self, sql: ir.Sql, message: str, position: int) -> None:
        """Report DuckDB's syntax error at its place in the `.sf` file."""
        text = sql.text
        start = min(max(position, 0), max(len(text) - 1, 0))
        line_start = text.rfind("\n", 0, start) + 1
        word = text[start : start + _token_length(text, start)]
        secret = next((s for s in sql.splices if s.secret and s.start <= start < s.end), None)
        if secret is not None:
            # DuckDB quotes the word it stopped at: a word of the secret (maybe too short to
            # mask), so none of its message is shown.
            self.ctx.reporter.error(
                Code.SQL_SYNTAX,
                f"SQL syntax error inside the value of secret `{secret.name}`",
                secret.ref,
                label="DuckDB cannot parse the SQL the value makes here",
                help="a value is spliced in as it is: write a secret that is text inside a "
                "quoted literal (`'${" + secret.name + "}'`)",
            )
            return
        if (
            line_start > 0
            and not text[line_start:start].strip()
            and word.upper() in _NEXT_STATEMENT
        ):
            # The body ran on into the next statement: a ";" is missing at the end of the line
            # before.
            end = len(text[:line_start].rstrip())
            self.ctx.reporter.error(
                Code.MISSING_SEMICOLON,
                "missing `;` at the end of the statement",
                sql.span_of(end - 1, end),
                label="expected `;` after this",
                help=f"`{word.upper()}` on the next line starts a new statement",
            )
            return
        notes = tuple(
            f"`{self.ctx.sources.text(splice.ref)}` is spliced in as "
            f"`{text[splice.start : splice.end]}`"
            for splice in sql.splices
            if splice.start <= start < splice.end and sql.text == sql.display  # no secrets
        )
        self.ctx.reporter.error(
            Code.SQL_SYNTAX,
            f"SQL syntax error: {mask_secrets(message, self.secrets)}",
            sql.span_of(start, start + max(1, len(word))),
            label="DuckDB cannot parse the SQL here",
            help=_template_hint(text, start),
            notes=notes,
        )


# Words that, first on a line where DuckDB stopped, start the next statement: SQLFlow's, and
# the SQL verbs that never continue a statement (not SELECT, FROM, WITH, ...).
_NEXT_STATEMENT = frozenset(
    {*ast.STATEMENT_KEYWORDS, *ast.BRANCH_END_KEYWORDS}
    | {"INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "PRAGMA", "COPY", "MERGE"}
)


@functools.cache
def _duckdb_parser() -> Any:
    """One in-memory DuckDB connection, used only for its parser."""
    import duckdb  # imported on first use: only `check`, `run` and sqlglot's failures need it

    return duckdb.connect()


def duckdb_syntax_error(text: str) -> tuple[str, int] | None:
    """DuckDB's verdict on a statement's syntax: None when it parses, else (message, offset)."""
    row = _duckdb_parser().execute("SELECT json_serialize_sql(?)", [text]).fetchall()
    serialized: str = row[0][0]
    if not serialized.startswith('{"error":true'):
        return None  # parsed: the (possibly very deep) statement tree is not needed
    result: dict[str, Any] = json.loads(serialized)
    if not result.get("error") or result.get("error_type") != "parser":
        return None
    byte_pos = int(result.get("position", 0))
    char_pos = len(text.encode()[:byte_pos].decode(errors="ignore"))
    return str(result.get("error_message", "syntax error")), char_pos


# A dbt/Jinja reference, `{{ name }}` or `{{ var('name') }}`.
_JINJA = re.compile(r"\{\{\s*(?:var\(\s*['\"])?([A-Za-z_][A-Za-z0-9_]*)?")


def _template_hint(text: str, start: int) -> str:
    """For a syntax error at a `{{ ... }}` (dbt, Jinja): how SQLFlow writes a variable."""
    match = _JINJA.match(text, start) or _JINJA.match(text, max(0, start - 1))
    if match is None:
        return ""
    name = match.group(1)
    if name is not None and text[match.end() :].lstrip().startswith(("}}", "')", '")')):
        return f"`{{{{ ... }}}}` is dbt/Jinja syntax: write `${{{name}}}` for a variable"
    return "`{{ ... }}` is dbt/Jinja syntax: variables are written `${name}`"


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "AEIOU" else f"a {word}"


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
        keys.add(parts_key([part.name for part in t.parts]))
    return frozenset(keys)


def _reads(tree: exp.Expr | ir.Opaque | None) -> frozenset[str]:
    """Tables a query reads, from sqlglot scopes (CTE names are scopes, not tables)."""
    if not isinstance(tree, exp.Expr):
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
        case exp.Drop() | exp.TruncateTable():
            # DROP keeps its tables in `tables`, TRUNCATE in `expressions`.
            kind = str(tree.args.get("kind") or "TABLE").upper()
            named = [*tree.args.get("tables", []), *tree.expressions]
            targets = frozenset().union(*(_target(t) for t in named)) if named else frozenset()
            if kind in {"TABLE", "VIEW"} and targets:
                return targets, targets, False
            return frozenset(), frozenset(), True
        case exp.Create():
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
