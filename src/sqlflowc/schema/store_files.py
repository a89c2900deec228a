"""Writing the files of the snapshot store (`store.py`, whose docstring states the contract):
each file is written to a temporary name in its directory (an object's, or `packs/`), flushed
to disk, then hard-linked to a new name of its own, never one taken, and the link made durable.

- `snapshot_file` / `acceptance_file` / `baseline_file`: the `StoreFile` (directory, name
  parts, text) of a snapshot, an acceptance or a baseline (both in one); `pack_file`: one
  file in `packs/` holding the baselines of many objects (`store_packs.py` reads it), named
  `<stamp>-<8 random hex>.pack`.
- `write_temp(file)`, `link(file, tmp)`, then `sync_directory(folder)`: one file.
- `write_files(files)`: many at once — every temporary file written, then all flushed to disk
  with one `syncfs(2)` of their file system (where there is none, or it fails: each file
  `fsync`ed, in parallel threads), then each linked in the order given, then the links flushed
  (one more `syncfs`, else an `fsync` of each directory touched); an object one of whose files
  failed gets none linked (a pack's objects fail together). Returns the objects that failed,
  with why. One flush of the file system costs about as much as one `fsync` of one file: a
  first run of a pipeline of a hundred small tables wrote two hundred files, whose flushes one
  by one took most of its time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.schema.snapshot import SNAPSHOT_FORMAT, Snapshot, now_utc, snapshot_to_json

__all__ = [
    "StoreFile",
    "acceptance_file",
    "baseline_file",
    "link",
    "pack_file",
    "snapshot_file",
    "sync_directory",
    "write_files",
    "write_temp",
]

FLUSHERS = 16  # threads flushing files at once
SUFFIX = ".json"
PACK = ".pack"  # the kind, and the suffix, of a pack's name
PACK_HEADER = "@ "  # how a pack's record starts


@dataclass(frozen=True, slots=True)
class StoreFile:
    """A file to add to the store: the objects whose history it holds (one, but for a pack),
    its directory, the parts of its name (the UTC time stamp, the fingerprint, the kind: "",
    ".accept", ".baseline" or ".pack") and its text."""

    objects: tuple[str, ...]
    folder: Path
    stamp: str
    fp12: str
    kind: str
    text: str | bytes  # bytes: written as they are (a pack's record set aside)


def snapshot_file(folder: Path, snap: Snapshot) -> StoreFile:
    return StoreFile(
        (snap.object,), folder, _stamp(snap.captured_at), snap.short, "", snapshot_to_json(snap)
    )


def baseline_file(folder: Path, snap: Snapshot, run_id: str | None) -> StoreFile:
    """A snapshot accepted as it is recorded (its object's first capture): its run is
    `run_id`."""
    if run_id is not None and snap.run_id != run_id:
        snap = dataclasses.replace(snap, run_id=run_id)
    text = snapshot_to_json(snap)
    return StoreFile(
        (snap.object,), folder, _stamp(snap.captured_at), snap.short, ".baseline", text
    )


def pack_file(folder: Path, baselines: Sequence[StoreFile]) -> StoreFile:
    """One pack in `folder` holding `baselines` (files of objects with no directory yet): a
    record each, `@ <kind>/<directory name> <the name the file would have had>` on a line of
    its own, then the file's text (`store_packs.py` reads them)."""
    rand = secrets.token_hex(4 * len(baselines))  # 8 random hex digits a record
    records = [
        f"{PACK_HEADER}{b.folder.parent.name}/{b.folder.name} "
        f"{b.stamp}-{b.fp12}-{rand[8 * i : 8 * i + 8]}{b.kind}{SUFFIX}\n"
        + (b.text if isinstance(b.text, str) else b.text.decode("utf-8"))
        for i, b in enumerate(baselines)
    ]
    objects = tuple(o for b in baselines for o in b.objects)
    return StoreFile(objects, folder, _stamp(now_utc()), "", PACK, "".join(records))


def acceptance_file(
    folder: Path, snap: Snapshot, by: str, run_id: str | None, at: str | None
) -> StoreFile:
    moment = at or now_utc()
    data: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "object": snap.object,
        "accepts": snap.fingerprint,
        "accepted_at": moment,
        "by": by,
        "run_id": run_id,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return StoreFile((snap.object,), folder, _stamp(moment), snap.short, ".accept", text)


def _stamp(moment: str) -> str:
    return moment.replace("-", "").replace(":", "")


def write_temp(file: StoreFile) -> str:
    """`file`'s text in a new temporary file of its directory (made when missing), flushed to
    disk; the temporary file's path."""
    tmp, _ = _write(file, [], flush=True)
    return tmp


def _write(file: StoreFile, created: list[Path], *, flush: bool) -> tuple[str, int]:
    """A new temporary file of `file`'s directory holding its text (`flush`: flushed to disk);
    its path and the device it is on. Directories made for it are added to `created`."""
    _make_dirs(file.folder, created)
    fd, tmp = _temp(file.folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            text = file.text
            fh.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            fh.flush()
            if flush:
                os.fsync(fd)
            device = os.fstat(fd).st_dev
    except BaseException:
        _unlink(tmp)
        raise
    return tmp, device


def _make_dirs(folder: Path, created: list[Path]) -> None:
    """`folder` and its missing parents; each one made is added to `created`."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        if not folder.is_dir():
            raise
        return
    except FileNotFoundError:
        if folder.parent == folder:
            raise
        _make_dirs(folder.parent, created)
        try:
            os.mkdir(folder)
        except FileExistsError:  # made by another process meanwhile
            return
    created.append(folder)


def link(file: StoreFile, tmp: str) -> Path:
    """Give the written temporary file `tmp` its name: a new one, never one taken (not yet
    flushed to disk: `sync_directory`)."""
    for name in _names(file.stamp, file.fp12, file.kind):
        target = file.folder / name
        try:
            os.link(tmp, target)
        except FileExistsError:
            continue
        return target
    raise AssertionError("unreachable: _names is endless")


def _temp(folder: Path) -> tuple[int, str]:
    """A new temporary file in `folder` (permissions as for any new file: 0o666 & ~umask)."""
    while True:
        path = folder / f".tmp-{secrets.token_hex(8)}.part"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(path)
        except FileExistsError:
            continue


def _names(stamp: str, fp12: str, kind: str) -> Iterator[str]:
    while True:
        if kind == PACK:
            yield f"{stamp}-{secrets.token_hex(4)}{PACK}"
        else:
            yield f"{stamp}-{fp12}-{secrets.token_hex(2)}{kind}{SUFFIX}"


def write_files(files: Sequence[StoreFile]) -> dict[str, OSError]:
    """Write `files` (see the module docstring); the objects whose files could not all be
    written, with why."""
    if not files:
        return {}
    created: list[Path] = []  # directories made for these files: their entries are flushed too
    temps: list[tuple[str, int] | OSError] = []
    for file in files:
        try:
            temps.append(_write(file, created, flush=False))
        except OSError as err:
            temps.append(err)
    try:
        _flush_temps(files, temps)
        failed: dict[str, OSError] = {}
        for file, tmp in zip(files, temps, strict=True):
            if isinstance(tmp, OSError):
                for obj in file.objects:
                    failed.setdefault(obj, tmp)
        linked: list[tuple[StoreFile, int]] = []
        for file, tmp in zip(files, temps, strict=True):
            if not isinstance(tmp, OSError) and not any(o in failed for o in file.objects):
                try:
                    link(file, tmp[0])
                except OSError as err:
                    failed.update(dict.fromkeys(file.objects, err))
                else:
                    linked.append((file, tmp[1]))
        problem = _flush_links(linked, created)
        if problem is not None:  # in place, but maybe not on disk: not recorded, to be safe
            for file, _ in linked:
                for obj in file.objects:
                    failed.setdefault(obj, problem)
    finally:
        for tmp in temps:
            if not isinstance(tmp, OSError):
                _unlink(tmp[0])
    return failed


def _flush_temps(files: Sequence[StoreFile], temps: list[tuple[str, int] | OSError]) -> None:
    """Flush the temporary files written to disk: one `syncfs` of each file system they are
    on, else an `fsync` of each (in parallel threads); one that fails is replaced by its
    error."""
    unflushed: list[int] = []
    synced: dict[int, bool] = {}
    for i, (file, tmp) in enumerate(zip(files, temps, strict=True)):
        if isinstance(tmp, OSError):
            continue
        device = tmp[1]
        if device not in synced:
            synced[device] = _syncfs(file.folder)
        if not synced[device]:
            unflushed.append(i)
    if not unflushed:
        return
    paths = [temps[i][0] for i in unflushed]  # type: ignore[index]
    if len(paths) == 1:
        results = [_try_fsync(paths[0])]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(FLUSHERS, len(paths))) as pool:
            results = list(pool.map(_try_fsync, paths))
    for i, path, err in zip(unflushed, paths, results, strict=True):
        if err is not None:
            _unlink(path)
            temps[i] = err


def _flush_links(
    linked: Sequence[tuple[StoreFile, int]], created: Sequence[Path]
) -> OSError | None:
    """Make the new names durable: one `syncfs` of each file system, else an `fsync` of each
    directory holding one and of the parent of each directory made; the error, if any."""
    folders: dict[Path, int] = {}
    for file, device in linked:
        folders.setdefault(file.folder, device)
    if not folders:
        return None
    synced: dict[int, bool] = {}
    for folder, device in folders.items():
        if device not in synced:
            synced[device] = _syncfs(folder)
    if all(synced.values()):
        return None
    todo = [f for f, d in folders.items() if not synced[d]]
    todo += [d.parent for d in created if d.parent not in folders]
    for directory in dict.fromkeys(todo):
        err = _try_fsync(str(directory), directory=True)
        if err is not None:
            return err
    return None


def sync_directory(folder: Path) -> None:
    """Flush `folder`'s entries (a name just linked in it) to disk."""
    err = _try_fsync(str(folder), directory=True)
    if err is not None:
        raise err


def _syncfs(folder: Path) -> bool:
    """Flush the file system holding `folder` to disk with one `syncfs(2)` (Linux); False when
    there is no such call or it failed (the caller flushes file by file)."""
    libc = _libc()
    if libc is None:
        return False
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        return bool(libc.syncfs(fd) == 0)
    finally:
        os.close(fd)


_LIBC: list[Any] = []


def _libc() -> Any:
    """The C library, when it has `syncfs` (Linux); else None."""
    if not _LIBC:
        found = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                lib = ctypes.CDLL(None, use_errno=True)
                found = lib if hasattr(lib, "syncfs") else None
            except (OSError, AttributeError):
                found = None
        _LIBC.append(found)
    return _LIBC[0]


def _try_fsync(path: str, *, directory: bool = False) -> OSError | None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        return err
    return None


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
