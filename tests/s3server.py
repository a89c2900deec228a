"""A real S3-protocol server for the tests: `moto_server` (from `moto[server]`) on a free loopback
port, spoken to over HTTP by s3fs exactly as a run speaks to AWS, MinIO or any S3-protocol store.

- `MotoServer.start()` runs `python -m moto.server -H 127.0.0.1 -p PORT` as a subprocess and waits
  until it answers; `stop()` terminates it (the fault tests stop one mid-export); `restart()`
  starts it again on the same port (moto keeps nothing across a restart: buckets are gone).
- `server.params` are the connection fields a pipeline gives (`endpoint_url`, `access_key_id`,
  `secret_access_key`, `region`); `server.env` the same as the AWS environment variables (the
  default credential chain); `server.filesystem()` an s3fs filesystem for the test's own checks.
- `server.bucket()` makes a bucket with a fresh name and removes it, with every object in it,
  afterwards.
- `CuttingProxy(server.port, cut_after=...)`: the server as a client sees it when it stops in
  the middle of a transfer, while the server itself keeps its objects (fault tests).

`tests/conftest.py` provides `s3_server` (one server per test session and worker) and
`s3_bucket` (a fresh bucket per test) from this module.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ACCESS_KEY = "sqlflowc-test-key"
SECRET_KEY = (
    "Zq8vWx3KjP9mTn2R"  # tests check it never shows up; random, so masking hides nothing else
)
REGION = "eu-west-1"  # not us-east-1: s3fs sends it as a LocationConstraint, which S3 refuses
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """One `moto_server` process on 127.0.0.1 (see the module docstring)."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def params(self) -> dict[str, Any]:
        """The connection fields of this server, as PARAMS or a profile connection holds them."""
        return {
            "endpoint_url": self.endpoint,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "region": REGION,
        }

    @property
    def env(self) -> dict[str, str]:
        """The AWS environment variables naming this server's credentials (the default chain)."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def start(self) -> MotoServer:
        env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1):
                    return self
            except urllib.error.HTTPError:
                return self  # it answers
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint} in {START_TIMEOUT} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def filesystem(self) -> Any:
        """A fresh s3fs filesystem on this server (no listing cache shared with other tests)."""
        import s3fs

        return s3fs.S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            endpoint_url=self.endpoint,
            client_kwargs={"region_name": REGION},
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    @contextlib.contextmanager
    def bucket(self, prefix: str = "sqlflowc") -> Iterator[str]:
        """A bucket with a fresh name, removed with everything in it afterwards."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        fs = self.filesystem()
        fs.mkdir(name)
        try:
            yield name
        finally:
            if self.process is not None and self.process.poll() is None:
                fs = self.filesystem()
                with contextlib.suppress(FileNotFoundError):
                    fs.rm(name, recursive=True)
                with contextlib.suppress(FileNotFoundError, OSError):
                    fs.rmdir(name)


@contextlib.contextmanager
def moto_server() -> Iterator[MotoServer]:
    """A server for the duration of the block (stopped however the block ends)."""
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


class CuttingProxy:
    """A TCP proxy in front of a server that can be cut like a pulled cable: once
    `cut_after` bytes have gone from clients to the server, every open connection is closed and
    new ones are refused until `resume()` (or for `down_for` seconds, when given). What a client
    sees is an S3 server stopped mid-transfer; the server behind keeps what it had, so a test
    can check that a failed upload changed nothing."""

    def __init__(self, upstream_port: int, cut_after: int, down_for: float | None = None) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.down_for = down_for
        self.port = free_port()
        self.sent = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._listen()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if counted:
                    with self._lock:
                        self.sent += len(data)
                        over = self.cut_after >= 0 and self.sent >= self.cut_after
                    if over:
                        self.cut()
                        return
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def cut(self, *, counted: bool = True) -> None:
        """Close every connection and stop listening (once per `resume`)."""
        with self._lock:
            if self._listener is None:
                return
            self.cuts += counted
            self.cut_after = -1
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        listener.close()
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self.down_for is not None and counted:
            threading.Timer(self.down_for, self.resume).start()

    def resume(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
        self._listen()

    def close(self) -> None:
        self.cut(counted=False)


class StallingProxy:
    """A TCP proxy in front of a server that, from the first request `stalls(request)` accepts
    (its first bytes: `b"GET /bucket/key HTTP/1.1\\r\\n..."`), forwards nothing more on that
    connection and answers nothing: a server that took the request and hangs. With no upstream
    (`upstream_port=None`) every request stalls: a server that accepts and never answers.
    `stalled` is set once a request stalled."""

    def __init__(self, upstream_port: int | None, stalls: Any = None) -> None:
        self.upstream_port = upstream_port
        self.stalls = stalls or (lambda request: True)
        self.stalled = threading.Event()
        self._held: list[socket.socket] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(client)
            upstream = None
            if self.upstream_port is not None:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                self._held.append(upstream)
                threading.Thread(target=self._answers, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket | None) -> None:
        stalled = False
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if not stalled and (upstream is None or self.stalls(data)):
                    stalled = True
                    self.stalled.set()
                if not stalled and upstream is not None:
                    upstream.sendall(data)

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)

    def close(self) -> None:
        for sock in (self._listener, *self._held):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
