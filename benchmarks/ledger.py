"""ledger: what run records cost, and what resuming saves.

- `ledger cost per step`: the 100-statement chain of trivial CTAS (as in per_statement) run with
  `api.run(..., record=True)` — the run ledger writing target/runs/ as it goes, its plan file,
  fsync at start and end — against `api.run` with the ledger switched off, each on a fresh file
  database; the difference divided by the 100 steps. Target: at most 0.5 ms per step.
- `resume at step 90`: a 100-step chain whose step 90 fails (it reads a table from outside the
  pipeline holding a bad value) is resumed once the value is fixed — finding the run, reading
  its record and commit marks, then running the 11 remaining steps with the ledger on — against
  running just those 11 steps (a plan of them alone, no ledger) on the same database state.
  Target: less than 100 ms more.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from _common import Clock, Context, Row, Timing, interleaved, log_sample, median, walls

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan

NAME = "ledger"
TITLE = "run records: ledger cost per step, resume of a 100-step run failed at step 90"
STEPS = 100
FAIL_AT = 90  # 1-based: the 90th step fails
REPEATS = 11
TARGET_MS_PER_STEP = 0.5
TARGET_RESUME_MS = 100.0


def chain(steps: int, gate_at: int | None = None) -> str:
    """`t0 .. t{steps-1}`, each a copy of the one before; with `gate_at`, that step also
    reads the table `gate` (made outside the pipeline) and fails while its value is no number."""
    lines = ["CREATE TABLE t0 AS SELECT range AS id, 'row ' || range AS label FROM range(1000);"]
    for i in range(1, steps):
        if i == gate_at:
            lines.append(
                f"CREATE TABLE t{i} AS SELECT t.* FROM t{i - 1} t, gate "
                "WHERE CAST(gate.v AS INTEGER) >= 0;"
            )
        else:
            lines.append(f"CREATE TABLE t{i} AS SELECT * FROM t{i - 1};")
    return "\n".join(lines) + "\n"


def _compile(project: Path, text: str, database: Path | None = None) -> Plan:
    from sqlflowc.api import compile_source

    (project / "pipelines").mkdir(parents=True, exist_ok=True)
    (project / "sqlflow.yml").write_text("name: bench\n", encoding="utf-8")
    path = project / "pipelines" / "chain.sf"
    path.write_text(text, encoding="utf-8")
    options = {"database": str(database)} if database is not None else {}
    return compile_source(text, str(path), project_dir=project, **options).plan


def _remove(db: Path) -> None:
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)


def ledger_cost(ctx: Context) -> Row:
    from sqlflowc.api import run as api_run

    project = ctx.workdir / NAME / "chain"
    plan = _compile(project, chain(STEPS))
    counter = [0]

    def timed(record: bool) -> Timing:
        counter[0] += 1
        db = project / f"db_{counter[0]}.duckdb"
        with Clock() as clock:
            result = api_run(plan, database=str(db), record=record)
        if not result.ok:
            raise RuntimeError(f"run failed: {result.failures[0].message}")
        _remove(db)
        return clock.timing

    samples = interleaved({"on": lambda: timed(True), "off": lambda: timed(False)}, repeats=REPEATS)
    for key, label in (("on", "api.run, ledger on"), ("off", "api.run, ledger off")):
        per = median(walls(samples[key])) / STEPS * 1000
        log_sample(label, samples[key], f" = {per:.3f} ms/step")
    per_step = [t._replace(wall=t.wall / STEPS, cpu=t.cpu / STEPS) for t in samples["on"]]
    base = [t._replace(wall=t.wall / STEPS, cpu=t.cpu / STEPS) for t in samples["off"]]
    row = Row.measured(
        NAME,
        "ledger cost per step (chain100)",
        "time per trivial CTAS step with the run ledger on vs off",
        per_step,
        base,
        extra={"steps": STEPS},
    )
    overhead = (row.delta or 0.0) * 1000
    row.extra["overhead_ms"] = overhead
    row.target = f"overhead <= {TARGET_MS_PER_STEP:g} ms/step"
    row.met = overhead <= TARGET_MS_PER_STEP
    return row


def resume_cost(ctx: Context) -> Row:
    import duckdb

    from sqlflowc.api import run as api_run
    from sqlflowc.runtime.resume import resume_point

    project = ctx.workdir / NAME / "resume"
    project.mkdir(parents=True)
    db = project / "target" / "bench.duckdb"
    db.parent.mkdir(parents=True)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE gate AS SELECT 'x' AS v")
    plan = _compile(project, chain(STEPS, gate_at=FAIL_AT - 1), database=db)
    failed = api_run(plan, database=str(db), record=True)
    if failed.ok or failed.failures[0].step_id != f"table_t{FAIL_AT - 1}":
        raise RuntimeError("the benchmark's run did not fail at its step 90")
    template = project / "template"
    template.mkdir()
    shutil.copy(db, template / "bench.duckdb")
    shutil.copytree(project / "target" / "runs", template / "runs")
    remaining = plan.steps[FAIL_AT - 1 :]
    done = {s.id for s in plan.steps[: FAIL_AT - 1]}
    alone = dataclasses.replace(
        plan,
        steps=tuple(
            dataclasses.replace(s, depends_on=tuple(d for d in s.depends_on if d not in done))
            for s in remaining
        ),
    )

    def restore() -> None:
        """The database and records as the failed run left them, the bad value fixed."""
        _remove(db)
        shutil.copy(template / "bench.duckdb", db)
        shutil.rmtree(project / "target" / "runs")
        shutil.copytree(template / "runs", project / "target" / "runs")
        with duckdb.connect(str(db)) as con:
            con.execute("UPDATE gate SET v = '1'")

    def resumed() -> Timing:
        restore()
        with Clock() as clock:
            point = resume_point(plan, str(db), None)
            result = api_run(
                plan,
                database=str(db),
                record=True,
                reused=point.reused,
                resumed_from=point.run.run_id,
            )
        if not result.ok or len(point.reused) != FAIL_AT - 1:
            raise RuntimeError("the resumed run did not do what it should")
        return clock.timing

    def eleven() -> Timing:
        restore()
        with Clock() as clock:
            result = api_run(alone, database=str(db))
        if not result.ok:
            raise RuntimeError(f"the 11 steps failed: {result.failures[0].message}")
        return clock.timing

    samples = interleaved({"resume": resumed, "alone": eleven}, repeats=REPEATS)
    log_sample("--resume (89 done, 11 run)", samples["resume"])
    log_sample("the 11 steps alone", samples["alone"])
    row = Row.measured(
        NAME,
        "resume at step 90 of 100",
        "resume of a 100-step run failed at step 90 vs running its 11 remaining steps alone",
        samples["resume"],
        samples["alone"],
        extra={"steps": STEPS, "fail_at": FAIL_AT},
    )
    extra_ms = (row.delta or 0.0) * 1000
    row.extra["extra_ms"] = extra_ms
    row.target = f"< {TARGET_RESUME_MS:g} ms more"
    row.met = extra_ms < TARGET_RESUME_MS
    return row


def run(ctx: Context) -> list[Row]:
    return [ledger_cost(ctx), resume_cost(ctx)]
