"""Project directories and profiles (§7).

- `find_project_dir(pipeline)`: the nearest ancestor of the pipeline holding `profiles/` or
  `sqlflow.yml`, else the pipeline's own directory.
- `load_profile(project_dir, name, sources)`: `profiles/<name>.yml` (or `.yaml`). With no name,
  `dev` when that file exists, else an empty default profile; a named profile that does not
  exist is an error listing the available ones. The file's text is registered in `sources`, so
  every problem (bad YAML, unknown key, wrong type) is a `PROFILE_ERROR` diagnostic at its
  line and column, raised together in one `CompileError`.
- `resolve_connection(profile, name, lookup)`: one connection with its `${VAR}` references
  resolved. Values are resolved lazily, only for the connection a pipeline uses, so an unset
  `${X}` in an unused connection, or a connector type this tool lacks, breaks nothing.

Two layouts are read. The current one: `engine: {type: duckdb, path, threads, memory_limit}`,
`variables:`, `connections: {name: {type: ..., field: value}}`, `schema_policy: strict|evolve`.
The earlier releases': `engines: {duckdb: {mode: memory|persistent, path, memory_limit}}` and
`connectors: {name: {type: ..., params: {...}}}` (flattened to the current shape); their keys
with no effect here (`log_level`, `paths`, ...) are accepted with a warning. The database path
is made absolute against the project directory; the default is `target/sqlflow.duckdb`.
Variables are returned as written (the variable pass resolves them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from sqlflowc.diagnostics import Code, CompileError, Diagnostic, Severity
from sqlflowc.source import SourceMap, Span
from sqlflowc.syntax.varref import expand, split_ref
from sqlflowc.validation import Check, FieldError, Ge, ValidationError, validate

if TYPE_CHECKING:
    import yaml

__all__ = [
    "DEFAULT_DATABASE",
    "SECRET_FIELDS",
    "Engine",
    "Profile",
    "available_profiles",
    "find_project_dir",
    "is_secret_field",
    "load_profile",
    "resolve_connection",
]

DEFAULT_DATABASE = "target/sqlflow.duckdb"
MEMORY = ":memory:"

# Connection fields whose values are secrets (§4): never shown in plans, logs or errors.
SECRET_FIELDS = frozenset({"password", "secret_access_key", "session_token", "dsn", "uri"})

# Keys of the earlier releases' profiles that configure things this tool does not have.
_LEGACY_IGNORED = frozenset(
    {"log_level", "module_log_levels", "paths", "performance", "logging", "testing", "version"}
)

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    """The DuckDB database: `path` is absolute, or `:memory:`."""

    path: str
    threads: int | None = None
    memory_limit: str | None = None
    type: str = "duckdb"


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A loaded profile. `connections` hold raw values (`${VAR}` unresolved), each with `type`.

    `warnings` are diagnostics worth showing (keys without effect); `connection_spans` maps a
    connection's fields (and `""` for its name) to their place in the profile file.
    """

    name: str | None
    path: Path | None
    engine: Engine
    variables: Mapping[str, Any] = field(default_factory=dict)
    connections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    schema_policy: Literal["strict", "evolve"] = "strict"
    warnings: tuple[Diagnostic, ...] = ()
    connection_spans: Mapping[str, Mapping[str, Span]] = field(
        default_factory=dict, compare=False, repr=False
    )
    sources: SourceMap | None = field(default=None, compare=False, repr=False)


# -- the file's schema ---------------------------------------------------------------------------


# Each section is a schema for `sqlflowc.validation` (unknown keys are errors).


def _only_duckdb(value: str | None) -> str | None:
    if value is not None and value.strip().lower() != "duckdb":
        raise ValueError(f"engine `{value}` is not supported; the engine is `duckdb`")
    return None if value is None else "duckdb"


def _duckdb(value: str) -> str:
    return _only_duckdb(value) or "duckdb"


