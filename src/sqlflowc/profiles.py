"""Project directories and profiles (docs/language.md, "Projects and profiles").

- `find_project_dir(pipeline)`: the nearest ancestor of the pipeline that `is_project_dir`
  (holding `profiles/`, `sqlflow.yml` or a `python_udfs/` package), else the pipeline's own
  directory; `nearest_project(start)` the same without the fallback (None).
- `load_profile(project_dir, name, sources)`: `profiles/<name>.yml` (or `.yaml`). With no name,
  `dev` when that file exists, else an empty default profile; a named profile that does not
  exist is an error listing the available ones. The file's text is registered in `sources`, so
  every problem (bad YAML, unknown key, wrong type) is a `PROFILE_ERROR` diagnostic at its
  line and column, raised together in one `CompileError` (`profile_file.py` reads the file).
Connections are returned raw; `sqlflowc.connectors.connections.resolve_connection` resolves one
for use (the compiler resolves `SOURCE s FROM "conn"` itself, with the pipeline's variables).

Two layouts are read. The current one: `engine: {type: duckdb, path, threads, memory_limit}`,
`execution: {jobs}` (how many steps run at once), `variables:`,
`connections: {name: {type: ..., field: value}}`, `schema_policy: strict|evolve`,
`schema_drift: fail|warn|accept`.
The earlier releases': `engines: {duckdb: {mode: memory|persistent, path, memory_limit}}` and
`connectors: {name: {type: ..., params: {...}}}` (flattened to the current shape); their keys
with no effect here (`log_level`, `paths`, ...) are accepted with a warning. The database path
is made absolute against the project directory; the default is `target/sqlflow.duckdb`.
Variables are returned as written (the variable pass resolves them).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.limits import FileTooLarge, read_bounded
from sqlflowc.schema.drift import DEFAULT_DRIFT_POLICY, DriftPolicy
from sqlflowc.source import SourceMap, Span
from sqlflowc.suggest import did_you_mean

if TYPE_CHECKING:
    from sqlflowc.profile_file import ProfileFile, YamlPath

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_MASTER",
    "DEFAULT_WAREHOUSE",
    "Engine",
    "Profile",
    "available_profiles",
    "find_project_dir",
    "is_project_dir",
    "load_profile",
    "nearest_project",
]

DEFAULT_DATABASE = "target/sqlflow.duckdb"
DEFAULT_WAREHOUSE = "target/spark-warehouse"
DEFAULT_MASTER = "local[*]"
MEMORY = ":memory:"


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    """The engine a run uses. DuckDB: the database `path` (absolute, or `:memory:`), `threads`,
    `memory_limit`. Spark (`type == "spark"`, docs/engines.md): the `master` URL, the
    `warehouse` directory the tables are written to (absolute, or a URI such as
    `hdfs://...`), and `conf`, Spark settings given to the session."""

    path: str
    threads: int | None = None
    memory_limit: str | None = None
    type: str = "duckdb"
    master: str = DEFAULT_MASTER
    remote: str | None = None  # a Spark Connect server, `sc://host:port` (instead of `master`)
    warehouse: str = ""
    conf: Mapping[str, str] = field(default_factory=dict)


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
    schema_drift: DriftPolicy = DEFAULT_DRIFT_POLICY
    jobs: int | None = None  # `execution.jobs`: steps run at once (None: the default)
    warnings: tuple[Diagnostic, ...] = ()
    connection_spans: Mapping[str, Mapping[str, Span]] = field(
        default_factory=dict, compare=False, repr=False
    )
    sources: SourceMap | None = field(default=None, compare=False, repr=False)


# -- finding and loading ---------------------------------------------------------------------------


def find_project_dir(pipeline_path: Path) -> Path:
    """The nearest ancestor holding `profiles/` or `sqlflow.yml` — or `python_udfs/`, so a
    project with UDFs but no profile is found the same way `sqlflowc udf list` finds it — else
    the pipeline's directory."""
    path = pipeline_path.resolve()
    start = path if path.is_dir() else path.parent
    return nearest_project(start) or start


