"""The connector contract, compile-time face: what the compiler knows about a connector type.

A connector serves `SOURCE s TYPE <name> PARAMS {...}` (and `SOURCE s FROM "conn"` when the
profile connection has `type: <name>`), and, when it has an `export_schema`,
`EXPORT ... TO '...' TYPE <name> OPTIONS {...}`. Subclass `Connector` and set:

- `name`: the canonical upper-case type name (`CSV`); `description`: one line for
  `sqlflowc connect list`;
- `params_schema`: a frozen dataclass declaring the accepted parameters, their types, checks
  and defaults (`sqlflowc.validation`); derive it from `CommonParams` (`retries`,
  `retry_delay`, `schema_drift`);
- `export_schema`: the same for EXPORT options, or None when the type cannot be exported to;
- `connection_schema`: the parameters of a connection alone (a PostgreSQL server without a
  table), which `sqlflowc connect test` checks a profile connection against; None (the
  default) when a connection needs everything `params_schema` requires;
- `secret_fields`: parameter names holding secrets beyond the common ones (`secrets.py`);
  their values never appear in plans, output or errors;
- `obsolete_params` / `export_obsolete`: parameters / EXPORT options of the earlier releases
  accepted with a warning and ignored (`obsolete_help` words a parameter's warning's help);
- `connection_types`: the types of profile connections, besides its own name, whose fields it
  takes (`"connection": "lake"` of `type: s3` on a PARQUET source);
- `runtime_class`: `"package.module:Class"` of the run-time face (`ConnectorRuntime`,
  `connectors/runtime.py`), imported only when a run, a `connect test` or a schema discovery
  needs it — so the module defining the connector imports nothing heavy (no driver, no SDK).

Methods, each with a default:
- `check(source, project_dir, reporter)` (compile time): report every problem with the
  parameters at its place (`check_params`), then `check_parsed` for what the schema cannot say
  (a path that matches no file). Never raises; reads nothing remote.
- `parse(params)`: the validated parameters (defaults filled in, obsolete ones dropped);
  raises `ValueError` for invalid ones. `parse_connection(params)`: the same against
  `connection_schema`, ignoring what only a source needs (`table`).
- `scan_sql(params, project_dir)`: a complete DuckDB query reading the source when it is
  known at compile time (local files: `SELECT * FROM read_csv(...)`, shown in the plan), or
  None (the default) when the run-time face reads the source (`ConnectorRuntime.read`).
- `discover_schema(params, project_dir)`: the source's columns from metadata only (a CSV
  sniff, a Parquet footer, PostgreSQL's catalog), or None when they cannot be known without
  reaching a server (the compiler then checks what it can and the run checks again). The
  default asks nothing and returns None; a connector that can reach its server at compile time
  does it through its run-time face, briefly, and returns None on any failure.
- `check_export(options, site, reporter)`: validate EXPORT options against `export_schema`;
  `parse_export(options)` returns them validated (raises `ValueError`).
- `check_target(target, options, span, reporter)`: report an EXPORT target (`TO '...'`) the
  connector cannot write; the default accepts local paths (and `file://`) only.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import MISSING, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlflowc.connectors.params import CommonParams, ParamSite, check_params
from sqlflowc.connectors.secrets import is_secret_field
from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.source import Span
from sqlflowc.validation import describe_type, schema_fields, validate

if TYPE_CHECKING:
    from sqlflowc.connectors.runtime import ConnectorRuntime
    from sqlflowc.ir import program  # annotations only: the IR is the compiler's
    from sqlflowc.schema import Column

__all__ = ["Connector", "ParamInfo", "describe_params", "source_site"]


class Connector:
    """A connector type; see the module docstring for the contract."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params_schema: ClassVar[type[Any]] = CommonParams
    export_schema: ClassVar[type[Any] | None] = None
    connection_schema: ClassVar[type[Any] | None] = None
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    obsolete_params: ClassVar[frozenset[str]] = frozenset()
    export_obsolete: ClassVar[frozenset[str]] = frozenset()
    runtime_class: ClassVar[str | None] = None
    connection_types: ClassVar[frozenset[str]] = frozenset()

    _runtime: ConnectorRuntime | None = None

    # ------------------------------------------------------------------ compile time

    def check(
        self,
        source: program.Source,
        project_dir: Path,
        reporter: Reporter,
        *,
        produced: bool = False,
    ) -> None:
        """Report every problem with `source`'s parameters; never raises. `produced`: an EXPORT
        of the pipeline writes what the source reads, so its input need not exist yet."""
        obsolete = {name: self.obsolete_help(name, source) for name in self.obsolete_params}
        params = check_params(
            self.params_schema,
            source.params,
            source_site(self.name, source),
            reporter,
            obsolete=obsolete,
        )
        if params is not None:
            self.check_parsed(params, source, project_dir, reporter)

    def location(self, params: Mapping[str, Any], project_dir: Path) -> str | None:
        """The files a source with `params` reads — an absolute path or glob (escaped where
        literal), or an `s3://` URI — or None when it reads no files (a database, a plugin).
        The dependency graph orders a LOAD after the EXPORTs that may write them."""
        return None

    def check_parsed(
        self, params: Any, source: program.Source, project_dir: Path, reporter: Reporter
    ) -> None:
        """Checks the schema cannot express, on valid parameters (none by default)."""

    def obsolete_help(self, name: str, source: program.Source) -> str:
        """The help of the warning for obsolete parameter `name`."""
        return f"remove `{name}`"

    def export_obsolete_help(self, name: str) -> str:
        """The help of the warning for obsolete EXPORT option `name`."""
        return f"remove `{name}`"

    def parse(self, params: Mapping[str, Any]) -> Any:
        """The validated parameters; raises ValueError (a `ValidationError`) when invalid."""
        given = {k: v for k, v in params.items() if k not in self.obsolete_params}
        return validate(self.params_schema, given)

    def parse_connection(self, params: Mapping[str, Any]) -> Any:
        """A connection's validated parameters (`connection_schema`), for `connect test`: the
        parameters a source or an export adds are left out; others are still errors."""
        schema = self.connection_schema
        if schema is None:
            return self.parse(params)
        own = set(schema_fields(schema))
        extra = set(schema_fields(self.params_schema))
        if self.export_schema is not None:
            extra |= set(schema_fields(self.export_schema))
        given = {
            k: v
            for k, v in params.items()
            if k not in self.obsolete_params and (k in own or k not in extra)
        }
        return validate(schema, given)

    def parse_export(self, options: Mapping[str, Any]) -> Any:
        """The validated EXPORT options; raises ValueError when invalid or not exportable."""
        if self.export_schema is None:
            raise ValueError(f"{self.name} is not an export format")
        dropped = self.export_obsolete | set(SOURCE_ONLY)
        given = {k: v for k, v in options.items() if k not in dropped}
        return validate(self.export_schema, given)

    def scan_sql(self, params: Mapping[str, Any], project_dir: Path) -> str | None:
        """A DuckDB query reading the source, when known at compile time; else None."""
        return None

    def discover_schema(self, params: Mapping[str, Any], project_dir: Path) -> list[Column] | None:
        """The source's columns from metadata only, or None when they cannot be known."""
        return None

    def check_export(
        self, options: Mapping[str, Any], site: ParamSite, reporter: Reporter
    ) -> Any | None:
        """Validate EXPORT options (`export_schema`); report problems; the options if valid."""
        if self.export_schema is None:
            reporter.error(
                Code.BAD_EXPORT,
                f"{self.name} is not an export format",
                site.span,
                help="export to CSV, PARQUET or JSON",
            )
            return None
        obsolete = {name: self.export_obsolete_help(name) for name in self.export_obsolete}
        for name in sorted(set(SOURCE_ONLY) & set(options)):
            reporter.warning(
                Code.OBSOLETE_PARAM,
                f"{site.noun} `{name}` of {site.owner} has no effect here and is ignored",
                site.key_span(name),
                help=SOURCE_ONLY[name],
            )
        given = {k: v for k, v in options.items() if k not in SOURCE_ONLY}
        return check_params(self.export_schema, given, site, reporter, obsolete=obsolete)

    def check_target(
        self, target: str, options: Mapping[str, Any], span: Span, reporter: Reporter
    ) -> None:
        """Report an EXPORT target this connector cannot write (default: local paths only)."""
        scheme = target.split("://", 1)[0] if "://" in target else ""
        if scheme and scheme.lower() != "file":
            reporter.error(
                Code.BAD_EXPORT,
                f"{self.name} exports to `{scheme}://` targets are not supported",
                span,
                help="export to a local path",
            )

    def takes_connection(self, kind: str) -> bool:
        """Whether a profile connection of type `kind` can configure this connector."""
        folded = kind.strip().upper()
        return folded == self.name.upper() or folded in self.connection_types

    def is_secret(self, field: str) -> bool:
        """Whether parameter `field` holds a secret (common names or `secret_fields`)."""
        return is_secret_field(field, self.secret_fields)

    # ------------------------------------------------------------------ run time

    def runtime(self) -> ConnectorRuntime:
        """The run-time face, imported on first use (`runtime_class`)."""
        if self._runtime is None:
            if self.runtime_class is None:
                raise TypeError(f"connector {self.name} has no run-time face (`runtime_class`)")
            module, _, attr = self.runtime_class.partition(":")
            factory = getattr(importlib.import_module(module), attr)
            self._runtime = factory(self)
        return self._runtime


