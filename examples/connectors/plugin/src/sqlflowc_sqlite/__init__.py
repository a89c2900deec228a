"""A SQLITE connector for sqlflowc: the compile-time face.

    SOURCE shop TYPE SQLITE PARAMS {"path": "data/shop.db", "table": "orders"};
    SOURCE big TYPE SQLITE PARAMS {"path": "data/shop.db", "query": "SELECT * FROM orders"};
    EXPORT SELECT * FROM daily TO 'data/report.db' TYPE SQLITE OPTIONS {"table": "daily"};

sqlflowc finds `SqliteConnector` through the entry point `sqlite` in the group
`sqlflowc.connectors` (pyproject.toml). This module is what the compiler imports: it declares
the parameters (`params.py`), checks what the schema cannot say, and discovers a table's
columns. It imports neither sqlite3 nor pyarrow: the run-time face (`runtime.py`, named by
`runtime_class`) does, when a run, `sqlflowc connect test` or a schema discovery needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlflowc.connectors import Connector
from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import program

from sqlflowc_sqlite.params import ConnectionParams, ExportOptions, SourceParams

if TYPE_CHECKING:
    from sqlflowc.schema import Column

__all__ = ["SqliteConnector"]


class SqliteConnector(Connector):
    """`SOURCE s TYPE SQLITE PARAMS {...}` and `EXPORT ... TYPE SQLITE` (module docstring)."""

    name: ClassVar[str] = "SQLITE"
    description: ClassVar[str] = (
        "SQLite databases: a table or a query read in batches; an export target (replace, "
        "append) written in one transaction"
    )
    params_schema: ClassVar[type[Any]] = SourceParams
    connection_schema: ClassVar[type[Any] | None] = ConnectionParams
    export_schema: ClassVar[type[Any] | None] = ExportOptions
    # `key` ends in no secret suffix (`password`, `token`, ...): declare it, so its value is
    # never shown in plans, output or errors.
    secret_fields: ClassVar[frozenset[str]] = frozenset({"key"})
    runtime_class: ClassVar[str | None] = "sqlflowc_sqlite.runtime:SqliteRuntime"

    def check_parsed(
        self, params: Any, source: program.Source, project_dir: Path, reporter: Reporter
    ) -> None:
        """The database file must exist; `query` must be one SELECT."""
        assert isinstance(params, SourceParams)
        database = project_dir / params.path
        if not database.is_file():
            reporter.error(
                Code.INPUT_NOT_FOUND,
                f"SQLITE source `{source.name}`: database file not found: {params.path}",
                source.param_spans.get("path", source.span),
                label="this path",
                help="give the path of a SQLite database, relative to the project directory",
            )
        if params.query is not None:
            problem = _query_problem(params.query)
            if problem is not None:
                reporter.error(
                    Code.BAD_CONNECTOR_PARAM,
                    f"SQLITE source `{source.name}`: {problem}",
                    source.param_spans.get("query", source.span),
                    help="give one SELECT; SQLite runs it and its rows are loaded",
                )

    def discover_schema(self, params: Mapping[str, Any], project_dir: Path) -> list[Column] | None:
        """A table's columns from SQLite's catalog; None for a query, a missing file, or a
        secret key the compiler does not hold."""
        if any(isinstance(v, str) and "${" in v for v in params.values()):
            return None
        parsed = self.parse(params)
        if parsed.table is None or not (project_dir / parsed.path).is_file():
            return None
        from sqlflowc_sqlite.runtime import SqliteRuntime

        runtime = self.runtime()
        assert isinstance(runtime, SqliteRuntime)
        return runtime.table_columns(parsed, project_dir)


def _query_problem(query: str) -> str | None:
    """Why `query` is not one SELECT, when sqlglot can tell."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(query, dialect="sqlite") if s is not None]
    except ParseError:
        return None  # SQLite's own parser decides at run time
    if len(statements) != 1:
        return f"`query` holds {len(statements)} statements; give exactly one query"
    if not isinstance(statements[0], exp.Query):
        return f"`query` is a {statements[0].key.upper()} statement, not a query"
    return None
