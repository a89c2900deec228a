"""What running a plan needs, importable without the compiler: the database a run uses, what
the compiler may know of schemas before it, and `run`, which executes a plan (the executor
itself is imported by `run` only). A cached plan runs through here without loading a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan
    from sqlflowc.profiles import Profile
    from sqlflowc.runtime.ledger import Ledger
    from sqlflowc.runtime.report import RunResult
    from sqlflowc.schema.catalog import Catalog
    from sqlflowc.schema.drift import DriftPolicy

__all__ = ["database_path", "project_catalog", "run"]


def project_catalog(project_dir: Path, database: str) -> Catalog:
    """What the compiler may know of schemas before the run: the project database's tables
    (read once, read-only, when a check needs them), the sources' own metadata (connector
    schema discovery) and, for a source that cannot be read now, its accepted snapshot."""
    from sqlflowc.connectors.catalog import DiscoveryCatalog
    from sqlflowc.runtime.schema import DatabaseCatalog
    from sqlflowc.schema.catalog import LayeredCatalog
    from sqlflowc.schema.snapshot_catalog import SnapshotCatalog

    return LayeredCatalog(
        DatabaseCatalog(database), DiscoveryCatalog(project_dir), SnapshotCatalog(project_dir)
    )


def database_path(project_dir: Path, profile: Profile, override: str | None) -> str:
    """The DuckDB database a run uses: `--db`, else the profile's, else target/sqlflow.duckdb."""
    from sqlflowc.profiles import DEFAULT_DATABASE

    chosen = override or profile.engine.path or DEFAULT_DATABASE
    if chosen == ":memory:":
        return chosen
    path = Path(chosen)
    return str(path if path.is_absolute() or override else project_dir / path)


def run(
    plan: Plan,
    *,
    capture_schemas: bool = False,
    schema_drift: DriftPolicy | None = None,
    profile: Profile | None = None,
    record: bool = False,
    reused: Mapping[str, str] | None = None,
    resumed_from: str | None = None,
    **options: Any,
) -> RunResult:
    """Execute a plan on DuckDB; `options` are those of `runtime.executor.run_plan`.

    With `record` (what `sqlflowc run` does), the run is recorded as it goes in the project's
    `target/runs/` (`runtime/ledger.py`); a ledger that cannot write is a warning. `reused`
    (a resumed run) maps the steps not to run again to the run `resumed_from` they succeeded
    in.

    With `capture_schemas` (what `sqlflowc run` does), the schema of every source is captured
    before its load and of every table after it is written, into the project's
    `target/schemas/`, and compared with the accepted snapshots: `schema_drift` (the run's
    `--schema-drift`) overrides each SOURCE's `schema_drift` parameter, which overrides the
    profile's. Each snapshot records the run's id.

    The executor is imported here, not at the top: `compile` and `check` never need it.
    """
    from sqlflowc.runtime.drift import SchemaCapture
    from sqlflowc.runtime.executor import run_plan

    origin = None
    if plan.engine == "spark":
        options.setdefault("engine", _spark_engine(plan, profile))
        options["database"] = origin = options["engine"].description

    if capture_schemas:
        options["schemas"] = SchemaCapture(
            plan,
            database=str(options.get("database", "")),
            override=schema_drift,
            default=profile.schema_drift if profile is not None else None,
            origin=origin,
        )
    if reused:
        options["already_done"] = frozenset(reused)
    if not record:
        return run_plan(plan, **options)
    return _recorded_run(plan, profile, reused or {}, resumed_from, options)


