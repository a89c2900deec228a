"""Opening a PostgreSQL connection the way every read and write here needs it.

`connect(params)` returns a psycopg connection in autocommit mode (a write opens its own
transaction) whose session prints values exactly as the type mapping reads them:
`TimeZone=UTC` (timestamptz as `...+00`), `DateStyle=ISO, MDY`, `IntervalStyle=postgres_verbose`
(the style DuckDB parses, `@ 1 year 2 mons -3 days ago`), `bytea_output=hex`,
`extra_float_digits=3` (shortest exact floats) and `client_encoding=UTF8`. A failure raises
`PostgresFailure` naming the connection and its endpoint, never its password.

`Target` bundles what messages need: the connection's name (a profile connection, or `postgres`
for one given inline), its `Endpoint` and the secret values to mask.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

from sqlflowc.connectors.postgres.errors import PostgresFailure
from sqlflowc.connectors.postgres.params import (
    ConnectionParams,
    Endpoint,
    connection_kwargs,
    endpoint,
)

__all__ = ["SESSION_SETTINGS", "Target", "connect", "connection", "target_of"]

# psycopg logs the errors it ignores while cleaning up after a lost connection ("error ignored
# terminating <psycopg.Copy>"); the failure itself is reported, so that would only be noise.
logging.getLogger("psycopg").addHandler(logging.NullHandler())

SESSION_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres_verbose",
    "bytea_output": "hex",
    "extra_float_digits": "3",
    "client_encoding": "UTF8",
}


@dataclass(frozen=True, slots=True)
class Target:
    """A connection as messages name it: `connection warehouse (db:5432/app)`."""

    name: str
    endpoint: Endpoint
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __str__(self) -> str:
        return f"connection {self.name} ({self.endpoint})"


def target_of(params: ConnectionParams, name: str | None = None) -> Target:
    """The `Target` for `params` (named `name`, else after `params.connection`)."""
    label = name or getattr(params, "connection", None) or "postgres"
    secrets = tuple(s for s in (params.password, _dsn_password(params.conninfo)) if s)
    return Target(label, endpoint(params, os.environ), secrets)


def _dsn_password(dsn: str) -> str | None:
    try:
        password = psycopg.conninfo.conninfo_to_dict(dsn).get("password") if dsn else None
    except psycopg.ProgrammingError:
        return None
    return None if password is None else str(password)


def connect(params: ConnectionParams, target: Target) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection with the session settings above; `PostgresFailure` if not."""
    conninfo, kwargs = connection_kwargs(params)
    settings = ", ".join("set_config(%s, %s, false)" for _ in SESSION_SETTINGS)
    values = [x for pair in SESSION_SETTINGS.items() for x in pair]
    try:
        conn = psycopg.connect(conninfo, autocommit=True, **kwargs)
    except psycopg.Error as err:
        raise PostgresFailure(err, str(target), target.secrets) from None
    try:
        conn.execute(f"SELECT {settings}", values)
    except psycopg.Error as err:
        conn.close()
        raise PostgresFailure(err, str(target), target.secrets) from None
    return conn


@contextmanager
def connection(
    params: ConnectionParams, target: Target
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """`connect`, closed on the way out, whatever happens."""
    conn = connect(params, target)
    try:
        yield conn
    finally:
        conn.close()
