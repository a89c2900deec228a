"""schema_capture: what capturing schemas costs a run (every source before its load, every table
after it is written, compared with the accepted snapshots under target/schemas/).

The same compiled plan is run in this process, on a DuckDB file database, with the capture that
`sqlflowc run` does and without it, interleaved; the difference divided by the objects captured
is the cost per object (the target is a few milliseconds). Two pipelines:
- the quickstart (3 CSV sources, 5 tables);
- 100 CSV sources, each loaded and summarised (100 sources, 200 tables).
Runs in steady state: the snapshots exist and nothing drifted, so a capture reads metadata and
compares (what almost every run does). The first capture of a fresh project, which also writes
every baseline, is measured too and shown as `first_capture` in the row's details.

    python benchmarks/run.py schema_capture
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from _common import EXAMPLES, Clock, Context, Row, Timing, interleaved, log, log_sample, median

NAME = "schema_capture"
TITLE = "schema capture: a run with `target/schemas/` capture vs the same run without"
REPEATS = 7
TARGET_MS = 5.0  # per object


def _quickstart(ctx: Context) -> Path:
    project = ctx.workdir / "capture_quickstart"
    shutil.copytree(EXAMPLES / "quickstart", project, ignore=shutil.ignore_patterns("target"))
    return project / "pipelines" / "quickstart.sf"


def _many_sources(ctx: Context, n: int) -> Path:
    project = ctx.workdir / f"capture_{n}_sources"
    (project / "data").mkdir(parents=True)
    (project / "pipelines").mkdir()
    (project / "profiles").mkdir()
    (project / "profiles" / "dev.yml").write_text("variables: {}\n")
    lines = []
    for i in range(n):
        rows = "".join(f"{j},{i}-{j},{j * 1.5},2024-01-{1 + j % 28:02d}\n" for j in range(50))
        (project / "data" / f"s{i}.csv").write_text("id,label,amount,day\n" + rows)
        lines += [
            f'SOURCE s{i}_csv TYPE CSV PARAMS {{"path": "data/s{i}.csv"}};',
            f"LOAD t{i} FROM s{i}_csv;",
            f"CREATE TABLE sum{i} AS SELECT day, sum(amount) AS amount FROM t{i} GROUP BY day;",
        ]
    path = project / "pipelines" / "many.sf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _measure(ctx: Context, name: str, pipeline: Path) -> Row:
    from sqlflowc.api import compile_file, run
    from sqlflowc.schema.store import SnapshotStore

    project = pipeline.parent.parent
    comp = compile_file(pipeline, project_dir=project)
    database = str(project / "target" / "bench.duckdb")
    schemas = project / "target" / "schemas"

    def once(capture: bool, fresh: bool = False) -> Timing:
        if fresh:
            shutil.rmtree(schemas, ignore_errors=True)
        with Clock() as clock:
            result = run(comp.plan, database=database, capture_schemas=capture)
        assert result.ok and not result.warnings, result.failures or result.warnings
        return clock.timing

    samples = interleaved(
        {
            "capture": lambda: once(True),
            "none": lambda: once(False),
            "first": lambda: once(True, fresh=True),
        },
        repeats=ctx.scaled(REPEATS, minimum=3),
    )
    objects = len(SnapshotStore(project).objects())
    log_sample(f"{name}: run with capture", samples["capture"])
    log_sample(f"{name}: run without capture", samples["none"])
    log_sample(f"{name}: first capture (writes every baseline)", samples["first"])
    per_object = (
        median([t.wall for t in samples["capture"]]) - median([t.wall for t in samples["none"]])
    ) / max(objects, 1)
    first_per_object = (
        median([t.wall for t in samples["first"]]) - median([t.wall for t in samples["none"]])
    ) / max(objects, 1)
    cpu_per_object = (
        median([t.cpu for t in samples["capture"]]) - median([t.cpu for t in samples["none"]])
    ) / max(objects, 1)
    log(
        f"  {objects} objects: {per_object * 1000:.2f} ms per object in steady state "
        f"({cpu_per_object * 1000:.2f} ms of CPU), {first_per_object * 1000:.2f} ms on the "
        "first capture"
    )
    extra: dict[str, Any] = {
        "objects": objects,
        "ms_per_object": per_object * 1000,
        "cpu_ms_per_object": cpu_per_object * 1000,
        "first_capture": median([t.wall for t in samples["first"]]),
        "first_capture_ms_per_object": first_per_object * 1000,
    }
    row = Row.measured(
        NAME,
        name,
        f"run with schema capture vs without ({objects} objects)",
        samples["capture"],
        samples["none"],
        target=f"< {TARGET_MS:.0f} ms/object",
        extra=extra,
    )
    row.met = per_object * 1000 < TARGET_MS
    return row


def run(ctx: Context) -> list[Row]:
    return [
        _measure(ctx, "capture_quickstart", _quickstart(ctx)),
        _measure(ctx, "capture_100_sources", _many_sources(ctx, ctx.scaled(100, minimum=10))),
    ]
