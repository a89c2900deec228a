"""The snapshot store: each object's history under the project's `target/schemas/`.

Layout — one directory per object, one file per event, never rewritten:

    target/schemas/source/orders/
      20260105T101500.123456Z-3f9a2c1b7d4e-5c1a.baseline.json   the first snapshot, accepted
      20260106T090000.000001Z-8d1e2f3a4b5c-77f0.json            a later snapshot (observed)
      20260107T080000.000001Z-8d1e2f3a4b5c-0b3e.accept.json     its acceptance

A name is the capture time (UTC, to the microsecond: names sort by time), the fingerprint's 12
hex digits and 4 random ones. A snapshot (`*.json`, `snapshot.py`) is observed; an acceptance
(`*.accept.json`) names the full fingerprint of the snapshot it accepts, when, by what
(`first capture`, `schema_drift=accept`, `same columns`, `schema accept`) and the run. A
baseline (`*.baseline.json`, what the first capture of an object writes: one file, not two) is
a snapshot and its own acceptance at once: accepted when captured, by `first capture`, in the
run that captured it. The accepted snapshot of an object is the one its newest acceptance (or
baseline) names; the latest is its newest snapshot (a baseline is one); drift is pending when
they differ.

Contract:
- Append-only: `record`, `accept` and `baseline` add files; nothing is ever rewritten or
  deleted. (The one exception: `quarantine` renames an unreadable file to `*.corrupt`, keeping
  its bytes, so a run that re-captured past it is not warned about it again.)
- Atomic, durable and concurrent-safe (`store_files.py`): a file is written to a temporary name
  in the same directory, flushed to disk, then hard-linked to its final name, which fails
  rather than overwrites when the name is taken (a new random suffix is drawn), and the new
  name is flushed to disk before the call returns. A crash — of the process or of the machine
  — leaves at most a stray temporary file (`.tmp-*`, ignored), never a named file that is
  incomplete, and never loses a file once the call that wrote it returned; two runs writing at
  once both keep their files.
- Batches (`batch()`, what a run uses): `record`, `accept` and `baseline` only note their
  files, and `SnapshotBatch.commit` writes them together: every temporary file is written,
  then all are flushed with one `syncfs(2)` of the file system (Linux; elsewhere, or when it
  fails, each file is `fsync`ed, in parallel threads), then each is linked to its name in the
  order noted (an object's snapshot before its acceptance), then the names are flushed (one
  more `syncfs`, else an `fsync` of each directory). One flush per file cost a millisecond or
  more each, most of a first run's time on a pipeline of small tables. Each file keeps the
  guarantee above; what a batch changes is only when its files appear: together, at `commit`.
- Reading never raises for a bad file: each unreadable or hand-edited file is a
  `SnapshotError` in `History.problems` (naming the file) and is otherwise ignored. An
  acceptance whose snapshot is unreadable accepts nothing.
- `state(obj)` reads only what a run needs (the newest acceptance and its snapshot — one file
  when it is a baseline —, the latest snapshot's name), so capture stays cheap however long
  the history is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlflowc.schema.snapshot import (
    KINDS,
    SNAPSHOT_FORMAT,
    Snapshot,
    SnapshotError,
    object_name,
    short,
    snapshot_from_json,
    split_object,
)
from sqlflowc.schema.store_files import (
    StoreFile,
    acceptance_file,
    baseline_file,
    link,
    snapshot_file,
    sync_directory,
    write_files,
    write_temp,
)

__all__ = [
    "SCHEMAS_DIR",
    "Acceptance",
    "Entry",
    "History",
    "SnapshotBatch",
    "SnapshotStore",
    "State",
]

SCHEMAS_DIR = Path("target") / "schemas"
_ACCEPT = ".accept.json"
_BASELINE = ".baseline.json"
BASELINE_BY = "first capture"  # what accepted a baseline
_SNAPSHOT = ".json"
_CORRUPT = ".corrupt"
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


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """An object's snapshots and acceptances, newest first, and the files that could not be
    read."""

    object: str
    snapshots: tuple[Entry, ...] = ()
    acceptances: tuple[Acceptance, ...] = ()
    problems: tuple[SnapshotError, ...] = ()

    @property
    def latest(self) -> Entry | None:
        return self.snapshots[0] if self.snapshots else None

    @property
    def accepted(self) -> Entry | None:
        """The snapshot the newest acceptance names (None when it is unreadable)."""
        if not self.acceptances:
            return None
        wanted = self.acceptances[0].fingerprint
        return next((e for e in self.snapshots if e.snapshot.fingerprint == wanted), None)

    @property
    def pending(self) -> bool:
        """Whether the latest snapshot differs from the accepted one."""
        latest, accepted = self.latest, self.accepted
        return latest is not None and (
            accepted is None or latest.snapshot.fingerprint != accepted.snapshot.fingerprint
        )

    def was_accepted(self, fp: str) -> bool:
        return any(a.fingerprint == fp for a in self.acceptances)


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """What a run needs to know about an object: its accepted snapshot, the short fingerprint
    of its latest one, and the files on the way that could not be read."""

    accepted: Snapshot | None = None
    latest_short: str | None = None
    problems: tuple[SnapshotError, ...] = field(default=())


class SnapshotStore:
    """The histories of one project (`<project>/target/schemas`)."""

    def __init__(self, project_dir: Path | str) -> None:
        self.root = Path(project_dir) / SCHEMAS_DIR

    # ------------------------------------------------------------------ names

    def directory(self, obj: str) -> Path:
        kind, name = split_object(obj)
        return self.root / kind / _encode(name)

    def objects(self) -> list[str]:
        """Every object with a history, sorted (`source:…` before `table:…`)."""
        found: list[str] = []
        for kind in KINDS:
            folder = self.root / kind
            if not folder.is_dir():
                continue
            for child in sorted(folder.iterdir()):
                if child.is_dir() and not child.name.startswith("."):
                    found.append(object_name(kind, _decode(child.name)))
        return found

    # ------------------------------------------------------------------ reading

    def history(self, obj: str) -> History:
        """Everything recorded about `obj` (empty when nothing is)."""
        snapshots: list[Entry] = []
        acceptances: list[Acceptance] = []
        problems: list[SnapshotError] = []
        for path in self._files(obj):
            try:
                if path.name.endswith(_ACCEPT):
                    acceptances.append(_read_acceptance(path, obj))
                    continue
                snap = _read_snapshot(path, obj)
                snapshots.append(Entry(snap, path))
                if path.name.endswith(_BASELINE):
                    acceptances.append(_baseline_acceptance(snap, path))
            except SnapshotError as err:
                problems.append(err)
        return History(
            object=obj,
            snapshots=tuple(snapshots),
            acceptances=tuple(acceptances),
            problems=tuple(problems),
        )

    def state(self, obj: str) -> State:
        """The accepted snapshot and the latest fingerprint, reading as little as possible."""
        problems: list[SnapshotError] = []
        files = self._files(obj)
        latest = next((p for p in files if not p.name.endswith(_ACCEPT)), None)
        latest_short = _short_of(latest) if latest is not None else None
        for path in files:
            baseline = path.name.endswith(_BASELINE)
            if not baseline and not path.name.endswith(_ACCEPT):
                continue
            try:
                if baseline:  # a snapshot and its acceptance in one file
                    snap = _read_snapshot(path, obj)
                    return State(accepted=snap, latest_short=latest_short, problems=tuple(problems))
                acceptance = _read_acceptance(path, obj)
            except SnapshotError as err:
                problems.append(err)
                continue
            snapshot = self._snapshot_named(obj, files, acceptance, problems)
            return State(accepted=snapshot, latest_short=latest_short, problems=tuple(problems))
        return State(latest_short=latest_short, problems=tuple(problems))

    def _snapshot_named(
        self, obj: str, files: list[Path], acceptance: Acceptance, problems: list[SnapshotError]
    ) -> Snapshot | None:
        wanted = short(acceptance.fingerprint)
        unreadable = {p.path for p in problems}  # a baseline already found unreadable
        for path in files:
            if path.name.endswith(_ACCEPT) or _short_of(path) != wanted or str(path) in unreadable:
                continue
            try:
                snap = _read_snapshot(path, obj)
            except SnapshotError as err:
                problems.append(err)
                continue
            if snap.fingerprint == acceptance.fingerprint:
                return snap
        problems.append(
            SnapshotError(
                str(acceptance.path),
                f"accepts snapshot {wanted}, which is not in {acceptance.path.parent}",
            )
        )
        return None

    def _files(self, obj: str) -> list[Path]:
        """The object's snapshot and acceptance files, newest first."""
        folder = self.directory(obj)
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [
            folder / name
            for name in sorted(names, reverse=True)
            if name.endswith(_SNAPSHOT) and not name.startswith(".")
        ]

    # ------------------------------------------------------------------ writing

    def record(self, snap: Snapshot) -> Path:
        """Add `snap` to its object's history."""
        return self._publish(snapshot_file(self.directory(snap.object), snap))

    def accept(
        self, snap: Snapshot, *, by: str, run_id: str | None = None, at: str | None = None
    ) -> Path:
        """Record that `snap` (already recorded) is its object's accepted schema."""
        return self._publish(acceptance_file(self.directory(snap.object), snap, by, run_id, at))

    def baseline(self, snap: Snapshot, *, run_id: str | None = None) -> Path:
        """Add `snap` to its object's history, accepted (`first capture`): one file."""
        return self._publish(baseline_file(self.directory(snap.object), snap, run_id))

    def batch(self) -> SnapshotBatch:
        """A batch of files to write together (see the module docstring)."""
        return SnapshotBatch(self)

    def quarantine(self, problem: SnapshotError) -> Path | None:
        """Rename an unreadable file to `*.corrupt` (kept, no longer read); its new path, or
        None when it could not be renamed (it is then reported again next time)."""
        path = Path(problem.path)
        target = path.with_name(path.name + _CORRUPT)
        try:
            os.replace(path, target)
        except OSError:
            return None
        return target

    def _publish(self, file: StoreFile) -> Path:
        tmp = write_temp(file)
        try:
            path = link(file, tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)
        sync_directory(file.folder)
        return path


