"""Sources read at run time: a `Load` whose connector has no compile-time scan.

Contract of `source_read(con, load, project_dir, substitute, ...)` (a context manager), for a
`Load` whose `read` names a relation (the backend's choice for a connector without a
compile-time scan): the connector's run-time face reads the source (`ConnectorRuntime.read`)
with the step's `source.params`, and the result is visible to the step's SQL under that name for
the duration of the block — `ArrowBatches` registered on the connection (DuckDB streams the
batches; `close` is called when the block ends, however it ends; batches with a `select` are
registered as `<name>_batches`, and `<name>` is the temporary view converting them), a
`DuckDBScan` as a temporary view. `${...}` placeholders in the parameters are substituted
(`substitute`) right before the read; nothing secret is kept. For a `LOAD ... MODE
INCREMENTAL`, `watermark` holds the high-water mark the step binds (`{"watermark": value}`),
handed to the connector as `ReadRequest.watermark` so it can filter at the source (the step's
staging filters again, so a connector that cannot is still exact). When DuckDB fails while
reading Arrow batches or running the scan, the connector's own account of why
(`ArrowBatches.failure`, `DuckDBScan.failure`: a lost connection, transient) is raised instead
of DuckDB's, which only wraps it.

`with_source(con, load, project_dir, substitute, body, ...)` runs `body` (the step's writes, one
transaction) inside `source_read`, and runs the whole again when a transient `ConnectorError`
ends it — opening the read or in the middle of the batches: the body is atomic, so a failed
attempt left nothing behind. Retries follow the source's `retries` and `retry_delay`
(`retry_policy`, `sqlflowc.retry`), each reported to `on_retry` (which the connector also gets,
in `ReadRequest.on_retry`); others propagate. What the connector reports without failing
(`ReadRequest.on_warning`: a column read inexactly) goes to `on_warning`, once per message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlflowc.backend.plan import IncrementalLoad, Load
from sqlflowc.connectors import get_connector
from sqlflowc.connectors.registry import plugin_guard
from sqlflowc.connectors.runtime import (
    ArrowBatches,
    ConnectorError,
    DuckDBScan,
    Read,
    ReadRequest,
    RetryReport,
    Watermark,
)
from sqlflowc.placeholders import substituted
from sqlflowc.retry import DEFAULT_RETRIES, DEFAULT_RETRY_DELAY, RetryPolicy, call_with_retries
from sqlflowc.sqlbuild import sql_identifier

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

    from sqlflowc.connectors.base import Connector

__all__ = ["retry_policy", "source_read", "with_source"]

T = TypeVar("T")


def retry_policy(params: Any) -> RetryPolicy:
    """The retries a source's parameters (or an export's options) ask for."""
    return RetryPolicy(
        retries=int(getattr(params, "retries", DEFAULT_RETRIES)),
        delay=float(getattr(params, "retry_delay", DEFAULT_RETRY_DELAY)),
    )


def with_source(
    con: Connection,
    load: Load,
    project_dir: Path,
    substitute: Callable[[str], str],
    body: Callable[[], T],
    *,
    on_retry: RetryReport | None = None,
    on_warning: Callable[[str], None] | None = None,
    watermark: Mapping[str, Any] | None = None,
) -> T:
    """`body()` with the load's source readable, retried on transient faults (module doc)."""
    _, params = _parsed(load, substitute)
    warned: set[str] = set()

    def warn_once(message: str) -> None:  # a retry reads the same columns again
        if on_warning is not None and message not in warned:
            warned.add(message)
            on_warning(message)

    def attempt() -> T:
        with source_read(
            con, load, project_dir, substitute, on_retry, on_warning=warn_once, watermark=watermark
        ):
            return body()

    return call_with_retries(
        attempt,
        policy=retry_policy(params),
        is_transient=lambda err: isinstance(err, ConnectorError) and err.transient,
        what=load.id,
        on_retry=on_retry,
    )


def _parsed(load: Load, substitute: Callable[[str], str]) -> tuple[Connector, Any]:
    connector = get_connector(load.source.connector)
    if connector is None or load.read is None:
        raise ConnectorError(
            f"internal error: step `{load.id}` reads an unknown source; please report"
        )
    raw = substituted(dict(load.source.params), substitute)
    try:
        return connector, connector.parse(raw)
    except ValueError as err:  # a hand-edited plan; the compiler validates parameters
        raise ConnectorError(f"invalid parameters for {connector.name}: {err}") from None


@contextlib.contextmanager
def source_read(
    con: Connection,
    load: Load,
    project_dir: Path,
    substitute: Callable[[str], str],
    on_retry: RetryReport | None = None,
    *,
    on_warning: Callable[[str], None] | None = None,
    watermark: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Make the load's run-time source readable under `load.read`; see the module docstring."""
    connector, params = _parsed(load, substitute)
    relation = load.read
    assert relation is not None  # checked by _parsed
    request = ReadRequest(
        project_dir=project_dir,
        connection=con,
        on_retry=on_retry,
        on_warning=on_warning,
        watermark=_request_watermark(load, watermark or {}),
    )
    with plugin_guard(connector):
        result: Read = connector.runtime().read(params, request)
    match result:
        case ArrowBatches():
            import duckdb

            # Batches that need converting are registered under a name of their own, and the
            # relation is the view converting them.
            batches = relation if result.select is None else f"{relation}_batches"
            view = sql_identifier(relation)
            try:
                con.register(batches, result.reader)
                try:
                    if result.select is not None:
                        con.execute(
                            f"CREATE OR REPLACE TEMPORARY VIEW {view} AS "
                            f"SELECT {result.select} FROM {sql_identifier(batches)}"
                        )
                    yield
                except duckdb.Error:
                    cause = result.failure() if result.failure is not None else None
                    if cause is None:
                        raise
                    raise cause from None
                finally:
                    if result.select is not None:
                        con.execute(f"DROP VIEW IF EXISTS {view}")
                    con.unregister(batches)
            finally:
                if result.close is not None:
                    result.close()
        case DuckDBScan():
            import duckdb

            name = sql_identifier(relation)
            try:
                con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {result.sql}")
                yield
            except duckdb.Error:
                cause = result.failure() if result.failure is not None else None
                if cause is None:
                    raise
                raise cause from None
            finally:
                con.execute(f"DROP VIEW IF EXISTS {name}")


def _request_watermark(load: Load, mark: Mapping[str, Any]) -> Watermark | None:
    """What the connector is told of an INCREMENTAL load's high-water mark (None: read all)."""
    from sqlflowc.sqlbuild.loads import WATERMARK

    value = mark.get(WATERMARK)
    if not isinstance(load.mode, IncrementalLoad) or value is None:
        return None
    return Watermark(load.mode.by, value, inclusive=load.mode.lookback is not None)
