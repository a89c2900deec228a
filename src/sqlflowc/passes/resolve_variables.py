"""Substitute variables and build the resolved IR (`program.Program`); docs/language.md,
"Variables", is the user's view.

Requires: no `ast.Include`, no `ast.If` (run `expand_includes` and `fold_conditionals` first).
Ensures: no `${...}` reference is left; SET statements are consumed; every statement is mapped to
its `program` node with `reads`/`writes`/`deps`/`tree` left empty for `bind` to fill.

- Templates (SQL bodies, export URIs, JSON strings) splice each value's text verbatim; no quotes
  are guessed. `Sql.display` (and `Export.uri_display`) show `${key}` where a secret was spliced.
  `Sql.splices` records where each value went; `check_splices` (the next pass) checks that no
  value changes a SQL body's structure.
- JSON: a bare `${name}` keeps the value's type; inside a string it splices text.
- Secret parameters: in source PARAMS, profile connections, OPTIONS and export URIs, a field whose
  name is secret (`password`, `secret_access_key`, ...: `connectors/secrets.is_secret_field`, or
  one the connector declares in its `secret_fields`) and
  the password inside a `dsn`/`uri`/`url`/`connection_string` are replaced by a placeholder
  `${__source__.<source>.<field>}` (`${__export__.<n>.<field>}` for the n-th EXPORT, counting
  from 0); `Program.secrets` maps the key to the real text (secrets are always text). A field
  that already is a lone secret-variable placeholder keeps it. The executor substitutes every
  `${key}` of `Program.secrets` back in SQL, URIs and parameters alike.
- `SOURCE s FROM "conn"`: only connections that are used are resolved; `${...}` in a profile
  value splices like a JSON string. OPTIONS are merged on top. The same merge happens for
  `"connection": "conn"` in a source's PARAMS or an export's OPTIONS (the connection must be of
  the source's or the export's type, or one the connector takes: `Connector.connection_types`),
  and for `EXPORT ... TO "conn" TYPE T` when `conn` names a profile connection of type T.
- Sources are matched case-insensitively, quoted or not (`names.parts_key`, the rule for table
  names); a LOAD may name a source declared later in the file, since a SOURCE only declares a
  configuration.
- `Program.variables` holds each non-secret variable used, with the value of its first use; a
  variable whose value became a secret field's (`"password": "${PGPW}"`) is not shown there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, assert_never

from sqlflowc.connectors.registry import PluginError, get_connector
from sqlflowc.connectors.secrets import DSN_FIELDS, hide_dsn_password, is_secret_field
from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import ast, program
from sqlflowc.names import parts_key
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.unknown_variables import UnknownVariables, set_sites
from sqlflowc.passes.variables import (
    JsonData,
    Scope,
    assign_set,
    splice,
    value_text,
)
from sqlflowc.source import Span
from sqlflowc.suggest import closest
from sqlflowc.syntax.varref import make_template


def resolve_variables(pipeline: ast.Pipeline, ctx: PassContext) -> program.Program:
    """The resolved program: variables substituted, SETs consumed, sources resolved."""
    resolver = _Resolver(ctx)
    statements = resolver.run(pipeline.statements)
    resolver.unknown.report(ctx, resolver.scope, set_sites(pipeline.statements))
    scope = resolver.scope
    # A variable whose value went into a secret field is a secret, whatever its name.
    hidden = set(scope.secrets.values())
    return program.Program(
        statements=statements,
        sources=dict(resolver.sources),
        project_dir=str(ctx.project_dir),
        variables=dict(
            sorted(
                {
                    **ctx.condition_vars,
                    **{
                        n: v.data
                        for n, v in scope.used.items()
                        if not v.secret and v.text not in hidden
                    },
                }.items()
            )
        ),
        secrets=dict(sorted(scope.secrets.items())),
        secret_templates=dict(sorted(scope.templates.items())),
        labels=dict(ctx.labels),
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
        self.sources: dict[str, program.Source] = {}
        self.declared: dict[str, ast.Ident] = {}
        self.exports = 0

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
                        "resolve_variables; please report",
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

    def mask(self, data: dict[str, JsonData], owner: str, kind: str) -> dict[str, JsonData]:
        """Secret fields of connector type `kind` (and DSN passwords) replaced by placeholders;
        see the module doc."""
        declared = _declared_secrets(kind)
        out: dict[str, JsonData] = {}
        for key, value in data.items():
            path = f"{owner}.{key}"
            if isinstance(value, dict):
                out[key] = self.mask(value, path, kind)
            elif (
                is_secret_field(key, declared)
                and value is not None
                and not self.scope.is_placeholder(value)
            ):
                real = self.scope.unmask(value_text(value))
                out[key] = self.scope.placeholder(path, real)
            elif key.lower() in DSN_FIELDS and isinstance(value, str):
                out[key] = self.mask_dsn(value, path)
            else:
                out[key] = value
        return out

    def mask_dsn(self, display: str, key: str) -> str:
        """A URL's or a `key=value` DSN's password replaced by a placeholder."""

        def hide(password: str) -> str:
            if self.scope.is_placeholder(password):
                return password
            return self.scope.placeholder(key, self.scope.unmask(password))

        return hide_dsn_password(display, hide)

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
        owner = f"__source__.{stmt.name.value}"
        match stmt:
            case ast.SourceDecl():
                params, ok = self.json_object(stmt.params)
                spans = {p.key: p.value.span for p in stmt.params.pairs}
                if not ok:
                    return None
                site = spans.get("connection", stmt.span)
                kind = stmt.connector.value
                merged = self.with_connection(params, kind, site, f"source `{stmt.name.value}`")
                if merged is None:
                    return None
                return program.Source(
                    name=stmt.name.value,
                    connector=stmt.connector.value.upper(),
                    params=self.mask(merged, owner, kind),
                    span=stmt.span,
                    param_spans=spans,
                    param_key_spans=_key_spans(stmt.params),
                )
            case ast.SourceFromProfile():
                return self.profile_source(stmt, owner)
            case _:
                assert_never(stmt)

    def profile_source(self, stmt: ast.SourceFromProfile, owner: str) -> program.Source | None:
        found = self.connection(str(stmt.connection.value), stmt.connection.span)
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
            params=self.mask({**params, **options, "connection": name}, owner, kind),
            span=stmt.span,
            param_spans=spans,
            param_key_spans=key_spans,
            connection=name,
        )

    def connection(self, name: str, site: Span) -> tuple[str, str, dict[str, JsonData]] | None:
        """Profile connection `name` (case-insensitively when unambiguous) used at `site`:
        (its name, its type, its other fields resolved); None after reporting a problem."""
        connections = self.ctx.connections
        if name not in connections:
            # Connection names match case-insensitively when that is unambiguous ("LAKE": lake).
            folded = [c for c in connections if c.lower() == name.lower()]
            name = folded[0] if len(folded) == 1 else name
        if name not in connections:
            known = ", ".join(f"`{c}`" for c in sorted(connections)) or "none"
            close = closest(name, sorted(connections))
            self.reporter.error(
                Code.UNKNOWN_CONNECTION,
                f"unknown connection `{name}`",
                site,
                label="not in the profile's `connections:`",
                help=(f"did you mean `{close}`? " if close else "") + f"known connections: {known}",
            )
            return None
        raw = connections[name]
        kind = raw.get("type")
        if not isinstance(kind, str) or not kind:
            self.reporter.error(
                Code.PROFILE_ERROR,
                f"profile connection `{name}` has no `type`",
                site,
                label="used here",
                help="give the connection a connector type, e.g. `type: postgres`",
            )
            return None
        params: dict[str, JsonData] = {}
        ok = True
        for key, value in raw.items():
            if key != "type":
                params[key], good = self.profile_value(value, name, key, site)
                ok = ok and good
        return (name, kind, params) if ok else None

    def with_connection(
        self, given: dict[str, JsonData], kind: str, site: Span, what: str
    ) -> dict[str, JsonData] | None:
        """`given` (PARAMS or OPTIONS) on top of the fields of the profile connection its
        `"connection"` names, when it names one; the connection must be of type `kind`."""
        name = given.get("connection")
        if not isinstance(name, str) or not name:
            return given
        found = self.connection(name, site)
        if found is None:
            return None
        name, conn_kind, fields = found
        if conn_kind.upper() != kind.upper() and not _takes_connection(kind, conn_kind):
            self.reporter.error(
                Code.PROFILE_ERROR,
                f"connection `{name}` is of type `{conn_kind}`, but {what} is {kind.upper()}",
                site,
                label="this connection",
                help=f"name a connection of type `{kind.lower()}`",
            )
            return None
        return {**fields, **given, "connection": name}

    def profile_value(self, value: Any, conn: str, key: str, site: Span) -> tuple[JsonData, bool]:
        """A profile value with `${...}` resolved (lazily: only for connections in use)."""
        if isinstance(value, Mapping):
            pairs = [
                (str(k), self.profile_value(v, conn, f"{key}.{k}", site)) for k, v in value.items()
            ]
            return {k: data for k, (data, _) in pairs}, all(good for _, (_, good) in pairs)
        if isinstance(value, list | tuple):
            items = [self.profile_value(v, conn, key, site) for v in value]
            return [data for data, _ in items], all(good for _, good in items)
        if not isinstance(value, str) or "${" not in value:
            return value, True
        scratch = Reporter()
        template = make_template(value, site, scratch)
        if scratch.has_errors:
            self.reporter.error(
                Code.PROFILE_ERROR,
                f"malformed variable reference in profile connection `{conn}` field `{key}`",
                site,
                label="used here",
                help="write ${NAME} or ${NAME|default}",
            )
            return None, False
        refs = tuple(replace(ref, span=site) for ref in template.refs)
        where = f"profile connection `{conn}` (field `{key}`)"
        spliced = splice(replace(template, refs=refs), self.scope, self.unknown, where)
        return (None, False) if spliced is None else (spliced.display, True)

    def names_connection(self, text: str, kind: str) -> bool:
        """Whether `text` is the name of a profile connection of type `kind` (any case)."""
        for name, raw in self.ctx.connections.items():
            if name.lower() == text.strip().lower():
                conn_kind = raw.get("type")
                return isinstance(conn_kind, str) and conn_kind.upper() == kind.upper()
        return False

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
        owner = f"__export__.{self.exports}"
        self.exports += 1
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
        if "://" not in uri.text and self.names_connection(uri.text, kind):
            # `TO "warehouse"`: a profile connection of the export's type is the target.
            options = {"connection": uri.text, **options}
        merged = self.with_connection(
            options, kind, spans.get("connection", stmt.span), f"this {kind.upper()} export"
        )
        if merged is None:
            return None
        options = merged
        return program.Export(
            query=query,
            uri=uri.text,
            uri_display=self.mask_dsn(uri.display, f"{owner}.uri"),
            format=stmt.format.value.upper(),
            options=self.mask(options, owner, kind),
            span=stmt.span,
            option_spans=spans,
            option_key_spans=_key_spans(stmt.options) if stmt.options else {},
        )


def _takes_connection(kind: str, conn_kind: str) -> bool:
    """Whether connector `kind` takes the fields of a connection of another type (a PARQUET
    source those of an S3 connection)."""
    from sqlflowc.connectors.registry import PluginError, get_connector

    try:
        connector = get_connector(kind)
    except PluginError:
        return False
    return connector is not None and connector.takes_connection(conn_kind)


def _key_spans(obj: ast.JsonObject) -> dict[str, Span]:
    """Each pair's key as written (quotes included): a pair's span starts at its key."""
    return {p.key: p.span.shifted(0, len(p.raw_key)) for p in obj.pairs}


def _declared_secrets(kind: str) -> frozenset[str]:
    """The secret fields connector type `kind` declares beyond the common names; none when the
    type is unknown or its plugin broken (check_connectors reports that)."""
    try:
        connector = get_connector(kind)
    except PluginError:
        return frozenset()
    if connector is None:
        return frozenset()
    return frozenset(name.lower() for name in connector.secret_fields)
