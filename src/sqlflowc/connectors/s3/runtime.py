"""The S3 connector's run-time face: `TYPE S3` sources and exports, carried out by the file
connector of their format (`connector.file_source`, `connector.file_export`), whose run-time face
reads and writes `s3://` through s3fs (`files.py`).

`test(params)`: with an object or glob named, the matching objects; with a connection's fields
alone, the buckets the credentials can list (the bucket named by `bucket`, when given).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlflowc.connectors.files.base import FileConnector
from sqlflowc.connectors.registry import get_connector
from sqlflowc.connectors.runtime import (
    ConnectionTest,
    ConnectorError,
    ConnectorRuntime,
    Read,
    ReadRequest,
    WriteRequest,
    WriteResult,
)
from sqlflowc.connectors.s3.connector import S3Params, file_export
from sqlflowc.connectors.s3.errors import S3Failure
from sqlflowc.connectors.s3.files import access
from sqlflowc.connectors.s3.filesystem import endpoint_label, filesystem_for
from sqlflowc.schema import Column

__all__ = ["S3Runtime"]

_SHOWN = 10


def _files_for(params: Any) -> FileConnector:
    """The file connector whose parameters `params` are."""
    for name in ("CSV", "PARQUET", "JSON"):
        connector = get_connector(name)
        if isinstance(connector, FileConnector) and isinstance(params, connector.params_schema):
            return connector
    raise ConnectorError("an S3 source needs `uri`, or `bucket` with `key` or `path_prefix`")


class S3Runtime(ConnectorRuntime):
    """See the module docstring."""

    def read(self, params: Any, request: ReadRequest) -> Read:
        return _files_for(params).runtime().read(params, request)

    def discover_schema(self, params: Any, request: ReadRequest) -> list[Column] | None:
        return _files_for(params).runtime().discover_schema(params, request)

    def write(self, options: Any, request: WriteRequest) -> WriteResult:
        given = {f.name: getattr(options, f.name) for f in fields(options)}
        try:
            kind, chosen = file_export(request.target, given)
            files = get_connector(kind)
            assert files is not None
            parsed = files.parse_export(chosen)
        except ValueError as err:
            raise ConnectorError(f"S3 export: {err}") from None
        return files.runtime().write(parsed, request)

    def test(self, params: Any, project_dir: Path) -> ConnectionTest:
        if not isinstance(params, S3Params):
            return _files_for(params).runtime().test(params, project_dir)
        endpoint = endpoint_label(params)
        if params.bucket:
            place = access(params, f"s3://{params.bucket}/")
            keys = place.call(lambda: place.fs.ls(place.bucket, detail=False))
            what = f"bucket `{place.bucket}`"
        else:
            fs = filesystem_for(params)
            try:
                keys = fs.ls("", detail=False)
            except Exception as err:  # noqa: BLE001 - botocore's and aiohttp's own errors too
                where = f"connection `{params.connection}`" if params.connection else endpoint
                failure = S3Failure(err, where, [params.secret_access_key or ""])
                raise ConnectorError(failure.message, transient=failure.transient) from None
            what = "buckets"
        shown = sorted(str(k) for k in keys)
        count = f"{len(shown)} {'entry' if len(shown) == 1 else 'entries'}"
        return ConnectionTest(
            server=f"S3 {endpoint}: {what} ({count})",
            objects=tuple(shown[:_SHOWN]),
            more=len(shown) > _SHOWN,
        )
