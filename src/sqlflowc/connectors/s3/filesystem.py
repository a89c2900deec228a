"""S3 through s3fs, as DuckDB reads it: one filesystem per set of credentials, registered on the
run's DuckDB connection under a protocol of its own.

- `filesystem_for(creds)`: an s3fs filesystem for these credentials (the AWS default chain when
  none are given), made once per process and credential set. Its protocol is `s3` followed by
  a digest of the credentials (`s3c1a2b3c4d`), so two connections with different keys can be
  registered on one DuckDB connection side by side; `duckdb_path` rewrites `s3://b/k` to it and
  `shown` rewrites DuckDB's messages back. Neither s3fs nor botocore nor aiohttp retries a
  failed request: the step's `retries` do, each reported. (aiohttp on its own sends an
  idempotent request — a GET, or the PUT of a whole object — a second time when its connection
  breaks; `OneAttemptSession` turns that off, so `retries: 0` means one attempt and no retry goes
  unreported.)
- Reads are positional and thread-safe. DuckDB reads one file from several threads through the
  same handle, as `seek` then `read` — two calls, between which s3fs releases the GIL while it
  waits on the network — so s3fs's own buffered file can hand one thread another's bytes.
  `ObjectReader` keeps each thread's sought position apart (a plain `read` goes on where the
  last read ended, as DuckDB's sequential readers expect) and fetches the object in large blocks
  (`BLOCK_SIZE`, one ranged GET each; the whole object at once when it is not much larger),
  each fetched once under a lock; the filesystem keeps the last few (`Blocks`), so the schema
  discovery before a load and the load itself share them. The next block is fetched in the
  background while DuckDB parses the current one. Large blocks matter: S3-protocol
  servers answer each GET with a fixed cost, and some (moto) read the whole object for each.
- Errors raised inside DuckDB's calls are kept (`errors`), so the runtime can tell the user
  S3's own account (`NoSuchKey`, a refused connection) rather than DuckDB's wrapper of it.
- Every request ends when the run stops (Ctrl-C, SIGTERM: `sqlflowc.retry.stopped()`), whichever
  thread waits for it, with `RunStopped`: the request is cancelled, however long the server
  would have kept it (`READ_TIMEOUT`). s3fs's blocking calls wait on its event loop through
  fsspec's `sync`, which only a read timeout ends; the filesystem's own (`stoppable`) wait for
  the same coroutine instead, checking for the stop every `STOP_POLL` seconds. After the stop, a
  call made `while_stopping()` (aborting an upload) still gets `CLEANUP_WAIT` seconds.

Only the run-time face imports this module (it imports s3fs).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import inspect
import threading
import time
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

import fsspec.asyn
import s3fs
from aiobotocore.httpsession import AIOHTTPSession

from sqlflowc.connectors.s3.params import S3Credentials
from sqlflowc.retry import RunStopped, stopped

__all__ = ["BLOCK_SIZE", "ObjectReader", "RunFileSystem", "filesystem_for", "while_stopping"]

BLOCK_SIZE = 64 * 2**20
BLOCKS_KEPT = 4  # per filesystem: at most 256 MB held
CONNECT_TIMEOUT = 10  # seconds
READ_TIMEOUT = 120
STOP_POLL = 0.2  # seconds: how often a request in progress checks whether the run stopped
CLEANUP_WAIT = 5.0  # seconds a request made `while_stopping()` may take after the stop

_made: dict[str, RunFileSystem] = {}
_lock = threading.Lock()
_prefetch = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sqlflowc-s3")
_CLEANUP: ContextVar[bool] = ContextVar("sqlflowc_s3_cleanup", default=False)
_SYNC_WRAPPER = fsspec.asyn.sync_wrapper(lambda: None).__code__  # fsspec's blocking face


@contextlib.contextmanager
def while_stopping() -> Iterator[None]:
    """Requests made in the block may take `CLEANUP_WAIT` seconds after the run stopped."""
    token = _CLEANUP.set(True)
    try:
        yield
    finally:
        _CLEANUP.reset(token)


def stoppable(fs: RunFileSystem) -> None:
    """Make every blocking call of `fs` wait as `_wait` does (module docstring): s3fs's own
    (`call_s3`, `find`, ...: on the class) and those fsspec made for the instance (`info`,
    `cat_file`, ...)."""
    names = {name for klass in type(fs).__mro__ for name in vars(klass)} | set(vars(fs))
    for name in sorted(names):
        func = inspect.getattr_static(fs, name, None)
        inner = getattr(func, "__wrapped__", None)
        if getattr(func, "__code__", None) is not _SYNC_WRAPPER or inner is None:
            continue
        coroutine = inner if inspect.ismethod(inner) else types.MethodType(inner, fs)
        setattr(fs, name, _blocking(fs, coroutine))


def _blocking(fs: RunFileSystem, coroutine: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return _wait(fs, coroutine(*args, **kwargs), timeout)

    call.__doc__ = coroutine.__doc__
    return call


def _wait(fs: RunFileSystem, coroutine: Any, timeout: float | None) -> Any:
    """Run `coroutine` on the filesystem's loop and wait for it, as fsspec's `sync` does, but
    cancel it and raise `RunStopped` once the run stopped (module docstring)."""
    loop = fs.loop
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:  # no loop runs in this thread: the usual case
        running = None
    if running is loop:  # waiting here would wait for itself
        coroutine.close()
        raise RuntimeError("a blocking S3 call was made from within the filesystem's own loop")
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    started = time.monotonic()
    grace: float | None = None
    while True:
        done, _ = concurrent.futures.wait([future], timeout=STOP_POLL)
        if done:
            break
        now = time.monotonic()
        if timeout and now - started > timeout:
            future.cancel()
            raise fsspec.asyn.FSTimeoutError
        if stopped():
            if grace is None:
                grace = now + (CLEANUP_WAIT if _CLEANUP.get() else 0.0)
            if now >= grace:
                future.cancel()
                raise RunStopped("the run stopped while waiting for S3")
    error = future.exception()
    if isinstance(error, asyncio.TimeoutError):
        raise fsspec.asyn.FSTimeoutError from error
    return future.result()


class RunFileSystem(s3fs.S3FileSystem):  # type: ignore[misc]
    """s3fs with thread-safe positional reads and a protocol of its own (module docstring)."""

    protocol: tuple[str, ...] = ("s3",)
    errors: list[BaseException]
    blocks: Blocks

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        """`s3://` and `s3a://` paths are this filesystem's too (DuckDB uses its own)."""
        if isinstance(path, str) and path[:6].lower().startswith(("s3://", "s3a://")):
            path = path.split("://", 1)[1]
        return super()._strip_protocol(path)

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode != "rb":
            return super().open(path, mode, **kwargs)
        try:
            return ObjectReader(self, self._strip_protocol(path))
        except BaseException as err:
            self.errors.append(err)
            raise

    def glob(self, path: str, **kwargs: Any) -> Any:
        try:
            return super().glob(path, **kwargs)
        except BaseException as err:
            self.errors.append(err)
            raise

    def size(self, path: str) -> Any:
        try:
            return super().size(path)
        except BaseException as err:
            self.errors.append(err)
            raise

    def duckdb_path(self, uri: str) -> str:
        """`s3://bucket/key` as DuckDB finds it through this filesystem."""
        _, _, rest = uri.partition("://")
        return f"{self.protocol[0]}://{rest}"

    def shown(self, text: str) -> str:
        """DuckDB's text with this filesystem's paths written `s3://` again."""
        return text.replace(f"{self.protocol[0]}://", "s3://")


