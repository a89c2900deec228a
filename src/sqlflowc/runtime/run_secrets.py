"""A run's secrets: `${name}` placeholders substituted into a step's SQL (a whole-literal secret
bound as a parameter where DuckDB can prepare the statement, so its SQL text never holds it) and
secret values masked in every message (`runtime/steps.py` and the Spark engine use it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterable, Mapping

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.placeholders import expand, expand_with_spans
from sqlflowc.secret_masking import mask_secrets

__all__ = ["BoundSql", "Secrets", "StepError", "preparable"]


class StepError(Exception):
    """A step cannot run for a reason the executor finds itself (e.g. a missing secret)."""


@dataclass(frozen=True, slots=True)
class BoundSql:
    """A statement ready to run: `text` holds no secret bound as a parameter; `params` maps
    each such parameter (`$__sqlflow_secret_1`, ...) to its value."""

    text: str
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)


# First words of statements DuckDB can prepare, so a secret may be a parameter in them (not
# CREATE VIEW/MACRO, ALTER ... DEFAULT: they keep the expression, not the value).
_PREPARABLE = frozenset(
    {"select", "with", "values", "from", "insert", "update", "delete", "merge", "copy"}
    | {"attach", "call", "summarize", "describe", "explain", "pivot", "unpivot"}
)


class Secrets:
    """Substitutes `${name}` placeholders and masks secret values in messages.

    A secret is `given` (this run's `--var`, profile or environment), else built from its
    template (a SET that made it from other secrets), else the compiler's `fallback`.
    """

    def __init__(
        self,
        names: Iterable[str],
        given: Mapping[str, str],
        fallback: Mapping[str, str],
        templates: Mapping[str, str] | None = None,
    ) -> None:
        self._names = frozenset(names)
        self._given = dict(given)
        self._fallback = dict(fallback)
        self._templates = dict(templates or {})
        self._building: set[str] = set()
        self._lock = threading.RLock()  # steps run in several threads; `_building` is shared
        built = []
        for name in self._templates:
            with contextlib.suppress(StepError):
                built.append(self._value(name) or "")
        self._masked = [*self._given.values(), *self._fallback.values(), *built]

    def substitute(self, text: str) -> str:
        """One left-to-right pass, so a value containing `${...}` is never expanded again."""
        return expand(text, self._value)

    def substitute_sql(self, sql: str, *, bind: bool = False) -> BoundSql:
        """`substitute` for SQL. With `bind` (the statement is one DuckDB can prepare: see
        `preparable`), a secret that is a whole string literal (`'${api_token}'`) becomes a
        parameter, so DuckDB's SQL text (and its messages quoting it) never holds it; not with
        positional parameters (`$1`, `?`) in the statement. A secret spliced into the text
        must keep the statement's structure (the compiler checked the values it saw; a plan
        can run with others)."""
        sql, params = self._bind(sql) if bind else (sql, {})
        text, spans = expand_with_spans(sql, self._value)
        if spans:  # (sql_splices loads only when a secret is spliced into SQL text)
            from sqlflowc.sql_splices import splice_error

            error = splice_error(text, [(start, end) for start, end, _ in spans])
            if error is not None:
                name = spans[error.index][2]
                raise StepError(f"{error.message(name)} ({error.help()}); the step was not run")
        return BoundSql(text, params)

    def _bind(self, sql: str) -> tuple[str, dict[str, str]]:
        """`sql` with each `'${secret}'` literal as a named parameter, and their values."""
        if "${" not in sql:
            return sql, {}
        import duckdb

        tokens = [(pos, str(kind)) for pos, kind in duckdb.tokenize(sql)]
        data = sql.encode("utf-8")
        starts = [pos for pos, _ in tokens]
        out: list[bytes] = []
        params: dict[str, str] = {}
        names: dict[str, str] = {}
        pos = 0
        for i, (start, kind) in enumerate(tokens):
            end = starts[i + 1] if i + 1 < len(starts) else len(data)
            token = data[start:end].rstrip()
            after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
            if kind.endswith("operator") and (
                token == b"?" or (token == b"$" and after.endswith("numeric_const"))
            ):
                return sql, {}  # positional parameters cannot be mixed with named ones
            key = _literal_placeholder(token)
            if key is None or key not in self._names or not kind.endswith("string_const"):
                continue
            value = self._value(key)
            assert value is not None
            name = names.setdefault(key, f"__sqlflow_secret_{len(names) + 1}")
            params[name] = value
            out += [data[pos:start], b"$" + name.encode()]
            pos = start + len(token)
        out.append(data[pos:])
        return b"".join(out).decode("utf-8"), params

    def _value(self, name: str) -> str | None:
        """The secret `${name}` stands for; None when `name` is no secret (kept as written)."""
        if name not in self._names:
            return None
        if name in self._given:
            return self._given[name]
        if name in self._templates:
            with self._lock:
                if name not in self._building:
                    self._building.add(name)
                    try:
                        return expand(self._templates[name], self._value)
                    finally:
                        self._building.discard(name)
        if name in self._fallback:
            return self._fallback[name]
        raise StepError(
            f"secret `{name}` has no value: pass it with --var {name}=... "
            "or set the environment variable"
        )

    def mask(self, text: str) -> str:
        """`text` with every secret value masked (`secret_masking.mask_secrets`)."""
        return mask_secrets(text, self._masked)


def preparable(sql: str) -> bool:
    """Whether DuckDB can prepare the statement, by its first word (`_PREPARABLE`)."""
    words = sql.lstrip("( \t\r\n").split(None, 1)
    return bool(words) and words[0].lower() in _PREPARABLE


def _literal_placeholder(token: bytes) -> str | None:
    """`key` when a token is exactly the string literal `'${key}'`."""
    if not (token.startswith(b"'${") and token.endswith(b"}'")):
        return None
    key = token[3:-2].decode("utf-8", errors="replace")
    return key if "}" not in key and "'" not in key else None
