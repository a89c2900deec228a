"""The snapshot store as a compile-time catalog (`schema.catalog`): a source's accepted
snapshot (`schema.store`) is what `check` and `compile` know of it when it cannot be read now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlflowc.schema.catalog import Known, Lookup, SourceQuestion
from sqlflowc.schema.snapshot import object_name
from sqlflowc.schema.store import SnapshotStore

__all__ = ["SnapshotCatalog"]


class SnapshotCatalog:
    """Sources' accepted snapshots as a compile-time `Catalog` (`schema.catalog`): what
    `check`/`compile` know of a source they cannot read now (a server out of reach, a secret
    only the run holds). It knows no tables, and reading never writes: an unreadable file
    answers nothing here (a run sets it aside and says so)."""

    def __init__(self, project_dir: Path | str) -> None:
        self.store = SnapshotStore(project_dir)

    def table(self, key: str) -> Lookup:
        return None

    def source(self, name: str, connector: str, params: Mapping[str, Any]) -> Lookup:
        obj = object_name("source", name)
        if not self.store.has_history(obj):
            return None
        accepted = self.store.state(obj).accepted
        if accepted is None:
            return None
        origin = f"its accepted snapshot {accepted.short} ({accepted.origin})"
        return Known(accepted.columns, origin, recorded=True)

    def prefetch(self, questions: Sequence[SourceQuestion]) -> None:
        pass  # read on demand, from local files
