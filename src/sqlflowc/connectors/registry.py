"""Which connector serves a type name: entry points in the group `sqlflowc.connectors`, for
the built-ins (declared in sqlflowc's own `pyproject.toml`) and plugins alike.

- An entry point is `name = "package.module:attr"`, where `attr` is a `Connector` subclass
  (constructed with no arguments) or a `Connector` instance. Type names are case-insensitive.
- The entry points are listed once per process, on first need (a few milliseconds: the
  installed distributions' metadata is read, no module is imported). A connector's module is
  imported only when its type is looked up, so a pipeline reading CSV never imports a
  PostgreSQL driver.
- A built-in (an entry point of the `sqlflowc` distribution) wins over a plugin of the same
  name; between two plugins, the first installed distribution found wins. So a built-in type
  is looked up without listing the entry points (`BUILTINS`, the same entry points as
  sqlflowc's `pyproject.toml` declares: a test keeps the two equal), and without the
  conformance check a plugin gets (the tests check the built-ins against it).
- `plugin_guard(connector)` wraps what a run asks of a connector's run-time face: a plugin
  raising anything but `ConnectorError` fails its step with a `ConnectorError` naming the
  plugin and the exception (a bug in the plugin, not in sqlflowc); a built-in's stays a bug.
- A plugin that fails to import (whatever its module raises), is not a connector, or breaks
  the contract where it can be checked up front (`conformance`: a parameter schema the
  validator cannot use, secret fields that name no parameter) raises `PluginError` naming the
  entry point and its distribution; the compiler reports it (SF0901) at the source that uses
  it, and a plugin's own checks raising anything are reported the same way — never a
  traceback.

`check_source` and `check_export` are what the compiler calls: lookup, "unknown connector" or
"unknown export format" with a suggestion, and the connector's own checks.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.connectors.base import Connector
from sqlflowc.connectors.params import ParamSite
from sqlflowc.connectors.runtime import ConnectorError
from sqlflowc.diagnostics import Code, Diagnostic, Reporter, Severity
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.suggest import did_you_mean

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from sqlflowc.ir import program  # annotations only: the IR is the compiler's

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorEntry",
    "PluginError",
    "check_export",
    "check_source",
    "clear_plugin_cache",
    "connector_entries",
    "connector_names",
    "export_formats",
    "get_connector",
    "plugin_guard",
]

ENTRY_POINT_GROUP = "sqlflowc.connectors"
_OWN_DISTRIBUTION = "sqlflowc"
# The built-in connectors: the entry points of sqlflowc's own distribution, by type name.
BUILTINS: dict[str, str] = {
    "CSV": "sqlflowc.connectors.files.csv:CsvConnector",
    "JSON": "sqlflowc.connectors.files.json:JsonConnector",
    "PARQUET": "sqlflowc.connectors.files.parquet:ParquetConnector",
    "POSTGRES": "sqlflowc.connectors.postgres:PostgresConnector",
    "S3": "sqlflowc.connectors.s3.connector:S3Connector",
}
_loaded: dict[str, Connector] = {}


class PluginError(Exception):
    """A connector entry point could not be imported or is not a connector."""


@dataclass(frozen=True, slots=True)
class ConnectorEntry:
    """A registered type: its name, where it comes from, and the entry point's target."""

    name: str
    value: str  # "package.module:attr"
    distribution: str  # the distribution declaring it ("sqlflowc" for the built-ins)

    @property
    def builtin(self) -> bool:
        return self.distribution == _OWN_DISTRIBUTION

    @property
    def label(self) -> str:
        """`lines` (`pkg.mod:Lines`, from sqlflowc-lines) — for messages about it."""
        origin = f", from {self.distribution}" if self.distribution else ""
        return f"`{self.name.lower()}` (`{self.value}`{origin})"


@cache
def _entries() -> dict[str, tuple[ConnectorEntry, EntryPoint]]:
    from importlib.metadata import entry_points

    found: dict[str, tuple[ConnectorEntry, EntryPoint]] = {}
    names: dict[int, str] = {}  # a distribution's name parses its METADATA: once per distribution
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = "" if ep.dist is None else names.get(id(ep.dist), "")
        if ep.dist is not None and not dist:
            dist = names[id(ep.dist)] = ep.dist.name
        entry = ConnectorEntry(ep.name.upper(), ep.value, dist)
        have = found.get(entry.name)
        if have is None or (entry.builtin and not have[0].builtin):
            found[entry.name] = (entry, ep)
    return found


