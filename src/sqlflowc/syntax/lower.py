"""Lower a Lark parse tree into the surface IR (`sqlflowc.ir.ast`), attaching spans.

Also checks what the permissive grammar leaves open: load-mode clause combinations, `${...}`
reference syntax, transaction statements. Errors go to the `Reporter`; lowering carries on so
every error in the file is reported at once.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from lark import Token, Tree

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import ast
from sqlflowc.source import Span
from sqlflowc.syntax.parser import parse_text
from sqlflowc.syntax.varref import make_template, parse_var_ref

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


class _Lowerer:
    def __init__(self, file_id: int, text: str, reporter: Reporter) -> None:
        self.if_depth = 0
        self.file_id = file_id
        self.text = text
        self.reporter = reporter

    # -------------------------------------------------------------- spans

    def tok_span(self, tok: Token) -> Span:
        start = tok.start_pos or 0
        end = tok.end_pos if tok.end_pos is not None else start + len(tok)
        return Span(self.file_id, start, end)

    def span(self, node: Tree[Token] | Token) -> Span:
        if isinstance(node, Token):
            return self.tok_span(node)
        meta = node.meta
        if getattr(meta, "empty", True):
            return Span(self.file_id, 0, 0)
        return Span(self.file_id, meta.start_pos, meta.end_pos)

    def body_span(self, tok: Token) -> tuple[str, Span]:
        """An opaque SQL token without its trailing whitespace."""
        text = str(tok).rstrip()
        start = tok.start_pos or 0
        return text, Span(self.file_id, start, start + len(text))

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
            mode=self.load_mode(mode, allow_incremental=False) if mode is not None else None,
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
            mode=self.load_mode(mode, allow_incremental=True) if mode is not None else None,
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
        return ast.SqlStatement(
            verb=verb, sql=make_template(text, body_span, self.reporter), span=span
        )

    def stmt_export_stmt(self, t: Tree[Token], span: Span) -> ast.Statement:
        query_tok, uri, fmt_name, options = t.children
        assert isinstance(query_tok, Token)
        text, qspan = self.body_span(query_tok)
        table = _as_table_name(text, qspan)
        uri_lit = self.string(uri)
        assert isinstance(uri_lit.value, str)
        return ast.Export(
            query=None if table else make_template(text, qspan, self.reporter),
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

    # -------------------------------------------------------------- load modes

    def load_mode(self, t: Any, *, allow_incremental: bool) -> ast.LoadMode | None:
        kind_tok, by, lookback, keys_clause = t.children
        span = self.span(t)
        kind = str(kind_tok).upper()
        keys: tuple[ast.Ident, ...] = ()
        key_word = ""
        parenthesized = True
        ok = True
        if keys_clause is not None:
            key_tok, key_list = keys_clause.children
            key_word = str(key_tok).upper()
            keys = tuple(self.name(k) for k in key_list.children)
            parenthesized = str(self.source_text(self.span(key_list))).startswith("(")
            seen: set[str] = set()
            for k in keys:
                folded = k.value if k.quoted else k.value.lower()
                if folded in seen:
                    ok = False
                    self.reporter.error(
                        Code.DUPLICATE_KEY,
                        f"key column `{k.value}` is listed twice",
                        k.span,
                        label="duplicate key column",
                    )
                seen.add(folded)
        if kind != "INCREMENTAL":
            for clause, word in ((by, "BY"), (lookback, "LOOKBACK")):
                if clause is not None:
                    ok = False
                    self.reporter.error(
                        Code.INCREMENTAL_CLAUSE,
                        f"`{word}` only goes with `MODE INCREMENTAL`",
                        self.span(clause),
                        label=f"not valid with MODE {kind}",
                        help=f"write `MODE INCREMENTAL BY column` or remove `{word} ...`",
                    )
        if kind in {"REPLACE", "APPEND"} and keys_clause is not None:
            self.reporter.error(
                Code.KEY_NOT_ALLOWED,
                f"`MODE {kind}` takes no key columns",
                self.span(keys_clause),
                label="keys only apply to MERGE",
                help=f"use `MODE MERGE KEY ({', '.join(k.value for k in keys)})` to upsert by key",
            )
            return None
        if not ok:
            return None
        match kind:
            case "REPLACE":
                return ast.Replace(span=span)
            case "APPEND":
                return ast.Append(span=span)
            case "MERGE" | "UPSERT":
                if not keys:
                    self.reporter.error(
                        Code.MERGE_WITHOUT_KEY,
                        f"`MODE {kind}` needs key columns",
                        span,
                        label="no KEY given",
                        help=f"write `MODE {kind} KEY (id)` naming the columns that identify a row",
                    )
                    return None
                if kind == "UPSERT":
                    spelling = ast.MergeSpelling.UPSERT_KEY
                elif key_word == "MERGE_KEYS":
                    spelling = ast.MergeSpelling.MERGE_MERGE_KEYS
                else:
                    spelling = ast.MergeSpelling.MERGE_KEY
                return ast.Merge(
                    keys=keys, spelling=spelling, parenthesized=parenthesized, span=span
                )
            case "INCREMENTAL":
                return self._incremental(by, lookback, keys, span, allow_incremental)
        raise AssertionError(kind)  # pragma: no cover — MODE_KIND admits only the cases above

    def lookback(self, clause: Tree[Token]) -> ast.Literal:
        """`LOOKBACK '2 days'`, or `LOOKBACK 2 DAYS` as the earlier releases wrote it."""
        if len(clause.children) == 1:
            return self.string(clause.children[0])
        number, unit = (cast(Token, c) for c in clause.children)
        raw = f"{number} {unit}"
        span = self.tok_span(number).to(self.tok_span(unit))
        return ast.Literal(value=raw, raw=raw, span=span)

    def _incremental(
        self, by: Any, lookback: Any, keys: tuple[ast.Ident, ...], span: Span, allowed: bool
    ) -> ast.LoadMode | None:
        if not allowed:
            self.reporter.error(
                Code.INCREMENTAL_ON_LOAD,
                "`MODE INCREMENTAL` is only for `CREATE TABLE ... AS`",
                span,
                help="load the source into a staging table, then `CREATE TABLE t MODE "
                "INCREMENTAL BY col AS SELECT ... FROM staging`",
            )
            return None
        if by is None:
            self.reporter.error(
                Code.INCREMENTAL_CLAUSE,
                "`MODE INCREMENTAL` needs `BY column`",
                span,
                help="write `MODE INCREMENTAL BY updated_at`",
            )
            return None
        lb = self.lookback(lookback) if lookback is not None else None
        if lb is not None and not _valid_duration(str(lb.value)):
            self.reporter.error(
                Code.BAD_LOOKBACK,
                f"`{lb.value}` is not a duration",
                lb.span,
                help="write a DuckDB interval such as '2 days', '6 hours' or '1 week'",
            )
            return None
        return ast.Incremental(by=self.name(by.children[0]), lookback=lb, keys=keys, span=span)

    # -------------------------------------------------------------- conditions

    def condition(self, t: Any) -> ast.Condition:
        if isinstance(t, Tree):
            span = self.span(t)
            match t.data:
                case "or_":
                    return ast.Or(
                        left=self.condition(t.children[0]),
                        right=self.condition(t.children[1]),
                        span=span,
                    )
                case "and_":
                    return ast.And(
                        left=self.condition(t.children[0]),
                        right=self.condition(t.children[1]),
                        span=span,
                    )
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

    def operand(self, t: Any) -> ast.Operand:
        if isinstance(t, Tree) and t.data == "bare_name":
            tok = t.children[0]
            return ast.BareName(name=str(tok), span=self.span(t))
        if isinstance(t, Tree) and t.data in {"or_", "and_", "not_", "compare", "in_", "not_in"}:
            return ast.Paren(inner=self.condition(t), span=self.span(t))
        return self.scalar(t)

    # -------------------------------------------------------------- atoms

    def scalar(self, t: Any) -> ast.Literal | ast.VarRef:
        span = self.span(t)
        tok = t.children[0] if isinstance(t, Tree) and t.children else t
        match t.data if isinstance(t, Tree) else "":
            case "string":
                return self.string(t)
            case "number":
                raw = str(tok)
                value: int | float = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
                return ast.Literal(value=value, raw=raw, span=span)
            case "boolean":
                return ast.Literal(value=str(tok).lower() == "true", raw=str(tok), span=span)
            case "null":
                return ast.Literal(value=None, raw=str(tok), span=span)
            case "var_ref":
                ref = parse_var_ref(str(tok), span, self.reporter)
                return ref if ref is not None else ast.Literal(value="", raw="''", span=span)
        raise AssertionError(f"not a scalar: {t!r}")  # pragma: no cover

    def string(self, t: Any) -> ast.Literal:
        tok = cast(Token, t.children[0] if isinstance(t, Tree) else t)
        raw = str(tok)
        if raw.startswith("'"):
            value = raw[1:-1].replace("''", "'")
        else:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw[1:-1]
        return ast.Literal(value=value, raw=raw, span=self.tok_span(tok))

    def name(self, t: Any) -> ast.Ident:
        tok = cast(Token, t.children[0] if isinstance(t, Tree) else t)
        raw = str(tok)
        span = self.tok_span(tok)
        if tok.type == "QUOTED_IDENT":
            return ast.Ident(value=raw[1:-1].replace('""', '"'), quoted=True, span=span)
        return ast.Ident(value=raw, span=span)

    def table_name(self, t: Any) -> ast.TableName:
        return ast.TableName(
            parts=tuple(self.name(c) for c in t.children if c is not None), span=self.span(t)
        )

    def sql(self, tok: Any) -> ast.Template:
        text, span = self.body_span(tok)
        return make_template(text, span, self.reporter)

    def source_text(self, span: Span) -> str:
        return self.text[span.start : span.end]

    # -------------------------------------------------------------- JSON

    def json_object(self, t: Any) -> ast.JsonObject:
        pairs: list[ast.JsonPair] = []
        seen: set[str] = set()
        for pair in t.children:
            if pair is None:
                continue
            key_tok, value = pair.children
            key = self.json_text(key_tok)
            if key in seen:
                self.reporter.error(
                    Code.INVALID_JSON,
                    f"duplicate key `{key}` in JSON object",
                    self.tok_span(key_tok),
                    label="already given above",
                )
            seen.add(key)
            pairs.append(
                ast.JsonPair(
                    key=key,
                    raw_key=str(key_tok),
                    value=self.json_value(value),
                    span=self.span(pair),
                )
            )
        return ast.JsonObject(pairs=tuple(pairs), span=self.span(t))

    def json_text(self, tok: Token) -> str:
        """The value of a JSON string token; an invalid escape or control character is reported."""
        raw = str(tok)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as err:
            self.reporter.error(
                Code.INVALID_JSON,
                f"invalid JSON string: {err.msg.lower()}",
                self.tok_span(tok),
                label="not a valid JSON string",
                help='JSON strings escape only \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX; '
                "write a tab as \\t",
            )
            return raw[1:-1]
        assert isinstance(value, str)
        return value

    def json_value(self, t: Any) -> ast.JsonValue:
        match t.data:
            case "json_object":
                return self.json_object(t)
            case "json_array":
                items = tuple(self.json_value(v) for v in t.children if v is not None)
                return ast.JsonArray(items=items, span=self.span(t))
            case "json_string":
                tok = t.children[0]
                raw = str(tok)
                value = self.json_text(tok)
                return ast.JsonString(
                    template=make_template(value, self.tok_span(tok).inner(), self.reporter),
                    raw=raw,
                    span=self.tok_span(tok),
                )
        return self.scalar(t)


_TABLE_REF = re.compile(
    r'(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+"))?'
)
_DURATION = re.compile(
    r"\s*\d+(?:\.\d+)?\s*(?:micro|milli)?(?:second|minute|hour|day|week|month|year)s?\s*",
    re.IGNORECASE,
)


def _valid_duration(text: str) -> bool:
    return bool(_DURATION.fullmatch(text))


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