def endpoint_label(creds: S3Credentials) -> str:
    """Where requests for `creds` go, as `connect test` names it: the connection's
    `endpoint_url`, else the one the AWS chain picks from the environment, else AWS itself."""
    import os

    given = (
        creds.endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    return given or "AWS"


def filesystem_for(creds: S3Credentials) -> RunFileSystem:
    """The filesystem for `creds` (made once per process; see the module docstring)."""
    options: dict[str, Any] = {
        "key": creds.access_key_id,
        "secret": creds.secret_access_key,
        "token": creds.session_token,
        "endpoint_url": creds.endpoint_url,
        "profile": creds.aws_profile,
    }
    client: dict[str, Any] = {}
    if creds.region:
        client["region_name"] = creds.region
    digest = hashlib.sha256(
        repr(sorted({**options, **client}.items(), key=str)).encode()
    ).hexdigest()[:10]
    with _lock:
        found = _made.get(digest)
        if found is not None:
            return found
        cls = type(f"RunFileSystem_{digest}", (RunFileSystem,), {"protocol": (f"s3{digest}",)})
        fs: RunFileSystem = cls(
            **{k: v for k, v in options.items() if v is not None},
            anon=False,
            client_kwargs=client,
            config_kwargs={
                "connect_timeout": CONNECT_TIMEOUT,
                "read_timeout": READ_TIMEOUT,
                "retries": {"total_max_attempts": 1, "mode": "standard"},
                **_one_attempt_session(),
            },
            skip_instance_cache=True,
            use_listings_cache=False,
            default_block_size=BLOCK_SIZE,
        )
        fs.retries = 1  # one attempt per request: the step retries, and reports each retry
        fs.errors = []
        stoppable(fs)
        fs.blocks = Blocks()
        _made[digest] = fs
        return fs


def _one_attempt_session() -> dict[str, Any]:
    """The client option that makes aiohttp send each request once (an aiobotocore that has no
    `http_session_cls` option, older than the one this was written for, keeps its default)."""
    from aiobotocore.config import AioConfig

    if "http_session_cls" not in inspect.signature(AioConfig).parameters:
        return {}
    return {"http_session_cls": OneAttemptSession}


class OneAttemptSession(AIOHTTPSession):  # type: ignore[misc]  # untyped base
    """aiobotocore's HTTP session, whose aiohttp sessions send each request once (module
    docstring). aiohttp has no public switch for its resend of idempotent requests on a broken
    connection; `_retry_connection` is the one its own test client turns off."""

    async def _get_session(self, proxy_url: Any) -> Any:
        session = await super()._get_session(proxy_url)
        session._retry_connection = False
        return session


class ObjectReader:
    """One object, read at any position from any thread (module docstring)."""

    def __init__(self, fs: RunFileSystem, path: str) -> None:
        self.fs = fs
        self.path = path
        info = fs.info(path)
        self.size = int(info["size"])
        self.version = str(info.get("ETag") or info.get("LastModified") or "")
        whole = self.size <= BLOCK_SIZE + BLOCK_SIZE // 2
        self.block = max(self.size, 1) if whole else BLOCK_SIZE
        self._local = threading.local()
        self._pos = 0
        self.closed = False

    # The file protocol DuckDB uses.

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self.tell()
        elif whence == 2:
            offset += self.size
        self._local.pos = offset
        self._pos = offset
        return offset

    def tell(self) -> int:
        return int(getattr(self._local, "pos", self._pos))

    def read(self, n: int = -1) -> bytes:
        # A `seek` is followed by its `read` on the same thread; a plain `read` goes on from
        # where the last one ended, whichever thread made it.
        pos = self._local.__dict__.pop("pos", self._pos)
        end = self.size if n is None or n < 0 else min(self.size, pos + n)
        if pos >= end:
            return b""
        parts = []
        at = pos
        while at < end:
            index = at // self.block
            data = self._get(index)
            start = at - index * self.block
            take = data[start : start + (end - at)]
            if not take:
                break
            parts.append(take)
            at += len(take)
        self._pos = at
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Blocks.

    def _get(self, index: int) -> bytes:
        blocks = self.fs.blocks
        with blocks.lock:
            future = self._future(index)
            if index + 1 < self._count():
                self._future(index + 1)  # read ahead while this block is parsed
        try:
            return future.result()
        except BaseException as err:
            with blocks.lock:
                if blocks.kept.get(self._key(index)) is future:
                    del blocks.kept[self._key(index)]
            self.fs.errors.append(err)
            raise

    def _key(self, index: int) -> tuple[str, str, int, int]:
        return (self.path, self.version, self.size, index)

    def _future(self, index: int) -> Future[bytes]:
        """Block `index`, fetched once (caller holds the blocks' lock)."""
        kept = self.fs.blocks.kept
        key = self._key(index)
        future = kept.get(key)
        if future is not None:
            kept.move_to_end(key)
            return future
        start = index * self.block
        end = min(self.size, start + self.block)
        future = _prefetch.submit(self.fs.cat_file, self.path, start=start, end=end)
        kept[key] = future
        while len(kept) > BLOCKS_KEPT:
            kept.popitem(last=False)
        return future

    def _count(self) -> int:
        return (self.size + self.block - 1) // self.block


class Blocks:
    """The blocks a filesystem fetched lately, shared by its readers: a schema discovery's
    first block is the load's too. Keyed by the object's ETag as well, so an object
    rewritten since is fetched again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: OrderedDict[tuple[str, str, int, int], Future[bytes]] = OrderedDict()