def clear_plugin_cache() -> None:
    """Forget the entry points seen so far (after installing a plugin into a running process)."""
    _entries.cache_clear()
    _loaded.clear()


def connector_entries() -> list[ConnectorEntry]:
    """Every registered type, sorted by name (nothing is imported)."""
    return [entry for _, (entry, _) in sorted(_entries().items())]


def connector_names() -> list[str]:
    """Every known type name, upper-case and sorted: built-ins and installed plugins."""
    return sorted(_entries())


def get_connector(type_name: str) -> Connector | None:
    """The connector for a type name (any case), or None; raises PluginError for a broken one."""
    key = type_name.strip().upper()
    if key in _loaded:
        return _loaded[key]
    builtin = BUILTINS.get(key)
    if builtin is not None:
        module, _, attr = builtin.partition(":")
        _loaded[key] = getattr(importlib.import_module(module), attr)()
        return _loaded[key]
    found = _entries().get(key)
    if found is None:
        return None
    entry, ep = found
    try:
        obj: Any = ep.load()
        connector = obj() if isinstance(obj, type) and issubclass(obj, Connector) else obj
    except Exception as err:
        raise PluginError(
            f"connector plugin {entry.label} failed to import: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(connector, Connector):
        raise PluginError(
            f"connector plugin {entry.label} is not a connector "
            "(a subclass or an instance of sqlflowc.connectors.Connector)"
        )
    from sqlflowc.connectors.conformance import connector_problems  # (plugins only)

    problems = connector_problems(connector, entry.name)
    if problems:
        raise PluginError(f"connector plugin {entry.label} is broken: {'; '.join(problems)}")
    _loaded[key] = connector
    return connector


def export_formats() -> list[str]:
    """The type names an EXPORT can write (connectors with an `export_schema`)."""
    names = []
    for name in connector_names():
        try:
            connector = get_connector(name)
        except PluginError:
            continue
        if connector is not None and connector.export_schema is not None:
            names.append(name)
    return names


def check_source(
    source: program.Source, project_dir: Path, reporter: Reporter, *, produced: bool = False
) -> Connector | None:
    """Look up `source.connector` and run its checks; report an unknown type with a suggestion.
    `produced`: the pipeline exports what the source reads (`Connector.check`)."""
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
    if _is_builtin(connector):
        connector.check(source, project_dir, reporter, produced=produced)
        return connector
    try:
        connector.check(source, project_dir, reporter)
    except Exception as err:  # noqa: BLE001 - a plugin's bug is reported, not a traceback
        reporter.error(
            Code.UNKNOWN_CONNECTOR,
            f"connector plugin `{source.connector.lower()}` failed checking source "
            f"`{source.name}`: {type(err).__name__}: {err}",
            source.span,
            help="this is a bug in the plugin; report it to its authors",
        )
        return None
    return connector


def _is_builtin(connector: Connector) -> bool:
    return type(connector).__module__.startswith("sqlflowc.")


@contextmanager
def plugin_guard(connector: Connector) -> Iterator[None]:
    """Report a plugin's unexpected exception as a `ConnectorError` (module docstring)."""
    if _is_builtin(connector):
        yield
        return
    try:
        yield
    except ConnectorError:
        raise
    except Exception as err:  # a plugin's bug fails its step, named
        raise ConnectorError(
            f"the {connector.name} connector (a plugin: {type(connector).__module__}) failed: "
            f"{type(err).__name__}: {err}"
        ) from err


def check_export(export: program.Export, reporter: Reporter) -> Connector | None:
    """Look up the EXPORT's format and check its options; report an unknown format."""
    fmt = export.format.strip().upper()
    try:
        connector = get_connector(fmt)
    except PluginError as err:
        reporter.error(Code.BAD_EXPORT, str(err), export.span)
        return None
    if connector is None or connector.export_schema is None:
        names = export_formats()
        reporter.add(
            Diagnostic(
                Code.BAD_EXPORT,
                f"unknown export format `{export.format}`",
                export.span,
                Severity.ERROR,
                help=did_you_mean(export.format, names),
                notes=(f"export formats: {', '.join(names)}",),
            )
        )
        return None
    site = ParamSite(
        code=Code.BAD_EXPORT,
        owner=f"{fmt} export",
        noun="option",
        span=export.span,
        value_spans=export.option_spans,
        key_spans=export.option_key_spans,
    )
    connector.check_export(export.options, site, reporter)
    return connector
