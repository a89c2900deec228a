"""What `sqlflowc connect list` and `sqlflowc connect test` show, without the terminal.

- `list_types(only)`: every registered connector type (built-ins and plugins, through the
  registry's entry points), each with its parameters and, for an export target, its EXPORT
  options (`ParamInfo`: name, type in words, required, default, secret). A plugin that cannot
  be loaded is listed with the reason instead (`TypeListing.error`). `only` keeps the types
  named (case-insensitive); an unknown name raises `CompileError` (SF0901, "did you mean").
- `profile_target(profile, name, variables)`: a profile connection to test — its `${VAR}`s
  resolved from `variables` (the profile's and `--var`'s) then the environment; the
  connector's `parse_connection` leaves out what only a source needs (`table`).
- `pipeline_target(program, plan, name)`: a SOURCE of a compiled pipeline, its secret
  placeholders substituted (the values the compiler resolved).
- `run_test(target)`: the connector's run-time face connects (`ConnectorRuntime.test`) and
  says what is there; a `ConnectorError` (or invalid parameters) is a failed `TestOutcome`
  whose message has every secret value of the target masked. A plugin whose test raises
  anything else fails the same way, naming the exception: never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.connectors.base import Connector, ParamInfo, describe_params
from sqlflowc.connectors.registry import PluginError, connector_entries, get_connector
from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.placeholders import substituted
from sqlflowc.suggest import did_you_mean

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan
    from sqlflowc.ir.program import Program
    from sqlflowc.profiles import Profile
    from sqlflowc.source import Span

__all__ = [
    "TestOutcome",
    "TestTarget",
    "TypeListing",
    "list_types",
    "pipeline_target",
    "profile_target",
    "run_test",
]


@dataclass(frozen=True, slots=True)
class TypeListing:
    """One connector type as `connect list` shows it; `error` when its plugin is broken."""

    name: str
    distribution: str
    builtin: bool
    description: str = ""
    params: tuple[ParamInfo, ...] = ()
    export_options: tuple[ParamInfo, ...] | None = None  # None: not an export target
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.name,
            "builtin": self.builtin,
            "distribution": self.distribution,
            "description": self.description,
            "params": [_jsonable(p.to_dict()) for p in self.params],
            "export_options": None
            if self.export_options is None
            else [_jsonable(p.to_dict()) for p in self.export_options],
        }
        if self.error is not None:
            data["error"] = self.error
        return data


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def list_types(only: tuple[str, ...] = ()) -> list[TypeListing]:
    """The registered types (those in `only`, when given), sorted by name."""
    entries = connector_entries()
    known = {e.name for e in entries}
    unknown = [n for n in only if n.strip().upper() not in known]
    if unknown:
        names = sorted(known)
        raise CompileError(
            [
                Diagnostic(
                    Code.UNKNOWN_CONNECTOR,
                    f"unknown connector type `{name}`",
                    help=did_you_mean(name, names),
                    notes=(f"known connector types: {', '.join(names)}",),
                )
                for name in unknown
            ]
        )
    wanted = {n.strip().upper() for n in only}
    out = []
    for entry in entries:
        if wanted and entry.name not in wanted:
            continue
        base = TypeListing(entry.name, entry.distribution, entry.builtin)
        try:
            connector = get_connector(entry.name)
        except PluginError as err:
            out.append(_replace_error(base, str(err)))
            continue
        assert connector is not None  # listed by the registry
        export = connector.export_schema
        out.append(
            TypeListing(
                entry.name,
                entry.distribution,
                entry.builtin,
                connector.description,
                tuple(describe_params(connector)),
                None if export is None else tuple(describe_params(connector, export)),
            )
        )
    return out


def _replace_error(base: TypeListing, error: str) -> TypeListing:
    return TypeListing(base.name, base.distribution, base.builtin, error=error)


@dataclass(frozen=True, slots=True)
class TestTarget:
    """What to test: `label` names it for people (`connection warehouse (profile dev)`)."""

    name: str
    label: str
    connector: Connector
    params: Mapping[str, Any]  # secrets substituted
    project_dir: Path
    connection: bool  # a profile connection (parse_connection) rather than a SOURCE
    secrets: tuple[str, ...] = ()  # values to mask in messages

    __test__ = False  # not a pytest class, whatever its name


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """The result of `run_test`: `server` and `objects` when it connected, else `error`."""

    target: TestTarget
    server: str = ""
    objects: tuple[str, ...] = ()
    more: bool = False
    error: str | None = None
    warnings: tuple[str, ...] = field(default=())

    __test__ = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.target.name,
            "type": self.target.connector.name,
            "ok": self.ok,
            "server": self.server,
            "objects": list(self.objects),
            "more": self.more,
        }
        if self.error is not None:
            data["error"] = self.error
        return data


def _connector(type_name: str, what: str, span: Span | None) -> Connector:
    try:
        connector = get_connector(type_name)
    except PluginError as err:
        raise CompileError([Diagnostic(Code.UNKNOWN_CONNECTOR, str(err), span)]) from None
    if connector is None:
        names = [e.name for e in connector_entries()]
        raise CompileError(
            [
                Diagnostic(
                    Code.UNKNOWN_CONNECTOR,
                    f"unknown connector type `{type_name}` for {what}",
                    span,
                    help=did_you_mean(type_name, names),
                    notes=(f"known connector types: {', '.join(names)}",),
                )
            ]
        )
    return connector


def profile_target(
    profile: Profile, name: str, variables: Mapping[str, Any], project_dir: Path
) -> TestTarget:
    """Profile connection `name`, resolved; CompileError when it is unknown or incomplete."""
    import os

    from sqlflowc.connectors.connections import resolve_connection
    from sqlflowc.connectors.secrets import is_secret_name

    hidden: list[str] = []

    def lookup(var: str) -> str | None:
        value = str(variables[var]) if var in variables else os.environ.get(var)
        if value is not None and is_secret_name(var):
            hidden.append(value)  # a secret variable's value, wherever it is used
        return value

    config = resolve_connection(profile, name, lookup)
    span = profile.connection_spans.get(config.name, {}).get("")
    try:
        connector = _connector(config.type, f"connection `{config.name}`", span)
    except CompileError as err:
        raise CompileError(err.diagnostics, profile.sources) from None
    where = f"profile {profile.name}" if profile.name else "the profile"
    return TestTarget(
        name=config.name,
        label=f"connection `{config.name}` ({connector.name}, {where})",
        connector=connector,
        params={**config.params, "connection": config.name},
        project_dir=project_dir,
        connection=True,
        secrets=(*_secret_values(connector, config.params), *hidden),
    )


def pipeline_target(program: Program, plan: Plan, name: str) -> TestTarget:
    """SOURCE `name` of a compiled pipeline; CompileError when there is none."""
    from sqlflowc.runtime.steps import Secrets

    found = program.sources.get(name)
    if found is None:
        matches = [s for s in program.sources if s.lower() == name.lower()]
        found = program.sources[matches[0]] if len(matches) == 1 else None
    if found is None:
        names = sorted(program.sources)
        raise CompileError(
            [
                Diagnostic(
                    Code.UNKNOWN_CONNECTION,
                    f"pipeline {plan.pipeline} has no SOURCE `{name}`",
                    help=did_you_mean(name, names),
                    notes=(f"sources: {', '.join(names) if names else 'none'}",),
                )
            ]
        )
    connector = _connector(found.connector, f"source `{found.name}`", found.span)
    vault = Secrets(plan.secret_vars, {}, program.secrets, plan.secret_templates)
    params = substituted(dict(found.params), vault.substitute)
    return TestTarget(
        name=found.name,
        label=f"source `{found.name}` ({connector.name}, {plan.pipeline})",
        connector=connector,
        params=params,
        project_dir=Path(plan.project_dir),
        connection=False,
        secrets=(*_secret_values(connector, params), *program.secrets.values()),
    )


def _secret_values(connector: Connector, params: Mapping[str, Any]) -> tuple[str, ...]:
    """The values in `params` that are secrets: secret fields, passwords inside DSNs."""
    from urllib.parse import unquote

    from sqlflowc.connectors.secrets import DSN_FIELDS, hide_dsn_password

    out: list[str] = []

    def keep(password: str) -> str:
        out.extend({password, unquote(password.strip("'"))})
        return password

    for key, value in params.items():
        if isinstance(value, Mapping):
            out.extend(_secret_values(connector, value))
        elif isinstance(value, str) and value and connector.is_secret(key):
            out.append(value)
        elif isinstance(value, str) and key.lower() in DSN_FIELDS:
            hide_dsn_password(value, keep)
    return tuple(out)


def run_test(target: TestTarget) -> TestOutcome:
    """Connect through the target's connector and describe what is there (module docstring)."""
    from sqlflowc.connectors.runtime import ConnectorError
    from sqlflowc.secret_masking import mask_secrets

    connector = target.connector

    def failed(message: str) -> TestOutcome:
        return TestOutcome(target, error=mask_secrets(message, target.secrets))

    try:
        if target.connection:
            params = connector.parse_connection(target.params)
        else:
            params = connector.parse(target.params)
    except ValueError as err:
        return failed(f"invalid parameters for {connector.name}: {err}")
    try:
        found = connector.runtime().test(params, target.project_dir)
    except ConnectorError as err:
        return failed(err.message)
    except Exception as err:
        if type(connector).__module__.startswith("sqlflowc."):
            raise
        return failed(f"the {connector.name} connector failed: {type(err).__name__}: {err}")
    return TestOutcome(
        target,
        server=mask_secrets(found.server, target.secrets),
        objects=tuple(mask_secrets(o, target.secrets) for o in found.objects),
        more=found.more,
    )
