"""What the file connectors (CSV, PARQUET, JSON) share: a `path` (a file, a glob or a
directory), resolved against the project directory, read by one DuckDB table function.

- `path` may be an `s3://bucket/key` URI (globs, hive partitions and every other parameter
  apply as for local files): the parameters then include the S3 credentials
  (`s3.params.S3Credentials`: a profile connection of `type: s3` gives them, `"connection":
  "lake"`), and the run-time face reads it (`s3/files.py`). Any other URL scheme is an error.
- `check` also reports a local path or glob that matches no file (`INPUT_NOT_FOUND`, at the
  path); an S3 path is not looked up at compile time.
- `scan_sql` returns `SELECT ... FROM read_xxx('/abs/path', ...)`: a full query rather than a
  table expression so that a connector can project columns; None for an S3 path (read at run
  time, through the credentials' filesystem).
- `discover_schema` describes that query on an in-memory DuckDB: DuckDB reads only what it
  needs to type the columns (a CSV sample, a Parquet footer), never the data. S3 paths are not
  read at compile time (None): the run discovers their schema before any data moves.
- EXPORT options (`FileExportOptions`) take the S3 credentials too, `retries`/`retry_delay`
  for uploads, and `partition_by` (columns: one directory level `col=value/` each).
- The earlier releases' `batch_size`, `chunk_size`, `combine_files`, `engine` and
  `parallel_reading` are accepted with a warning: DuckDB reads files in parallel, in one pass.
"""

from __future__ import annotations

import glob
import os
import re
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from sqlflowc.connectors.base import Connector
from sqlflowc.connectors.s3.params import (
    S3Credentials,
    credentials_problem,
    is_s3,
    remote_scheme,
)
from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.source import Span
from sqlflowc.validation import Check

if TYPE_CHECKING:
    from sqlflowc.ir import program  # annotations only: the IR is the compiler's
    from sqlflowc.schema import Column

__all__ = [
    "COMMON_OBSOLETE",
    "SYNC_OBSOLETE",
    "FileConnector",
    "FileExportOptions",
    "FileParams",
    "TextCompression",
    "export_path",
    "has_glob",
    "matching_files",
    "resolve_location",
    "shown_location",
]

# Parameters the earlier releases documented for their file connectors; DuckDB reads files in
# parallel, in one pass, with no batching, so none of them means anything here.
COMMON_OBSOLETE = frozenset(
    {"batch_size", "chunk_size", "combine_files", "engine", "parallel_reading"}
)

# The earlier releases' "industry-standard" (Airbyte/Fivetran) incremental parameters, which their
# syntax reference documents for the CSV source and their Parquet docs for Parquet. A LOAD here
# always reads the whole source; incremental processing is `CREATE TABLE ... MODE INCREMENTAL BY`
# and keyed updates are `MODE MERGE KEY (...)`, which the warning's help points to.
SYNC_OBSOLETE = frozenset({"sync_mode", "primary_key", "cursor_field"})

_GLOB_CHARS = frozenset("*?[")

# The compressions DuckDB writes text formats (CSV, JSON lines) with.
TextCompression = Literal["none", "gzip", "zstd", "auto"]