@dataclass(frozen=True, slots=True, kw_only=True)
class _EngineSection:
    type: Annotated[str, Check(_duckdb)] = "duckdb"
    path: str | None = None
    threads: Annotated[int, Ge(1)] | None = None
    memory_limit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _LegacyDuckDB:
    type: Annotated[str | None, Check(_only_duckdb)] = None
    mode: Literal["memory", "persistent"] | None = None
    path: str | None = None
    threads: Annotated[int, Ge(1)] | None = None
    memory_limit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _LegacyEngines:
    default: Annotated[str | None, Check(_only_duckdb)] = None
    duckdb: _LegacyDuckDB | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _ProfileFile:
    engine: _EngineSection | None = None
    engines: _LegacyEngines | None = None
    variables: dict[str, Any] | None = None
    connections: dict[str, dict[str, Any]] | None = None
    connectors: dict[str, dict[str, Any]] | None = None
    schema_policy: Literal["strict", "evolve"] = "strict"


# -- finding and loading ---------------------------------------------------------------------------


def find_project_dir(pipeline_path: Path) -> Path:
    """The nearest ancestor holding `profiles/` or `sqlflow.yml` — or `python_udfs/`, so a
    project with UDFs but no profile is found the same way `sqlflowc udf list` finds it — else
    the pipeline's directory."""
    path = pipeline_path.resolve()
    start = path if path.is_dir() else path.parent
    for directory in (start, *start.parents):
        if (
            (directory / "profiles").is_dir()
            or (directory / "sqlflow.yml").is_file()
            or (directory / "python_udfs").is_dir()
        ):
            return directory
    return start


def available_profiles(project_dir: Path) -> list[str]:
    """Names of the profiles in `project_dir/profiles`."""
    folder = project_dir / "profiles"
    if not folder.is_dir():
        return []
    return sorted({p.stem for p in folder.iterdir() if p.suffix in (".yml", ".yaml")})


def _profile_file(project_dir: Path, name: str) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    for suffix in (".yml", ".yaml"):
        candidate = project_dir / "profiles" / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _fail(
    sources: SourceMap | None,
    message: str,
    span: Span | None = None,
    *,
    code: Code = Code.PROFILE_ERROR,
    help: str = "",
    notes: tuple[str, ...] = (),
) -> CompileError:
    """A CompileError holding one diagnostic."""
    return CompileError([Diagnostic(code, message, span, help=help, notes=notes)], sources)


