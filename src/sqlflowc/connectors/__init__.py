"""Connectors: one `Connector` per type (CSV, PARQUET, JSON, plugins), found through entry points
in the group `sqlflowc.connectors` (`registry`).

A connector has two faces:
- the compile-time face (`base.Connector`): parameter schema and checks, secret fields,
  defaults, schema discovery, the DuckDB scan when it is known before the run. It imports
  nothing heavy: the compiler and `sqlflowc --help` load it freely;
- the run-time face (`runtime.ConnectorRuntime`, from `Connector.runtime()`): read (a DuckDB
  scan or Arrow batches), write (EXPORT targets), test. Imported only when a run uses it.

Also here: the one list of secret fields (`secrets`), profile connections
(`connections`), the common `retries`/`retry_delay`/`schema_drift` parameters and the one
checker of parameters and options (`params`).
"""

from __future__ import annotations

from sqlflowc.connectors.base import Connector, ParamInfo, describe_params
from sqlflowc.connectors.params import CommonParams, ParamSite, check_params
from sqlflowc.connectors.registry import (
    ENTRY_POINT_GROUP,
    PluginError,
    check_export,
    check_source,
    connector_entries,
    connector_names,
    get_connector,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "CommonParams",
    "Connector",
    "ParamInfo",
    "ParamSite",
    "PluginError",
    "check_export",
    "check_params",
    "check_source",
    "connector_entries",
    "connector_names",
    "describe_params",
    "get_connector",
]
