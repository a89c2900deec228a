"""Which values are secret: the one list, used by the compiler (plans show `${...}` in their
place), by `sqlflowc connect` (shows `***`) and by every connector.

- A connection field or parameter is secret when its name (any case) is in `SECRET_FIELDS`,
  ends in one of `SECRET_SUFFIXES` (`db_password`, `api_token`, `aws_secret_key`), or is in the
  connector's own `secret_fields`.
- A variable is secret when its name ends in one of `SECRET_SUFFIXES` (`is_secret_name`).
- A connection string (`dsn`, `uri`, `url`, `connection_string`) is not secret as a whole, but
  the password inside it is: `postgresql://user:pw@host/db` and `host=h password=pw` (also in a
  URL's query, `?password=pw`). `hide_dsn_password` replaces it.

>>> is_secret_field("Secret_Access_Key"), is_secret_field("host")
(True, False)
>>> hide_dsn_password("postgresql://me:pw@db:5432/x", lambda pw: "***")
'postgresql://me:***@db:5432/x'
>>> hide_dsn_password("host=db password='p w' user=me", lambda pw: "***")
'host=db password=*** user=me'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = [
    "DSN_FIELDS",
    "SECRET_FIELDS",
    "SECRET_SUFFIXES",
    "hide_dsn_password",
    "is_secret_field",
    "is_secret_name",
    "masked",
]

SECRET_SUFFIXES = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "access_key",
    "secret_key",
    "private_key",
    "credentials",
)
# Fields secret by name that the suffixes do not catch.
SECRET_FIELDS = frozenset({"secret_access_key", "session_token", "sas_token", "account_key"})
DSN_FIELDS = frozenset({"dsn", "uri", "url", "connection_string"})

_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)(.*)", re.DOTALL)
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """True for variable names ending in a secret suffix: `db_password`, `API_TOKEN`."""
    return name.strip().lower().endswith(SECRET_SUFFIXES)


def is_secret_field(name: str, extra: Collection[str] = ()) -> bool:
    """Whether a connection field or parameter holds a secret (`extra`: the connector's own)."""
    folded = name.strip().lower()
    return folded in SECRET_FIELDS or folded in extra or folded.endswith(SECRET_SUFFIXES)


def hide_dsn_password(text: str, hide: Callable[[str], str]) -> str:
    """`text` with the password of a URL or a `key=value` connection string replaced by
    `hide(password)`; unchanged when it holds none."""
    url = _URL.fullmatch(text)
    if url is None:
        return _KV_PASSWORD.sub(lambda m: m.group(1) + hide(m.group(2)), text)
    scheme, netloc, rest = url.groups()
    userinfo, at, host = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if at and colon and password:
        netloc = f"{user}:{hide(password)}@{host}"
    rest = _QUERY_PASSWORD.sub(
        lambda m: m.group(1) + hide(m.group(2)) if m.group(2) else m.group(0), rest
    )
    return f"{scheme}{netloc}{rest}"


def masked(params: Mapping[str, Any], extra: Collection[str] = ()) -> dict[str, Any]:
    """`params` for display: secret fields `***`, passwords in connection strings `***`."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            out[key] = masked(value, extra)
        elif value is not None and is_secret_field(key, extra):
            out[key] = "***"
        elif key.lower() in DSN_FIELDS and isinstance(value, str):
            out[key] = hide_dsn_password(value, lambda _: "***")
        else:
            out[key] = value
    return out
