"""The PARQUET connector: local Parquet files and globs through DuckDB's `read_parquet`.

Parameters: `path` (required; a file, a glob, or a directory of `*.parquet`) and
`columns` (a projection: `SELECT "a", "b" FROM read_parquet(...)`). At compile time the
projected columns are checked against the file's schema (DuckDB reads only the metadata).
A glob is read with `union_by_name`, so files whose column order differs line up by name.
The earlier releases' `sync_mode`, `primary_key` and `cursor_field` are accepted with a warning.

EXPORT options: `compression` (`uncompressed`/`none`, `snappy`, `gzip`, `zstd`, `brotli`,
`lz4`, `lz4_raw`), `row_group_size` (a positive integer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from sqlflowc.connectors.files.base import (
    COMMON_OBSOLETE,
    SYNC_OBSOLETE,
    FileConnector,
    FileExportOptions,
    FileParams,
    has_glob,
)
from sqlflowc.diagnostics import Code, Diagnostic, Reporter, Severity
from sqlflowc.source import Span
from sqlflowc.sqlbuild import select_from, sql_string, table_function
from sqlflowc.suggest import did_you_mean
from sqlflowc.validation import Check, Gt

if TYPE_CHECKING:
    from sqlflowc.ir import program  # annotations only: the IR is the compiler's


def _columns(value: list[str] | None) -> list[str] | None:
    if value is not None:
        if not value:
            raise ValueError("`columns` must name at least one column")
        if len(set(value)) != len(value):
            raise ValueError("`columns` names a column twice")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class ParquetParams(FileParams):
    columns: Annotated[list[str] | None, Check(_columns)] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParquetExportOptions(FileExportOptions):
    compression: (
        Literal["uncompressed", "none", "snappy", "gzip", "zstd", "brotli", "lz4", "lz4_raw"] | None
    ) = None
    row_group_size: Annotated[int, Gt(0)] | None = None


class ParquetConnector(FileConnector):
    """`SOURCE s TYPE PARQUET PARAMS {"path": "data/*.parquet", "columns": ["a"]}`."""

    name = "PARQUET"
    description = "Parquet files: a file, a glob or a directory, local or remote"
    params_schema = ParquetParams
    export_schema = ParquetExportOptions
    extension = "parquet"
    obsolete_params = COMMON_OBSOLETE | SYNC_OBSOLETE

    def select(self, params: ParquetParams, location: str) -> str:
        named = {"union_by_name": True if has_glob(location) else None}
        return select_from(table_function("read_parquet", location, named), params.columns)

    def check_files(
        self,
        params: ParquetParams,
        location: str,
        span: Span,
        source: program.Source,
        reporter: Reporter,
    ) -> None:
        """The projected columns must exist in the files."""
        if not params.columns:
            return
        import duckdb

        query = f"DESCRIBE SELECT * FROM read_parquet({sql_string(location)}, union_by_name = true)"
        try:
            with duckdb.connect(":memory:") as con:
                available = [str(row[0]) for row in con.execute(query).fetchall()]
        except duckdb.Error as err:
            reporter.error(
                Code.INPUT_NOT_FOUND,
                f"cannot read the Parquet schema of `{params.path}`: {err}",
                span,
            )
            return
        columns_span = source.param_spans.get("columns", source.span)
        for column in params.columns:
            if column not in available:
                reporter.add(
                    Diagnostic(
                        Code.BAD_CONNECTOR_PARAM,
                        f"PARQUET source `{source.name}`: column `{column}` is not in "
                        f"{Path(params.path).name}",
                        columns_span,
                        Severity.ERROR,
                        help=did_you_mean(column, available),
                        notes=(f"columns in the file: {', '.join(available)}",),
                    )
                )
