"""The connector contract, run-time face: what the executor (and `sqlflowc connect test`) calls
to move data. Imported only when a run needs it (`Connector.runtime()`), so it may import its
driver (psycopg, s3fs, an HTTP client) at module level.

A run-time face is a `ConnectorRuntime` subclass constructed with its `Connector`. `params` is
always the connector's validated parameters (`Connector.parse`: its `params_schema`, defaults
filled in, secrets already substituted by the executor); `options` the validated EXPORT options.

- `read(params, request) -> DuckDBScan | ArrowBatches`: the source's rows.
  - `DuckDBScan(sql)`: a complete DuckDB query the executor runs on its own connection (files
    DuckDB reads itself; a remote filesystem the connector registered on
    `request.connection` first, e.g. fsspec's s3fs for `s3://`).
  - `ArrowBatches(reader)`: a `pyarrow.RecordBatchReader` the executor streams into DuckDB
    (PostgreSQL's `COPY ... TO STDOUT`, an HTTP API, generated rows). The schema must be the
    reader's from the start; batches should be bounded (`request.batch_size` rows, when given)
    so memory does not grow with the source. `close` (if given) is called once when the
    executor is done with the reader, whether it was read to the end or not: release
    connections there. `select` (if given) is a DuckDB select list over the batches' columns
    that gives the source's rows, for batches that cross in types of the wire (numbers as text,
    ...): the executor converts them with it in the run's database as it stores them.
  - `request.columns`: when given, only these columns are needed (a projection to push down).
  - `request.watermark`: when given (`LOAD ... MODE INCREMENTAL BY col`), only rows with
    `col > watermark.after` (`>=` when `inclusive`) are needed. A connector that filters at
    the server says so with `watermark_applied=True`; otherwise the executor filters.
  - Nothing may be left open when `read` raises.
- `write(options, request) -> WriteResult`: an EXPORT's rows (`request.query`, run on
  `request.connection`) to `request.target`. Atomic: a reader of the target sees the old
  content or the new, never a part; a failure leaves the target as it was (a temporary file
  renamed into place, an object uploaded whole, a staging table swapped in one transaction).
- `discover_schema(params, request) -> list[Column] | None`: the source's columns from metadata
  only (a CSV sniff, a Parquet footer, PostgreSQL's catalog), with the run's connection at hand
  (`request.connection`), or None when they cannot be known without reading the data. A run
  calls it for every source it loads, before any data moves (schema snapshots and drift), so it
  must be cheap: a few milliseconds. The default asks the compile-time face
  (`Connector.discover_schema`) with the parameters as written.
- `test(params, project_dir) -> ConnectionTest`: connect, and report what is there (the
  server's version, a few tables, files or keys); `sqlflowc connect test` shows it.
- Failures a user can act on raise `ConnectorError` (message without secrets; `transient`
  when retrying may help: a refused or reset connection, a timeout, an HTTP 5xx, PostgreSQL's
  admin shutdown). The executor retries a transient failure of `read` (`sqlflowc.retry`:
  `retries` times, waiting `retry_delay` seconds doubled each time); a connector that retries
  inside a stream or a write uses `call_with_retries` itself and reports each retry through
  `request.on_retry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.diagnostics import StepFailure
from sqlflowc.lean_dataclass import dataclass

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb import DuckDBPyConnection

    from sqlflowc.connectors.base import Connector
    from sqlflowc.retry import RetryEvent
    from sqlflowc.schema import Column, Policy

__all__ = [
    "ArrowBatches",
    "ConnectionTest",
    "ConnectorError",
    "ConnectorRuntime",
    "DuckDBScan",
    "Read",
    "ReadRequest",
    "Watermark",
    "WriteRequest",
    "WriteResult",
]


class ConnectorError(StepFailure):
    """A failure a user can act on; `transient` when a retry may succeed."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Watermark:
    """Only rows with `column` past `after` are needed (`>=` when `inclusive`), and, when
    `until` is given, not past `until` (inclusive): an INCREMENTAL load's window."""

    column: str
    after: Any  # a date, datetime, number or string, as DuckDB returned it
    inclusive: bool = False
    until: Any = None


# Called by a connector retrying by itself (`sqlflowc.retry.call_with_retries(on_retry=...)`).
RetryReport = Callable[["RetryEvent"], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadRequest:
    """What a read needs besides the parameters."""

    project_dir: Path
    connection: DuckDBPyConnection  # the run's; register filesystems on it, never commit on it
    columns: tuple[str, ...] | None = None
    watermark: Watermark | None = None
    batch_size: int | None = None
    on_retry: RetryReport | None = None
    on_warning: Callable[[str], None] | None = None  # what the reader should know (lossy types)


@dataclass(frozen=True, slots=True)
class DuckDBScan:
    """A complete DuckDB query reading the source. `failure`, when given, is asked after DuckDB
    failed while running it: the connector's own account of why (as for `ArrowBatches`: a
    remote filesystem's refused connection, `transient`), or None."""

    sql: str
    watermark_applied: bool = False
    failure: Callable[[], ConnectorError | None] | None = None


@dataclass(frozen=True, slots=True)
class ArrowBatches:
    """The source's rows as Arrow record batches.

    `failure`, when given, is asked after DuckDB failed while reading the batches: the
    connector's own account of why they stopped (a `ConnectorError`, `transient` when a retry
    may help: a connection lost mid-stream), or None when the connector saw nothing wrong.
    DuckDB wraps a reader's exceptions in its own, so this is how the cause comes back."""

    reader: pa.RecordBatchReader
    watermark_applied: bool = False
    close: Callable[[], None] | None = None
    failure: Callable[[], ConnectorError | None] | None = None
    select: str | None = None  # DuckDB's select list over the batches: the source's rows


Read = DuckDBScan | ArrowBatches


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRequest:
    """An EXPORT: the rows of `query` (DuckDB SQL, run on `connection`) to `target`."""

    project_dir: Path
    connection: DuckDBPyConnection
    query: str
    target: str  # the EXPORT's `TO` string: a path, a URI, a connection name
    on_retry: RetryReport | None = None
    schema_policy: Policy = "strict"  # for targets that keep rows: may columns be added?


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What an EXPORT wrote: rows (None when unknown) and where (for people). A target that
    keeps rows (a database table) also says how many were `inserted` and `updated` (by key),
    and whether the table was `created`."""

    rows: int | None
    location: str
    inserted: int | None = None
    updated: int | None = None
    created: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionTest:
    """What `connect test` shows: the server (`PostgreSQL 16.2`, `local files in /data`) and a
    few of its objects (tables, files, keys)."""

    server: str
    objects: tuple[str, ...] = ()
    more: bool = False  # objects were left out


class ConnectorRuntime(ABC):
    """The run-time face of `connector`; see the module docstring."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    @abstractmethod
    def read(self, params: Any, request: ReadRequest) -> Read:
        """The source's rows."""

    def discover_schema(self, params: Any, request: ReadRequest) -> list[Column] | None:
        """The source's columns from metadata only; None when they cannot be known."""
        import dataclasses

        if dataclasses.is_dataclass(params) and not isinstance(params, type):
            given = dataclasses.asdict(params)
        else:
            given = dict(params)
        return self.connector.discover_schema(given, request.project_dir)

    def write(self, options: Any, request: WriteRequest) -> WriteResult:
        """Write an EXPORT's rows atomically (connectors that are export targets)."""
        raise ConnectorError(f"{self.connector.name} cannot be exported to")

    @abstractmethod
    def test(self, params: Any, project_dir: Path) -> ConnectionTest:
        """Connect and describe what is there; ConnectorError when that fails."""
