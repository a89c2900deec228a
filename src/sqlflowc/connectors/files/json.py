"""The JSON connector: local JSON files and globs through DuckDB's `read_json`.

Parameters: `path` (required; a file, a glob, or a directory of `*.json`) and `format`:
`auto` (default: DuckDB decides), `newline_delimited` (one object per line) or `array` (one
top-level array of objects). DuckDB reads JSON as UTF-8 only, so the earlier releases'
`encoding` is accepted with a warning and has no effect.

EXPORT (newline-delimited JSON) options: `compression`. The CSV-only `header`, `delimiter` and
`quote`, which the earlier releases accepted on JSON exports (and ignored), are accepted with a
warning and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlflowc.connectors.files.base import (
    COMMON_OBSOLETE,
    FileConnector,
    FileExportOptions,
    FileParams,
    TextCompression,
    has_glob,
)
from sqlflowc.sqlbuild import select_from, table_function


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonParams(FileParams):
    format: Literal["auto", "newline_delimited", "array"] = "auto"


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonExportOptions(FileExportOptions):
    compression: TextCompression | None = None


class JsonConnector(FileConnector):
    """`SOURCE s TYPE JSON PARAMS {"path": "data/events.json", "format": "array"}`."""

    name = "JSON"
    description = "JSON files (newline-delimited or one array), local or remote"
    params_schema = JsonParams
    export_schema = JsonExportOptions
    export_obsolete = frozenset({"header", "delimiter", "quote"})
    extension = "json"
    obsolete_params = COMMON_OBSOLETE | {"encoding"}

    def export_obsolete_help(self, name: str) -> str:
        return f"remove `{name}`: it is an option of CSV exports"

    def select(self, params: JsonParams, location: str) -> str:
        named = {
            "format": params.format,
            "union_by_name": True if has_glob(location) else None,
        }
        return select_from(table_function("read_json", location, named))