def _partition_by(value: list[str] | None) -> list[str] | None:
    if value is not None:
        if not value:
            raise ValueError("`partition_by` must name at least one column")
        if len(set(value)) != len(value):
            raise ValueError("`partition_by` names a column twice")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class FileParams(S3Credentials):
    """Parameters every file connector takes (the credentials apply to an `s3://` path)."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileExportOptions(S3Credentials):
    """Options every file export takes: the credentials and retries apply to an `s3://`
    target; `partition_by` writes one file per distinct value of the columns, under
    `col=value/` directories (hive partitioning), the target being the directory."""

    partition_by: Annotated[list[str] | None, Check(_partition_by)] = None


class FileConnector(Connector, ABC):
    """A connector reading files (or globs) with one DuckDB table function.

    Subclasses set `name`, `params_schema`, `export_schema`, `extension` (used when `path` is a
    directory) and `obsolete_params`, and implement `select`.
    """

    extension: ClassVar[str]
    connection_types: ClassVar[frozenset[str]] = frozenset({"S3"})
    obsolete_params: ClassVar[frozenset[str]] = COMMON_OBSOLETE
    runtime_class: ClassVar[str | None] = "sqlflowc.connectors.files.runtime:FileRuntime"

    def check(
        self,
        source: program.Source,
        project_dir: Path,
        reporter: Reporter,
        *,
        produced: bool = False,
    ) -> None:
        """Check the parameters, then that the input exists (unless the pipeline writes it)."""
        super().check(source, project_dir, reporter)
        path = source.params.get("path")
        if not isinstance(path, str):
            return  # reported by the parameter check
        scheme = remote_scheme(path)
        if scheme is not None:
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{self.name} source `{source.name}`: `{scheme}://` paths are not supported",
                source.param_spans.get("path", source.span),
                label="this path",
                help="give a local path or an s3://bucket/key URI",
            )
            return
        location = resolve_location(path, project_dir, self.extension)
        if "://" not in location and not produced and not matching_files(location):
            what = "no file matches" if has_glob(location) else "file not found:"
            reporter.error(
                Code.INPUT_NOT_FOUND,
                f"{what} `{path}` (resolved to {shown_location(location)})",
                source.param_spans.get("path", source.span),
                label="this path",
            )

    def location(self, params: Mapping[str, Any], project_dir: Path) -> str | None:
        path = params.get("path")
        return (
            resolve_location(path, project_dir, self.extension) if isinstance(path, str) else None
        )

    def check_parsed(
        self, params: Any, source: program.Source, project_dir: Path, reporter: Reporter
    ) -> None:
        problem = credentials_problem(params)
        if problem is not None:
            reporter.error(
                Code.BAD_CONNECTOR_PARAM,
                f"{self.name} source `{source.name}`: {problem}",
                source.span,
            )
        location = resolve_location(params.path, project_dir, self.extension)
        if "://" not in location and matching_files(location):
            span = source.param_spans.get("path", source.span)
            self.check_files(params, location, span, source, reporter)

    def check_files(
        self, params: Any, location: str, span: Span, source: program.Source, reporter: Reporter
    ) -> None:
        """Further compile-time checks once the files are known to exist (none by default)."""

    def check_target(
        self, target: str, options: Mapping[str, Any], span: Span, reporter: Reporter
    ) -> None:
        """A local path, a `file:///absolute/path` or an `s3://bucket/key`: any other URL is an
        error; `partition_by` names the directory (or prefix) to write under."""
        if is_s3(target):
            bucket = target.split("://", 1)[1].split("/", 1)
            if not bucket[0] or len(bucket) < 2 or not bucket[1].strip("/"):
                reporter.error(
                    Code.BAD_EXPORT,
                    f"`{target}` names no object to write",
                    span,
                    help="write s3://bucket/path/file." + self.extension,
                )
            return
        scheme = remote_scheme(target)
        if scheme is not None:
            reporter.error(
                Code.BAD_EXPORT,
                f"{self.name} exports to `{scheme}://` targets are not supported",
                span,
                help="export to a local path or an s3://bucket/key URI",
            )
            return
        if target.lower().startswith("file://") and "${" not in target:
            try:
                export_path(target, Path("."))
            except ValueError as err:
                reporter.error(
                    Code.BAD_EXPORT,
                    str(err),
                    span,
                    help="write file:///absolute/path, or a path relative to the project",
                )

    def obsolete_help(self, name: str, source: program.Source) -> str:
        """Remove it, and what to write instead (for the incremental parameters)."""
        params = source.params
        cursor = params.get("cursor_field")
        by = cursor if isinstance(cursor, str) and cursor else "<cursor column>"
        incremental = (
            f"to process only new rows, load the source and write "
            f"`CREATE TABLE t MODE INCREMENTAL BY {by} AS SELECT ...` over it"
        )
        if name == "cursor_field" or (
            name == "sync_mode" and str(params.get("sync_mode")).lower() == "incremental"
        ):
            return f"remove `{name}`: LOAD reads the whole source on every run; {incremental}"
        if name == "sync_mode":
            return f"remove `{name}`: LOAD reads the whole source on every run"
        if name == "primary_key":
            key = params.get("primary_key")
            keys = [key] if isinstance(key, str) else key if isinstance(key, list) else []
            columns = ", ".join(str(k) for k in keys) or "<key columns>"
            return (
                f"remove `{name}`; to update rows by key, write "
                f"`LOAD t FROM {source.name} MODE MERGE KEY ({columns})`"
            )
        return f"remove `{name}`"

    def scan_sql(self, params: Mapping[str, Any], project_dir: Path) -> str | None:
        """`SELECT ... FROM read_xxx('/abs/path', ...)` for valid parameters; None for an S3
        path, which the run-time face reads."""
        parsed = self.parse(params)
        if is_s3(parsed.path):
            return None
        return self.scan_parsed(parsed, project_dir)

    def scan_parsed(self, params: Any, project_dir: Path) -> str:
        """`scan_sql` for parameters already validated (`parse`)."""
        location = resolve_location(params.path, project_dir, self.extension)
        return self.select(params, location)

    def discover_schema(self, params: Mapping[str, Any], project_dir: Path) -> list[Column] | None:
        """The columns DuckDB reads from the files' metadata (None: remote, or unreadable)."""
        import duckdb

        from sqlflowc.schema import Column

        try:
            query = self.scan_sql(params, project_dir)
        except ValueError:
            return None
        if query is None or "://" in str(params.get("path")):
            return None
        describe = f"DESCRIBE {query}"
        try:
            with duckdb.connect(":memory:") as con:
                rows = con.execute(describe).fetchall()
        except duckdb.Error:
            return None
        return [Column(str(r[0]), str(r[1]), r[2] != "NO", r[4]) for r in rows]

    @abstractmethod
    def select(self, params: Any, location: str) -> str:
        """The query reading `location` (an absolute path or glob) with `params`."""


