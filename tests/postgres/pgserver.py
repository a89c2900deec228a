"""The real PostgreSQL server the tests use: a fresh database per test, dropped afterwards.

`SQLFLOW_TEST_PG_DSN` (default `postgresql://postgres@127.0.0.1:5432/test`) names a database
the tests may connect to as a user allowed to create databases. `pg_db` creates
`sqlflowc_<random>` there and yields a `PgDatabase` (its DSN, its parameters and a helper to run
SQL); the database is dropped (WITH (FORCE): a test that left a connection open still gets its
database dropped) at teardown. A server that cannot be reached fails the test with a message
saying how to start it: these tests check real behaviour, so they never skip silently.

`tests/postgres/conftest.py` provides the fixture to the tests beside it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ADMIN_DSN = os.environ.get("SQLFLOW_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class PgDatabase:
    """A database made for one test."""

    name: str
    dsn: str

    @property
    def params(self) -> dict[str, Any]:
        """host/port/user/dbname (and password, when the admin DSN has one) as PARAMS."""
        info = conninfo_to_dict(self.dsn)
        out: dict[str, Any] = {"host": info.get("host", "127.0.0.1"), "dbname": self.name}
        if "port" in info:
            out["port"] = int(str(info["port"]))
        if "user" in info:
            out["user"] = info["user"]
        if "password" in info:
            out["password"] = info["password"]
        return out

    def warehouse_project(self, root: Path, password: str, extra: str = "") -> None:
        """`root` as a project (`pipelines/`, `profiles/dev.yml`) whose profile connection
        `warehouse` is this database, with `password` (text as YAML holds it) and any `extra`
        fields (`, retry_delay: 0.1`)."""
        info = self.params
        (root / "pipelines").mkdir()
        (root / "profiles").mkdir()
        (root / "profiles" / "dev.yml").write_text(
            "engine: {type: duckdb, path: target/dev.duckdb}\n"
            "connections:\n"
            f"  warehouse: {{type: postgres, host: '{info['host']}',"
            f" port: {info.get('port', 5432)}, dbname: {info['dbname']},"
            f" user: {info.get('user', 'postgres')},"
            f" password: {password}{extra}}}\n",
            encoding="utf-8",
        )

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.dsn, autocommit=True)

    def run(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run statements (autocommit); the rows of the last one that returns rows."""
        rows: list[tuple[Any, ...]] = []
        with self.connect() as conn:
            for statement in statements:
                cur = conn.execute(statement)  # type: ignore[arg-type]
                if cur.description is not None:
                    rows = cur.fetchall()
        return rows

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _admin() -> psycopg.Connection[tuple[Any, ...]]:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(
            f"PostgreSQL is not reachable at {ADMIN_DSN} ({err}). Start it "
            "(`pg_ctlcluster <version> main start`) or point SQLFLOW_TEST_PG_DSN at a server.",
            pytrace=False,
        )


@contextmanager
def fresh_database() -> Iterator[PgDatabase]:
    """A fresh, empty database on the test server, dropped on the way out."""
    name = f"sqlflowc_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(ADMIN_DSN, dbname=name)
    try:
        yield PgDatabase(name, dsn)
    finally:
        with _admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
