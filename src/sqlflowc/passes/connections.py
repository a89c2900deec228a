"""Profile connections as the pipeline uses them: `SOURCE s FROM "conn"`, `"connection": "conn"`
in a source's PARAMS or an export's OPTIONS, and `EXPORT ... TO "conn" TYPE T`.

A helper of `lower_program`, not a pass: a connection's values may hold `${...}`, which splice
like a JSON string in the pipeline's own variable scope (an unset one is reported with the
pipeline's). Only the connections that are used are resolved. A connection is found by name,
case-insensitively when that is unambiguous, and must be of the type the source or export is,
or one its connector takes (`Connector.connection_types`: a PARQUET source takes the fields of
an S3 connection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.unknown_variables import UnknownVariables
from sqlflowc.passes.variables import JsonData, Scope, splice
from sqlflowc.source import Span
from sqlflowc.suggest import closest
from sqlflowc.syntax.varref import make_template


class ProfileConnections:
    """The profile's connections, resolved in `scope` on first use."""

    def __init__(self, ctx: PassContext, scope: Scope, unknown: UnknownVariables) -> None:
        self.ctx = ctx
        self.reporter = ctx.reporter
        self.scope = scope
        self.unknown = unknown

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


def _takes_connection(kind: str, conn_kind: str) -> bool:
    """Whether connector `kind` takes the fields of a connection of another type (a PARQUET
    source those of an S3 connection)."""
    from sqlflowc.connectors.registry import PluginError, get_connector

    try:
        connector = get_connector(kind)
    except PluginError:
        return False
    return connector is not None and connector.takes_connection(conn_kind)
