"""Lower a Lark parse tree into the surface IR (`sqlflowc.ir.ast`), attaching spans.

Also checks what the permissive grammar leaves open: load-mode clause combinations, `${...}`
reference syntax, transaction statements. Errors go to the `Reporter`; lowering carries on so
every error in the file is reported at once. Statements and conditions are lowered here, values
(literals, names, templates, JSON) by `lower_values.py`, MODE clauses by `lower_modes.py`.
"""

from __future__ import annotations

import re
from typing import Any, cast

from lark import Token, Tree

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import ast
from sqlflowc.source import Span
from sqlflowc.syntax.lower_modes import load_mode
from sqlflowc.syntax.lower_values import ValueLowerer
from sqlflowc.syntax.parser import parse_text
from sqlflowc.syntax.varref import make_template

_COMPARE_OPS = {
    "=": ast.CompareOp.EQ,
    "==": ast.CompareOp.EQ,
    "!=": ast.CompareOp.NE,
    "<>": ast.CompareOp.NE,
    "<": ast.CompareOp.LT,
    "<=": ast.CompareOp.LE,
    ">": ast.CompareOp.GT,
    ">=": ast.CompareOp.GE,
}
MAX_IF_DEPTH = 64
_TRANSACTION_VERBS = {"BEGIN", "COMMIT", "ROLLBACK", "ABORT"}
_DUCKDB_SETTINGS = {
    "threads",
    "memory_limit",
    "max_memory",
    "temp_directory",
    "default_order",
    "enable_progress_bar",
    "preserve_insertion_order",
    "timezone",
    "search_path",
    "schema",
    "worker_threads",
    "null_order",
    "default_null_order",
    "max_temp_directory_size",
}


def parse_pipeline(text: str, file_id: int, reporter: Reporter) -> ast.Pipeline | None:
    """Parse and lower one file; None (with diagnostics reported) when it has syntax errors."""
    result = parse_text(text, file_id)
    for diag in result.diagnostics:
        reporter.add(diag)
    if result.tree is None:
        return None
    lowerer = _Lowerer(file_id, text, reporter)
    try:
        statements = lowerer.statements(result.tree.children)
    except RecursionError:
        # Only a pathological input gets here (thousands of nested NOTs or parentheses).
        reporter.error(
            Code.SYNTAX_ERROR,
            "the pipeline nests too deeply to compile",
            Span(file_id, 0, min(1, len(text))),
            help="simplify deeply nested conditions or parentheses",
        )
        return None
    comments = tuple(ast.Comment(text=str(t), span=lowerer.tok_span(t)) for t in result.comments)
    return ast.Pipeline(statements=statements, file_id=file_id, comments=comments)


