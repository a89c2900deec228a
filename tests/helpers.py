"""Small helpers shared by the test modules (import as `from helpers import ...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from click.testing import CliRunner, Result

from sqlflowc.cli import cli


def sql(db: Path, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements on a database file; the rows of the last one."""
    con = duckdb.connect(str(db))
    try:
        out: list[tuple[Any, ...]] = []
        for s in statements:
            out = con.execute(s).fetchall()
        return out
    finally:
        con.close()


def sqlflowc(*args: str) -> Result:
    """The CLI in-process, as a user would call it."""
    return CliRunner().invoke(cli, list(args))


def run_ok(pipeline: str, *args: str) -> Result:
    """`sqlflowc run pipelines/<pipeline>.sf`, which must succeed."""
    result = sqlflowc("run", f"pipelines/{pipeline}.sf", *args)
    assert result.exit_code == 0, result.output
    return result