def nearest_project(start: Path) -> Path | None:
    """`start` or its nearest ancestor that `is_project_dir`; None when there is none."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if is_project_dir(directory):
            return directory
    return None


def is_project_dir(directory: Path) -> bool:
    """A directory holding `profiles/` or `sqlflow.yml`, or `python_udfs/` that is a package of
    UDF modules — not itself a project (`examples/` holding the project `examples/python_udfs/`
    is no project: that `python_udfs/` has `profiles/`, `pipelines/`, `sqlflow.yml` or a
    `python_udfs/` of its own)."""
    if (directory / "profiles").is_dir() or (directory / "sqlflow.yml").is_file():
        return True
    udfs = directory / "python_udfs"
    return udfs.is_dir() and not any(
        (udfs / marker).exists()
        for marker in ("profiles", "pipelines", "sqlflow.yml", "python_udfs")
    )


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
            engine = Engine(
                path=str(project_dir / DEFAULT_DATABASE),
                warehouse=str(project_dir / DEFAULT_WAREHOUSE),
            )
            return Profile(name=None, path=None, engine=engine, sources=sources)
        names = available_profiles(project_dir)
        raise _fail(
            sources,
            f"profile `{name}` not found in {project_dir / 'profiles'}",
            help=did_you_mean(name, names),
            notes=(f"available profiles: {', '.join(names) if names else 'none'}",),
        )
    try:
        text = read_bounded(path).decode("utf-8")
    except FileTooLarge as err:
        raise _fail(sources, f"cannot read profile {path}: {err.reason}") from None
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
    from sqlflowc.profile_file import read_profile_file  # (a cached run needs no parser)

    parsed, diagnostics, values, keys = read_profile_file(text, file_id, name, sources)
    connections, connection_spans = _connections(parsed, values, keys)
    return Profile(
        name=name,
        path=path,
        engine=_engine(parsed, project_dir),
        variables=dict(parsed.variables or {}),
        connections=connections,
        schema_policy=parsed.schema_policy,
        schema_drift=parsed.schema_drift,
        jobs=parsed.execution.jobs if parsed.execution is not None else None,
        warnings=tuple(diagnostics),
        connection_spans=connection_spans,
        sources=sources,
    )


def _engine(parsed: ProfileFile, project_dir: Path) -> Engine:
    duckdb = _duckdb_engine(parsed, project_dir)
    section = parsed.engine
    if section is None:
        return duckdb
    conf = {k: _conf_text(v) for k, v in (section.conf or {}).items()}
    return dataclasses.replace(
        duckdb,
        type=section.type,
        master=section.master or DEFAULT_MASTER,
        remote=section.remote,
        warehouse=_warehouse(section.warehouse, project_dir),
        conf=conf,
    )


def _conf_text(value: object) -> str:
    """A Spark setting as the text Spark reads (`true`, not Python's `True`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _warehouse(value: str | None, project_dir: Path) -> str:
    """The Spark warehouse: a URI (`hdfs://...`, `s3a://...`) as written, a path made absolute
    against the project."""
    if value is not None and "://" in value:
        return value
    path = Path(value or DEFAULT_WAREHOUSE).expanduser()
    return str(path if path.is_absolute() else project_dir / path)


def _duckdb_engine(parsed: ProfileFile, project_dir: Path) -> Engine:
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
    warehouse = _warehouse(None, project_dir)
    if path == MEMORY:
        return Engine(path=MEMORY, threads=threads, memory_limit=memory_limit, warehouse=warehouse)
    database = Path(path or DEFAULT_DATABASE).expanduser()
    if not database.is_absolute():
        database = project_dir / database
    return Engine(
        path=str(database), threads=threads, memory_limit=memory_limit, warehouse=warehouse
    )


def _connections(
    parsed: ProfileFile, values: Mapping[YamlPath, Span], keys: Mapping[YamlPath, Span]
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
