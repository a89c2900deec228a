"""What every pass receives: the source map, the reporter and the compilation's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlflowc.diagnostics import Reporter
from sqlflowc.schema import Policy
from sqlflowc.schema.catalog import Catalog, MappingCatalog
from sqlflowc.source import SourceMap
from sqlflowc.udf.discovery import UdfCatalog


@dataclass(slots=True)
class PassContext:
    """Shared, mutable state of one compilation.

    `cli_vars` come from `--var`/`--vars` (already JSON-typed); `profile_vars` from the profile's
    `variables:`; `environ` is the process environment (injected so tests control it).
    `connections` are the profile's named connections (raw, resolved lazily).
    `udfs` is the project's Python UDFs (discovered before the passes run).
    `verify_sql` asks for the checks that need DuckDB (`check` and `run` do; `compile` relies
    on sqlglot to keep start-up short): `bind` checks every SQL body with DuckDB's own parser
    too, and `check_columns` checks column references against the sources' metadata.
    `schema_policy` is the profile's, or `--schema-policy`'s; `catalog` the schemas known before
    the run (existing tables, sources' metadata) that the compile-time schema checks use.
    """

    sources: SourceMap
    reporter: Reporter
    project_dir: Path
    cli_vars: Mapping[str, Any] = field(default_factory=dict)
    profile_vars: Mapping[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    connections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    udfs: UdfCatalog = field(default_factory=UdfCatalog)
    schema_policy: Policy = "strict"
    catalog: Catalog = field(default_factory=MappingCatalog)
    verify_sql: bool = False