class SnapshotBatch:
    """Files of a store noted by `record` and `accept`, written together by `commit` (see the
    module docstring). Reading goes to the store: a file noted is not seen before `commit`. One
    batch belongs to one thread; batches of several threads or processes may commit at once."""

    def __init__(self, store: SnapshotStore) -> None:
        self.store = store
        self._files: list[StoreFile] = []

    def state(self, obj: str) -> State:
        return self.store.state(obj)

    def quarantine(self, problem: SnapshotError) -> Path | None:
        return self.store.quarantine(problem)

    def record(self, snap: Snapshot) -> None:
        """Note `snap` for its object's history."""
        self._files.append(snapshot_file(self.store.directory(snap.object), snap))

    def accept(
        self, snap: Snapshot, *, by: str, run_id: str | None = None, at: str | None = None
    ) -> None:
        """Note that `snap` (noted or recorded before) is its object's accepted schema."""
        file = acceptance_file(self.store.directory(snap.object), snap, by, run_id, at)
        self._files.append(file)

    def baseline(self, snap: Snapshot, *, run_id: str | None = None) -> None:
        """Note `snap` for its object's history, accepted (`first capture`)."""
        self._files.append(baseline_file(self.store.directory(snap.object), snap, run_id))

    def commit(self) -> dict[str, OSError]:
        """Write the files noted (then forgotten); the objects whose files could not all be
        written, with why (an object missing from it has every file of this batch in place).

        Every temporary file is written and flushed first, in parallel threads; then each is
        linked to its name, in the order noted. An object one of whose temporary files failed
        gets none of its files linked (its snapshot and acceptance go together)."""
        files, self._files = self._files, []
        return write_files(files)


