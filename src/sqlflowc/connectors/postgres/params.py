"""What a PostgreSQL source and a PostgreSQL export accept, validated, and where they connect.

Schemas for `sqlflowc.validation` (pure: nothing here imports psycopg):
- `ConnectionParams`: `host`, `port` (5432), `dbname`, `user`, `password`, `sslmode`,
  `connect_timeout` (seconds, 10), `application_name` — or `dsn`, a libpq URI
  (`postgresql://user@host:5432/db`) or keyword string (`host=db dbname=app`), whose settings
  the separate fields override. The earlier releases' names are accepted as aliases:
  `database` for `dbname`, `username` for `user`, `uri` for `dsn`; giving both names of one
  setting is an error.
- `SourceParams`: the connection, and exactly one of `table` (alias `table_name`;
  `schema.table`, or `table` with `schema`, default `public`) or `query` (one SELECT that
  PostgreSQL runs); `columns` (a projection), `batch_size` (rows per Arrow batch, which bounds
  memory), `retries`/`retry_delay`.
- `ExportOptions`: the connection, `table` (alias `table_name`; `schema.table` or with
  `schema`), `mode` (`replace`, the default; `append`; `merge`, which needs `key`), `key`
  (alias `merge_keys`; a column or a list), `retries`/`retry_delay`. The earlier releases'
  `if_exists` is accepted as `mode` (`replace`, `append`; `fail`: only create the table).

`Endpoint` is what a user may see of a connection in messages: host, port and database —
never the user's password, never the DSN as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from sqlflowc.connectors.params import CommonParams
from sqlflowc.validation import Ge, Gt

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PORT",
    "ConnectionParams",
    "Endpoint",
    "ExportMode",
    "ExportOptions",
    "SourceParams",
    "TableName",
    "connection_kwargs",
    "endpoint",
    "split_table",
]

DEFAULT_PORT = 5432
DEFAULT_BATCH_SIZE = 100_000
DEFAULT_SCHEMA = "public"
SSL_MODES = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
ExportMode = Literal["replace", "append", "merge", "fail"]

# (the name this tool documents, the earlier releases' name)
_ALIASES = (("dbname", "database"), ("user", "username"), ("dsn", "uri"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionParams(CommonParams):
    """Where to connect (see the module docstring); `retries`/`retry_delay` from
    `CommonParams`."""

    host: str | None = None
    port: Annotated[int, Ge(1)] | None = None
    dbname: str | None = None
    database: str | None = None
    user: str | None = None
    username: str | None = None
    password: str | None = None
    sslmode: SSL_MODES | None = None
    connect_timeout: Annotated[int, Ge(1)] = 10
    application_name: str | None = None
    dsn: str | None = None
    uri: str | None = None

    def __post_init__(self) -> None:
        for name, alias in _ALIASES:
            if getattr(self, name) is not None and getattr(self, alias) is not None:
                raise ValueError(f"give `{name}` or `{alias}` (its earlier name), not both")

    @property
    def database_name(self) -> str | None:
        return self.dbname if self.dbname is not None else self.database

    @property
    def user_name(self) -> str | None:
        return self.user if self.user is not None else self.username

    @property
    def conninfo(self) -> str:
        """The DSN as given ('' when none): libpq reads it, the fields override it."""
        return self.dsn if self.dsn is not None else (self.uri or "")


@dataclass(frozen=True, slots=True)
class TableName:
    """A schema-qualified table name, as written (no quoting: names are taken literally)."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def split_table(table: str, schema: str | None) -> TableName:
    """`schema.table`, or `table` in `schema` (default `public`); a name written with
    double quotes keeps its dots and case: `"my.table"`."""
    text = table.strip()
    parts = _split_dotted(text)
    if len(parts) == 2:
        if schema is not None and schema != parts[0]:
            raise ValueError(
                f"`{table}` names schema `{parts[0]}`, but `schema` says `{schema}`: give one"
            )
        return TableName(parts[0], parts[1])
    if len(parts) == 1:
        return TableName(schema or DEFAULT_SCHEMA, parts[0])
    raise ValueError(f"`{table}` is not a table name: write `schema.table` or `table`")


