"""Fixtures of the PostgreSQL tests: `pg_db`, a fresh database on the real server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pgserver import PgDatabase, fresh_database


@pytest.fixture
def pg_db() -> Iterator[PgDatabase]:
    """A fresh, empty database on the test server, dropped after the test."""
    with fresh_database() as db:
        yield db
