"""S3 failures: transient or permanent, and the message a user reads.

`is_transient(err)`, looking through the chain of causes (s3fs and DuckDB wrap what they catch):
- transient: a connection refused, reset or closed, a timeout, an endpoint that could not be
  reached, and the errors S3 itself says are worth retrying — HTTP 5xx, `InternalError`,
  `ServiceUnavailable`, `SlowDown`, `RequestTimeout`, throttling;
- permanent: everything else — `NoSuchBucket`, `NoSuchKey`, `AccessDenied`,
  `InvalidAccessKeyId`, `SignatureDoesNotMatch`, a malformed request.

`S3Failure(err, where, secrets)`: `s3 <where>: <S3's code>: <S3's message>` with every secret
replaced by `***`, and `transient`. `where` names the connection and the bucket
(`connection lake, bucket events`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["S3Failure", "causes", "error_code", "is_transient"]

_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "500",
        "502",
        "503",
        "504",
    }
)
# Exception classes (by name: botocore, aiohttp, urllib3 and the standard library) of a
# request that never got an answer.
_TRANSIENT_CLASSES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ResponseStreamingError",
        "IncompleteReadError",
        "ClientConnectionError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ClientPayloadError",
        "ServerTimeoutError",
        "FSTimeoutError",
        "ConnectionError",
        "TimeoutError",
        "IncompleteRead",
    }
)
_PERMANENT_CLASSES = frozenset({"FileNotFoundError", "PermissionError", "NoCredentialsError"})


def causes(err: BaseException) -> Iterator[BaseException]:
    """`err` and what it was raised from, outermost first (cycles cut)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def error_code(err: BaseException) -> tuple[str, str] | None:
    """S3's (code, message) from a botocore `ClientError` in the chain, if any."""
    for cause in causes(err):
        response = getattr(cause, "response", None)
        if isinstance(response, dict):
            error = response.get("Error") or {}
            code = str(error.get("Code") or "")
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if not code and status:
                code = str(status)
            if code:
                return code, str(error.get("Message") or "").strip()
    return None


def is_transient(err: BaseException) -> bool:
    """Whether retrying may succeed (module docstring)."""
    found = error_code(err)
    if found is not None:
        return found[0] in _TRANSIENT_CODES
    for cause in causes(err):
        names = {c.__name__ for c in type(cause).__mro__}
        if names & _PERMANENT_CLASSES:
            return False
        if names & _TRANSIENT_CLASSES:
            return True
    return False


def _message(err: BaseException) -> str:
    found = error_code(err)
    if found is not None:
        code, text = found
        return f"{code}: {text}" if text else code
    for cause in causes(err):
        if type(cause).__name__ in ("FileNotFoundError",):
            return f"not found: {cause.args[-1] if cause.args else cause}"
    text = " ".join(str(err).split())
    return text or type(err).__name__


def _mask(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class S3Failure(Exception):
    """An S3 failure as the user sees it (module docstring)."""

    def __init__(self, err: BaseException, where: str, secrets: Iterable[str] = ()) -> None:
        self.transient = is_transient(err)
        self.message = _mask(f"s3 {where}: {_message(err)}", secrets)
        super().__init__(self.message)
