"""Schema snapshots: what an object's columns were when captured, with a fingerprint.

An object is a source a pipeline loads (`source:orders`) or a table it writes
(`table:daily`, the table's key: lower case, `main.` dropped). A `Snapshot` holds the object's
ordered columns (name, DuckDB canonical type, nullable) and where and when they were seen:
`origin` (`CSV data/orders.csv`, `postgres warehouse public.orders`, the database of a
table), the pipeline, the run id and the time captured (UTC, ISO 8601 with microseconds).

The fingerprint is the SHA-256 of a canonical form of exactly the columns: the JSON array
`[[name, type, nullable], ...]` in column order, names as spelled, types in DuckDB's canonical
spelling (`types.normalize_type`), compact separators, UTF-8. A change in names, order, types
or nullability changes it; nothing else does (not a default, not the metadata). People see its
first 12 hex digits (`short`).

`snapshot_to_json` writes a snapshot as JSON a person can read and diff (one column per line);
`snapshot_from_json` reads it back and raises `SnapshotError` (the file's path and what is wrong
with it) for anything but a well-formed snapshot whose fingerprint matches its columns — a file
edited by hand is refused, never half-trusted.

>>> from sqlflowc.schema.model import Column
>>> short(fingerprint([Column("id", "INTEGER", False), Column("name", "VARCHAR")]))
'433ed48e5d16'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.schema.model import Column
from sqlflowc.schema.types import normalize_type

__all__ = [
    "KINDS",
    "SNAPSHOT_FORMAT",
    "ObjectKind",
    "Snapshot",
    "SnapshotError",
    "fingerprint",
    "now_utc",
    "object_name",
    "short",
    "snapshot_from_json",
    "snapshot_to_json",
    "split_object",
]

SNAPSHOT_FORMAT = 1
ObjectKind = Literal["source", "table"]
KINDS: tuple[ObjectKind, ...] = ("source", "table")
SHORT = 12


class SnapshotError(ValueError):
    """A snapshot file that cannot be used: `path` and the reason; `aside`, where the store's
    quarantine keeps its bytes (`<path>.corrupt`, unless said otherwise: a record of a pack)."""

    def __init__(self, path: str, reason: str, *, aside: str | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.aside = aside if aside is not None else f"{path}.corrupt"


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """One capture of an object's columns; see the module docstring."""

    object: str
    columns: tuple[Column, ...]
    fingerprint: str
    origin: str = ""
    pipeline: str = ""
    run_id: str | None = None
    captured_at: str = ""

    @property
    def short(self) -> str:
        return short(self.fingerprint)

    @classmethod
    def capture(
        cls,
        obj: str,
        columns: Sequence[Column],
        *,
        origin: str = "",
        pipeline: str = "",
        run_id: str | None = None,
        captured_at: str | None = None,
    ) -> Snapshot:
        """A snapshot of `columns` taken now (defaults stripped: they are not schema)."""
        cols = tuple(Column(c.name, normalize_type(c.type), c.nullable) for c in columns)
        return cls(
            object=obj,
            columns=cols,
            fingerprint=fingerprint(cols),
            origin=origin,
            pipeline=pipeline,
            run_id=run_id,
            captured_at=captured_at or now_utc(),
        )


def object_name(kind: ObjectKind, name: str) -> str:
    """`source:orders`, `table:daily` (names compare case-insensitively, as DuckDB's do)."""
    return f"{kind}:{name.lower()}"


def split_object(obj: str) -> tuple[ObjectKind, str]:
    """(`source`, `orders`) from `source:orders`; ValueError for anything else."""
    kind, colon, name = obj.partition(":")
    if not colon or not name:
        raise ValueError(f"not an object name: {obj!r} (expected source:NAME or table:NAME)")
    for known in KINDS:
        if kind == known:
            return known, name
    raise ValueError(f"not an object kind: {kind!r} (expected source or table)")


