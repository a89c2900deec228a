"""Which connector serves a `SOURCE ... TYPE x`: the built-ins, then plugins.

Type names are case-insensitive. Plugins are entry points in the group `sqlflowc.connectors`
(`name = "package.module:attr"`, where `attr` is a connector object or a class constructed with
no arguments). Entry points are listed on first need and a plugin is imported only when its type
is looked up; a built-in wins over a plugin of the same name. `validate_source` is what the
compiler calls: lookup, "unknown connector" with a suggestion, and the connector's checks.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlflowc.diagnostics import Code, Diagnostic, Reporter, Severity
from sqlflowc.ir import program
from sqlflowc.runtime.connectors.base import Connector
from sqlflowc.runtime.connectors.csv import CsvConnector
from sqlflowc.runtime.connectors.json import JsonConnector
from sqlflowc.runtime.connectors.parquet import ParquetConnector
from sqlflowc.suggest import did_you_mean

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "sqlflowc.connectors"

_BUILTINS: dict[str, Connector] = {
    c.name: c for c in (CsvConnector(), ParquetConnector(), JsonConnector())
}
_loaded: dict[str, Connector] = {}


class PluginError(Exception):
    """A connector plugin could not be imported or is not a connector."""


@cache
def _plugin_entry_points() -> dict[str, EntryPoint]:
    # Scanning the installed distributions costs milliseconds: only done for a type that is not
    # built in (or to list the known types in an error).
    from importlib.metadata import entry_points

    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name.upper(), ep)
    return found


def clear_plugin_cache() -> None:
    """Forget the plugins seen so far (after installing one into a running process)."""
    _plugin_entry_points.cache_clear()
    _loaded.clear()


def connector_names() -> list[str]:
    """Every known type name, upper-case and sorted: built-ins and installed plugins."""
    return sorted(set(_BUILTINS) | set(_plugin_entry_points()))


def get_connector(type_name: str) -> Connector | None:
    """The connector for a type name (any case), or None; raises PluginError for a broken plugin."""
    key = type_name.strip().upper()
    if key in _BUILTINS:
        return _BUILTINS[key]
    if key in _loaded:
        return _loaded[key]
    ep = _plugin_entry_points().get(key)
    if ep is None:
        return None
    try:
        obj = ep.load()
    except (ImportError, AttributeError) as err:
        raise PluginError(f"connector plugin `{ep.value}` failed to import: {err}") from err
    connector = obj() if isinstance(obj, type) else obj
    missing = [
        attr
        for attr in ("name", "params_schema", "validate", "scan_sql")
        if not hasattr(connector, attr)
    ]
    if missing:
        raise PluginError(
            f"connector plugin `{ep.value}` is not a connector (missing {', '.join(missing)})"
        )
    _loaded[key] = connector
    return _loaded[key]


def validate_source(
    source: program.Source, project_dir: Path, reporter: Reporter
) -> Connector | None:
    """Look up `source.connector` and run its checks; report an unknown type with a suggestion."""
    try:
        connector = get_connector(source.connector)
    except PluginError as err:
        reporter.error(Code.UNKNOWN_CONNECTOR, str(err), source.span)
        return None
    if connector is None:
        names = connector_names()
        reporter.add(
            Diagnostic(
                Code.UNKNOWN_CONNECTOR,
                f"unknown connector type `{source.connector}` for source `{source.name}`",
                source.span,
                Severity.ERROR,
                help=did_you_mean(source.connector, names),
                notes=(f"known connector types: {', '.join(names)}",),
            )
        )
        return None
    connector.validate(source, project_dir, reporter)
    return connector
