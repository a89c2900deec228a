"""The POSTGRES connector's compile-time face: parameters, checks and schema discovery.

`SOURCE orders TYPE POSTGRES PARAMS {"host": ..., "dbname": ..., "table": "public.orders"}`,
`SOURCE orders FROM "warehouse" OPTIONS {"table": "public.orders"}` (a profile connection of
`type: postgres`), and `EXPORT ... TO "warehouse" TYPE POSTGRES OPTIONS {"table": ..., "mode":
...}`. The parameters are `params.SourceParams` and `params.ExportOptions`; the earlier releases'
`min_connections`, `max_connections`, `sync_mode`, `cursor_field` and `primary_key` are accepted
with a warning whose help says what to write instead.

Checks beyond the schema, at the parameter's place: `query` must be one query (a SELECT, WITH,
VALUES or TABLE statement), judged by sqlglot's PostgreSQL parser when it can parse it (what it
cannot parse is left to PostgreSQL at run time); `columns` must not name a column twice.

`discover_schema` asks PostgreSQL's catalog (metadata only, a connection held for a moment,
`connect_timeout` at most 5 s), when the parameters hold no secret placeholder; anything that
goes wrong gives None and the run checks again. Nothing here imports psycopg: the run-time face
(`runtime.PostgresRuntime`) does, when a run, a `connect test` or a discovery needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from sqlflowc.connectors.base import Connector
from sqlflowc.connectors.postgres.params import ConnectionParams, ExportOptions, SourceParams
from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.source import Span

if TYPE_CHECKING:
    from sqlflowc.ir import program  # annotations only: the IR is the compiler's
    from sqlflowc.schema import Column

__all__ = ["PostgresConnector"]

_OBSOLETE = frozenset(
    {"min_connections", "max_connections", "sync_mode", "cursor_field", "primary_key"}
)


class PostgresConnector(Connector):
    """`SOURCE s TYPE POSTGRES PARAMS {...}` and `EXPORT ... TYPE POSTGRES` (module docstring)."""

    name: ClassVar[str] = "POSTGRES"
    description: ClassVar[str] = (
        "PostgreSQL: a table, view or query streamed with COPY; an export target "
        "(replace, append, merge) written in one transaction"
    )
    params_schema: ClassVar[type[Any]] = SourceParams
    export_schema: ClassVar[type[Any] | None] = ExportOptions
    connection_schema: ClassVar[type[Any] | None] = ConnectionParams
    obsolete_params: ClassVar[frozenset[str]] = _OBSOLETE
    runtime_class: ClassVar[str | None] = "sqlflowc.connectors.postgres.runtime:PostgresRuntime"

    def obsolete_help(self, name: str, source: program.Source) -> str:
        if name in ("sync_mode", "cursor_field"):
            cursor = source.params.get("cursor_field")
            by = cursor if isinstance(cursor, str) and cursor else "<cursor column>"
            return (
                f"remove `{name}`; to read only new rows, write "
                f"`LOAD t FROM {source.name} MODE INCREMENTAL BY {by}` (the filter runs in "
                "PostgreSQL)"
            )
        if name == "primary_key":
            key = source.params.get("primary_key")
            keys = [key] if isinstance(key, str) else key if isinstance(key, list) else []
            columns = ", ".join(str(k) for k in keys) or "<key columns>"
            return (
                f"remove `{name}`; to update rows by key, write "
                f"`LOAD t FROM {source.name} MODE MERGE KEY ({columns})`"
            )
        return f"remove `{name}`: each read uses one connection, opened for it and closed after"

    def check_parsed(
        self, params: Any, source: program.Source, project_dir: Path, reporter: Reporter
    ) -> None:
        assert isinstance(params, SourceParams)
        if params.query is not None:
            problem = query_problem(params.query)
            if problem is not None:
                reporter.error(
                    Code.BAD_CONNECTOR_PARAM,
                    f"POSTGRES source `{source.name}`: {problem}",
                    source.param_spans.get("query", source.span),
                    help="give one SELECT; PostgreSQL runs it and its rows are loaded",
                )
        if params.columns is not None:
            seen: set[str] = set()
            for column in params.columns:
                if column in seen:
                    reporter.error(
                        Code.BAD_CONNECTOR_PARAM,
                        f"POSTGRES source `{source.name}`: `columns` names `{column}` twice",
                        source.param_spans.get("columns", source.span),
                    )
                seen.add(column)

    def check_target(
        self, target: str, options: Mapping[str, Any], span: Span, reporter: Reporter
    ) -> None:
        """`TO "postgresql://..."`, or `TO "conn"` naming a profile connection (whose fields
        the compiler merged into the options: they carry `connection`)."""
        text = target.strip()
        scheme = text.split("://", 1)[0].lower() if "://" in text else ""
        if scheme in ("postgresql", "postgres"):
            return
        if scheme:
            reporter.error(
                Code.BAD_EXPORT,
                f"a POSTGRES export goes to a database, not to `{scheme}://`",
                span,
                help='write TO "<profile connection>" or TO "postgresql://user@host:5432/db"',
            )
        elif options.get("connection") is None:
            reporter.error(
                Code.UNKNOWN_CONNECTION,
                f"`{text}` is neither a profile connection of type postgres nor a "
                "postgresql:// URI",
                span,
                help="define it under `connections:` in the profile (`type: postgres`), or "
                'write TO "postgresql://user@host:5432/db"',
            )

    def discover_schema(self, params: Mapping[str, Any], project_dir: Path) -> list[Column] | None:
        if _has_placeholder(params):
            return None  # a secret (or a run-time value) the compiler does not hold
        parsed = self.parse(params)
        from sqlflowc.connectors.postgres.runtime import PostgresRuntime

        runtime = self.runtime()
        assert isinstance(runtime, PostgresRuntime)
        return runtime.discover(parsed)


def query_problem(query: str) -> str | None:
    """Why `query` is not one query, when sqlglot can tell; None otherwise."""
    try:
        statements = [s for s in sqlglot.parse(query, dialect="postgres") if s is not None]
    except ParseError:
        return None  # PostgreSQL's own parser decides at run time
    if len(statements) != 1:
        return f"`query` holds {len(statements)} statements; give exactly one query"
    if not isinstance(statements[0], exp.Query):
        kind = statements[0].key.upper()
        return f"`query` is a {kind} statement, not a query"
    return None


def _has_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, Mapping):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_placeholder(v) for v in value)
    return False