def _recorded_run(
    plan: Plan,
    profile: Profile | None,
    reused: Mapping[str, str],
    resumed_from: str | None,
    options: dict[str, Any],
) -> RunResult:
    """`run_plan` with the run ledger listening to its hooks and events."""
    import dataclasses

    from sqlflowc.diagnostics import Code
    from sqlflowc.fileio import os_reason
    from sqlflowc.runtime.commit_marks import DDL as COMMITS_DDL
    from sqlflowc.runtime.commit_marks import needs_mark
    from sqlflowc.runtime.executor import run_plan
    from sqlflowc.runtime.hooks import Hooks
    from sqlflowc.runtime.ledger import Ledger, runs_dir
    from sqlflowc.runtime.report import RunEvent, RunWarning

    ledger = Ledger(
        runs_dir(plan.project_dir),
        plan,
        profile=profile.name if profile is not None else None,
        reused=reused,
        resumed_from=resumed_from,
    )
    hooks: Hooks = options.get("hooks") or Hooks()
    options["hooks"] = Hooks(hooks=(ledger.hook(), *hooks.hooks), warnings=hooks.warnings)
    events = options.get("events")

    def tee(event: RunEvent) -> None:
        ledger.on_event(event)
        if events is not None:
            events(event)

    options["events"] = tee
    # commit marks are DuckDB's (a table in the database); a Spark step is one swap, not marked
    marked = plan.engine == "duckdb" and any(
        needs_mark(step) for step in plan.steps if step.id not in reused
    )
    if marked:
        connected = options.get("on_connect")

        def prepare(con: Any) -> None:
            con.execute(COMMITS_DDL)  # where steps that cannot run twice mark their commits
            if connected is not None:
                connected(con)

        options["on_connect"] = prepare
        options["mark_commits"] = True
    pruning: list[str] = []  # why the marks could not be pruned
    if options.get("mark_commits") or resumed_from is not None:
        finished = options.get("on_finish")

        def prune(con: Any) -> None:
            if finished is not None:
                finished(con)
            problem = _prune_marks(con, ledger, resumed_from)
            if problem is not None:
                pruning.append(problem)

        options["on_finish"] = prune
    result = run_plan(plan, **options)
    if pruning:
        warning = RunWarning(
            code=Code.DATABASE_ERROR,
            message=f"the commit marks of ended runs were not removed: {pruning[0]}",
            help="nothing to do: a later run removes them",
        )
        result = dataclasses.replace(result, warnings=(*result.warnings, warning))
    if ledger.problem is None:
        return result
    problem = RunWarning(
        code=Code.FILE_ERROR,
        message=f"the run's record in {ledger.directory} is incomplete: "
        f"{os_reason(ledger.problem)}",
        help="`sqlflowc status` and `--resume` need it: check the directory's permissions "
        "and free space",
    )
    return dataclasses.replace(result, warnings=(*result.warnings, problem))


def _prune_marks(con: Any, ledger: Ledger, resumed_from: str | None) -> str | None:
    """Remove the commit marks no resume will read (`runtime/commit_marks.prune`): this run's
    (it ended: its record says how every step ended), the run's it resumed, and those of runs
    whose record is gone. None when done, else why not."""
    import duckdb

    from sqlflowc.runtime.commit_marks import prune

    if ledger.problem is not None or ledger.run_id is None:
        return None  # no record of this run, maybe none readable: keep every mark
    ended = {ledger.run_id, resumed_from}
    recorded = {p.name.removesuffix(".jsonl") for p in ledger.directory.glob("*.jsonl")}
    try:
        prune(con, recorded - ended)
    except duckdb.CatalogException:
        return None  # no step ever marked a commit in this database
    except duckdb.Error as err:
        return str(err)
    return None


def _spark_engine(plan: Plan, profile: Profile | None) -> Any:
    """The Spark engine of the profile (its master, warehouse and settings), or the default
    one (`local[*]`, the project's target/spark-warehouse) when the profile is not Spark's."""
    from sqlflowc.profiles import DEFAULT_MASTER, DEFAULT_WAREHOUSE
    from sqlflowc.runtime.spark import SparkEngine

    if profile is not None and profile.engine.type == "spark":
        engine = profile.engine
        return SparkEngine(engine.master, engine.warehouse, engine.conf, remote=engine.remote)
    warehouse = str(Path(plan.project_dir) / DEFAULT_WAREHOUSE)
    return SparkEngine(DEFAULT_MASTER, warehouse, {})
