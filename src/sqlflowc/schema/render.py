"""Snapshots, histories and comparisons for people (aligned text) and scripts (JSON data).

Used by `sqlflowc schema ...` and by the drift reports of a run, so a change reads the same
everywhere: one row per change — what happened, the column, before, after, and whether it is
breaking (`change_rows`). Times are shown in UTC (`2026-01-06 09:15:00 UTC`), fingerprints by
their first 12 hex digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_never

from sqlflowc.schema.compare import (
    Added,
    Change,
    Comparison,
    Moved,
    NullabilityChanged,
    PossibleRename,
    Removed,
    TypeChanged,
    Verdict,
    is_breaking,
)
from sqlflowc.schema.model import Column
from sqlflowc.schema.snapshot import Snapshot
from sqlflowc.schema.store import Entry, History
from sqlflowc.text_table import format_table

__all__ = [
    "change_rows",
    "changes_table",
    "history_json",
    "render_comparison",
    "render_history",
    "render_list",
    "render_show",
    "shown_time",
    "snapshot_json",
    "summary",
]


_KIND: dict[type, str] = {
    Added: "added",
    Removed: "removed",
    PossibleRename: "possibly renamed",
    TypeChanged: "type changed",
    NullabilityChanged: "nullability changed",
    Moved: "moved",
}


def shown_time(iso: str) -> str:
    """`2026-01-06T09:15:00.123456Z` → `2026-01-06 09:15:00 UTC`."""
    if len(iso) >= 19 and iso[10] == "T":
        return f"{iso[:10]} {iso[11:19]} UTC"
    return iso or "-"


def _nullable(col: Column) -> str:
    return "" if col.nullable else " NOT NULL"


def change_rows(changes: Sequence[Change]) -> list[tuple[str, str, str, str, str]]:
    """(change, column, before, after, impact) for each change."""
    rows = []
    for change in changes:
        impact = "breaking" if is_breaking(change) else "compatible"
        match change:
            case Added():
                col = change.column
                row = ("added", col.name, "-", col.type + _nullable(col))
            case Removed():
                col = change.column
                row = ("removed", col.name, col.type + _nullable(col), "-")
            case PossibleRename():
                row = (
                    "renamed?",
                    f"{change.old.name} → {change.new.name}",
                    change.old.type,
                    change.new.type,
                )
            case TypeChanged():
                row = (
                    f"type ({change.direction.value})",
                    change.new.name,
                    change.old.type,
                    change.new.type,
                )
            case NullabilityChanged():
                row = (
                    "nullability",
                    change.new.name,
                    "nullable" if change.old.nullable else "NOT NULL",
                    "nullable" if change.new.nullable else "NOT NULL",
                )
            case Moved():
                row = (
                    "moved",
                    change.column.name,
                    f"position {change.old_position + 1}",
                    f"position {change.new_position + 1}",
                )
            case _:
                assert_never(change)
        rows.append((*row, impact))
    return rows


def changes_table(changes: Sequence[Change]) -> list[str]:
    """The changes as an aligned table (heading first)."""
    return format_table(("CHANGE", "COLUMN", "BEFORE", "AFTER", "IMPACT"), change_rows(changes))


def summary(comparison: Comparison | None) -> str:
    """`breaking: 1 removed, 1 added`; `identical`; `-` for none."""
    if comparison is None:
        return "-"
    if not comparison.changes:
        return comparison.verdict.value
    counts: dict[str, int] = {}
    for change in comparison.changes:
        kind = _KIND[type(change)]
        counts[kind] = counts.get(kind, 0) + 1
    parts = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    return f"{comparison.verdict.value}: {parts}"


def _compare(old: Entry | None, new: Entry | None) -> Comparison | None:
    from sqlflowc.schema.compare import compare_columns

    if old is None or new is None:
        return None
    return compare_columns(old.snapshot.columns, new.snapshot.columns)


# ---------------------------------------------------------------------------- JSON


def snapshot_json(snap: Snapshot) -> dict[str, Any]:
    return {
        "object": snap.object,
        "fingerprint": snap.fingerprint,
        "short": snap.short,
        "captured_at": snap.captured_at,
        "run_id": snap.run_id,
        "pipeline": snap.pipeline,
        "origin": snap.origin,
        "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in snap.columns],
    }


def history_json(history: History) -> dict[str, Any]:
    """The object, its accepted fingerprint and every snapshot, newest first."""
    accepted = history.accepted
    entries = []
    for i, entry in enumerate(history.snapshots):
        before = history.snapshots[i + 1] if i + 1 < len(history.snapshots) else None
        comparison = _compare(before, entry)
        entries.append(
            {
                "ref": f"@{i}",
                **snapshot_json(entry.snapshot),
                "status": _status(history, entry),
                "changes_from_previous": comparison.to_dict() if comparison else None,
                "file": str(entry.path),
            }
        )
    return {
        "object": history.object,
        "accepted": accepted.snapshot.fingerprint if accepted else None,
        "drift_pending": history.pending,
        "snapshots": entries,
        "acceptances": [
            {
                "fingerprint": a.fingerprint,
                "accepted_at": a.accepted_at,
                "by": a.by,
                "run_id": a.run_id,
            }
            for a in history.acceptances
        ],
    }


def _status(history: History, entry: Entry) -> str:
    """`accepted` (the accepted schema now), `was accepted`, or `observed`."""
    accepted = history.accepted
    fp = entry.snapshot.fingerprint
    if accepted is not None and accepted.snapshot.fingerprint == fp:
        return "accepted"
    return "was accepted" if history.was_accepted(fp) else "observed"


# ---------------------------------------------------------------------------- text


def render_list(histories: Sequence[History]) -> str:
    """`schema list`: one line per object."""
    if not histories:
        return "no schema snapshots yet: a run captures them (target/schemas/)\n"
    rows = []
    for h in histories:
        accepted, latest = h.accepted, h.latest
        drift = "-"
        if h.pending and latest is not None:
            drift = summary(_compare(accepted, latest)) if accepted else "no accepted snapshot"
        rows.append(
            (
                h.object,
                str(len(accepted.snapshot.columns)) if accepted else "-",
                accepted.snapshot.short if accepted else "-",
                shown_time(h.acceptances[0].accepted_at) if h.acceptances else "-",
                latest.snapshot.short if latest else "-",
                drift,
            )
        )
    head = ("OBJECT", "COLUMNS", "ACCEPTED", "ACCEPTED AT", "LATEST", "PENDING DRIFT")
    lines = format_table(head, rows, right={1})
    pending = sum(1 for h in histories if h.pending)
    lines.append("")
    lines.append(
        f"{len(histories)} object{'s' * (len(histories) != 1)}"
        + (f", {pending} with drift pending (`sqlflowc schema compare NAME`)" if pending else "")
    )
    return "\n".join(lines) + "\n"


def _describe_snapshot(snap: Snapshot) -> list[str]:
    lines = [
        f"  fingerprint  {snap.fingerprint}",
        f"  captured     {shown_time(snap.captured_at)}"
        + (f" (run {snap.run_id})" if snap.run_id else ""),
    ]
    if snap.pipeline:
        lines.append(f"  pipeline     {snap.pipeline}")
    if snap.origin:
        lines.append(f"  origin       {snap.origin}")
    return lines


def render_show(history: History, entry: Entry, what: str) -> str:
    """`schema show`: one snapshot's columns (`what`: `accepted schema`, `snapshot @2`)."""
    snap = entry.snapshot
    lines = [f"{history.object}  ({what}, {snap.short})", *_describe_snapshot(snap), ""]
    rows = [
        (str(i), c.name, c.type, "yes" if c.nullable else "NOT NULL")
        for i, c in enumerate(snap.columns, 1)
    ]
    lines += format_table(("#", "COLUMN", "TYPE", "NULLABLE"), rows, right={0})
    latest, accepted = history.latest, history.accepted
    if history.pending and latest is not None and accepted is not None:
        comparison = _compare(accepted, latest)
        lines += [
            "",
            f"drift pending: the latest snapshot {latest.snapshot.short} "
            f"({shown_time(latest.snapshot.captured_at)}) is {summary(comparison)}",
            f"  compare: sqlflowc schema compare {history.object}",
            f"  accept:  sqlflowc schema accept {history.object}",
        ]
    return "\n".join(lines) + "\n"