class _Lowerer(ValueLowerer):
    def __init__(self, file_id: int, text: str, reporter: Reporter) -> None:
        super().__init__(file_id, text, reporter)
        self.if_depth = 0

    # -------------------------------------------------------------- statements

    def statements(self, children: list[Any]) -> tuple[ast.Statement, ...]:
        out: list[ast.Statement] = []
        for child in children:
            stmt = self.statement(child)
            if stmt is not None:
                out.append(stmt)
        return tuple(out)

    def statement(self, tree: Tree[Token]) -> ast.Statement | None:
        method = getattr(self, f"stmt_{tree.data}")
        result: ast.Statement | None = method(tree, self.span(tree))
        return result

    def stmt_source_typed(self, t: Tree[Token], span: Span) -> ast.Statement:
        name, connector, params = t.children
        return ast.SourceDecl(
            name=self.name(name),
            connector=self.name(connector),
            params=self.json_object(params),
            span=span,
        )

    def stmt_source_profile(self, t: Tree[Token], span: Span) -> ast.Statement:
        name, conn, options = t.children
        return ast.SourceFromProfile(
            name=self.name(name),
            connection=self.string(conn),
            options=self.json_object(options) if options is not None else None,
            span=span,
        )

    def stmt_load_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        table, source, mode = t.children
        return ast.Load(
            table=self.table_name(table),
            source=self.name(source),
            mode=load_mode(self, mode) if mode is not None else None,
            span=span,
        )

    def stmt_create_table_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        or_replace, if_not_exists, table, mode, body = t.children
        kind = str(cast(Tree[Token], mode).children[0]).upper() if mode is not None else "REPLACE"
        if kind != "REPLACE":
            for clause, words in ((or_replace, "OR REPLACE"), (if_not_exists, "IF NOT EXISTS")):
                if clause is not None:
                    self.reporter.error(
                        Code.MODE_CONFLICT,
                        f"`{words}` contradicts `MODE {kind}`",
                        self.span(clause),
                        label="the load mode decides what happens to an existing table",
                        help=f"remove `{words}`",
                    )
        return ast.CreateTable(
            table=self.table_name(table),
            query=self.sql(body),
            mode=load_mode(self, mode) if mode is not None else None,
            or_replace=or_replace is not None,
            if_not_exists=if_not_exists is not None,
            span=span,
        )

    def stmt_create_view_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        or_replace, if_not_exists, view, body = t.children
        return ast.CreateView(
            view=self.table_name(view),
            query=self.sql(body),
            or_replace=or_replace is not None,
            if_not_exists=if_not_exists is not None,
            span=span,
        )

    def stmt_create_ddl_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        # A DDL `CREATE TABLE t (cols)` is ordinary SQL, run as written.
        return self._raw_sql("CREATE", span)

    def stmt_sql_stmt(self, t: Tree[Token], span: Span) -> ast.Statement | None:
        verb_tok = t.children[0]
        assert isinstance(verb_tok, Token)
        verb = str(verb_tok).upper()
        if verb in _TRANSACTION_VERBS:
            self.reporter.error(
                Code.TRANSACTION_CONTROL,
                f"`{verb}` is not allowed in a pipeline",
                self.tok_span(verb_tok),
                label="transactions are managed by sqlflowc",
                help="every statement already runs in its own transaction; remove this line",
            )
            return None
        return self._raw_sql(verb, span)

    def _raw_sql(self, verb: str, span: Span) -> ast.Statement:
        # The statement's text without the terminating `;`, taken from the source so nothing
        # between the verb and the body (comments, spacing) is lost.
        full = self.source_text(span)
        text = full[: full.rstrip().rfind(";")].rstrip() if full.rstrip().endswith(";") else full
        body_span = Span(self.file_id, span.start, span.start + len(text))
        return ast.SqlStatement(verb=verb, sql=self.sql_body(text, body_span), span=span)

    def stmt_export_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        query_tok, uri, fmt_name, options = t.children
        assert isinstance(query_tok, Token)
        text, qspan = self.body_span(query_tok)
        table = _as_table_name(text, qspan)
        uri_lit = self.string(uri)
        assert isinstance(uri_lit.value, str)
        return ast.Export(
            query=None if table else self.sql_body(text, qspan),
            table=table,
            uri=uri_lit,
            uri_template=make_template(uri_lit.value, uri_lit.span.inner(), self.reporter),
            format=self.name(fmt_name),
            options=self.json_object(options) if options is not None else None,
            span=span,
        )

    def stmt_set_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        name, value = t.children
        lowered = self.scalar(value)
        var = self.name(name).value
        if var.lower() in _DUCKDB_SETTINGS:
            self.reporter.warning(
                Code.SET_SHADOWS_SETTING,
                f"`SET {var} = ...` sets a SQLFlow variable, not DuckDB's setting",
                span,
                label="a pipeline variable",
                help=f"to change DuckDB's setting write `SET {var} TO ...` "
                "or `PRAGMA`; use another name for a variable",
            )
        return ast.Set(name=self.name(name), value=lowered, span=span)

    def stmt_include_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        path, alias = t.children
        return ast.Include(
            path=self.string(path),
            alias=self.name(alias) if alias is not None else None,
            span=span,
        )

    def stmt_if_stmt(self, t: Tree[Token], span: Span) -> ast.Statement | None:
        if self.if_depth >= MAX_IF_DEPTH:
            self.reporter.error(
                Code.SYNTAX_ERROR,
                f"IF blocks nest more than {MAX_IF_DEPTH} levels deep",
                Span(span.file_id, span.start, span.start + 2),
                label="too deep",
                help="flatten the conditions with AND / ELSE IF, or move blocks into INCLUDEs",
            )
            return None
        self.if_depth += 1
        try:
            return self._if(t, span)
        finally:
            self.if_depth -= 1

    def _if(self, t: Tree[Token], span: Span) -> ast.Statement:
        cond, body, *rest = t.children
        branches = [ast.Branch(condition=self.condition(cond), body=self.branch(body), span=span)]
        else_body: tuple[ast.Statement, ...] | None = None
        for child in rest:
            if isinstance(child, Tree) and child.data == "elif_clause":
                _kw, econd, ebody = child.children
                branches.append(
                    ast.Branch(
                        condition=self.condition(econd),
                        body=self.branch(ebody),
                        span=self.span(child),
                    )
                )
            elif isinstance(child, Tree) and child.data == "else_clause":
                else_body = self.branch(child.children[0])
        return ast.If(branches=tuple(branches), else_body=else_body, span=span)

    def branch(self, t: Any) -> tuple[ast.Statement, ...]:
        assert isinstance(t, Tree) and t.data == "branch"
        return self.statements(t.children)

    # -------------------------------------------------------------- conditions

    def condition(self, t: Any) -> ast.Condition:
        if isinstance(t, Tree):
            span = self.span(t)
            match t.data:
                case "or_":
                    return ast.Or(operands=self.chain(t), span=span)
                case "and_":
                    return ast.And(operands=self.chain(t), span=span)
                case "not_":
                    return ast.Not(operand=self.condition(t.children[0]), span=span)
                case "compare":
                    left, op, right = t.children
                    return ast.Compare(
                        op=_COMPARE_OPS[str(op)],
                        left=self.operand(left),
                        right=self.operand(right),
                        raw_op=str(op),
                        span=span,
                    )
                case "in_" | "not_in":
                    first, *options = t.children
                    return ast.InList(
                        operand=self.operand(first),
                        options=tuple(self.operand(o) for o in options),
                        negated=t.data == "not_in",
                        span=span,
                    )
        return self.operand(t)

    def chain(self, t: Tree[Token]) -> tuple[ast.Condition, ...]:
        """The operands of a flat `a AND b AND c` (or OR) chain, left to right; the parser
        nests it to the left, walked here without recursion."""
        rights: list[Any] = []
        node: Any = t
        while isinstance(node, Tree) and node.data == t.data:
            rights.append(node.children[1])
            node = node.children[0]
        return tuple(self.condition(c) for c in [node, *reversed(rights)])

    def operand(self, t: Any) -> ast.Operand:
        if isinstance(t, Tree) and t.data == "bare_name":
            tok = t.children[0]
            return ast.BareName(name=str(tok), span=self.span(t))
        if isinstance(t, Tree) and t.data in {"or_", "and_", "not_", "compare", "in_", "not_in"}:
            return ast.Paren(inner=self.condition(t), span=self.span(t))
        return self.scalar(t)


_TABLE_REF = re.compile(
    r'(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+"))?'
)


def _as_table_name(text: str, span: Span) -> ast.TableName | None:
    """`EXPORT t TO ...`: a body that is just a (qualified) name names a table."""
    if not _TABLE_REF.fullmatch(text) or text.upper() in {"SELECT", "WITH", "FROM", "VALUES"}:
        return None
    parts: list[ast.Ident] = []
    offset = 0
    for part in _split_qualified(text):
        quoted = part.startswith('"')
        value = part[1:-1].replace('""', '"') if quoted else part
        parts.append(ast.Ident(value=value, quoted=quoted, span=span.shifted(offset, len(part))))
        offset += len(part) + 1
    return ast.TableName(parts=tuple(parts), span=span)


def _split_qualified(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts
