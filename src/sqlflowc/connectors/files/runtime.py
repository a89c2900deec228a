"""The run-time face of the file connectors (CSV, PARQUET, JSON).

- `read`: a `DuckDBScan` of `read_csv`/`read_parquet`/`read_json` over the resolved path or
  glob; DuckDB pushes projections and filters (a watermark too) into the scan itself. An
  `s3://` path is read through s3fs (`s3/files.py`), with the same query.
- `write`: `COPY (query) TO <temp> (FORMAT ..., options)` into a temporary file beside the
  target (same name suffix, so compression by extension still works), then an atomic rename
  over the target; a failure removes the temporary file and leaves a previous target as it
  was. A relative target is relative to the project directory; parent directories are made.
  With `partition_by` the target is a directory: the files and then `_SUCCESS` are written
  into a temporary directory beside it, which then takes the target's place. An `s3://`
  target is written locally and uploaded (`s3/files.py`).
- `discover_schema`: `DESCRIBE` of that scan on the run's connection (metadata only).
  `sniffed_scan`, for one local CSV file: the same with DuckDB's detection run once, and a scan
  that reads the file with what it detected (a load then detects nothing again).
- `test`: the path, glob or directory exists and holds matching files: reports their count
  and the first few names.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.connectors.files.base import (
    FileConnector,
    export_path,
    has_glob,
    matching_files,
    resolve_location,
    shown_location,
)
from sqlflowc.connectors.files.csv import CsvConnector, CsvExportOptions
from sqlflowc.connectors.runtime import (
    ConnectionTest,
    ConnectorError,
    ConnectorRuntime,
    DuckDBScan,
    ReadRequest,
    WriteRequest,
    WriteResult,
)
from sqlflowc.connectors.s3.params import is_s3
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.sqlbuild import sql_identifier, sql_string

if TYPE_CHECKING:
    from sqlflowc.connectors.base import Connector
    from sqlflowc.schema import Column

__all__ = ["FileRuntime", "SniffedScan", "copy_options"]

_SHOWN = 10


@dataclass(frozen=True, slots=True)
class SniffedScan:
    """A file's scan (`scan`: what the plan's load reads) and the same read with DuckDB's
    detection already done (`pinned`), and the columns both give."""

    scan: str
    pinned: str
    columns: list[Column]


class FileRuntime(ConnectorRuntime):
    """Reads and writes files with DuckDB itself."""

    def __init__(self, connector: Connector) -> None:
        assert isinstance(connector, FileConnector)
        super().__init__(connector)
        self.files = connector

    def read(self, params: Any, request: ReadRequest) -> DuckDBScan:
        if is_s3(params.path):
            from sqlflowc.connectors.s3 import files as s3_files

            return s3_files.scan(self.files, params, request)
        return DuckDBScan(self.files.scan_parsed(params, request.project_dir))

    def discover_schema(self, params: Any, request: ReadRequest) -> list[Column] | None:
        """`DESCRIBE` of the scan on the run's connection: DuckDB reads only what it needs to
        type the columns (a CSV sample, a Parquet footer); through s3fs for an S3 path. None
        when DuckDB cannot describe it (the load then reports why)."""
        import duckdb

        from sqlflowc.schema import Column

        if is_s3(params.path):
            from sqlflowc.connectors.s3 import files as s3_files

            return s3_files.discover(self.files, params, request)
        query = self.files.scan_parsed(params, request.project_dir)
        describe = f"DESCRIBE {query}"
        try:
            rows = request.connection.execute(describe).fetchall()
        except duckdb.Error:
            return None
        return [Column(str(r[0]), str(r[1]), r[2] != "NO") for r in rows]

    def sniffed_scan(self, params: Any, request: ReadRequest) -> SniffedScan | None:
        """`discover_schema` for one local CSV file with DuckDB's detection done once: the
        sniffer (`sniff_csv`, the options the scan gives) says what the scan would detect as a
        `read_csv` call that reads the file with it and detects nothing; the columns are that
        call's `DESCRIBE`, and a load may read the file with it instead of detecting all over
        again (`SniffedScan`). None for anything else (a glob, a directory, S3, JSON, Parquet)
        or when the sniffer refuses the options: `discover_schema` then."""
        import duckdb

        from sqlflowc.schema import Column

        if not isinstance(self.files, CsvConnector) or is_s3(params.path):
            return None
        location = resolve_location(params.path, request.project_dir, self.files.extension)
        if has_glob(location) or not os.path.isfile(location):
            return None
        try:
            [(prompt,)] = request.connection.execute(self.files.sniff(params, location)).fetchall()
            detected = str(prompt).strip().removesuffix(";")
            if not detected.startswith(f"FROM read_csv({sql_string(location)}, auto_detect=false"):
                return None
            pinned = f"SELECT * {detected}"
            rows = request.connection.execute(f"DESCRIBE {pinned}").fetchall()
        except (duckdb.Error, ValueError):
            return None
        columns = [Column(str(r[0]), str(r[1]), r[2] != "NO") for r in rows]
        return SniffedScan(self.files.select(params, location), pinned, columns)

    def write(self, options: Any, request: WriteRequest) -> WriteResult:
        import duckdb

        if is_s3(request.target):
            from sqlflowc.connectors.s3 import files as s3_files

            return s3_files.write(options, request, copy_options(options))
        try:
            target = export_path(request.target, request.project_dir)
        except ValueError as err:
            raise ConnectorError(str(err)) from None
        target.parent.mkdir(parents=True, exist_ok=True)
        partitioned = bool(options.partition_by)
        temp = target.with_name(_temporary_name(target, partitioned))
        query = request.query.strip().rstrip(";")
        copy = f"COPY (\n{query}\n) TO {sql_string(str(temp))} {copy_options(options)}"
        try:
            result = request.connection.execute(copy)
            rows = result.fetchall() if result.description else []
            if partitioned:
                _replace_directory(temp, target)
            else:
                os.replace(temp, target)
        except BaseException as err:  # an interrupt too: no temporary file is ever left
            _remove(temp)
            if isinstance(err, duckdb.Error):
                # The temporary file is ours: the user's message names the target.
                raise type(err)(str(err).replace(str(temp), str(target))) from None
            if isinstance(err, OSError):
                raise OSError(err.errno, err.strerror, str(target)) from None
            raise
        count = int(rows[0][0]) if rows and rows[0] and isinstance(rows[0][0], int) else None
        return WriteResult(rows=count, location=str(target))

    def test(self, params: Any, project_dir: Path) -> ConnectionTest:
        if is_s3(params.path):
            from sqlflowc.connectors.s3 import files as s3_files

            return s3_files.test(self.files, params)
        location = resolve_location(params.path, project_dir, self.files.extension)
        if "://" in location:
            raise ConnectorError(f"`{params.path}` is not a local path")
        files = matching_files(location)
        if not files:
            what = "no file matches" if has_glob(location) else "not found:"
            raise ConnectorError(f"{what} {shown_location(location)}")
        shown = [os.path.relpath(f, project_dir) for f in files[:_SHOWN]]
        n = len(files)
        return ConnectionTest(
            server=f"local {self.files.name} files: {shown_location(location)} "
            f"({n} file{'s' * (n != 1)})",
            objects=tuple(shown),
            more=n > _SHOWN,
        )


def _replace_directory(temp: Path, target: Path) -> None:
    """`temp` (a partitioned export, complete) marked `_SUCCESS` and put in `target`'s place."""
    (temp / "_SUCCESS").touch()
    if not target.exists():
        os.replace(temp, target)
        return
    old = target.with_name(_temporary_name(target, True))
    os.replace(target, old)
    try:
        os.replace(temp, target)
    except OSError:
        os.replace(old, target)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _temporary_name(target: Path, directory: bool = False) -> str:
    """`.sqlflowc-1a2b3c4d.csv.gz`: short whatever the target's length (a name near the file
    system's limit still works), ending as the target does so DuckDB picks the same compression
    from the extension (a directory's name has no suffix)."""
    if directory:
        return f".sqlflowc-{uuid.uuid4().hex[:8]}"
    suffix = "".join(target.suffixes[-2:])
    if len(suffix) > 24 or not suffix.isprintable():
        suffix = target.suffix if len(target.suffix) <= 24 else ""
    return f".sqlflowc-{uuid.uuid4().hex[:8]}{suffix}"


