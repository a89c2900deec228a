"""Sources read at run time: a `Load` whose connector has no compile-time scan.

Contract of `source_read(con, load, project_dir, substitute, on_retry)` (a context manager), for
a `Load`
whose `read` names a relation (the backend's choice for a connector without a compile-time
scan): the connector's run-time face reads the source (`ConnectorRuntime.read`) with the step's
`source.params`, and the result is visible to the step's SQL under that name for the duration
of the block — `ArrowBatches` registered on the connection (DuckDB streams the batches; `close`
is called when the block ends, however it ends), a `DuckDBScan` as a temporary view. `${...}`
placeholders in the parameters are substituted (`substitute`) right before the read; nothing
secret is kept. A transient `ConnectorError` raised by `read` is retried (`sqlflowc.retry`: the
source's `retries`, after `retry_delay` seconds doubled each time), each retry reported to
`on_retry` (which the connector also gets, in `ReadRequest.on_retry`); others propagate.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.plan import Load
from sqlflowc.connectors import get_connector
from sqlflowc.connectors.runtime import (
    ArrowBatches,
    ConnectorError,
    DuckDBScan,
    Read,
    ReadRequest,
    RetryReport,
)
from sqlflowc.retry import DEFAULT_RETRIES, DEFAULT_RETRY_DELAY, RetryPolicy, call_with_retries
from sqlflowc.sqlbuild import sql_identifier

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["source_read"]


@contextlib.contextmanager
def source_read(
    con: Connection,
    load: Load,
    project_dir: Path,
    substitute: Callable[[str], str],
    on_retry: RetryReport | None = None,
) -> Iterator[None]:
    """Make the load's run-time source readable under `load.read`; see the module docstring."""
    relation = load.read
    connector = get_connector(load.source.connector)
    if connector is None or relation is None:
        raise ConnectorError(
            f"internal error: step `{load.id}` reads an unknown source; please report"
        )
    raw = _substituted(dict(load.source.params), substitute)
    try:
        params = connector.parse(raw)
    except ValueError as err:  # a hand-edited plan; the compiler validates parameters
        raise ConnectorError(f"invalid parameters for {connector.name}: {err}") from None
    request = ReadRequest(project_dir=project_dir, connection=con, on_retry=on_retry)
    policy = RetryPolicy(
        retries=int(getattr(params, "retries", DEFAULT_RETRIES)),
        delay=float(getattr(params, "retry_delay", DEFAULT_RETRY_DELAY)),
    )
    result: Read = call_with_retries(
        lambda: connector.runtime().read(params, request),
        policy=policy,
        is_transient=lambda err: isinstance(err, ConnectorError) and err.transient,
        what=load.id,
        on_retry=on_retry,
    )
    match result:
        case ArrowBatches():
            try:
                con.register(relation, result.reader)
                try:
                    yield
                finally:
                    con.unregister(relation)
            finally:
                if result.close is not None:
                    result.close()
        case DuckDBScan():
            name = sql_identifier(relation)
            con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {result.sql}")
            try:
                yield
            finally:
                con.execute(f"DROP VIEW IF EXISTS {name}")


def _substituted(value: Any, substitute: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return substitute(value)
    if isinstance(value, Mapping):
        return {k: _substituted(v, substitute) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_substituted(v, substitute) for v in value]
    return value