def load_profile(project_dir: Path, name: str | None, sources: SourceMap | None = None) -> Profile:
    """Load `profiles/<name>.yml`; see the module docstring for defaults and errors."""
    project_dir = project_dir.resolve()
    sources = sources if sources is not None else SourceMap()
    path = _profile_file(project_dir, name if name is not None else "dev")
    if path is None:
        if name is None:
            database = str(project_dir / DEFAULT_DATABASE)
            return Profile(name=None, path=None, engine=Engine(path=database), sources=sources)
        names = available_profiles(project_dir)
        raise _fail(
            sources,
            f"profile `{name}` not found in {project_dir / 'profiles'}",
            help=_did_you_mean(name, names),
            notes=(f"available profiles: {', '.join(names) if names else 'none'}",),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(sources, f"cannot read profile {path}: {err}") from None
    file_id = sources.add(_display(path), text)
    return _parse(text, file_id, path, name or "dev", project_dir, sources)


def _display(path: Path) -> str:
    """The path as diagnostics show it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _parse(
    text: str, file_id: int, path: Path, name: str, project_dir: Path, sources: SourceMap
) -> Profile:
    def span(node: yaml.Node) -> Span:
        return Span(file_id, node.start_mark.index, max(node.end_mark.index, node.start_mark.index))

    import yaml  # only when there is a profile file to read

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = None if mark is None else Span(file_id, mark.index, mark.index + 1)
        message = ": ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        notes: tuple[str, ...] = ()
        if err.context and err.context_mark is not None and err.context_mark is not mark:
            where = f"line {err.context_mark.line + 1}, column {err.context_mark.column + 1}"
            notes = (f"{err.context.removeprefix('while ')} started at {where}",)
        raise _fail(
            sources, f"invalid YAML in profile `{name}`: {message}", at, notes=notes
        ) from None
    finally:
        loader.dispose()

    values: dict[YamlPath, Span] = {}
    keys: dict[YamlPath, Span] = {}
    if root is not None:
        _index(root, (), values, keys, span)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        message = f"profile `{name}` must be a mapping of keys (engine, variables, ...)"
        raise _fail(sources, message, values.get(()))

    diagnostics: list[Diagnostic] = []
    for key in sorted(_LEGACY_IGNORED & set(data)):
        del data[key]
        diagnostics.append(
            Diagnostic(
                Code.OBSOLETE_PARAM,
                f"profile key `{key}` has no effect here and is ignored",
                keys.get((key,)),
                Severity.WARNING,
            )
        )
    for new, old in (("engine", "engines"), ("connections", "connectors")):
        if new in data and old in data:
            diagnostics.append(
                Diagnostic(
                    Code.PROFILE_ERROR,
                    f"profile has both `{new}:` and the earlier `{old}:`; keep only `{new}:`",
                    keys.get((old,)),
                )
            )
    try:
        parsed = validate(_ProfileFile, data)
    except ValidationError as err:
        diagnostics.extend(_validation_diagnostics(err, values, keys))
        parsed = None
    if parsed is None or any(d.is_error for d in diagnostics):
        raise CompileError(diagnostics, sources)

    connections, connection_spans = _connections(parsed, values, keys)
    return Profile(
        name=name,
        path=path,
        engine=_engine(parsed, project_dir),
        variables=dict(parsed.variables or {}),
        connections=connections,
        schema_policy=parsed.schema_policy,
        warnings=tuple(diagnostics),
        connection_spans=connection_spans,
        sources=sources,
    )


def _index(
    node: yaml.Node,
    path: YamlPath,
    values: dict[YamlPath, Span],
    keys: dict[YamlPath, Span],
    span: Callable[[yaml.Node], Span],
) -> None:
    """Record where every value (and every mapping key) of the document is."""
    import yaml  # imported by `_parse` already

    values[path] = span(node)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            keys[(*path, key)] = span(key_node)
            _index(value_node, (*path, key), values, keys, span)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), values, keys, span)


def _validation_diagnostics(
    err: ValidationError, values: Mapping[YamlPath, Span], keys: Mapping[YamlPath, Span]
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: set[YamlPath] = set()
    for e in err.errors:
        loc: YamlPath = e.path
        if loc in seen:
            continue
        seen.add(loc)
        at = keys.get(loc) if e.kind == "unknown" else None
        probe = loc
        while at is None and probe:
            at = values.get(probe)
            probe = probe[:-1]
        if e.kind == "unknown":
            out.append(
                Diagnostic(
                    Code.PROFILE_ERROR,
                    f"unknown profile key `{e.dotted}`",
                    at,
                    help=_did_you_mean(str(loc[-1]), list(e.accepted)),
                    notes=(f"accepted here: {', '.join(e.accepted)}",) if e.accepted else (),
                )
            )
            continue
        got = "" if e.kind == "missing" else f", got {e.value!r}"
        out.append(
            Diagnostic(Code.PROFILE_ERROR, f"profile key `{e.dotted}`{_problem(e)}{got}", at)
        )
    return out


def _problem(e: FieldError) -> str:
    """` expects an integer` or `: <reason>`, for `profile key `x`...`."""
    if e.kind == "type" and get_origin(e.annotation) is Literal:
        # The wording these diagnostics have always had (tests/golden, docs/diagnostics.md).
        options = [repr(a) for a in get_args(e.annotation)]
        either = " or ".join([", ".join(options[:-1]), options[-1]] if options[:-1] else options)
        return f": input should be {either}"
    if e.kind in ("type", "missing"):
        return f" {e.problem}"
    return f": {e.problem[:1].lower()}{e.problem[1:]}"


def _did_you_mean(word: str, candidates: list[str]) -> str:
    from sqlflowc.runtime.connectors.base import did_you_mean

    return did_you_mean(word, candidates)


def _engine(parsed: _ProfileFile, project_dir: Path) -> Engine:
    path: str | None = None
    threads: int | None = None
    memory_limit: str | None = None
    if parsed.engine is not None:
        path, threads, memory_limit = (
            parsed.engine.path,
            parsed.engine.threads,
            parsed.engine.memory_limit,
        )
    elif parsed.engines is not None and parsed.engines.duckdb is not None:
        legacy = parsed.engines.duckdb
        path = MEMORY if legacy.mode == "memory" else legacy.path
        threads, memory_limit = legacy.threads, legacy.memory_limit
    if path == MEMORY:
        return Engine(path=MEMORY, threads=threads, memory_limit=memory_limit)
    database = Path(path or DEFAULT_DATABASE).expanduser()
    if not database.is_absolute():
        database = project_dir / database
    return Engine(path=str(database), threads=threads, memory_limit=memory_limit)


def _connections(
    parsed: _ProfileFile, values: Mapping[YamlPath, Span], keys: Mapping[YamlPath, Span]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Span]]]:
    """Both layouts as `{name: {"type": ..., field: value}}`, with each field's span."""
    connections: dict[str, dict[str, Any]] = {}
    spans: dict[str, dict[str, Span]] = {}
    if parsed.connections is not None:
        for name, conn in parsed.connections.items():
            connections[name] = dict(conn)
            spans[name] = _field_spans(("connections", name), conn, values, keys)
    elif parsed.connectors is not None:
        for name, conn in parsed.connectors.items():
            flat = {k: v for k, v in conn.items() if k != "params"}
            field_spans = _field_spans(("connectors", name), flat, values, keys)
            params = conn.get("params")
            if isinstance(params, Mapping):
                flat = {**params, **flat}
                nested = _field_spans(("connectors", name, "params"), params, values, keys)
                field_spans = {**nested, **field_spans}
            connections[name] = flat
            spans[name] = field_spans
    return connections, spans


def _field_spans(
    path: YamlPath,
    conn: Mapping[str, Any],
    values: Mapping[YamlPath, Span],
    keys: Mapping[YamlPath, Span],
) -> dict[str, Span]:
    out = {k: values[(*path, k)] for k in conn if (*path, k) in values}
    if path in keys:
        out[""] = keys[path]
    return out


# -- using a connection ----------------------------------------------------------------------------


def is_secret_field(name: str) -> bool:
    """Whether a connection field holds a secret (`password`, `secret_access_key`, ...)."""
    return name.strip().lower() in SECRET_FIELDS


def resolve_connection(
    profile: Profile,
    name: str,
    lookup: Callable[[str], str | None],
    span: Span | None = None,
) -> dict[str, Any]:
    """Connection `name` with every `${VAR}` / `${VAR|default}` in its values resolved by
    `lookup`; raises CompileError for an unknown connection (at `span`, the use) or an unset
    variable (at the value in the profile file)."""
    conn = profile.connections.get(name)
    if conn is None:
        matches = [n for n in profile.connections if n.lower() == name.lower()]
        if len(matches) == 1:
            name, conn = matches[0], profile.connections[matches[0]]
    where = f"profile `{profile.name}`" if profile.name else "the profile (none was loaded)"
    if conn is None:
        names = sorted(profile.connections)
        raise _fail(
            profile.sources,
            f"connection `{name}` is not defined in {where}",
            span,
            code=Code.UNKNOWN_CONNECTION,
            help=_did_you_mean(name, names),
            notes=(f"connections: {', '.join(names) if names else 'none'}",),
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
    if "type" not in resolved:
        message = f"connection `{name}` has no `type`"
        diagnostics.append(Diagnostic(Code.PROFILE_ERROR, message, spans.get("", span)))
    if diagnostics:
        raise CompileError(diagnostics, profile.sources)
    return resolved


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
