"""The CSV connector: local CSV files and globs through DuckDB's `read_csv`.

Parameters: `path` (required; a file, a glob, or a directory of `*.csv`), `has_header`
or `header` (default true), `delimiter` (`,`), `quote_char`, `escape_char`, `encoding`
(utf-8, utf-16 or latin-1: what DuckDB reads without extensions), `null_values` (a string or a
list), `skip_rows`, `columns` (name → DuckDB type), `date_format`, `timestamp_format`,
`sample_size` (rows sniffed for types; -1 means all). The earlier releases' `sync_mode`,
`primary_key` and `cursor_field` are accepted with a warning (a LOAD reads the whole file).

EXPORT options (`CsvExportOptions`): `header` (default true), `delimiter`, `quote`,
`date_format`, `compression` (`none`, `gzip`, `zstd`, `auto`).

Types are detected by DuckDB, so `2024-01-31` reads as DATE and `2024-01-31 10:00:00` as
TIMESTAMP. `columns` overrides the detected type of the named header columns (`types=`); for
a file without a header it names and types every column in order (`columns=`). A glob over
files with headers is read with `union_by_name`, so columns match by name, not by position.
"""

from __future__ import annotations

from typing import Annotated, Any

from sqlflowc.connectors.files.base import (
    COMMON_OBSOLETE,
    SYNC_OBSOLETE,
    FileConnector,
    FileExportOptions,
    FileParams,
    TextCompression,
    has_glob,
)
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.sqlbuild import select_from, table_function
from sqlflowc.validation import Check, Ge

# DuckDB's CSV reader decodes these without the `encodings` extension (which cannot be
# installed here); the keys are the spellings people write.
_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-16": "utf-16",
    "utf16": "utf-16",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
}


def _delimiter(value: str) -> str:
    if not value:
        raise ValueError("the delimiter must not be empty")
    return value


def _single_char(value: str | None) -> str | None:
    if value is not None and len(value) > 1:
        raise ValueError("expected a single character (or an empty string for none)")
    return value


def _encoding(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip().lower().replace("_", "-")
    if key not in _ENCODINGS:
        raise ValueError("unsupported encoding; supported: utf-8, utf-16, latin-1")
    return _ENCODINGS[key]


def _columns(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is not None and not value:
        raise ValueError("`columns` must name at least one column")
    return value


def _sample_size(value: int | None) -> int | None:
    if value is not None and value < 1 and value != -1:
        raise ValueError("expected a positive number of rows, or -1 for all rows")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvParams(FileParams):
    """A CSV source's parameters (see the module docstring)."""

    has_header: bool | None = None
    header: bool | None = None
    delimiter: Annotated[str, Check(_delimiter)] = ","
    quote_char: Annotated[str | None, Check(_single_char)] = None
    escape_char: Annotated[str | None, Check(_single_char)] = None
    encoding: Annotated[str | None, Check(_encoding)] = None
    null_values: str | list[str] | None = None
    skip_rows: Annotated[int, Ge(0)] = 0
    columns: Annotated[dict[str, str] | None, Check(_columns)] = None
    date_format: str | None = None
    timestamp_format: str | None = None
    sample_size: Annotated[int | None, Check(_sample_size)] = None

    def __post_init__(self) -> None:
        if (
            self.has_header is not None
            and self.header is not None
            and self.has_header != self.header
        ):
            raise ValueError("`has_header` and `header` disagree; give only one of them")

    @property
    def with_header(self) -> bool:
        if self.has_header is not None:
            return self.has_header
        return True if self.header is None else self.header


def _quote(value: str | None) -> str | None:
    if value is not None and len(value) > 1:
        raise ValueError("expected a single character")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvExportOptions(FileExportOptions):
    """A CSV export's options (see the module docstring)."""

    header: bool = True
    delimiter: Annotated[str, Check(_delimiter)] = ","
    quote: Annotated[str | None, Check(_quote)] = None
    date_format: str | None = None
    compression: TextCompression | None = None


class CsvConnector(FileConnector):
    """`SOURCE s TYPE CSV PARAMS {"path": "data/*.csv", ...}`."""

    name = "CSV"
    description = "CSV files: a file, a glob or a directory, local or remote"
    params_schema = CsvParams
    export_schema = CsvExportOptions
    extension = "csv"
    obsolete_params = COMMON_OBSOLETE | SYNC_OBSOLETE

    def select(self, params: CsvParams, location: str) -> str:
        return select_from(table_function("read_csv", location, self._named(params, location)))

    def sniff(self, params: CsvParams, location: str) -> str:
        """The query asking DuckDB's CSV sniffer what `select` would detect in one file: its
        `Prompt`, a `read_csv` call reading the file with what was detected (no detection)."""
        sniffer = table_function("sniff_csv", location, self._named(params, location))
        return f"SELECT Prompt FROM {sniffer}"

    def _named(self, params: CsvParams, location: str) -> dict[str, Any]:
        header = params.with_header
        named: dict[str, Any] = {
            "header": header,
            "delim": params.delimiter,
            "quote": params.quote_char,
            "escape": params.escape_char,
            "encoding": params.encoding,
            "nullstr": params.null_values,
            "skip": params.skip_rows or None,
            "dateformat": params.date_format,
            "timestampformat": params.timestamp_format,
            "sample_size": params.sample_size,
        }
        if params.columns:
            named["types" if header else "columns"] = params.columns
        if has_glob(location) and header:
            named["union_by_name"] = True
        return named
