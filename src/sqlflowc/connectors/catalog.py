"""Sources' schemas for the compiler, from their connectors' schema discovery.

`DiscoveryCatalog(project_dir)` is a `sqlflowc.schema.catalog.Catalog` answering `source(...)`
with `Connector.discover_schema` (metadata only: a CSV sample, a Parquet footer, a database
catalog), once per distinct source; it knows no tables. A connector that is unknown or broken,
invalid parameters, or a discovery that cannot answer give None: the compiler then checks what it
can without that schema, and the run checks again.

`prefetch(questions)` discovers the sources not asked yet at the same time, in threads, when
their connectors are built in and there is more than one (eight PostgreSQL sources are eight
round trips to a server: asked together they cost about one); a plugin's sources are asked
one at a time, when `source` asks, since a plugin need not be thread-safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlflowc.connectors.registry import PluginError, get_connector
from sqlflowc.schema.catalog import Known, Lookup, SourceQuestion

MAX_THREADS = 8

__all__ = ["DiscoveryCatalog"]


class DiscoveryCatalog:
    """See the module docstring."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self._found: dict[tuple[str, str], Lookup] = {}

    def table(self, key: str) -> Lookup:
        return None

    def source(self, name: str, connector: str, params: Mapping[str, Any]) -> Lookup:
        key = _key(connector, params)
        if key not in self._found:
            self._found[key] = self._discover(connector, params)
        return self._found[key]

    def prefetch(self, questions: Sequence[SourceQuestion]) -> None:
        todo: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = {}
        for _, connector, params in questions:
            key = _key(connector, params)
            if key not in self._found and _built_in(connector):
                todo[key] = (connector, params)
        if len(todo) < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(len(todo), MAX_THREADS)) as pool:
            answers = pool.map(lambda asked: self._discover(*asked), todo.values())
            self._found.update(zip(todo, answers, strict=True))

    def _discover(self, connector: str, params: Mapping[str, Any]) -> Lookup:
        """`Connector.discover_schema`'s answer (an exception of sqlflowc's own propagates)."""
        try:
            found = get_connector(connector)
        except PluginError:
            return None
        if found is None:
            return None
        try:
            columns = found.discover_schema(params, self.project_dir)
        except ValueError:  # invalid parameters: reported by check_connectors
            return None
        except Exception:  # a plugin's bug: no schema here; its step reports it
            if type(found).__module__.startswith("sqlflowc."):
                raise  # ours: a bug in sqlflowc must show
            return None
        if columns is None:
            return None
        return Known(tuple(columns), f"the {found.name} source's metadata")


def _key(connector: str, params: Mapping[str, Any]) -> tuple[str, str]:
    return connector.upper(), json.dumps(params, sort_keys=True, default=str)


def _built_in(connector: str) -> bool:
    """Whether `connector` is one of sqlflowc's own (thread-safe discovery)."""
    try:
        found = get_connector(connector)
    except PluginError:
        return False
    return found is not None and type(found).__module__.startswith("sqlflowc.")
