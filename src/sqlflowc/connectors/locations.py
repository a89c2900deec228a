"""Which files a pipeline writes and which it reads, for ordering its steps and its checks.

An EXPORT writes a location (`export_location`: an absolute local path or an `s3://` URI); a
SOURCE reading files names a location too (`source_location`: a path, a glob or an `s3://`
URI, from its connector). `may_read` says whether a read can see what a write wrote. It errs
towards yes — a needless ordering edge costs parallelism, a missing one a wrong result:

>>> may_read("/p/out/*.csv", "/p/out/t.csv")
True
>>> may_read("/p/out/sales", "/p/out/sales/year=2024/data_0.parquet")
True
>>> may_read("s3://lake/daily/*.parquet", "s3://lake/daily/d.parquet")
True
>>> may_read("/p/data/orders.csv", "/p/out/t.csv")
False
>>> may_read("/p/out/*.csv", "/p/out/parts")
False
"""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path

from sqlflowc.connectors.registry import PluginError, get_connector
from sqlflowc.ir import program


def source_location(source: program.Source, project_dir: Path) -> str | None:
    """The files `source` reads, or None when it reads none (or its type is unknown)."""
    try:
        connector = get_connector(source.connector)
    except PluginError:
        return None
    if connector is None:
        return None
    try:
        return connector.location(source.params, project_dir)
    except Exception:  # noqa: BLE001 - a plugin's bug is reported by its checks, not here
        return None


def export_location(uri: str, project_dir: Path) -> str:
    """The absolute path or URI an EXPORT to `uri` writes (a `file://` URI as its path)."""
    if uri[:7].lower() == "file://":
        uri = uri[7:].removeprefix("localhost")
    if "://" in uri:
        return uri
    path = Path(uri).expanduser()
    return os.path.normpath(path if path.is_absolute() else project_dir / path)


def may_read(pattern: str, written: str) -> bool:
    """Whether reading `pattern` (a location, glob characters escaped where literal, as
    `fnmatch` reads them) may see `written`: segment by segment, as far as both go, each
    written segment matches the pattern's (a `**` matches the rest) — so a written directory
    (a partitioned export) is read by a pattern under it, and a pattern naming a directory
    reads a file written inside it."""
    wanted, got = pattern.split("/"), written.rstrip("/").split("/")
    for want, have in zip(wanted, got, strict=False):
        if want == "**":
            return True
        if not fnmatchcase(have, want):
            return False
    return True
