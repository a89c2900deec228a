"""The JSON connector: local JSON files and globs through DuckDB's `read_json`.

Parameters (§5.1): `path` (required; a file, a glob, or a directory of `*.json`) and `format`:
`auto` (default: DuckDB decides), `newline_delimited` (one object per line) or `array` (one
top-level array of objects). DuckDB reads JSON as UTF-8 only, so the earlier releases'
`encoding` is accepted with a warning and has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from sqlflowc.runtime.connectors.base import (
    COMMON_OBSOLETE,
    FileConnector,
    FileParams,
    has_glob,
    select_from,
    table_function,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonParams(FileParams):
    format: Literal["auto", "newline_delimited", "array"] = "auto"


class JsonConnector(FileConnector[JsonParams]):
    """`SOURCE s TYPE JSON PARAMS {"path": "data/events.json", "format": "array"}`."""

    name = "JSON"
    params_schema = JsonParams
    extension = "json"
    obsolete_params = COMMON_OBSOLETE | {"encoding"}

    def select(self, params: JsonParams, location: str) -> exp.Select:
        named = {
            "format": params.format,
            "union_by_name": True if has_glob(location) else None,
        }
        return select_from(table_function("read_json", location, named))
