"""CSV, Parquet and JSON on S3: what the file connectors' run-time face does for an `s3://` path.

- `scan(files, params, request)`: the objects are looked up first (one listing or HEAD: a missing
  bucket or key, a refused permission, an unreachable endpoint fail here, with S3's own words),
  the credentials' filesystem is registered on the run's DuckDB connection, and the scan is the
  local connector's own query (`read_csv`/`read_parquet`/`read_json` with every parameter) over
  the same location through it — so globs, `union_by_name`, hive partitions (`key=value/`
  directories) and typed CSV columns behave exactly as for local files. A key ending in `/`, or
  naming a "directory" (a prefix with objects under it), means every `*.<format>` object below.
- `discover(files, params, request)`: `DESCRIBE` of that scan: a Parquet footer, a CSV sample.
- `write(files, options, request)`: DuckDB writes the export into a local temporary directory,
  then it is uploaded: one object uploaded whole (S3 makes an object visible only once its upload
  completes, so a reader never sees part of it and a failed upload leaves the previous object);
  with `partition_by`, the `_SUCCESS` marker under the target prefix is removed first, the
  partition files are uploaded, objects of an earlier export under the prefix that this one did
  not write are removed, and `_SUCCESS` is written last. Uploads are retried on transient faults
  (`retries`, `retry_delay`), each retry reported.
- `test(files, params)`: the bucket answers; the first matching objects.

Every failure is a `ConnectorError` naming the connection and the bucket, with S3's message,
never a secret (`errors.S3Failure`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlflowc.connectors.files.base import FileConnector, has_glob
from sqlflowc.connectors.runtime import (
    ConnectionTest,
    ConnectorError,
    DuckDBScan,
    ReadRequest,
    WriteRequest,
    WriteResult,
)
from sqlflowc.connectors.s3.errors import S3Failure
from sqlflowc.connectors.s3.filesystem import RunFileSystem, endpoint_label, filesystem_for
from sqlflowc.connectors.s3.params import S3Credentials, split_s3
from sqlflowc.retry import RetryPolicy, call_with_retries
from sqlflowc.sqlbuild import sql_string

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from sqlflowc.schema import Column

__all__ = ["S3Access", "discover", "scan", "test", "write"]

T = TypeVar("T")
SUCCESS = "_SUCCESS"
_SHOWN = 10


@dataclass(frozen=True, slots=True)
class S3Access:
    """A location with the filesystem that reaches it and how messages name it."""

    fs: RunFileSystem
    uri: str  # s3://bucket/key (s3a:// written s3://)
    bucket: str
    key: str
    where: str  # "connection lake, bucket events"
    secrets: tuple[str, ...]

    def fail(self, err: BaseException) -> ConnectorError:
        if isinstance(err, ConnectorError):
            return err
        failure = S3Failure(err, self.where, self.secrets)
        return ConnectorError(self.fs.shown(failure.message), transient=failure.transient)

    def call(self, action: Callable[[], T]) -> T:
        """`action()`, its failure as a `ConnectorError`."""
        try:
            return action()
        except ConnectorError:
            raise
        except Exception as err:  # noqa: BLE001 - botocore's and aiohttp's own errors too
            raise self.fail(err) from None


def access(params: S3Credentials, uri: str) -> S3Access:
    """The S3 location `uri` reached with `params`' credentials."""
    uri = "s3://" + uri.split("://", 1)[1]
    bucket, key = split_s3(uri)
    if not bucket:
        raise ConnectorError(f"`{uri}` names no bucket (write s3://bucket/key)")
    where = f"bucket `{bucket}`"
    if params.connection:
        where = f"connection `{params.connection}`, {where}"
    if params.endpoint_url:
        where += f" at {params.endpoint_url}"
    secrets = tuple(s for s in (params.secret_access_key, params.session_token) if s)
    return S3Access(filesystem_for(params), uri, bucket, key, where, secrets)


def register(con: DuckDBPyConnection, fs: RunFileSystem) -> None:
    """Make `fs` readable by DuckDB on `con` (once per connection)."""
    if fs.protocol[0] not in con.list_filesystems():
        con.register_filesystem(fs)


def _location(files: FileConnector, place: S3Access) -> str:
    """The object, glob or "directory" to read, checked to exist (module docstring)."""
    fs, key = place.fs, place.key
    all_below = f"**/*.{files.extension}"
    if not key or key.endswith("/"):
        pattern = f"{place.uri.rstrip('/')}/{all_below}"
    elif has_glob(key):
        pattern = place.uri
    else:
        try:
            fs.info(place.uri)
            return place.uri
        except FileNotFoundError:
            if not fs.isdir(place.uri):
                _no_such(place)
            pattern = f"{place.uri}/{all_below}"
    if not fs.glob(pattern):
        _no_such(place, pattern)
    return pattern


