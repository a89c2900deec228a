"""CSV, Parquet and JSON on S3: what the file connectors' run-time face does for an `s3://` path.

- `scan(files, params, request)`: the objects are looked up first (one listing or HEAD: a missing
  bucket or key, a refused permission, an unreachable endpoint fail here, with S3's own words),
  the credentials' filesystem is registered on the run's DuckDB connection, and the scan is the
  local connector's own query (`read_csv`/`read_parquet`/`read_json` with every parameter) over
  the same location through it — so globs, `union_by_name`, hive partitions (`key=value/`
  directories) and typed CSV columns behave exactly as for local files. A key ending in `/`, or
  naming a "directory" (a prefix with objects under it), means every `*.<format>` object below.
- `discover(files, params, request)`: `DESCRIBE` of that scan: a Parquet footer, a CSV sample.
- `write(files, options, request)`: one object is streamed: DuckDB's `COPY` writes into a named
  pipe that a thread reads into an s3fs upload (a single PUT, or a multipart upload in blocks of
  `BLOCK_SIZE`) while DuckDB goes on writing, with nothing on local disk. The upload completes
  only once DuckDB's `COPY` succeeded, and is aborted otherwise (S3 makes an object visible only
  once its upload completes, so a reader never sees part of it and a failed export leaves the
  previous object). A transient fault (the S3 endpoint lost mid-upload) runs the `COPY` and the
  upload again. With `partition_by`, DuckDB writes the partitions into a local temporary
  directory; the `_SUCCESS` marker under the target prefix is removed first, the partition files
  are uploaded, objects of an earlier export under the prefix that this one did not write are
  removed, and `_SUCCESS` is written last. Uploads are retried on transient faults (`retries`,
  `retry_delay`), each retry reported. When the run stops (Ctrl-C, SIGTERM) the upload in
  progress is abandoned and aborted, never completed: the previous object stays.
- `test(files, params)`: the bucket answers; the first matching objects.

Every failure is a `ConnectorError` naming the connection and the bucket, with S3's message,
never a secret (`errors.S3Failure`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
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
from sqlflowc.connectors.s3.filesystem import (
    RunFileSystem,
    endpoint_label,
    filesystem_for,
    while_stopping,
)
from sqlflowc.connectors.s3.params import S3Credentials, split_s3
from sqlflowc.retry import RetryPolicy, RunStopped, call_with_retries
from sqlflowc.sqlbuild import sql_string

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from sqlflowc.schema import Column

__all__ = ["S3Access", "discover", "scan", "test", "write"]

T = TypeVar("T")
SUCCESS = "_SUCCESS"
CHUNK = 1 << 20  # bytes read from the pipe at a time
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
    """Stream the export into its object, or write the partitions locally and upload them
    (module docstring)."""
    place = access(options, request.target)
    partition_by = list(getattr(options, "partition_by", None) or [])
    if not place.key or (place.key.endswith("/") and not partition_by):
        raise ConnectorError(f"`{place.uri}` names no object: write s3://bucket/path/file")
    policy = RetryPolicy(retries=options.retries, delay=options.retry_delay)
    workdir = Path(tempfile.mkdtemp(prefix="sqlflowc-s3-"))
    try:
        name = Path(place.key.rstrip("/")).name
        local = workdir / ("out" if partition_by else name)
        if partition_by:
            rows = _copy(request, local, copy_options)
            _upload_partitions(place, local, policy, request)
        else:
            rows = call_with_retries(
                lambda: _stream(place, request, local, copy_options),
                policy=policy,
                is_transient=lambda err: isinstance(err, ConnectorError) and err.transient,
                what=place.uri,
                on_retry=request.on_retry,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return WriteResult(rows=rows, location=place.uri)


def _stream(place: S3Access, request: WriteRequest, fifo: Path, options: str) -> int | None:
    """DuckDB's COPY into the pipe `fifo`, read into the upload of the object; the rows written
    (module docstring). An S3 failure raises `ConnectorError`, DuckDB's its own error."""
    import duckdb

    os.mkfifo(fifo, 0o600)
    try:
        # The read end first (non-blocking, so it returns at once), then a write end of our own
        # held open until DuckDB is done: the reader sees the end only when both are closed,
        # never because DuckDB has not opened the pipe yet.
        read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(read_fd, True)
        hold_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        uploader = _Uploader(place, f"{place.bucket}/{place.key}", read_fd)
        uploader.start()
        rows: int | None = None
        duck_error: BaseException | None = None
        try:
            rows = _copy(request, fifo, options[:-1] + ", USE_TMP_FILE false)")
        except (duckdb.Error, OSError) as err:
            duck_error = err
        finally:
            os.close(hold_fd)
            uploader.finish(complete=duck_error is None)
    finally:
        fifo.unlink(missing_ok=True)
    if isinstance(uploader.error, RunStopped):
        raise uploader.error  # the run stopped: no retry
    if uploader.error is not None:  # S3's failure is the cause; DuckDB's follows from it
        raise place.fail(uploader.error)
    if duck_error is not None:
        raise duck_error
    return rows


class _Uploader(threading.Thread):
    """Reads the pipe into an upload of `path`, then completes it or aborts it as told; keeps
    the error that stopped it. After an error it reads the pipe to its end, unused, so DuckDB
    is never left blocked on a pipe nobody reads (nor on opening one nobody holds)."""

    def __init__(self, place: S3Access, path: str, read_fd: int) -> None:
        super().__init__(name="sqlflowc-s3-upload", daemon=True)
        self._place = place
        self._path = path
        self._fd = read_fd
        self._decided = threading.Event()
        self._complete = False
        self.error: BaseException | None = None

    def finish(self, *, complete: bool) -> None:
        """Say whether to complete the upload (DuckDB wrote everything), and wait for it."""
        self._complete = complete
        self._decided.set()
        self.join()

    def run(self) -> None:
        target: Any = None
        try:
            try:
                target = self._place.fs.open(self._path, "wb")
                while chunk := os.read(self._fd, CHUNK):
                    target.write(chunk)
            except (Exception, RunStopped) as err:  # noqa: BLE001 - s3fs's, botocore's, aiohttp's
                self.error = err
                with contextlib.suppress(OSError):
                    while os.read(self._fd, CHUNK):
                        pass
            os.close(self._fd)
            self._decided.wait()
            if self._complete and self.error is None:
                try:
                    target.close()  # the last part; the upload completes: the object appears
                    target = None
                except (Exception, RunStopped) as err:  # noqa: BLE001 - as above
                    self.error = err
        finally:
            if target is not None:
                _abort(target)


def _abort(target: Any) -> None:
    """Abort an upload: nothing of it becomes visible (s3fs's `discard`), and the file is marked
    closed so that it is never completed by a later `close`. When the run stopped, the abort
    still gets a few seconds (`while_stopping`)."""
    # A lost endpoint, or one that does not answer in time: S3 drops unfinished uploads itself.
    with contextlib.suppress(Exception, RunStopped), while_stopping():
        target.discard()
    target.closed = True


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