def copy_options(options: Any) -> str:
    """The COPY option list for validated export options: `(FORMAT csv, HEADER true, ...)`."""
    parts: list[str] = []
    if isinstance(options, CsvExportOptions):  # (the other formats' options load when used)
        parts.append("FORMAT csv")
        parts.append(f"HEADER {'true' if options.header else 'false'}")
        parts.append(f"DELIMITER {sql_string(options.delimiter)}")
        if options.quote is not None:
            parts.append(f"QUOTE {sql_string(options.quote)}")
        if options.date_format is not None:
            parts.append(f"DATEFORMAT {sql_string(options.date_format)}")
        if options.compression is not None:
            parts.append(f"COMPRESSION {sql_string(options.compression)}")
    else:
        from sqlflowc.connectors.files.json import JsonExportOptions
        from sqlflowc.connectors.files.parquet import ParquetExportOptions

        match options:
            case ParquetExportOptions():
                parts.append("FORMAT parquet")
                if options.compression is not None:
                    codec = "uncompressed" if options.compression == "none" else options.compression
                    parts.append(f"COMPRESSION {sql_string(codec)}")
                if options.row_group_size is not None:
                    parts.append(f"ROW_GROUP_SIZE {options.row_group_size}")
            case JsonExportOptions():
                parts.append("FORMAT json")
                if options.compression is not None:
                    parts.append(f"COMPRESSION {sql_string(options.compression)}")
            case _:
                raise TypeError(f"no COPY options for {type(options).__name__}")
    if options.partition_by:
        columns = ", ".join(sql_identifier(c) for c in options.partition_by)
        parts.append(f"PARTITION_BY ({columns})")
    return "(" + ", ".join(parts) + ")"