def _no_such(place: S3Access, pattern: str | None = None) -> None:
    """Raise the right "not found": the bucket's own error when it is the bucket."""
    place.fs.call_s3("list_objects_v2", Bucket=place.bucket, MaxKeys=1)  # NoSuchBucket
    what = f"no object matches `{pattern}`" if pattern else f"no object `{place.uri}`"
    raise ConnectorError(f"s3 {place.where}: {what}")


def scan(files: FileConnector, params: Any, request: ReadRequest) -> DuckDBScan:
    place = access(params, params.path)
    location = place.call(lambda: _location(files, place))
    register(request.connection, place.fs)
    place.fs.errors.clear()
    query = files.select(params, place.fs.duckdb_path(location))

    def failure() -> ConnectorError | None:
        errors = list(place.fs.errors)
        return place.fail(errors[-1]) if errors else None

    return DuckDBScan(query, failure=failure)


def discover(files: FileConnector, params: Any, request: ReadRequest) -> list[Column] | None:
    import duckdb

    from sqlflowc.schema import Column

    try:
        found = scan(files, params, request)
    except ConnectorError:
        return None  # the load reports it
    describe = f"DESCRIBE {found.sql}"
    try:
        rows = request.connection.execute(describe).fetchall()
    except duckdb.Error:
        return None
    return [Column(str(r[0]), str(r[1]), r[2] != "NO") for r in rows]


def write(options: Any, request: WriteRequest, copy_options: str) -> WriteResult:
    """Write the export locally, then upload it (module docstring)."""
    place = access(options, request.target)
    partition_by = list(getattr(options, "partition_by", None) or [])
    if not place.key or (place.key.endswith("/") and not partition_by):
        raise ConnectorError(f"`{place.uri}` names no object: write s3://bucket/path/file")
    policy = RetryPolicy(retries=options.retries, delay=options.retry_delay)
    workdir = Path(tempfile.mkdtemp(prefix="sqlflowc-s3-"))
    try:
        name = Path(place.key.rstrip("/")).name
        local = workdir / ("out" if partition_by else name)
        rows = _copy(request, local, copy_options)
        if partition_by:
            _upload_partitions(place, local, policy, request)
        else:
            target = f"{place.bucket}/{place.key}"
            _retrying(place, policy, request, lambda: place.fs.put_file(str(local), target))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return WriteResult(rows=rows, location=place.uri)


def _copy(request: WriteRequest, local: Path, options: str) -> int | None:
    query = request.query.strip().rstrip(";")
    copy = f"COPY (\n{query}\n) TO {sql_string(str(local))} {options}"
    result = request.connection.execute(copy)
    rows = result.fetchall() if result.description else []
    return int(rows[0][0]) if rows and rows[0] and isinstance(rows[0][0], int) else None


def _upload_partitions(
    place: S3Access, local: Path, policy: RetryPolicy, request: WriteRequest
) -> None:
    prefix = f"{place.bucket}/{place.key.rstrip('/')}"
    fs = place.fs
    files = sorted(p for p in local.rglob("*") if p.is_file())
    wanted = {f"{prefix}/{p.relative_to(local).as_posix()}" for p in files}

    def start() -> None:
        if fs.exists(f"{prefix}/{SUCCESS}"):
            fs.rm_file(f"{prefix}/{SUCCESS}")

    def upload() -> None:
        fs.put(
            [str(p) for p in files], [f"{prefix}/{p.relative_to(local).as_posix()}" for p in files]
        )

    def tidy() -> None:
        stale = [k for k in fs.find(prefix) if k not in wanted]
        if stale:
            fs.rm(stale)
        fs.pipe_file(f"{prefix}/{SUCCESS}", b"")

    for step in (start, upload, tidy):
        _retrying(place, policy, request, step)


def _retrying(
    place: S3Access, policy: RetryPolicy, request: WriteRequest, action: Callable[[], T]
) -> T:
    return call_with_retries(
        lambda: place.call(action),
        policy=policy,
        is_transient=lambda err: isinstance(err, ConnectorError) and err.transient,
        what=place.uri,
        on_retry=request.on_retry,
    )


def test(files: FileConnector, params: Any) -> ConnectionTest:
    place = access(params, params.path)
    location = place.call(lambda: _location(files, place))
    found = place.call(
        lambda: sorted(place.fs.glob(location)) if has_glob(location) else [location]
    )
    shown = [f"s3://{f.split('://', 1)[-1]}" for f in found[:_SHOWN]]
    endpoint = endpoint_label(params)
    n = len(found)
    return ConnectionTest(
        server=f"S3 {endpoint}: {location} ({n} object{'s' * (n != 1)})",
        objects=tuple(shown),
        more=n > _SHOWN,
    )
