"""Lower the surface IR to the program IR: substitute variables, consume SETs, resolve sources.

Requires: no `ast.Include`, no `ast.If` (run `expand_includes` and `fold_conditionals` first).
Ensures: no `${...}` reference is left; SET statements are consumed; every statement is mapped to
its `program` node (text only: `bind` makes the next stage, `BoundProgram`); every LOAD names a
declared SOURCE. Secrets in parameters are still in clear: `mask_secrets` runs next.

- Templates (SQL bodies, export URIs, JSON strings) splice each value's text verbatim; no quotes
  are guessed. `Sql.display` (and `Export.uri_display`) show `${key}` where a secret variable
  was spliced (`variables.py`: resolution order, types, secrets). `Sql.splices` records where
  each value went, for `check_splices`.
- JSON: a bare `${name}` keeps the value's type; inside a string it splices text.
- Profile connections (`SOURCE s FROM "conn"`, `"connection": "conn"`, `EXPORT ... TO "conn"`)
  are merged in by `connections.py`, with the same variable scope as the pipeline.
- Sources are matched case-insensitively, quoted or not (`names.parts_key`, the rule for table
  names); a LOAD may name a source declared later in the file, since a SOURCE only declares a
  configuration.
- `Program.variables` holds each non-secret variable used, with the value of its first use.

>>> from sqlflowc.api import compile_context, parse
>>> ctx = compile_context(cli_vars={"day": "2024-01-01"})
>>> text = "SET n = 3; CREATE TABLE t AS SELECT ${n} AS n WHERE d = '${day}';"
>>> prog = lower_program(parse(text, sources=ctx.sources), ctx)
>>> prog.statements[0].query.text, prog.variables
("SELECT 3 AS n WHERE d = '2024-01-01'", {'day': '2024-01-01', 'n': 3})
"""

from __future__ import annotations

from typing import assert_never

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import ast, program
from sqlflowc.names import parts_key
from sqlflowc.passes.connections import ProfileConnections
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.unknown_variables import UnknownVariables, set_sites
from sqlflowc.passes.variables import (
    JsonData,
    Scope,
    assign_set,
    splice,
)
from sqlflowc.source import Span
from sqlflowc.suggest import closest


def lower_program(pipeline: ast.Pipeline, ctx: PassContext) -> program.Program:
    """The program: variables substituted, SETs consumed, sources resolved."""
    resolver = _Resolver(ctx)
    statements = resolver.run(pipeline.statements)
    resolver.unknown.report(ctx, resolver.scope, set_sites(pipeline.statements))
    scope = resolver.scope
    return program.Program(
        statements=statements,
        sources=dict(resolver.sources),
        project_dir=str(ctx.project_dir),
        variables=dict(
            sorted(
                {
                    **pipeline.decided,
                    **{n: v.data for n, v in scope.used.items() if not v.secret},
                }.items()
            )
        ),
        secrets=dict(sorted(scope.secrets.items())),
        secret_templates=dict(sorted(scope.templates.items())),
        labels=dict(pipeline.labels),
        used_variables=pipeline.used_variables,
    )


def _fold(name: ast.Ident) -> str:
    """Source names compare as table names do (`names.parts_key`): quoted or not."""
    return parts_key([name.value])