# Parameters every connector's schemas share (`CommonParams`) that mean something for a SOURCE
# only: an EXPORT given one warns (SF0911) and ignores it, and `connect list` does not show it.
SOURCE_ONLY: Mapping[str, str] = {
    "schema_drift": "`schema_drift` is what a run does when a SOURCE's schema changes; an "
    "EXPORT has no such policy: remove it",
}


def source_site(connector: str, source: program.Source) -> ParamSite:
    """How problems with a source's parameters are placed and worded."""
    return ParamSite(
        code=Code.BAD_CONNECTOR_PARAM,
        owner=f"{connector} source `{source.name}`",
        noun="parameter",
        span=source.span,
        value_spans=source.param_spans,
        key_spans=source.param_key_spans,
        unknown_label="not a parameter of this connector",
    )


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter as `sqlflowc connect list` shows it."""

    name: str
    type: str
    required: bool
    default: Any
    secret: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "secret": self.secret,
        }


def describe_params(connector: Connector, schema: type[Any] | None = None) -> list[ParamInfo]:
    """The parameters of `schema` (default: the connector's `params_schema`) in declaration
    order, the connector's own first and the common ones (`CommonParams`) last; of its
    `export_schema`, without those an EXPORT ignores (`SOURCE_ONLY`)."""
    exported = schema is not None and schema is connector.export_schema
    schema = schema or connector.params_schema
    defaults = {
        f.name: (f.default if f.default is not MISSING else None) for f in fields(schema) if f.init
    }
    common = set(schema_fields(CommonParams))
    specs = sorted(schema_fields(schema).values(), key=lambda spec: spec.name in common)
    if exported:  # what an EXPORT ignores is not one of its options
        specs = [spec for spec in specs if spec.name not in SOURCE_ONLY]
    return [
        ParamInfo(
            name=spec.name,
            type=describe_type(spec.annotation),
            required=spec.required,
            default=defaults.get(spec.name),
            secret=connector.is_secret(spec.name),
        )
        for spec in specs
    ]
