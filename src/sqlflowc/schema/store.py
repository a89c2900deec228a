"""The snapshot store: each object's history under the project's `target/schemas/`.

Layout — one directory per object, one file per event, never rewritten; and packs, one file
holding the baselines of many objects:

    target/schemas/source/orders/
      20260105T101500.123456Z-3f9a2c1b7d4e-5c1a.baseline.json   the first snapshot, accepted
      20260106T090000.000001Z-8d1e2f3a4b5c-77f0.json            a later snapshot (observed)
      20260107T080000.000001Z-8d1e2f3a4b5c-0b3e.accept.json     its acceptance
    target/schemas/packs/
      20260105T101502.000120Z-9c0e1f2a.pack                     baselines of table:a, table:b…

A name is the capture time (UTC, to the microsecond: names sort by time), the fingerprint's 12
hex digits and 4 random ones. A snapshot (`*.json`, `snapshot.py`) is observed; an acceptance
(`*.accept.json`) names the full fingerprint of the snapshot it accepts, when, by what
(`first capture`, `schema_drift=accept`, `same columns`, `schema accept`) and the run. A
baseline (`*.baseline.json`, what the first capture of an object writes: one file, not two) is
a snapshot and its own acceptance at once: accepted when captured, by `first capture`, in the
run that captured it. The accepted snapshot of an object is the one its newest acceptance (or
baseline) names; the latest is its newest snapshot (a baseline is one); drift is pending when
they differ.

A pack (`packs/<time>-<random>.pack`, `store_packs.py`) is what a batch writes for the first
captures of two or more objects that have no directory yet: one record per object, holding
the baseline file that object would have had, under the name it would have had — so a batch
of a hundred first captures creates one file, not a hundred directories and files (each
create costs a fraction of a millisecond of the kernel's time). An object's history is its
directory's files and its records in every pack, merged by name; its later events go to its
directory, made when first needed. Reading never tells a pack's record from a file but by
where it says it was read (`Entry.path`, `Acceptance.path`: the pack).

Contract:
- Append-only: `record`, `accept` and `baseline` add files; nothing is ever rewritten or
  deleted. (The one exception: `quarantine` sets an unreadable file aside, keeping its bytes,
  so a run that re-captured past it is not warned about it again: a file is renamed to
  `*.corrupt`; a pack's record is copied to `<its name>.corrupt` in its object's directory,
  and a record with such a file beside it is not read — the pack is left as it is, its other
  objects' records with it.)
- Atomic, durable and concurrent-safe (`store_files.py`): a file (a pack too) is written to a
  temporary name in the same directory, flushed to disk, then hard-linked to its final name,
  which fails rather than overwrites when the name is taken (a new random suffix is drawn),
  and the new name is flushed to disk before the call returns. A crash — of the process or of
  the machine — leaves at most a stray temporary file (`.tmp-*`, ignored), never a named file
  that is incomplete, and never loses a file once the call that wrote it returned; two runs
  writing at once both keep their files (two first captures of one object, each in its run's
  pack: both are its baselines, the newer accepted, as two baseline files would be).
- Batches (`batch()`, what a run uses): `record`, `accept` and `baseline` only note their
  files, and `SnapshotBatch.commit` writes them together: the baselines of objects with no
  directory into one pack (when there are two or more), then every temporary file is written,
  then all are flushed with one `syncfs(2)` of the file system (Linux; elsewhere, or when it
  fails, each file is `fsync`ed, in parallel threads), then each is linked to its name in the
  order noted (an object's snapshot before its acceptance), then the names are flushed (one
  more `syncfs`, else an `fsync` of each directory). One flush per file cost a millisecond or
  more each, most of a first run's time on a pipeline of small tables. Each file keeps the
  guarantee above; what a batch changes is only when its files appear: together, at `commit`.
  A pack's objects succeed or fail together.
- Reading never raises for a bad file: each unreadable or hand-edited file is a
  `SnapshotError` in `History.problems` (naming the file) and is otherwise ignored; a pack's
  record that cannot be used is a `PackRecordError` of its object only (naming the pack and
  the object). An acceptance whose snapshot is unreadable accepts nothing. Bytes of a pack
  that name no object (a damaged record header) are `problems()`, no object's.
- `state(obj)` reads only what a run needs (the newest acceptance and its snapshot — one file
  when it is a baseline —, the latest snapshot's name), so capture stays cheap however long
  the history is. The packs are listed at each read, and each is read once per store (a pack
  is never rewritten) and parsed record by record as its objects are read: packs are written
  only by runs that capture objects with no history, so they stay few.
"""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.schema.snapshot import (
    KINDS,
    Snapshot,
    SnapshotError,
    object_name,
    short,
    split_object,
)
from sqlflowc.schema.store_files import (
    StoreFile,
    acceptance_file,
    baseline_file,
    link,
    pack_file,
    snapshot_file,
    sync_directory,
    write_files,
    write_temp,
)
from sqlflowc.schema.store_packs import PACKS_DIR, PackIndex
from sqlflowc.schema.store_read import (
    Acceptance,
    Entry,
    Item,
    PackRecordError,
    baseline_acceptance,
    decode,
    encode,
    read_acceptance,
    read_record,
    read_snapshot,
    short_of,
)

__all__ = [
    "SCHEMAS_DIR",
    "Acceptance",
    "Entry",
    "History",
    "PackRecordError",
    "SnapshotBatch",
    "SnapshotStore",
    "State",
]

