"""Reading the files of the snapshot store (`store.py`, whose docstring states the layout): an
object's files and its records in packs (`store_packs.py`) as `Item`s, each read into a
snapshot or an acceptance, or refused with a `SnapshotError` naming the file (a pack's record:
`PackRecordError`, naming the pack and the object)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.schema.snapshot import (
    SNAPSHOT_FORMAT,
    Snapshot,
    SnapshotError,
    short,
    snapshot_from_json,
)
from sqlflowc.schema.store_packs import PackRecord

__all__ = [
    "BASELINE_BY",
    "Acceptance",
    "Entry",
    "Item",
    "PackRecordError",
    "baseline_acceptance",
    "decode",
    "encode",
    "read_acceptance",
    "read_record",
    "read_snapshot",
    "short_of",
]

BASELINE_BY = "first capture"  # what accepted a baseline
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")


@dataclass(frozen=True, slots=True)
class Entry:
    """A snapshot and the file it was read from."""

    snapshot: Snapshot
    path: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Acceptance:
    """A decision: the snapshot with `fingerprint` is the object's accepted schema."""

    object: str
    fingerprint: str
    accepted_at: str
    by: str
    run_id: str | None
    path: Path


@dataclass(frozen=True, slots=True)
class Item:
    """A file of an object's history, or a record of a pack: its name (a pack record's is the
    name its file would have had: names sort by time), the file it is in, the record."""

    name: str
    path: Path
    record: PackRecord | None = None


class PackRecordError(SnapshotError):
    """A pack's record that cannot be used: the pack is `path`; quarantine keeps the record's
    bytes in `aside`, a file of its object's directory, and leaves the pack as it is."""

    def __init__(self, record: PackRecord, obj: str, reason: str, aside: Path) -> None:
        super().__init__(str(record.pack), f"the baseline of {obj}: {reason}", aside=str(aside))
        self.record = record


def short_of(name: str) -> str:
    """The short fingerprint in a file's name (`<stamp>-<fp12>-<rand>…`)."""
    parts = name.split("-")
    return parts[1] if len(parts) >= 3 else ""


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SnapshotError(str(path), "not UTF-8 text") from None
    except OSError as err:
        raise SnapshotError(str(path), f"cannot be read ({err.strerror or err})") from None


def read_snapshot(path: Path, obj: str) -> Snapshot:
    snap = snapshot_from_json(read_text(path), str(path))
    check(snap, obj, path.name, str(path))
    return snap


def check(snap: Snapshot, obj: str, name: str, where: str) -> None:
    """That `snap`, read from the file (or record) `name`, is of `obj`, as its name says."""
    if snap.object != obj:
        raise SnapshotError(where, f"is a snapshot of `{snap.object}`, not of `{obj}`")
    if short_of(name) != snap.short:
        raise SnapshotError(
            where, f"its name says fingerprint {short_of(name)}, its content {snap.short}"
        )


def baseline_acceptance(snap: Snapshot, path: Path) -> Acceptance:
    """The acceptance a baseline file holds: of itself, when captured, by `first capture`."""
    return Acceptance(
        object=snap.object,
        fingerprint=snap.fingerprint,
        accepted_at=snap.captured_at,
        by=BASELINE_BY,
        run_id=snap.run_id,
        path=path,
    )


def read_acceptance(path: Path, obj: str) -> Acceptance:
    where = str(path)
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise SnapshotError(
            where, f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(where, "not an acceptance record")
    fp, at, by = data.get("accepts"), data.get("accepted_at"), data.get("by")
    run_id = data.get("run_id")
    if data.get("object") != obj:
        raise SnapshotError(where, f"is about `{data.get('object')}`, not `{obj}`")
    if not isinstance(fp, str) or len(fp) != 64 or short_of(path.name) != short(fp):
        raise SnapshotError(where, "`accepts` must be the 64-hex fingerprint its name starts with")
    if not isinstance(at, str) or not isinstance(by, str):
        raise SnapshotError(where, "`accepted_at` and `by` must be strings")
    if run_id is not None and not isinstance(run_id, str):
        raise SnapshotError(where, "`run_id` must be a string or null")
    return Acceptance(object=obj, fingerprint=fp, accepted_at=at, by=by, run_id=run_id, path=path)


def encode(name: str) -> str:
    """A directory name for an object name: safe characters kept, others as `%XX`."""
    out = []
    for i, ch in enumerate(name.lower()):
        if ch in _SAFE and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def decode(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def read_record(item: Item, obj: str, aside: Path) -> Snapshot:
    """The baseline a pack's record holds (`item.record`); PackRecordError when it cannot be
    used, to be set aside as `aside`."""
    record = item.record
    assert record is not None
    try:
        try:
            text = record.body()
        except UnicodeDecodeError:
            raise SnapshotError(str(record.pack), "not UTF-8 text") from None
        snap = snapshot_from_json(text, str(record.pack))
        check(snap, obj, item.name, str(record.pack))
    except SnapshotError as err:
        raise PackRecordError(record, obj, err.reason, aside) from None
    return snap
