"""Writing the files of the snapshot store (`store.py`, whose docstring states the contract):
each file is written to a temporary name in its object's directory, flushed to disk, then
hard-linked to a new name of its own, never one taken.

- `snapshot_file` / `acceptance_file`: the `StoreFile` (directory, name parts, text) of a
  snapshot or an acceptance.
- `write_temp(file)` then `link(file, tmp)`: one file.
- `write_files(files)`: many at once — every temporary file written and flushed in parallel
  threads, then each linked in the order given; an object one of whose files failed gets none
  linked. Returns the objects that failed, with why.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlflowc.schema.snapshot import SNAPSHOT_FORMAT, Snapshot, now_utc, snapshot_to_json

__all__ = ["StoreFile", "acceptance_file", "link", "snapshot_file", "write_files", "write_temp"]

FLUSHERS = 16  # threads flushing files at once
SUFFIX = ".json"


@dataclass(frozen=True, slots=True)
class StoreFile:
    """A file to add to an object's history: its directory, the parts of its name (the UTC
    time stamp, the fingerprint, the kind: "" or ".accept") and its text."""

    object: str
    folder: Path
    stamp: str
    fp12: str
    kind: str
    text: str


def snapshot_file(folder: Path, snap: Snapshot) -> StoreFile:
    return StoreFile(
        snap.object, folder, _stamp(snap.captured_at), snap.short, "", snapshot_to_json(snap)
    )


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
    return StoreFile(snap.object, folder, _stamp(moment), snap.short, ".accept", text)


def _stamp(moment: str) -> str:
    return moment.replace("-", "").replace(":", "")


def write_temp(file: StoreFile) -> str:
    """`file`'s text in a new temporary file of its directory (made when missing), flushed to
    disk; the temporary file's path."""
    file.folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp(file.folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(file.text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _try_write_temp(file: StoreFile) -> str | OSError:
    try:
        return write_temp(file)
    except OSError as err:
        return err


def link(file: StoreFile, tmp: str) -> Path:
    """Give the written temporary file `tmp` its name: a new one, never one taken."""
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
        yield f"{stamp}-{fp12}-{secrets.token_hex(2)}{kind}{SUFFIX}"


def write_files(files: Sequence[StoreFile]) -> dict[str, OSError]:
    """Write `files` (see the module docstring); the objects whose files could not all be
    written, with why."""
    if not files:
        return {}
    temps: list[str | OSError]
    if len(files) == 1:
        temps = [_try_write_temp(files[0])]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(FLUSHERS, len(files))) as pool:
            temps = list(pool.map(_try_write_temp, files))
    failed: dict[str, OSError] = {}
    for file, tmp in zip(files, temps, strict=True):
        if isinstance(tmp, OSError):
            failed.setdefault(file.object, tmp)
    try:
        for file, tmp in zip(files, temps, strict=True):
            if isinstance(tmp, str) and file.object not in failed:
                try:
                    link(file, tmp)
                except OSError as err:
                    failed[file.object] = err
    finally:
        for tmp in temps:
            if isinstance(tmp, str):
                Path(tmp).unlink(missing_ok=True)
    return failed