def has_glob(location: str) -> bool:
    """Whether a path or location is a pattern: it has a glob character that is not escaped
    (`[*]`, `[?]` and `[[]` are the literal characters, as `glob.escape` writes them)."""
    return any(ch in _GLOB_CHARS for ch in _ESCAPED.sub("", location))


_ESCAPED = re.compile(r"\[[*?[]\]")


def resolve_location(path: str, project_dir: Path, extension: str) -> str:
    """The absolute path or glob DuckDB reads: relative to `project_dir` (`~/...`: the home
    directory); a directory means every `*.extension` file in it; a URL (`scheme://...`) is
    returned unchanged.

    Only what the user wrote is a pattern: the project (or home) directory is escaped with
    `glob.escape`, so a project in `/home/me/proj [2024]` still finds `data/*.csv`, and a path
    without glob characters — or one naming an existing file, such as `data/report[1].csv` — is
    escaped whole, so it names that one file. DuckDB and
    `matching_files` read `[[]` as a literal `[`; `shown_location` undoes the escapes.
    """
    if "://" in path:
        return path
    base: Path | None
    if path == "~" or path.startswith("~/"):
        base, rest = Path.home(), path[2:]
    elif Path(path).is_absolute():
        base, rest = None, path
    else:
        base, rest = project_dir, path
    literal = base / rest if base is not None else Path(rest)
    if has_glob(rest) and not literal.is_file():
        written = rest
    elif literal.is_dir():
        written = os.path.join(glob.escape(rest), f"*.{extension}")
    else:
        written = glob.escape(rest)
    if base is None:
        return os.path.normpath(written)
    return os.path.normpath(os.path.join(glob.escape(str(base)), written))


def export_path(target: str, project_dir: Path) -> Path:
    """The local file an EXPORT writes: a relative path is relative to `project_dir`, `~/...`
    is in the home directory of the user running it, and `file:///abs/path` (or
    `file://localhost/abs/path`, %-escapes decoded) is that absolute path. ValueError for a
    `file://` URI naming another host or a relative path, and for any other scheme."""
    if target[:7].lower() == "file://":
        parsed = urllib.parse.urlsplit(target)
        if parsed.netloc.lower() not in ("", "localhost"):
            raise ValueError(
                f"`{target}` names a file on host `{parsed.netloc}`; "
                "a file:// target must be on this machine (file:///path)"
            )
        path = Path(urllib.parse.unquote(parsed.path))
        if not path.is_absolute() or parsed.query or parsed.fragment:
            raise ValueError(f"`{target}` is not a file:///absolute/path URI")
        return path
    if "://" in target:
        raise ValueError(f"cannot export to `{target}`: only local files are supported")
    path = Path(target).expanduser()
    return path if path.is_absolute() else project_dir / path


def shown_location(location: str) -> str:
    """A location as people read it: `glob.escape`'s escapes undone."""
    return _ESCAPED.sub(lambda m: m.group(0)[1], location)


def matching_files(location: str) -> list[str]:
    """The regular files a location (an absolute path or glob, escaped where literal) names
    (`**` recurses, as in DuckDB)."""
    return sorted(f for f in glob.glob(location, recursive=True) if Path(f).is_file())
