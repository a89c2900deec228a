"""What a SQLITE source, a SQLITE connection and a SQLITE export accept.

Each schema is a frozen dataclass deriving from `CommonParams`, so `retries`, `retry_delay`,
`schema_drift` and `connection` are accepted as for every connector. sqlflowc validates the
parameters written in a `.sf` file against them and reports every problem at its place (an
unknown key with "did you mean", a wrong type at the value) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from sqlflowc.connectors import CommonParams
from sqlflowc.validation import Ge

__all__ = ["ConnectionParams", "ExportOptions", "SourceParams"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionParams(CommonParams):
    """Where the database is: `path` (relative to the project directory). `key` is the
    encryption key of a SQLCipher database (sent as `PRAGMA key` first); it is a secret."""

    path: str
    key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceParams(ConnectionParams):
    """A source: exactly one of `table` or `query`; `columns` keeps only those columns;
    `batch_size` bounds the rows held in memory at once."""

    table: str | None = None
    query: str | None = None
    columns: list[str] | None = None
    batch_size: Annotated[int, Ge(1)] = 10_000

    def __post_init__(self) -> None:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        if self.query is not None and self.columns is not None:
            raise ValueError("`columns` goes with `table`; select the columns in `query`")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions(CommonParams):
    """An export: the `table` to write, and `mode`: `replace` (the default) or `append`."""

    table: str
    mode: Literal["replace", "append"] = "replace"
    key: str | None = None
