"""Resuming a run: which run, and which of its steps need not run again.

Contract of `resume_point(plan, database, run_id, force=...)`:
- The run resumed is `run_id` (or the only one starting with it), else the latest run of the
  plan's pipeline. It must be of the same pipeline, `failed` or `interrupted` (a run still
  running, or one that succeeded, is refused), and have run on the same database, not
  `:memory:` (the tables of its steps are there).
- Its plan fingerprint must equal this plan's: a pipeline, a variable or a profile that changed
  would make the steps done earlier and the steps run now disagree. `force=True` resumes anyway
  (steps are matched by id).
- The steps not run again are those that `succeeded` in it (also those it took over from a run
  it resumed itself), and those it was running when it was cut short whose commit mark is in
  the database (`runtime/steps.py`: steps that cannot be run twice mark their commits). Every
  other step runs; a step that can run twice without harm (a REPLACE, a view, an export) and
  was cut short simply runs again. So the end state is a clean run's.
- A run already resumed by another is refused: what it left undone, the later run did (or
  tried), and the commit marks it left are gone (`runtime/commit_marks.prune`).
- Refusals raise `ResumeRefused` with the reason and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlflowc.backend.plan import Plan
from sqlflowc.runtime.ledger import plan_fingerprint, runs_dir
from sqlflowc.runtime.run_records import RunInfo, find_run, read_run

__all__ = ["ResumePoint", "ResumeRefused", "resume_point"]


class ResumeRefused(Exception):
    """A run that cannot be resumed: `message` says why, `help` what to do."""

    def __init__(self, message: str, help: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.help = help


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """The run resumed, and the steps not to run again (step id → the run it succeeded in)."""

    run: RunInfo
    reused: dict[str, str] = field(default_factory=dict)


def resume_point(
    plan: Plan, database: str, run_id: str | None, *, force: bool = False
) -> ResumePoint:
    """See the module docstring."""
    directory = runs_dir(plan.project_dir)
    run = _find(directory, plan, run_id)
    if run.pipeline != plan.pipeline:
        raise ResumeRefused(
            f"run {run.run_id} ran {run.pipeline}, not {plan.pipeline}",
            help=f"resume it with `sqlflowc run {run.pipeline} --resume {run.run_id}`",
        )
    if run.status == "running":
        raise ResumeRefused(
            f"run {run.run_id} of {run.pipeline} is still running (process {run.pid})",
            help="wait for it to end, or stop it; then resume it",
        )
    if run.status == "succeeded":
        raise ResumeRefused(
            f"run {run.run_id} of {run.pipeline} succeeded: there is nothing to resume",
            help="run the pipeline without --resume to run it again",
        )
    if run.database.startswith(":memory:") or _path(run.database) != _path(database):
        where = "in memory" if run.database.startswith(":memory:") else f"on {run.database}"
        raise ResumeRefused(
            f"run {run.run_id} ran {where}, this run would use {database}: the tables of the "
            "steps it did are not there",
            help=f"resume it with --db {run.database}"
            if not run.database.startswith(":memory:")
            else "run the pipeline again without --resume",
        )
    later = _resumed_by(directory, run.run_id) if run_id is not None else None
    if later is not None:
        raise ResumeRefused(
            f"run {run.run_id} of {run.pipeline} was resumed already, by run {later}: what it "
            "left undone was run then",
            help=f"resume the latest run instead: `sqlflowc run {run.pipeline} --resume`",
        )
    fingerprint = plan_fingerprint(plan)
    if run.fingerprint != fingerprint and not force:
        raise ResumeRefused(
            f"the plan of {plan.pipeline} changed since run {run.run_id} "
            f"(fingerprint {run.fingerprint}, now {fingerprint}): the pipeline, its variables "
            "or the profile differ, so the steps done then may not fit the steps run now",
            help="run it again without --resume, or add --force to resume anyway "
            "(steps are matched by id)",
        )
    ids = {s.id for s in plan.steps}
    reused = {
        s.id: s.reused_from or run.run_id
        for s in run.steps
        if s.state == "succeeded" and s.id in ids
    }
    cut_short = [s.id for s in run.steps if s.state == "interrupted" and s.id in ids]
    if cut_short:
        reused.update(dict.fromkeys(_committed(database, run.run_id, cut_short), run.run_id))
    return ResumePoint(run=run, reused=reused)


def _find(directory: Path, plan: Plan, run_id: str | None) -> RunInfo:
    if run_id is not None:
        run = find_run(directory, run_id)
        if run is None:
            raise ResumeRefused(
                f"no run `{run_id}` recorded in {directory}",
                help="`sqlflowc runs` lists the runs",
            )
        return run
    latest = _latest(directory, plan.pipeline)
    if latest is None:
        raise ResumeRefused(
            f"no run of {plan.pipeline} is recorded in {directory}: there is nothing to resume",
            help="run it without --resume",
        )
    return latest


def _heads(directory: Path) -> list[tuple[dict[str, object], Path]]:
    """The first line (`run_start`) of every record in `directory`, and its file."""
    heads: list[tuple[dict[str, object], Path]] = []
    for path in directory.glob("*.jsonl"):
        try:
            with path.open(encoding="utf-8") as f:
                head = json.loads(f.readline())
        except (OSError, ValueError):
            continue
        if isinstance(head, dict):
            heads.append((head, path))
    return heads


def _resumed_by(directory: Path, run_id: str) -> str | None:
    """The id of a run that resumed run `run_id`, if any."""
    for head, _ in _heads(directory):
        if head.get("resumed_from") == run_id:
            return str(head.get("run_id"))
    return None


def _latest(directory: Path, pipeline: str) -> RunInfo | None:
    """The latest run of `pipeline`: only the first line of newer runs' records is read."""
    if not directory.is_dir():
        return None
    candidates = [
        (str(head.get("at", "")), path)
        for head, path in _heads(directory)
        if head.get("pipeline") == pipeline
    ]
    for _, path in sorted(candidates, reverse=True):
        run = read_run(path)
        if run is not None:
            return run
    return None


def _committed(database: str, run_id: str, steps: list[str]) -> list[str]:
    """Which of `steps` (cut short in run `run_id`) left a commit mark in the database."""
    import duckdb

    from sqlflowc.runtime.commit_marks import TABLE as COMMITS_TABLE

    if not Path(database).exists():
        return []
    rows: list[tuple[object, ...]] = []
    con = duckdb.connect(database)
    try:
        known = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
            [COMMITS_TABLE],
        ).fetchone()
        if known and known[0]:
            rows = con.execute(
                f"SELECT step_id FROM {COMMITS_TABLE} WHERE run_id = ?", [run_id]
            ).fetchall()
    finally:
        con.close()
    done = {r[0] for r in rows}
    return [s for s in steps if s in done]


def _path(database: str) -> str:
    return str(Path(database).expanduser().resolve())
