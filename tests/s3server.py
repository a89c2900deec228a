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

`tests/conftest.py` provides `s3_server` (one server per test session and worker) and
`s3_bucket` (a fresh bucket per test) from this module.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
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
