"""A merge's key check on the client: the rows' keys hashed by DuckDB as they are sent, their
repeats looked for while PostgreSQL merges.

A merge needs one row per key and no NULL key (NULL never matches, so each run would insert
the row again). PostgreSQL can check that by building a unique index on the staged rows (0.25 s
per million rows, before the merge can start). Instead, for keys whose equality is the same in
DuckDB as in the target's column:

1. `hashable(columns, keys, transfers)`, given the staging table's columns as the catalog tells
   them (`catalog.copy_columns`: the target's types), says whether every key's DuckDB type
   reaches its column exactly, so that two rows have equal keys in PostgreSQL exactly when they
   do in DuckDB: integers into `smallint`/`integer`/`bigint`/`numeric`; DECIMAL into `numeric`
   of at least its scale; VARCHAR into `text`/`varchar` (no length, which would cut trailing
   spaces) of a deterministic collation; DATE, TIMESTAMP (to the microsecond), TIMESTAMPTZ,
   UUID, BOOLEAN into their namesakes (full precision). Anything else — `char(n)` (trailing
   spaces do not count), `citext`, floats (`-0 = 0`), json, a domain, a nondeterministic
   collation — keeps the unique index.
2. `hash_expression(keys)`: what the rows' query adds beside each CSV line: DuckDB's 64-bit
   `hash` of the key, NULL when a key column is NULL. `KeyHashes` keeps them (8 bytes a row,
   copied out of DuckDB's batches, which they would otherwise keep alive), up to
   `HASHED_ROWS_MAX` rows; past that the unique index checks the keys.
3. `KeyHashes.start()` looks, in a thread, for a NULL or a hash seen twice (sorting them: about
   0.2 s and 16 MB per million rows) while PostgreSQL runs the merge; `suspect()`
   waits for the answer. Equal keys hash alike, so no repeat means no duplicate key. A repeat
   (a duplicate, or two keys sharing a hash) undoes the merge and PostgreSQL's own look at the
   staged keys decides: it shows the offending keys, or finds none and the merge runs again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from sqlflowc.connectors.postgres.catalog import CopyColumn
from sqlflowc.connectors.postgres.types import WriteTransfer
from sqlflowc.schema.types import INTEGER_TYPES

__all__ = ["HASHED_ROWS_MAX", "KeyHashes", "hash_expression", "hashable"]

HASHED_ROWS_MAX = 16_000_000  # 128 MB of hashes; past it, a unique index checks the keys

# A PostgreSQL type (pg_catalog's typname) -> the DuckDB types reaching it exactly.
_SAME = {
    "date": frozenset({"DATE"}),
    "timestamp": frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS"}),
    "timestamptz": frozenset({"TIMESTAMP WITH TIME ZONE"}),
    "uuid": frozenset({"UUID"}),
    "bool": frozenset({"BOOLEAN"}),
    "text": frozenset({"VARCHAR"}),
    "varchar": frozenset({"VARCHAR"}),
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def hashable(
    columns: Mapping[str, CopyColumn], keys: Sequence[str], transfers: Sequence[WriteTransfer]
) -> bool:
    """Whether equal keys in PostgreSQL's `columns` (the staging table's, by lower-cased name)
    are exactly equal keys in DuckDB (see the module docstring)."""
    duck_types = {t.name.lower(): t.duckdb_type.upper() for t in transfers}
    for key in keys:
        found = columns.get(key.lower())
        source = duck_types.get(key.lower())
        if found is None or source is None:
            return False
        if found.typtype != "b" or not found.builtin or not found.deterministic:
            return False
        if not _exact(source, found.typname, found.typmod):
            return False
    return True


def _exact(source: str, typname: str, typmod: int) -> bool:
    if typname in ("int2", "int4", "int8"):
        return source in INTEGER_TYPES  # a value too large fails the COPY, never collapses
    if typname == "numeric":
        scale = ((typmod - 4) & 0x7FF ^ 1024) - 1024 if typmod >= 4 else None
        if source in INTEGER_TYPES:
            return scale is None or scale >= 0
        decimal = _DECIMAL.fullmatch(source)
        return decimal is not None and (scale is None or scale >= int(decimal.group(2)))
    if typname in ("timestamp", "timestamptz") and 0 <= typmod < 6:
        return False  # timestamp(p) rounds to p digits
    if typname == "varchar" and typmod != -1:
        return False  # varchar(n) cuts trailing spaces past n
    return source in _SAME.get(typname, frozenset())


def hash_expression(keys: Sequence[str]) -> exp.Expr:
    """DuckDB's hash of the key over the query aliased `q`, NULL when a key column is."""
    columns = [exp.column(exp.to_identifier(k, quoted=True), table="q") for k in keys]
    any_null = exp.or_(*(exp.Is(this=c.copy(), expression=exp.Null()) for c in columns))
    hashed = exp.Anonymous(this="HASH", expressions=[c.copy() for c in columns])
    return exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=hashed)


class KeyHashes:
    """The hashes of the keys sent, and the look for a repeat among them (a thread)."""

    def __init__(self) -> None:
        self._chunks: list[pa.Array] = []
        self._rows = 0
        self.complete = True  # False past HASHED_ROWS_MAX: the hashes were dropped
        self._suspect: bool | None = None
        self._thread: threading.Thread | None = None

    def add(self, hashes: pa.Array) -> None:
        """Keep a copy of a batch's hashes (not the batch's own buffers, which would keep its
        lines alive)."""
        if not self.complete:
            return
        self._rows += len(hashes)
        if self._rows > HASHED_ROWS_MAX:
            self.complete, self._chunks = False, []
            return
        self._chunks.append(pa.concat_arrays([hashes]))

    def start(self) -> None:
        """Look for a NULL or a repeated hash, in a thread."""
        self._thread = threading.Thread(target=self._look, name="sqlflowc-merge-keys")
        self._thread.start()

    def suspect(self) -> bool:
        """Whether a key was NULL or a hash repeated (or the look failed): PostgreSQL must
        look at the keys. Waits for the thread."""
        if self._thread is None:
            self._look()
        else:
            self._thread.join()
        return self._suspect is not False

    def _look(self) -> None:
        try:
            hashes = pa.chunked_array(self._chunks, type=pa.uint64()).combine_chunks()
            self._chunks = []
            if hashes.null_count:
                self._suspect = True
                return
            # sorted, a repeat sits beside itself (a sort costs less memory than DuckDB's
            # GROUP BY in a database of its own, 16 MB against 50 MB per million rows)
            ordered = pc.take(hashes, pc.sort_indices(hashes))
            self._suspect = len(ordered) > 1 and bool(
                pc.any(pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))).as_py()
            )
        except Exception:  # noqa: BLE001 - whatever failed, PostgreSQL looks at the keys
            self._suspect = True
        finally:
            self._chunks = []
