"""What a run says about the schemas it captured (`runtime/drift.py`), as `RunWarning`s at the
statement: a source or table whose schema drifted, a snapshot file that could not be used, a
snapshot that could not be recorded; and the headline and change table a `fail` stop shows.
The schema rendering is imported only when there is drift to show (a rare event: most runs do
not load it)."""

from __future__ import annotations

from pathlib import Path

from sqlflowc.backend.plan import Location
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.report import RunWarning
from sqlflowc.schema.drift import Drift
from sqlflowc.schema.snapshot import Snapshot

__all__ = ["drifted", "headline", "notes", "unrecorded", "unusable_files"]


def headline(drift: Drift, what: str) -> str:
    """`the schema of source `orders` changed since its accepted snapshot (breaking: 1
    removed)`."""
    from sqlflowc.schema.render import summary

    return f"the schema of {what} changed since its accepted snapshot ({summary(drift.comparison)})"


def notes(drift: Drift) -> tuple[str, ...]:
    """The changes as a table, after a line naming both snapshots."""
    if drift.comparison is None or drift.accepted is None:
        return ()
    from sqlflowc.schema.render import changes_table, shown_time

    before, now = drift.accepted, drift.snapshot
    head = (
        f"accepted {before.short} ({shown_time(before.captured_at)}) → "
        f"now {now.short}; `sqlflowc schema compare {drift.object}` shows both"
    )
    return (head, *changes_table(drift.comparison.changes))


def drifted(drift: Drift, what: str, location: Location, done: str) -> RunWarning:
    """`what` (`source `orders``, `table `daily``), `done` (loaded, written) with a schema that
    differs from its accepted one, under a policy that let the run go on."""
    if drift.now_accepted:
        help = f"the new schema is now the accepted one (schema_drift: {drift.policy})"
    else:
        help = (
            f"{what} was {done} with its new schema; if the change is expected, accept it: "
            f"`sqlflowc schema accept {drift.object}` (or set schema_drift: fail to stop "
            "such loads)"
        )
    return RunWarning(
        message=headline(drift, what),
        location=location,
        label="this statement",
        code=Code.SCHEMA_DRIFT,
        help=help,
        notes=notes(drift),
    )


def unusable_files(drift: Drift, location: Location) -> list[RunWarning]:
    """One warning per snapshot file the capture found unreadable (and set aside)."""
    return [
        RunWarning(
            message=f"schema snapshot {problem.path} cannot be used: {problem.reason}",
            location=location,
            label="this statement",
            code=Code.SNAPSHOT_FILE,
            help=f"it was set aside as {problem.aside}; "
            + (
                f"the schema captured now is the accepted baseline of {drift.object}"
                if drift.kind == "baseline"
                else f"{drift.object} was checked against the rest of its history"
            ),
        )
        for problem in drift.problems
    ]


def unrecorded(snap: Snapshot, root: Path, location: Location, err: OSError) -> RunWarning:
    """`snap`'s files could not be written to the store at `root`; the run went on."""
    return RunWarning(
        message=f"the schema snapshot of {snap.object} could not be recorded in "
        f"{root}: {err.strerror or err}",
        location=location,
        label="this statement",
        code=Code.SNAPSHOT_FILE,
        help="make target/schemas/ writable; this run went on without it",
    )
