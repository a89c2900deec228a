"""Source connectors: one module per connector behind the `Connector` protocol (see `base`),
found by type name through `registry` (built-ins plus `sqlflowc.connectors` entry points)."""

from __future__ import annotations

from sqlflowc.runtime.connectors.base import Connector
from sqlflowc.runtime.connectors.registry import connector_names, get_connector, validate_source

__all__ = ["Connector", "connector_names", "get_connector", "validate_source"]