def now_utc() -> str:
    """The current time, UTC, ISO 8601 to the microsecond: `2026-01-06T09:15:00.123456Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(columns: Sequence[Column]) -> bytes:
    rows = [[c.name, normalize_type(c.type), bool(c.nullable)] for c in columns]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fingerprint(columns: Sequence[Column]) -> str:
    """The SHA-256 (hex) of the columns' canonical form."""
    return hashlib.sha256(_canonical(columns)).hexdigest()


def short(fp: str) -> str:
    """The first 12 hex digits, as people see a fingerprint."""
    return fp[:SHORT]


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps(v, ensure_ascii=False), made once


def _dump(value: Any) -> str:
    return _ENCODER.encode(value)


def snapshot_to_json(snap: Snapshot) -> str:
    """The snapshot as JSON text: metadata one key per line, then one column per line."""
    head = {
        "format": SNAPSHOT_FORMAT,
        "object": snap.object,
        "fingerprint": snap.fingerprint,
        "captured_at": snap.captured_at,
        "run_id": snap.run_id,
        "pipeline": snap.pipeline,
        "origin": snap.origin,
    }
    lines = ["{"]
    lines += [f"  {_dump(key)}: {_dump(value)}," for key, value in head.items()]
    columns = [
        "    " + _dump({"name": c.name, "type": c.type, "nullable": c.nullable})
        for c in snap.columns
    ]
    if columns:
        lines.append('  "columns": [')
        lines.append(",\n".join(columns))
        lines.append("  ]")
    else:
        lines.append('  "columns": []')
    lines.append("}")
    return "\n".join(lines) + "\n"


def snapshot_from_json(text: str, path: str) -> Snapshot:
    """Read a snapshot written by `snapshot_to_json`; SnapshotError when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SnapshotError(
            path, f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    if not isinstance(data, dict):
        raise SnapshotError(path, "not a snapshot (expected a JSON object)")
    if data.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(
            path, f"unknown snapshot format {data.get('format')!r} (expected {SNAPSHOT_FORMAT})"
        )
    obj = _text(data, "object", path)
    try:
        split_object(obj)
    except ValueError as err:
        raise SnapshotError(path, str(err)) from None
    raw = data.get("columns")
    if not isinstance(raw, list):
        raise SnapshotError(path, "`columns` must be a list")
    columns = tuple(_column(item, i, path) for i, item in enumerate(raw))
    fp = _text(data, "fingerprint", path)
    if fp != fingerprint(columns):
        raise SnapshotError(
            path, "its fingerprint does not match its columns (was the file edited by hand?)"
        )
    run_id = data.get("run_id")
    if run_id is not None and not isinstance(run_id, str):
        raise SnapshotError(path, "`run_id` must be a string or null")
    return Snapshot(
        object=obj,
        columns=columns,
        fingerprint=fp,
        origin=_text(data, "origin", path, required=False),
        pipeline=_text(data, "pipeline", path, required=False),
        run_id=run_id,
        captured_at=_text(data, "captured_at", path),
    )


def _text(data: dict[str, Any], key: str, path: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise SnapshotError(path, f"`{key}` must be a non-empty string")
    return value


def _column(item: Any, index: int, path: str) -> Column:
    where = f"column {index + 1}"
    if not isinstance(item, dict):
        raise SnapshotError(path, f"{where} must be an object with name, type and nullable")
    name, typ, nullable = item.get("name"), item.get("type"), item.get("nullable")
    if not isinstance(name, str) or not name:
        raise SnapshotError(path, f"{where}: `name` must be a non-empty string")
    if not isinstance(typ, str) or not typ:
        raise SnapshotError(path, f"{where} (`{name}`): `type` must be a non-empty string")
    if not isinstance(nullable, bool):
        raise SnapshotError(path, f"{where} (`{name}`): `nullable` must be true or false")
    return Column(name, typ, nullable)
