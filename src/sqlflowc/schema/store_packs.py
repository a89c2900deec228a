"""Reading the packs of the snapshot store (`store.py`, whose docstring states the layout and
the contract): `target/schemas/packs/<stamp>-<random>.pack`, each holding the baselines of the
objects a batch captured first (`store_files.pack_file` writes them).

A pack is a sequence of records; each is a header line, `@ <kind>/<directory name> <name>`
(the object, as its directory would be named, and the name its baseline file would have had:
`<stamp>-<fp12>-<random>.baseline.json`), then that file's text, as `snapshot_to_json` wrote
it (one column per line). The header is outside the JSON so that a record whose JSON was
damaged still names its object: it is a problem of that object's history only.

`PackIndex` knows which records each object has: it lists the folder at each question (a pack
written since, by this process or another, is seen), and reads each pack once, by name — a
pack is never rewritten (a record found unreadable is set aside by a marker in its object's
directory, `store.py`, not by changing the pack). A record's JSON is parsed only when its
object is read. Bytes that name no object (a damaged header, a pack that cannot be read)
are the index's `problems`, reported by `sqlflowc schema list`.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.schema.snapshot import KINDS, SnapshotError
from sqlflowc.schema.store_files import PACK, PACK_HEADER

__all__ = ["PACKS_DIR", "PackIndex", "PackRecord"]

PACKS_DIR = "packs"
_HEADER = re.compile(
    rf"({'|'.join(KINDS)})/([^\s/]+) (\d{{8}}T\d{{6}}\.\d{{6}}Z-[0-9a-f]{{12}}-[0-9a-f]+"
    r"\.baseline\.json)"
)
_START = PACK_HEADER.encode()
_SPLIT = b"\n" + _START


@dataclass(frozen=True, slots=True)
class PackRecord:
    """One object's baseline in a pack: `key` (`<kind>/<directory name>`), `name` (the name
    its file would have had), the pack and the record's bytes (header line included)."""

    key: str
    name: str
    pack: Path
    raw: bytes

    def body(self) -> str:
        """The baseline's text; UnicodeDecodeError when it is not UTF-8."""
        return self.raw.partition(b"\n")[2].decode("utf-8")


def read_pack(path: Path) -> tuple[list[PackRecord], list[SnapshotError]]:
    """The records of the pack at `path`, and what in it names no object."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return [], [SnapshotError(str(path), f"cannot be read ({err.strerror or err})")]
    records: list[PackRecord] = []
    problems: list[SnapshotError] = []
    if not data.startswith(_START):
        _, sep, rest = data.partition(_SPLIT)
        problems.append(SnapshotError(str(path), "does not start with a record's header line"))
        data = _START + rest if sep else b""
    for i, chunk in enumerate(data.split(_SPLIT) if data else []):
        raw = chunk if i == 0 else _START + chunk
        if not raw.endswith(b"\n"):
            raw += b"\n"
        header = raw.partition(b"\n")[0].decode("utf-8", "replace")[len(PACK_HEADER) :]
        match = _HEADER.fullmatch(header)
        if match is None:
            problems.append(
                SnapshotError(str(path), f"record {i + 1} has a damaged header: {header[:80]!r}")
            )
            continue
        kind, folder, name = match.groups()
        records.append(PackRecord(f"{kind}/{folder}", name, path, raw))
    return records, problems


class PackIndex:
    """The records of the packs in one folder, by object (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._names: frozenset[str] = frozenset()
        self._packs: dict[str, tuple[list[PackRecord], list[SnapshotError]]] = {}
        self._by_key: dict[str, list[PackRecord]] = {}

    def records(self, key: str) -> list[PackRecord]:
        """The records of the object whose directory is `<kind>/<name>` (`key`)."""
        with self._lock:
            self._refresh()
            return list(self._by_key.get(key, ()))

    def objects(self) -> list[str]:
        """Every `<kind>/<directory name>` with a record."""
        with self._lock:
            self._refresh()
            return list(self._by_key)

    def problems(self) -> list[SnapshotError]:
        """What in the packs names no object."""
        with self._lock:
            self._refresh()
            return [p for name in sorted(self._packs) for p in self._packs[name][1]]

    def _refresh(self) -> None:
        try:
            listed = os.listdir(self.folder)
        except (FileNotFoundError, NotADirectoryError):
            listed = []
        names = frozenset(n for n in listed if n.endswith(PACK) and not n.startswith("."))
        if names == self._names:
            return
        for name in names - self._packs.keys():
            self._packs[name] = read_pack(self.folder / name)
        for name in self._packs.keys() - names:
            del self._packs[name]
        self._names = names
        by_key: dict[str, list[PackRecord]] = {}
        for name in sorted(names):
            for record in self._packs[name][0]:
                by_key.setdefault(record.key, []).append(record)
        self._by_key = by_key