def _split_dotted(text: str) -> list[str]:
    """`a.b` → [a, b]; `"a.b".c` → [a.b, c]; quotes removed, `""` inside quotes is `"`."""
    parts: list[str] = []
    current: list[str] = []
    i, quoted = 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1 : i + 2] == '"':
                current.append('"')
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    if quoted or any(not p for p in parts):
        return []
    return parts


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceParams(ConnectionParams):
    """A `SOURCE ... TYPE POSTGRES PARAMS {...}` (see the module docstring)."""

    table: str | None = None
    table_name: str | None = None
    schema: str | None = None
    query: str | None = None
    columns: list[str] | None = None
    batch_size: Annotated[int, Gt(0)] = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        ConnectionParams.__post_init__(self)
        if self.table is not None and self.table_name is not None:
            raise ValueError("give `table` or `table_name` (its earlier name), not both")
        table = self.table if self.table is not None else self.table_name
        if (table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` (a table or view) or `query`")
        if self.query is not None and self.schema is not None:
            raise ValueError("`schema` goes with `table`; qualify the tables in `query` instead")
        if table is not None:
            split_table(table, self.schema)  # raises for a malformed name
        if self.columns is not None and not self.columns:
            raise ValueError("`columns` must name at least one column")

    @property
    def relation(self) -> TableName | None:
        table = self.table if self.table is not None else self.table_name
        return None if table is None else split_table(table, self.schema)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions(ConnectionParams):
    """`EXPORT ... TYPE POSTGRES OPTIONS {...}` (see the module docstring)."""

    table: str | None = None
    table_name: str | None = None
    schema: str | None = None
    mode: ExportMode | None = None
    if_exists: Literal["replace", "append", "fail"] | None = None
    key: str | list[str] | None = None
    merge_keys: str | list[str] | None = None

    def __post_init__(self) -> None:
        ConnectionParams.__post_init__(self)
        if self.table is not None and self.table_name is not None:
            raise ValueError("give `table` or `table_name` (its earlier name), not both")
        table = self.table if self.table is not None else self.table_name
        if table is None:
            raise ValueError("say which table to write: `table` (`schema.table`)")
        split_table(table, self.schema)
        if self.mode is not None and self.if_exists is not None:
            raise ValueError("give `mode` or `if_exists` (its earlier name), not both")
        if self.key is not None and self.merge_keys is not None:
            raise ValueError("give `key` or `merge_keys` (its earlier name), not both")
        keys = self.keys
        if self.write_mode == "merge" and not keys:
            raise ValueError('`mode` "merge" needs `key`: the column(s) that identify a row')
        if self.write_mode != "merge" and keys:
            raise ValueError('`key` goes with `mode` "merge"')
        if len({k.lower() for k in keys}) != len(keys):
            raise ValueError("a key column is listed twice")

    @property
    def target(self) -> TableName:
        table = self.table if self.table is not None else self.table_name
        assert table is not None  # checked in __post_init__
        return split_table(table, self.schema)

    @property
    def write_mode(self) -> ExportMode:
        return self.mode or self.if_exists or "replace"

    @property
    def keys(self) -> tuple[str, ...]:
        given = self.key if self.key is not None else self.merge_keys
        if given is None:
            return ()
        return (given,) if isinstance(given, str) else tuple(given)


def connection_kwargs(params: ConnectionParams) -> tuple[str, dict[str, Any]]:
    """(conninfo, keyword settings) for `psycopg.connect`: the fields override the DSN."""
    kwargs: dict[str, Any] = {
        "host": params.host,
        "port": params.port,
        "dbname": params.database_name,
        "user": params.user_name,
        "password": params.password,
        "sslmode": params.sslmode,
        "connect_timeout": params.connect_timeout,
        "application_name": params.application_name or "sqlflowc",
    }
    # An empty value is no value (`password: "${PG_PASSWORD|}"` with the variable unset).
    return params.conninfo, {k: v for k, v in kwargs.items() if v is not None and v != ""}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What messages say of a connection: `db.example.com:5432/app` (or the socket path)."""

    host: str
    port: int
    dbname: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.dbname}"


def endpoint(params: ConnectionParams, environ: Mapping[str, str]) -> Endpoint:
    """Where `params` connect, as libpq would resolve it (fields, then the DSN, then the
    PG* environment variables, then libpq's defaults); never raises."""
    from_dsn = _dsn_fields(params.conninfo)
    host = params.host or from_dsn.get("host") or environ.get("PGHOST") or "localhost"
    port_text = str(params.port or from_dsn.get("port") or environ.get("PGPORT") or DEFAULT_PORT)
    user = params.user_name or from_dsn.get("user") or environ.get("PGUSER") or ""
    dbname = params.database_name or from_dsn.get("dbname") or environ.get("PGDATABASE") or user
    try:
        port = int(port_text.split(",")[0])
    except ValueError:
        port = DEFAULT_PORT
    return Endpoint(host, port, dbname)


def _dsn_fields(dsn: str) -> dict[str, str]:
    """host, port, user, dbname of a libpq URI or keyword string (best effort, for messages)."""
    text = dsn.strip()
    if not text:
        return {}
    if "://" in text:
        try:
            url = urlsplit(text)
            out = {
                "host": unquote(url.hostname or ""),
                "port": str(url.port or ""),
                "user": unquote(url.username or ""),
                "dbname": unquote(url.path.lstrip("/")),
            }
        except ValueError:
            return {}
        return {k: v for k, v in out.items() if v}
    out = {}
    for word in text.split():
        key, eq, value = word.partition("=")
        if eq and key in {"host", "hostaddr", "port", "user", "dbname"}:
            out["host" if key == "hostaddr" else key] = value.strip("'")
    return out