SCHEMAS_DIR = Path("target") / "schemas"
_ACCEPT = ".accept.json"
_BASELINE = ".baseline.json"
_BASELINE_KIND = ".baseline"
_SNAPSHOT = ".json"
_CORRUPT = ".corrupt"


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
        self.packs = PackIndex(self.root / PACKS_DIR)

    # ------------------------------------------------------------------ names

    def directory(self, obj: str) -> Path:
        kind, name = split_object(obj)
        return self.root / kind / encode(name)

    def objects(self) -> list[str]:
        """Every object with a history, sorted (`source:…` before `table:…`)."""
        found: set[tuple[int, str]] = set()
        for i, kind in enumerate(KINDS):
            folder = self.root / kind
            if not folder.is_dir():
                continue
            for child in folder.iterdir():
                if child.is_dir() and not child.name.startswith("."):
                    found.add((i, child.name))
        order: dict[str, int] = {kind: i for i, kind in enumerate(KINDS)}
        for key in self.packs.objects():
            kind_name, _, folder_name = key.partition("/")
            found.add((order[kind_name], folder_name))
        return [object_name(KINDS[i], decode(name)) for i, name in sorted(found)]

    def has_history(self, obj: str) -> bool:
        """Whether anything is recorded about `obj` (its directory, or a pack's record)."""
        return self.directory(obj).is_dir() or bool(self.packs.records(_key(obj)))

    def problems(self) -> list[SnapshotError]:
        """What in the packs names no object (a damaged record header, a pack that cannot be
        read): it is no object's history, so `history` does not report it."""
        return self.packs.problems()

    # ------------------------------------------------------------------ reading

    def history(self, obj: str) -> History:
        """Everything recorded about `obj` (empty when nothing is)."""
        snapshots: list[Entry] = []
        acceptances: list[Acceptance] = []
        problems: list[SnapshotError] = []
        for item in self._items(obj):
            try:
                if item.name.endswith(_ACCEPT):
                    acceptances.append(read_acceptance(item.path, obj))
                    continue
                snap = self._read_item(item, obj)
                snapshots.append(Entry(snap, item.path))
                if item.name.endswith(_BASELINE):
                    acceptances.append(baseline_acceptance(snap, item.path))
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
        items = self._items(obj)
        latest = next((i for i in items if not i.name.endswith(_ACCEPT)), None)
        latest_short = short_of(latest.name) if latest is not None else None
        for item in items:
            baseline = item.name.endswith(_BASELINE)
            if not baseline and not item.name.endswith(_ACCEPT):
                continue
            try:
                if baseline:  # a snapshot and its acceptance in one file
                    snap = self._read_item(item, obj)
                    return State(accepted=snap, latest_short=latest_short, problems=tuple(problems))
                acceptance = read_acceptance(item.path, obj)
            except SnapshotError as err:
                problems.append(err)
                continue
            snapshot = self._snapshot_named(obj, items, acceptance, problems)
            return State(accepted=snapshot, latest_short=latest_short, problems=tuple(problems))
        return State(latest_short=latest_short, problems=tuple(problems))

    def _snapshot_named(
        self, obj: str, items: list[Item], acceptance: Acceptance, problems: list[SnapshotError]
    ) -> Snapshot | None:
        wanted = short(acceptance.fingerprint)
        unreadable = {p.path for p in problems if not isinstance(p, PackRecordError)}
        failed = {id(p.record) for p in problems if isinstance(p, PackRecordError)}
        for item in items:
            if item.name.endswith(_ACCEPT) or short_of(item.name) != wanted:
                continue
            if str(item.path) in unreadable or id(item.record) in failed:
                continue  # a baseline already found unreadable
            try:
                snap = self._read_item(item, obj)
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

    def _items(self, obj: str) -> list[Item]:
        """The object's snapshot and acceptance files and its records in packs (but those set
        aside), newest first."""
        folder = self.directory(obj)
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            names = []
        items = [
            Item(name, folder / name)
            for name in names
            if name.endswith(_SNAPSHOT) and not name.startswith(".")
        ]
        records = self.packs.records(_key(obj))
        if records:
            aside = {name for name in names if name.endswith(_CORRUPT)}
            items += [Item(r.name, r.pack, r) for r in records if r.name + _CORRUPT not in aside]
        items.sort(key=lambda item: item.name, reverse=True)
        return items

    def _read_item(self, item: Item, obj: str) -> Snapshot:
        if item.record is None:
            return read_snapshot(item.path, obj)
        return read_record(item, obj, self.directory(obj) / (item.name + _CORRUPT))

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
        """Set an unreadable file aside (kept, no longer read): a file is renamed to
        `*.corrupt`; a pack's record is copied to `<its name>.corrupt` in its object's
        directory, which its pack is then read without. The new path, or None when it could
        not be done (it is then reported again next time)."""
        if isinstance(problem, PackRecordError):
            aside = Path(problem.aside)
            file = StoreFile((), aside.parent, "", "", "", problem.record.raw)
            try:
                tmp = write_temp(file)
                try:
                    os.link(tmp, aside)
                except FileExistsError:
                    pass  # set aside already (by another run)
                finally:
                    Path(tmp).unlink(missing_ok=True)
                sync_directory(aside.parent)
            except OSError:
                return None
            return aside
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

        The baselines of objects with no directory yet go to one pack, when there are two or
        more. Every temporary file is written and flushed first; then each is linked to its
        name, in the order noted. An object one of whose temporary files failed gets none of
        its files linked (its snapshot and acceptance go together)."""
        files, self._files = self._files, []
        first = [f for f in files if f.kind == _BASELINE_KIND and not f.folder.is_dir()]
        if len(first) >= 2:
            packed = {id(f) for f in first}
            files = [
                pack_file(self.store.root / PACKS_DIR, first),
                *(f for f in files if id(f) not in packed),
            ]
        return write_files(files)


def _key(obj: str) -> str:
    """`<kind>/<directory name>`: how a pack's record names its object."""
    kind, name = split_object(obj)
    return f"{kind}/{encode(name)}"
