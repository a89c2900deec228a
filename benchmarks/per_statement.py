"""per_statement: the executor's cost per step. A 100-statement chain of trivial
`CREATE TABLE t{i} AS SELECT * FROM t{i-1}` (1,000 rows) is compiled once, then run with
`api.run` on a fresh file database, against the plan's own SQL run directly with duckdb on a
fresh file database: each statement in its own transaction (as the executor does), and plain
autocommit. Both sides include opening and closing the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from _common import Clock, Context, Row, Timing, interleaved, log_sample, median, walls

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan

NAME = "per_statement"
TITLE = "per-statement overhead: 100 trivial CTAS on a file database"
STATEMENTS = 100
ROWS = 1000
REPEATS = 11
TARGET_MS = 2.0


def pipeline(statements: int, rows: int) -> str:
    lines = [
        f"CREATE TABLE t0 AS SELECT range AS id, range % 10 AS k, 'row ' || range AS label "
        f"FROM range({rows});"
    ]
    lines += [f"CREATE TABLE t{i} AS SELECT * FROM t{i - 1};" for i in range(1, statements)]
    return "\n".join(lines) + "\n"


class _Databases:
    """A fresh database file per run, removed after it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def fresh(self) -> Path:
        self.n += 1
        return self.root / f"db_{self.n}.duckdb"

    @staticmethod
    def remove(path: Path) -> None:
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)


def time_ours(plan: Plan, dbs: _Databases) -> Timing:
    from sqlflowc.api import run as api_run

    db = dbs.fresh()
    with Clock() as clock:
        result = api_run(plan, database=str(db))
    if not result.ok:
        raise RuntimeError(f"sqlflowc run failed: {result.failures[0].message}")
    dbs.remove(db)
    return clock.timing


def time_direct(statements: Sequence[str], dbs: _Databases, *, transactions: bool) -> Timing:
    import duckdb

    db = dbs.fresh()
    with Clock() as clock:
        con = duckdb.connect(str(db))
        for sql in statements:
            if transactions:
                con.execute("BEGIN TRANSACTION")
                con.execute(sql)
                con.execute("COMMIT")
            else:
                con.execute(sql)
        con.close()
    dbs.remove(db)
    return clock.timing


def compile_plan(project: Path, text: str) -> tuple[Plan, list[str]]:
    from sqlflowc.api import compile_source
    from sqlflowc.backend.plan import step_statements

    pipelines = project / "pipelines"
    pipelines.mkdir(parents=True)
    path = pipelines / "chain.sf"
    path.write_text(text, encoding="utf-8")
    plan = compile_source(text, str(path), project_dir=project).plan
    return plan, [sql for step in plan.steps for sql in step_statements(step)]


def run(ctx: Context) -> list[Row]:
    project = ctx.workdir / NAME
    plan, statements = compile_plan(project, pipeline(STATEMENTS, ROWS))
    if len(statements) != STATEMENTS:
        raise RuntimeError(f"expected {STATEMENTS} statements, the plan has {len(statements)}")
    dbs = _Databases(project)
    samples = interleaved(
        {
            "ours": lambda: time_ours(plan, dbs),
            "txn": lambda: time_direct(statements, dbs, transactions=True),
            "auto": lambda: time_direct(statements, dbs, transactions=False),
        },
        repeats=REPEATS,
    )
    per = {k: median(walls(v)) / STATEMENTS for k, v in samples.items()}
    labels = {
        "ours": "sqlflowc api.run",
        "txn": "duckdb, BEGIN/COMMIT each",
        "auto": "duckdb, autocommit",
    }
    for k, label in labels.items():
        log_sample(label, samples[k], f" = {per[k] * 1000:.3f} ms/statement")
    rows = []
    for k, what in (("txn", "own transaction each"), ("auto", "autocommit")):
        row = Row.measured(
            NAME,
            f"per_statement (vs {k})",
            f"time per trivial CTAS step via api.run vs duckdb directly, {what}",
            [t._replace(wall=t.wall / STATEMENTS, cpu=t.cpu / STATEMENTS) for t in samples["ours"]],
            [t._replace(wall=t.wall / STATEMENTS, cpu=t.cpu / STATEMENTS) for t in samples[k]],
            extra={"statements": STATEMENTS, "rows": ROWS},
        )
        overhead_ms = (row.delta or 0.0) * 1000
        row.extra["overhead_ms"] = overhead_ms
        if k == "txn":
            row.target = f"overhead <= {TARGET_MS:g} ms"
            row.met = overhead_ms <= TARGET_MS
        rows.append(row)
    return rows
