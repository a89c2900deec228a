"""Helpers of the S3 tests: a project with a profile, objects put on the server, a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
from click.testing import Result

from helpers import sqlflowc
from s3server import MotoServer


def put(server: MotoServer, uri: str, data: bytes) -> None:
    server.filesystem().pipe_file(uri.removeprefix("s3://"), data)


def get(server: MotoServer, uri: str) -> bytes:
    return bytes(server.filesystem().cat_file(uri.removeprefix("s3://")))


def put_table(server: MotoServer, uri: str, select: str, fmt: str, tmp: Path) -> None:
    local = tmp / f"upload.{fmt}"
    duckdb.sql(f"COPY ({select}) TO '{local}' (FORMAT {fmt})")
    put(server, uri, local.read_bytes())


def project(tmp: Path, pipeline: str, connections: dict[str, Any] | None = None) -> Path:
    """`tmp` as a project with a dev profile holding `connections`; the pipeline's path."""
    (tmp / "pipelines").mkdir(exist_ok=True)
    (tmp / "profiles").mkdir(exist_ok=True)
    profile = {"engine": {"path": "target/dev.duckdb"}, "connections": connections or {}}
    (tmp / "profiles" / "dev.yml").write_text(json.dumps(profile))
    path = tmp / "pipelines" / "p.sf"
    path.write_text(pipeline)
    return path


def run(path: Path, *args: str) -> Result:
    return sqlflowc("run", str(path), *args)


def lake(server: MotoServer) -> dict[str, Any]:
    """A profile connection `lake` of type s3 for the server."""
    return {"lake": {"type": "s3", **server.params}}
