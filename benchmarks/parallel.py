"""parallel: `sqlflowc run --jobs 4` against `--jobs 1` of the same pipeline, in the same run.

- pg_wait: 8 independent loads, each from a PostgreSQL query that waits 0.3 s (`pg_sleep`)
  through the POSTGRES connector — steps that wait, where running them at once pays. Target:
  `--jobs 4` at least 2.5x faster, for running the steps (`api.run` of the compiled plan, with
  the ledger and schema captures as `sqlflowc run` has them). A second row times the whole
  `sqlflowc run` process, for information: its start-up and compile (which asks PostgreSQL for
  each source's columns) are the same for every `--jobs` and weigh more the busier the
  machine. Needs PostgreSQL at 127.0.0.1:5432 (user postgres, database `test`, or
  `SQLFLOW_TEST_PG_DSN`); without it the rows say so.
- chain100: 100 chained CTAS, nothing to run at once (`api.run`, file database). Target:
  `--jobs 4` no slower (<= 1.03x).
- quickstart: the quickstart example (`sqlflowc run`, `:memory:`). Target: <= 1.03x.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from _common import (
    EXAMPLES,
    Clock,
    Context,
    Row,
    Timing,
    interleaved,
    log,
    log_sample,
    time_command,
)
from per_statement import compile_plan, pipeline

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan

NAME = "parallel"
TITLE = "parallel steps: run --jobs 4 vs --jobs 1"
WAITS = 8
WAIT_S = 0.3
REPEATS = 7
TARGET_SPEEDUP = 2.5
TARGET_NO_SLOWER = 1.03


def _pg_params() -> dict[str, str] | None:
    """Connection fields of the local PostgreSQL, or None when it does not answer."""
    default = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    dsn = os.environ.get("SQLFLOW_TEST_PG_DSN", default)
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3) as conn:
            info = conn.info
            return {
                "host": info.host,
                "port": str(info.port),
                "user": info.user,
                "dbname": info.dbname,
            }
    except Exception as err:  # noqa: BLE001 - no server: the row says so
        log(f"  PostgreSQL not reachable ({type(err).__name__}: {err}); pg_wait skipped")
        return None


def _pg_pipeline(params: dict[str, str]) -> str:
    fields = ", ".join(f'"{k}": "{v}"' for k, v in params.items())
    lines = []
    for i in range(WAITS):
        query = f"SELECT {i} AS x FROM pg_sleep({WAIT_S})"
        lines.append(f'SOURCE wait{i} TYPE POSTGRES PARAMS {{{fields}, "query": "{query}"}};')
        lines.append(f"LOAD waited{i} FROM wait{i};")
    return "\n".join(lines) + "\n"


def _cli_rows(
    ctx: Context, project: Path, label: str, name: str, measures: str, target: str
) -> Row:
    pipeline_file = "pipelines/p.sf" if (project / "pipelines" / "p.sf").exists() else None
    target_file = pipeline_file or "pipelines/quickstart.sf"

    def cmd(jobs: int) -> list[str]:
        return [ctx.sqlflowc, "run", target_file, "--db", ":memory:", "--jobs", str(jobs)]

    samples = interleaved(
        {
            "jobs4": lambda: time_command(cmd(4), cwd=project),
            "jobs1": lambda: time_command(cmd(1), cwd=project),
        },
        repeats=REPEATS,
    )
    log_sample(f"{label} --jobs 4", samples["jobs4"])
    log_sample(f"{label} --jobs 1", samples["jobs1"])
    return Row.measured(NAME, name, measures, samples["jobs4"], samples["jobs1"], target=target)


def _pg_rows(ctx: Context, params: dict[str, str]) -> list[Row]:
    from sqlflowc.api import compile_file
    from sqlflowc.api import run as api_run

    project = ctx.workdir / NAME / "pg_wait"
    (project / "pipelines").mkdir(parents=True)
    (project / "sqlflow.yml").write_text("", encoding="utf-8")
    (project / "pipelines" / "p.sf").write_text(_pg_pipeline(params), encoding="utf-8")
    plan = compile_file(project / "pipelines" / "p.sf", project_dir=project).plan

    def steps(jobs: int) -> Timing:
        with Clock() as clock:
            result = api_run(
                plan, database=":memory:", jobs=jobs, record=True, capture_schemas=True
            )
        if not result.ok:
            raise RuntimeError(f"parallel: pg_wait failed: {result.failures[0].message}")
        return clock.timing

    samples = interleaved({"jobs4": lambda: steps(4), "jobs1": lambda: steps(1)}, repeats=REPEATS)
    log_sample("pg_wait steps --jobs 4", samples["jobs4"])
    log_sample("pg_wait steps --jobs 1", samples["jobs1"])
    target = f"<= {1 / TARGET_SPEEDUP:.2f}x ({TARGET_SPEEDUP:g}x faster)"
    run_row = Row.measured(
        NAME,
        "pg_wait steps --jobs 4 vs 1",
        f"{WAITS} independent PostgreSQL loads, each waiting {WAIT_S} s (pg_sleep): api.run",
        samples["jobs4"],
        samples["jobs1"],
        target=target,
    )
    run_row.met = run_row.ratio is not None and run_row.ratio <= 1 / TARGET_SPEEDUP
    cli_row = _cli_rows(
        ctx,
        project,
        "pg_wait process",
        "pg_wait process --jobs 4 vs 1",
        "the same as a whole `sqlflowc run` (start-up and compile included)",
        "-",
    )
    return [run_row, cli_row]


def _time_api(plan: Plan, root: Path, jobs: int, counter: list[int]) -> Timing:
    from sqlflowc.api import run as api_run

    counter[0] += 1
    db = root / f"db_{counter[0]}.duckdb"
    with Clock() as clock:
        result = api_run(plan, database=str(db), jobs=jobs)
    if not result.ok:
        raise RuntimeError(f"parallel: the chain failed: {result.failures[0].message}")
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    return clock.timing


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    params = _pg_params()
    if params is not None:
        rows.extend(_pg_rows(ctx, params))

    chain_root = ctx.workdir / NAME / "chain100"
    plan, _ = compile_plan(chain_root, pipeline(100, 1000))
    counter = [0]
    samples = interleaved(
        {
            "jobs4": lambda: _time_api(plan, chain_root, 4, counter),
            "jobs1": lambda: _time_api(plan, chain_root, 1, counter),
        },
        repeats=REPEATS,
    )
    log_sample("chain100 jobs=4", samples["jobs4"])
    log_sample("chain100 jobs=1", samples["jobs1"])
    chain = Row.measured(
        NAME,
        "chain100 --jobs 4 vs 1",
        "100 chained CTAS (api.run, file database): nothing to run at once",
        samples["jobs4"],
        samples["jobs1"],
        target=f"<= {TARGET_NO_SLOWER:g}x",
    )
    chain.met = chain.ratio is not None and chain.ratio <= TARGET_NO_SLOWER
    rows.append(chain)

    quick = ctx.workdir / NAME / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", quick, ignore=shutil.ignore_patterns("target"))
    row = _cli_rows(
        ctx,
        quick,
        "quickstart",
        "quickstart --jobs 4 vs 1",
        "`sqlflowc run` quickstart on :memory: (3 loads at once, then 2 tables, 2 exports)",
        f"<= {TARGET_NO_SLOWER:g}x",
    )
    row.met = row.ratio is not None and row.ratio <= TARGET_NO_SLOWER
    rows.append(row)
    return rows