def render_history(history: History) -> str:
    """`schema history`: snapshots newest first, each with its changes from the one before."""
    rows = []
    for i, entry in enumerate(history.snapshots):
        before = history.snapshots[i + 1] if i + 1 < len(history.snapshots) else None
        comparison = _compare(before, entry)
        snap = entry.snapshot
        rows.append(
            (
                f"@{i}",
                snap.short,
                shown_time(snap.captured_at),
                snap.run_id or "-",
                _status(history, entry),
                summary(comparison) if comparison else "first capture",
            )
        )
    head = ("REF", "FINGERPRINT", "CAPTURED", "RUN", "STATUS", "CHANGES FROM PREVIOUS")
    lines = [history.object, "", *format_table(head, rows)]
    return "\n".join(lines) + "\n"


def render_comparison(
    obj: str, old: Snapshot, old_label: str, new: Snapshot, new_label: str, comparison: Comparison
) -> str:
    """`schema compare`: both sides, the changes, the verdict."""
    lines = [
        f"{obj}",
        f"  old  {old.short}  {old_label}, {shown_time(old.captured_at)}",
        f"  new  {new.short}  {new_label}, {shown_time(new.captured_at)}",
        "",
    ]
    if comparison.changes:
        lines += changes_table(comparison.changes)
        lines.append("")
    verdict = comparison.verdict
    n = len(comparison.breaking)
    tail = f" ({n} breaking change{'s' * (n != 1)})" if verdict is Verdict.BREAKING else ""
    lines.append(f"verdict: {verdict.value}{tail}")
    return "\n".join(lines) + "\n"
