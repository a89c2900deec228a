"""Profile connections: a name in the profile's `connections:` → a connector type and its
parameters, ready for use.

`resolve_connection(profile, name, lookup)` finds the connection (case-insensitively when that is
unambiguous: `LAKE` finds `lake`), resolves every `${VAR}` / `${VAR|default}` in its values with
`lookup` (the environment, usually) — only this connection's, so an unset variable in another
connection breaks nothing — and returns a `ConnectionConfig`. Problems raise `CompileError`: an
unknown connection at `span` (the use) with "did you mean", an unset variable or a missing
`type` at the value in the profile file. The compiler resolves `SOURCE s FROM "conn"` itself,
with the pipeline's variables (`passes/lower_program.py`); `sqlflowc connect` uses this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlflowc.connectors.secrets import masked
from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.placeholders import expand
from sqlflowc.source import Span
from sqlflowc.suggest import did_you_mean
from sqlflowc.syntax.varref import split_ref

if TYPE_CHECKING:
    from sqlflowc.profiles import Profile

__all__ = ["ConnectionConfig", "resolve_connection"]


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """A resolved profile connection: `type` as written (`postgres`), every other field in
    `params` (secrets included: show `display_params`)."""

    name: str
    type: str
    params: Mapping[str, Any]

    def display_params(self, secret_fields: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The parameters with secrets shown as `***`."""
        return masked(self.params, secret_fields)


def resolve_connection(
    profile: Profile,
    name: str,
    lookup: Callable[[str], str | None],
    span: Span | None = None,
) -> ConnectionConfig:
    """Connection `name`, resolved; see the module docstring."""
    conn = profile.connections.get(name)
    if conn is None:
        matches = [n for n in profile.connections if n.lower() == name.lower()]
        if len(matches) == 1:
            name, conn = matches[0], profile.connections[matches[0]]
    where = f"profile `{profile.name}`" if profile.name else "the profile (none was loaded)"
    if conn is None:
        names = sorted(profile.connections)
        raise CompileError(
            [
                Diagnostic(
                    Code.UNKNOWN_CONNECTION,
                    f"connection `{name}` is not defined in {where}",
                    span,
                    help=did_you_mean(name, names),
                    notes=(f"connections: {', '.join(names) if names else 'none'}",),
                )
            ],
            profile.sources,
        )
    spans = profile.connection_spans.get(name, {})
    diagnostics: list[Diagnostic] = []
    resolved: dict[str, Any] = {}
    for key, value in conn.items():
        missing: list[str] = []
        resolved[key] = _resolve_value(value, lookup, missing)
        diagnostics.extend(
            Diagnostic(
                Code.PROFILE_ERROR,
                f"connection `{name}` field `{key}` uses `${{{var}}}`, which is not set",
                spans.get(key, spans.get("", span)),
                help=f"set the environment variable `{var}`, or give a default: `${{{var}|value}}`",
            )
            for var in missing
        )
    kind = resolved.pop("type", None)
    if not isinstance(kind, str) or not kind.strip():
        message = f"connection `{name}` has no `type`"
        diagnostics.append(
            Diagnostic(
                Code.PROFILE_ERROR,
                message,
                spans.get("", span),
                help="give the connection a connector type, e.g. `type: postgres`",
            )
        )
    if diagnostics:
        raise CompileError(diagnostics, profile.sources)
    assert isinstance(kind, str)
    return ConnectionConfig(name=name, type=kind.strip(), params=resolved)


def _resolve_value(value: Any, lookup: Callable[[str], str | None], missing: list[str]) -> Any:
    if isinstance(value, str):
        return _expand(value, lookup, missing)
    if isinstance(value, Mapping):
        return {k: _resolve_value(v, lookup, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_value(v, lookup, missing) for v in value]
    return value


def _expand(text: str, lookup: Callable[[str], str | None], missing: list[str]) -> str:
    """Replace each `${NAME}` / `${NAME|default}`; names without a value go to `missing`."""

    def value_of(inner: str) -> str | None:
        parts = split_ref(inner)
        var = parts.name.strip()
        value = lookup(var)
        if value is None:
            value = parts.default
        if value is None:
            missing.append(var)
        return value

    return expand(text, value_of)
