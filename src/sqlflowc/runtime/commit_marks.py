"""Commit marks: how a resumed run tells whether a step cut short by a kill had committed.

A step that would not give the same result when run twice (`needs_mark`: an `APPEND`, `MERGE`
or `INCREMENTAL` load or table, other SQL such as `INSERT`) inserts `(run id, step id, time)`
into `TABLE`, in its own transaction, right before its COMMIT: the mark is there exactly when
the step's data is. The run's record (`runtime/ledger.py`) learns of the step's end only after
the commit, so a kill in between leaves the step `running` in the record and done in the
database; `runtime/resume.py` reads the marks.

`begin_step(run_id, step)` / `end_step(token)` bracket a step in the thread that runs it
(a context variable: steps in other threads mark their own); `commit(con)` ends the step's
transaction, inserting its mark first. The table is created by the run when it connects
(`DDL`), never inside a step's transaction (two steps' transactions creating it at once would
conflict).

`prune(con, keep)` deletes the marks of every run not in `keep`. A mark is read only to resume a
run whose process died between a step's commit and its record (`kill -9`): once a run has ended
(its record says how every step ended) its marks are never read, nor are a run's once it was
resumed, nor those of a run whose record is gone. The runner prunes at the end of a run that
marked commits or resumed one, keeping the marks of the other runs recorded in `target/runs/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from sqlflowc.backend.plan import CreateTable, Load, Replace, Sql, Step
from sqlflowc.sqlbuild import sql_string

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["DDL", "TABLE", "begin_step", "commit", "end_step", "needs_mark", "pending", "prune"]

TABLE = "_sqlflow_commits"
DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(run_id VARCHAR, step_id VARCHAR, committed_at TIMESTAMP WITH TIME ZONE)"
)
_CURRENT: ContextVar[tuple[str, str] | None] = ContextVar("sqlflowc_commit_mark", default=None)


def needs_mark(step: Step) -> bool:
    """Whether running `step` twice could differ from running it once."""
    match step:
        case Load() | CreateTable():
            return not isinstance(step.mode, Replace)
        case Sql():
            return True
        case _:
            return False


def begin_step(run_id: str | None, step: Step) -> Token[tuple[str, str] | None]:
    """`step` runs in this thread now; its commit is marked when `run_id` is given."""
    return _CURRENT.set((run_id, step.id) if run_id and needs_mark(step) else None)


def end_step(token: Token[tuple[str, str] | None]) -> None:
    _CURRENT.reset(token)


def pending() -> bool:
    """Whether the step running in this thread marks its commit."""
    return _CURRENT.get() is not None


def commit(con: Connection) -> None:
    """End the step's transaction: its mark (when it needs one) and `COMMIT`, in one call to
    DuckDB (the ids are quoted: no value changes the statements)."""
    current = _CURRENT.get()
    if current is None:
        con.execute("COMMIT")
        return
    run_id, step_id = current
    values = f"{sql_string(run_id)}, {sql_string(step_id)}, now()"
    con.execute(f"INSERT INTO {TABLE} VALUES ({values}); COMMIT")


def prune(con: Connection, keep: Iterable[str]) -> None:
    """Delete the marks of every run whose id is not in `keep` (see the module docstring)."""
    keep_ids = sorted(keep)
    con.execute(f"DELETE FROM {TABLE} WHERE NOT list_contains(?::VARCHAR[], run_id)", [keep_ids])
