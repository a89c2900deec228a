"""run_small: `sqlflowc run` of the quickstart pipeline on `:memory:`, against the minimum any
Python tool doing the same work pays: importing duckdb, sqlglot and lark, then running the
plan's SQL (the exports as plain `COPY ... TO`) directly with duckdb in one script.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from _common import (
    EXAMPLES,
    Context,
    Row,
    interleaved,
    log,
    log_sample,
    run_checked,
    time_command,
)

NAME = "run_small"
TITLE = "small run: `sqlflowc run quickstart.sf --db :memory:`"
REPEATS = 10
TARGET = 0.4
PIPELINE = "pipelines/quickstart.sf"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def baseline_script(project: Path, out_dir: str) -> str:
    """A script running the quickstart plan's SQL with duckdb directly (exports into
    `out_dir`), after importing what a pipeline tool needs."""
    from sqlflowc.api import compile_file
    from sqlflowc.backend.plan import Export, step_statements
    from sqlflowc.connectors import get_connector
    from sqlflowc.connectors.files.runtime import copy_options

    comp = compile_file(project / PIPELINE)
    statements: list[str] = []
    for step in comp.plan.steps:
        if isinstance(step, Export):
            target = project / out_dir / Path(step.uri).name
            connector = get_connector(step.format)
            assert connector is not None
            options = copy_options(connector.parse_export(step.options))
            query = step.query.strip().rstrip(";")
            statements.append(f"COPY (\n{query}\n) TO {_sql_string(str(target))} {options}")
        else:
            statements.extend(step_statements(step))
    return (
        "import os\n"
        "import duckdb, sqlglot, lark  # noqa: F401\n"
        f"STATEMENTS = {statements!r}\n"
        f"os.makedirs({str(project / out_dir)!r}, exist_ok=True)\n"
        "con = duckdb.connect(':memory:')\n"
        "for sql in STATEMENTS:\n"
        "    con.execute(sql)\n"
        "con.close()\n"
    )


def prepare(ctx: Context, name: str) -> Path:
    """A fresh copy of the quickstart example (without its target/) under the run's workdir."""
    project = ctx.workdir / name / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", project, ignore=shutil.ignore_patterns("target"))
    return project


def run(ctx: Context) -> list[Row]:
    project = prepare(ctx, NAME)
    script = project / "baseline_run.py"
    script.write_text(baseline_script(project, "baseline_out"), encoding="utf-8")
    ours_cmd = [ctx.sqlflowc, "run", PIPELINE, "--db", ":memory:"]
    base_cmd = [ctx.python, str(script)]
    samples = interleaved(
        {
            "ours": lambda: time_command(ours_cmd, cwd=project),
            "baseline": lambda: time_command(base_cmd, cwd=project),
        },
        repeats=REPEATS,
    )
    # Both did the same work: the report they wrote must be identical.
    ours_report = (project / "target" / "revenue_by_customer.csv").read_text(encoding="utf-8")
    base_report = (project / "baseline_out" / "revenue_by_customer.csv").read_text(encoding="utf-8")
    if ours_report != base_report:
        raise RuntimeError("run_small: sqlflowc and the baseline wrote different reports")
    steps = run_checked(ours_cmd, cwd=project).stdout.strip().splitlines()[-1]
    log_sample("sqlflowc run", samples["ours"])
    log(f"  (sqlflowc's own summary: {steps})")
    log_sample("duckdb script", samples["baseline"])
    row = Row.measured(
        NAME,
        "run_small",
        "`sqlflowc run` quickstart, :memory: vs import duckdb,sqlglot,lark + same SQL",
        samples["ours"],
        samples["baseline"],
        target=f"< {TARGET * 1000:.0f} ms",
    )
    row.met = row.ours < TARGET
    return [row]
