"""The parameters of S3 access, shared by every connector that reads or writes `s3://`.

`S3Credentials` (the fields of a profile connection of `type: s3`): `access_key_id`,
`secret_access_key`, `session_token` (secrets: shown `***`, never in plans or messages),
`region`, `endpoint_url` (for MinIO, moto or any S3-protocol server; `http://` allowed) and
`aws_profile` (a profile of `~/.aws/credentials`). None given: the AWS default chain (the
`AWS_*` environment variables, `~/.aws`, an instance role). The file connectors' parameters and
export options derive from it, so `TYPE PARQUET PARAMS {"path": "s3://...", "connection":
"lake"}` takes the connection's fields; a local path ignores them.

`is_s3(location)`: whether a path or URI is an S3 location (`s3://`, `s3a://`);
`split_s3(uri)`: its bucket and key; `remote_scheme(location)`: the scheme of a URL that is
neither S3 nor `file://` (unsupported), else None.
"""

from __future__ import annotations

import re
from typing import Annotated

from sqlflowc.connectors.params import CommonParams
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.validation import Check

__all__ = [
    "S3_SCHEMES",
    "S3Credentials",
    "credentials_problem",
    "is_s3",
    "remote_scheme",
    "scheme_of",
    "split_s3",
]

S3_SCHEMES = ("s3", "s3a")


def _endpoint(value: str | None) -> str | None:
    if value is not None and not value.lower().startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value.rstrip("/") if value is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Credentials(CommonParams):
    """Where an S3 location is and who reads it (module docstring)."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    region: str | None = None
    endpoint_url: Annotated[str | None, Check(_endpoint)] = None
    aws_profile: str | None = None


def credentials_problem(params: S3Credentials) -> str | None:
    """What is wrong with the credential fields taken together, or None."""
    if (params.access_key_id is None) != (params.secret_access_key is None):
        return (
            "give both `access_key_id` and `secret_access_key`, or neither "
            "(the AWS default credential chain)"
        )
    return None


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")


def scheme_of(location: str) -> str:
    """The lower-case URL scheme of `location`, or '' for a plain path."""
    match = _SCHEME.match(location.strip())
    return match.group(1).lower() if match else ""


def is_s3(location: str) -> bool:
    """Whether `location` is an `s3://` (or `s3a://`) URI."""
    return scheme_of(location) in S3_SCHEMES


def remote_scheme(location: str) -> str | None:
    """The scheme of a URL this tool cannot read or write (not S3, not `file://`), else None."""
    scheme = scheme_of(location)
    return scheme if scheme and scheme not in (*S3_SCHEMES, "file") else None


def split_s3(uri: str) -> tuple[str, str]:
    """(`bucket`, `key`) of `s3://bucket/key`; the key may be empty or a pattern."""
    _, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    return bucket, key