def _short_of(path: Path) -> str:
    """The short fingerprint in a file's name (`<stamp>-<fp12>-<rand>…`)."""
    parts = path.name.split("-")
    return parts[1] if len(parts) >= 3 else ""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SnapshotError(str(path), "not UTF-8 text") from None
    except OSError as err:
        raise SnapshotError(str(path), f"cannot be read ({err.strerror or err})") from None


def _read_snapshot(path: Path, obj: str) -> Snapshot:
    snap = snapshot_from_json(_read_text(path), str(path))
    if snap.object != obj:
        raise SnapshotError(str(path), f"is a snapshot of `{snap.object}`, not of `{obj}`")
    if _short_of(path) != snap.short:
        raise SnapshotError(
            str(path), f"its name says fingerprint {_short_of(path)}, its content {snap.short}"
        )
    return snap


def _baseline_acceptance(snap: Snapshot, path: Path) -> Acceptance:
    """The acceptance a baseline file holds: of itself, when captured, by `first capture`."""
    return Acceptance(
        object=snap.object,
        fingerprint=snap.fingerprint,
        accepted_at=snap.captured_at,
        by=BASELINE_BY,
        run_id=snap.run_id,
        path=path,
    )


def _read_acceptance(path: Path, obj: str) -> Acceptance:
    where = str(path)
    try:
        data = json.loads(_read_text(path))
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
    if not isinstance(fp, str) or len(fp) != 64 or _short_of(path) != short(fp):
        raise SnapshotError(where, "`accepts` must be the 64-hex fingerprint its name starts with")
    if not isinstance(at, str) or not isinstance(by, str):
        raise SnapshotError(where, "`accepted_at` and `by` must be strings")
    if run_id is not None and not isinstance(run_id, str):
        raise SnapshotError(where, "`run_id` must be a string or null")
    return Acceptance(object=obj, fingerprint=fp, accepted_at=at, by=by, run_id=run_id, path=path)


def _encode(name: str) -> str:
    """A directory name for an object name: safe characters kept, others as `%XX`."""
    out = []
    for i, ch in enumerate(name.lower()):
        if ch in _SAFE and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def _decode(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)