class _Resolver:
    def __init__(self, ctx: PassContext) -> None:
        self.ctx = ctx
        self.reporter: Reporter = ctx.reporter
        self.scope = Scope.from_context(ctx)
        self.unknown = UnknownVariables()
        self.connections = ProfileConnections(ctx, self.scope, self.unknown)
        self.sources: dict[str, program.Source] = {}
        self.declared: dict[str, ast.Ident] = {}

    def run(self, statements: tuple[ast.Statement, ...]) -> tuple[program.Statement, ...]:
        out: list[program.Statement | ast.Load] = []
        for stmt in statements:
            match stmt:
                case ast.Set():
                    assign_set(stmt, self.scope, self.unknown, self.reporter)
                case ast.SourceDecl() | ast.SourceFromProfile():
                    self.declare(stmt)
                case ast.Load():
                    out.append(stmt)  # resolved below, once every SOURCE is known
                case ast.CreateTable():
                    query = self.sql(stmt.query)
                    if query is not None:
                        out.append(
                            program.CreateTable(
                                table=stmt.table.sql,
                                query=query,
                                mode=stmt.mode or program.Replace(),
                                span=stmt.span,
                                target_span=stmt.table.span,
                                if_not_exists=stmt.if_not_exists,
                            )
                        )
                case ast.CreateView():
                    query = self.sql(stmt.query)
                    if query is not None:
                        out.append(
                            program.CreateView(
                                view=stmt.view.sql,
                                query=query,
                                span=stmt.span,
                                target_span=stmt.view.span,
                                if_not_exists=stmt.if_not_exists,
                            )
                        )
                case ast.Export():
                    export = self.export(stmt)
                    if export is not None:
                        out.append(export)
                case ast.SqlStatement():
                    sql = self.sql(stmt.sql)
                    if sql is not None:
                        out.append(program.SqlStatement(verb=stmt.verb, sql=sql, span=stmt.span))
                case ast.Include() | ast.If():
                    self.reporter.error(
                        Code.INTERNAL,
                        f"internal compiler error: {type(stmt).__name__} reached "
                        "lower_program; please report",
                        stmt.span,
                    )
                case _:
                    assert_never(stmt)
        resolved: list[program.Statement] = []
        for item in out:
            if isinstance(item, ast.Load):
                load = self.load(item)
                if load is not None:
                    resolved.append(load)
            else:
                resolved.append(item)
        return tuple(resolved)

    # -------------------------------------------------------------- SQL

    def sql(self, template: ast.Template) -> program.Sql | None:
        spliced = splice(template, self.scope, self.unknown)
        if spliced is None:
            return None
        return program.Sql(
            text=spliced.text,
            display=spliced.display,
            span=template.span,
            origin=spliced.origin,
            splices=tuple(
                program.Splice(
                    start=p.start, end=p.end, ref=p.ref.span, name=p.ref.name, secret=p.value.secret
                )
                for p in spliced.pieces
            ),
        )

    # -------------------------------------------------------------- JSON

    def json(self, node: ast.JsonValue) -> tuple[JsonData, bool]:
        """A JSON value with variables resolved (secrets as placeholders); False if unset vars."""
        match node:
            case ast.JsonObject():
                ok = True
                obj: dict[str, JsonData] = {}
                for pair in node.pairs:
                    obj[pair.key], good = self.json(pair.value)
                    ok = ok and good
                return obj, ok
            case ast.JsonArray():
                items = [self.json(item) for item in node.items]
                return [data for data, _ in items], all(good for _, good in items)
            case ast.JsonString():
                spliced = splice(node.template, self.scope, self.unknown)
                return (None, False) if spliced is None else (spliced.display, True)
            case ast.Literal():
                return node.value, True
            case ast.VarRef():
                value = self.scope.lookup(node)
                if value is None:
                    self.unknown.missing(node, self.scope)
                    return None, False
                if value.secret:
                    return self.scope.placeholder(node.name, value.text), True
                return value.data, True
            case _:
                assert_never(node)

    def json_object(self, node: ast.JsonObject | None) -> tuple[dict[str, JsonData], bool]:
        if node is None:
            return {}, True
        data, ok = self.json(node)
        assert isinstance(data, dict)
        return data, ok

    # -------------------------------------------------------------- statements

    def declare(self, stmt: ast.SourceDecl | ast.SourceFromProfile) -> None:
        folded = _fold(stmt.name)
        if folded in self.declared:
            first = self.declared[folded]
            self.reporter.error(
                Code.DUPLICATE_SOURCE,
                f"source `{stmt.name.value}` is declared twice",
                stmt.name.span,
                label="second declaration",
                help=f"first declared at {self.ctx.sources.location(first.span)}; rename one",
            )
            return
        self.declared[folded] = stmt.name
        source = self.source(stmt)
        if source is not None:
            self.sources[stmt.name.value] = source

    def source(self, stmt: ast.SourceDecl | ast.SourceFromProfile) -> program.Source | None:
        match stmt:
            case ast.SourceDecl():
                params, ok = self.json_object(stmt.params)
                spans = {p.key: p.value.span for p in stmt.params.pairs}
                if not ok:
                    return None
                site = spans.get("connection", stmt.span)
                kind = stmt.connector.value
                what = f"source `{stmt.name.value}`"
                merged = self.connections.with_connection(params, kind, site, what)
                if merged is None:
                    return None
                return program.Source(
                    name=stmt.name.value,
                    connector=stmt.connector.value.upper(),
                    params=merged,
                    span=stmt.span,
                    param_spans=spans,
                    param_key_spans=_key_spans(stmt.params),
                )
            case ast.SourceFromProfile():
                return self.profile_source(stmt)
            case _:
                assert_never(stmt)

    def profile_source(self, stmt: ast.SourceFromProfile) -> program.Source | None:
        found = self.connections.connection(str(stmt.connection.value), stmt.connection.span)
        if found is None:
            return None
        name, kind, params = found
        options, good = self.json_object(stmt.options)
        if not good:
            return None
        site = stmt.connection.span
        spans = {key: site for key in params}
        key_spans = dict(spans)
        if stmt.options is not None:
            spans.update({p.key: p.value.span for p in stmt.options.pairs})
            key_spans.update(_key_spans(stmt.options))
        return program.Source(
            name=stmt.name.value,
            connector=kind.upper(),
            params={**params, **options, "connection": name},
            span=stmt.span,
            param_spans=spans,
            param_key_spans=key_spans,
            connection=name,
        )

    def load(self, stmt: ast.Load) -> program.Load | None:
        folded = _fold(stmt.source)
        if folded not in self.declared:
            names = [ident.value for ident in self.declared.values()]
            close = closest(stmt.source.value, names)
            self.reporter.error(
                Code.UNKNOWN_SOURCE,
                f"unknown source `{stmt.source.value}`",
                stmt.source.span,
                label="no SOURCE declares this name",
                help=f"did you mean `{close}`?"
                if close
                else f"declare it: `SOURCE {stmt.source.value} TYPE csv PARAMS {{...}};`",
            )
            return None
        source = self.sources.get(self.declared[folded].value)
        if source is None:
            return None  # the SOURCE itself had errors, already reported
        return program.Load(
            table=stmt.table.sql,
            source=source,
            mode=stmt.mode or program.Replace(),
            span=stmt.span,
            target_span=stmt.table.span,
        )

    def export(self, stmt: ast.Export) -> program.Export | None:
        if stmt.query is not None:
            query = self.sql(stmt.query)
        else:
            assert stmt.table is not None, "an EXPORT has a query or a table"
            table = stmt.table
            prefix = "SELECT * FROM "
            origin = tuple((i, table.span.start) for i in range(len(prefix)))
            text = prefix + table.sql
            query = program.Sql(
                text=text,
                display=text,
                span=table.span,
                origin=(*origin, (len(prefix), table.span.start)),
            )
        uri = splice(stmt.uri_template, self.scope, self.unknown)
        options, ok = self.json_object(stmt.options)
        if query is None or uri is None or not ok:
            return None
        spans = {p.key: p.value.span for p in stmt.options.pairs} if stmt.options else {}
        kind = stmt.format.value
        if "://" not in uri.text and self.connections.names_connection(uri.text, kind):
            # `TO "warehouse"`: a profile connection of the export's type is the target.
            options = {"connection": uri.text, **options}
        merged = self.connections.with_connection(
            options, kind, spans.get("connection", stmt.span), f"this {kind.upper()} export"
        )
        if merged is None:
            return None
        options = merged
        return program.Export(
            query=query,
            uri=uri.text,
            uri_display=uri.display,
            format=stmt.format.value.upper(),
            options=options,
            span=stmt.span,
            option_spans=spans,
            option_key_spans=_key_spans(stmt.options) if stmt.options else {},
        )


def _key_spans(obj: ast.JsonObject) -> dict[str, Span]:
    """Each pair's key as written (quotes included): a pair's span starts at its key."""
    return {p.key: p.span.shifted(0, len(p.raw_key)) for p in obj.pairs}
