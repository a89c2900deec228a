"""What the compiler may know of schemas before anything runs: a `Catalog` handed to the passes,
as sqlglot's optimizer is handed a `Schema`. The passes never open a database or read a source
themselves; the driver (`api.py`) builds the catalog from what the project has.

A lookup answers `Known(columns, origin)`, `None` (there is no such object) or
`Unknown(origin, reason)` (it may exist, but its schema cannot be read now: a database locked by
another process, a server out of reach). `origin` says where the answer comes from, for
messages (`target/sqlflow.duckdb`, `the file's metadata`, `accepted snapshot 3f2a9c...`).

- `table(key)`: an existing table of the project database; `key` is a name compared by the one
  rule of `names.table_key` (case-insensitive, quoted or not; an unqualified name is in `main`).
- `source(name, connector, params)`: the columns the source `name` (a `SOURCE` of the pipeline,
  of type `connector` with `params`) will give, from metadata only; None when they cannot be
  known before the run.
- `prefetch(questions)`: a hint that `source(...)` will be asked each of these
  `(name, connector, params)` questions; a catalog that reads slowly (a database server) may
  answer them together now. The answers are the same either way.

`MappingCatalog` answers from mappings (tests, snapshots); `LayeredCatalog` asks several in
turn and takes the first `Known` answer (else `Unknown` if any layer said so, else None). A
source read now also carries the columns a later layer has recorded for it (its accepted
snapshot) in `Known.accepted`, so a check can tell a column that disappeared upstream — drift,
which the run judges by the source's `schema_drift` policy — from a misspelt one.

>>> from sqlflowc.schema.model import Column
>>> catalog = MappingCatalog({"main.users": [Column("id", "INTEGER")]}, origin="test")
>>> catalog.table("USERS")  # doctest: +NORMALIZE_WHITESPACE
Known(columns=(Column(name='id', type='INTEGER', nullable=True, default=None),), origin='test',
      recorded=False, accepted=None)
>>> catalog.table("orders") is None
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlflowc.names import table_key
from sqlflowc.schema.model import Column

__all__ = [
    "Catalog",
    "Known",
    "LayeredCatalog",
    "Lookup",
    "MappingCatalog",
    "SourceQuestion",
    "Unknown",
]


@dataclass(frozen=True, slots=True)
class Known:
    """The columns of an object, in order, and where they were read; `recorded` when they come
    from a snapshot recorded earlier rather than from the object itself. `accepted` holds the
    columns of a source's accepted snapshot beside the ones read now (see `LayeredCatalog`)."""

    columns: tuple[Column, ...]
    origin: str
    recorded: bool = False
    accepted: tuple[Column, ...] | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    """The object may exist but its schema cannot be read now; `reason` says why (if known)."""

    origin: str
    reason: str | None = None


Lookup = Known | Unknown | None
SourceQuestion = tuple[str, str, Mapping[str, Any]]  # (name, connector, params) of `source`


class Catalog(Protocol):
    """Schemas known before the run; see the module docstring."""

    def table(self, key: str) -> Lookup:
        """An existing table's columns."""
        ...

    def source(self, name: str, connector: str, params: Mapping[str, Any]) -> Lookup:
        """A source's columns, from metadata only."""
        ...

    def prefetch(self, questions: Sequence[SourceQuestion]) -> None:
        """A hint: `source` will be asked these questions (see the module docstring)."""
        ...


class MappingCatalog:
    """A catalog answering from mappings: tables by key, sources by name (case-insensitive)."""

    def __init__(
        self,
        tables: Mapping[str, Sequence[Column]] | None = None,
        sources: Mapping[str, Sequence[Column]] | None = None,
        *,
        origin: str = "the catalog",
    ) -> None:
        self._tables = {table_key(k): tuple(v) for k, v in (tables or {}).items()}
        self._sources = {n.lower(): tuple(v) for n, v in (sources or {}).items()}
        self.origin = origin

    def table(self, key: str) -> Lookup:
        columns = self._tables.get(table_key(key))
        return Known(columns, self.origin) if columns is not None else None

    def source(self, name: str, connector: str, params: Mapping[str, Any]) -> Lookup:
        columns = self._sources.get(name.lower())
        return Known(columns, self.origin) if columns is not None else None

    def prefetch(self, questions: Sequence[SourceQuestion]) -> None:
        pass  # answers from memory


class LayeredCatalog:
    """Asks each catalog in turn: the first `Known` answer wins, else an `Unknown` (the first
    given), else None."""

    def __init__(self, *layers: Catalog) -> None:
        self.layers = layers

    def table(self, key: str) -> Lookup:
        return _first(layer.table(key) for layer in self.layers)

    def source(self, name: str, connector: str, params: Mapping[str, Any]) -> Lookup:
        answers = (layer.source(name, connector, params) for layer in self.layers)
        found = _first(answers)
        if isinstance(found, Known) and not found.recorded:
            recorded = _first(a for a in answers if isinstance(a, Known) and a.recorded)
            if isinstance(recorded, Known):
                return dataclasses.replace(found, accepted=recorded.columns)
        return found

    def prefetch(self, questions: Sequence[SourceQuestion]) -> None:
        for layer in self.layers:
            layer.prefetch(questions)


def _first(answers: Iterable[Lookup]) -> Lookup:
    """The first Known answer (later layers are not asked), else the first Unknown, else None."""
    unknown: Unknown | None = None
    for answer in answers:
        if isinstance(answer, Known):
            return answer
        if isinstance(answer, Unknown) and unknown is None:
            unknown = answer
    return unknown
