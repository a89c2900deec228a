"""A profile file read and checked (the layouts are described in `profiles.py`).

`read_profile_file(text, file_id, name, sources)` parses the YAML, records where every value and
every mapping key is (`YamlPath` → `Span`), and validates the document against `ProfileFile`
(`sqlflowc.validation`; unknown keys are errors). Bad YAML, a key given twice in one mapping
(at any depth: YAML would silently keep the last), a document that is not a mapping, an unknown
key, a wrong type and both layouts at once are `PROFILE_ERROR` diagnostics at their line and
column, raised together in one `CompileError`; keys of the earlier releases with no effect here
are dropped with a warning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from sqlflowc.diagnostics import Code, CompileError, Diagnostic, Severity
from sqlflowc.limits import MAX_JOBS, MAX_NESTING, MAX_THREADS, MAX_VALUES, value_problem
from sqlflowc.schema.drift import DEFAULT_DRIFT_POLICY, DriftPolicy
from sqlflowc.source import SourceMap, Span
from sqlflowc.suggest import did_you_mean
from sqlflowc.validation import Check, FieldError, Ge, Le, ValidationError, validate

if TYPE_CHECKING:
    import yaml

__all__ = ["ProfileFile", "YamlPath", "read_profile_file"]

# Keys of the earlier releases' profiles that configure things this tool does not have.
_LEGACY_IGNORED = frozenset(
    {"log_level", "module_log_levels", "paths", "performance", "logging", "testing", "version"}
)

YamlPath = tuple[str | int, ...]


# -- the schema ------------------------------------------------------------------------------------


# Each section is a schema for `sqlflowc.validation` (unknown keys are errors).


def _only_duckdb(value: str | None) -> str | None:
    if value is not None and value.strip().lower() != "duckdb":
        raise ValueError(f"engine `{value}` is not supported; the engine is `duckdb`")
    return None if value is None else "duckdb"


ENGINES = ("duckdb", "spark")


def _engine_type(value: str) -> str:
    name = value.strip().lower()
    if name not in ENGINES:
        raise ValueError(f"engine `{value}` is not supported; the engines are duckdb and spark")
    return name


def _remote_url(value: str | None) -> str | None:
    if value is not None and not value.strip().lower().startswith("sc://"):
        raise ValueError("expected a Spark Connect URL, `sc://host:port` (15002 by default)")
    return value.strip() if value is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class _EngineSection:
    """`type: duckdb` uses `path`, `threads`, `memory_limit`; `type: spark` uses `master` (or
    `remote`, a Spark Connect server `sc://host:port`), `warehouse` and `conf` (Spark settings,
    passed to the session as they are)."""

    type: Annotated[str, Check(_engine_type)] = "duckdb"
    path: str | None = None
    threads: Annotated[int, Ge(1), Le(MAX_THREADS)] | None = None
    memory_limit: str | None = None
    master: str | None = None
    remote: Annotated[str | None, Check(_remote_url)] = None
    warehouse: str | None = None
    conf: dict[str, str | int | float | bool] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _ExecutionSection:
    jobs: Annotated[int, Ge(1), Le(MAX_JOBS)] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _LegacyDuckDB:
    type: Annotated[str | None, Check(_only_duckdb)] = None
    mode: Literal["memory", "persistent"] | None = None
    path: str | None = None
    threads: Annotated[int, Ge(1), Le(MAX_THREADS)] | None = None
    memory_limit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _LegacyEngines:
    default: Annotated[str | None, Check(_only_duckdb)] = None
    duckdb: _LegacyDuckDB | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileFile:
    """The whole file: the current layout's sections and the earlier releases' (`engines`,
    `connectors`)."""

    engine: _EngineSection | None = None
    engines: _LegacyEngines | None = None
    execution: _ExecutionSection | None = None
    variables: dict[str, Any] | None = None
    connections: dict[str, dict[str, Any]] | None = None
    connectors: dict[str, dict[str, Any]] | None = None
    schema_policy: Literal["strict", "evolve"] = "strict"
    schema_drift: DriftPolicy = DEFAULT_DRIFT_POLICY


# -- reading ---------------------------------------------------------------------------------------


def read_profile_file(
    text: str, file_id: int, name: str, sources: SourceMap
) -> tuple[ProfileFile, list[Diagnostic], dict[YamlPath, Span], dict[YamlPath, Span]]:
    """The validated file, its warnings, and the spans of its values and of its mapping keys."""

    def span(node: yaml.Node) -> Span:
        return Span(file_id, node.start_mark.index, max(node.end_mark.index, node.start_mark.index))

    import yaml  # only when there is a profile file to read

    loader = _unique_key_loader()(text)
    try:
        root = loader.get_single_node()
        too_big = value_problem(root, _node_children) if root is not None else None
        if root is not None and too_big is not None:
            message = f"profile `{name}` is too large to read: {too_big}"
            help = f"a profile nests at most {MAX_NESTING} levels and holds {MAX_VALUES:,} values"
            raise CompileError(
                [Diagnostic(Code.PROFILE_ERROR, message, span(root), help=help)], sources
            )
        data = loader.construct_document(root) if root is not None else None
    except RecursionError:
        # The YAML parser recurses into nested collections.
        message = f"profile `{name}` is too large to read: it nests too deeply"
        raise CompileError([Diagnostic(Code.PROFILE_ERROR, message)], sources) from None
    except _DuplicateKey as dup:
        first = dup.first.start_mark
        diagnostic = Diagnostic(
            Code.PROFILE_ERROR,
            f"key `{dup.key}` is given twice in profile `{name}`",
            span(dup.second),
            label="given again here",
            help="merge the two into one: YAML would keep only the last and drop the first",
            notes=(f"first given at line {first.line + 1}, column {first.column + 1}",),
        )
        raise CompileError([diagnostic], sources) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = None if mark is None else Span(file_id, mark.index, mark.index + 1)
        message = ": ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        notes: tuple[str, ...] = ()
        if err.context and err.context_mark is not None and err.context_mark is not mark:
            where = f"line {err.context_mark.line + 1}, column {err.context_mark.column + 1}"
            notes = (f"{err.context.removeprefix('while ')} started at {where}",)
        message = f"invalid YAML in profile `{name}`: {message}"
        raise CompileError(
            [Diagnostic(Code.PROFILE_ERROR, message, at, notes=notes)], sources
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
        raise CompileError([Diagnostic(Code.PROFILE_ERROR, message, values.get(()))], sources)

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
        parsed = validate(ProfileFile, data)
    except ValidationError as err:
        diagnostics.extend(_validation_diagnostics(err, values, keys))
        parsed = None
    if parsed is None or any(d.is_error for d in diagnostics):
        raise CompileError(diagnostics, sources)
    return parsed, diagnostics, values, keys


class _DuplicateKey(Exception):
    """A mapping of the profile gives `key` twice (`first`, `second`: the two key nodes)."""

    def __init__(self, key: str, first: yaml.Node, second: yaml.Node) -> None:
        super().__init__(key)
        self.key = key
        self.first = first
        self.second = second


@functools.cache
def _unique_key_loader() -> type[yaml.SafeLoader]:
    """A `SafeLoader` on which a key given twice in one mapping raises `_DuplicateKey`.

    Keys are compared as constructed values (`1` and `01` are one key). A key that overrides one
    brought in by a merge key (`<<: *base`) is not a duplicate: that is what merging is for."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, yaml.Node] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.setdefault(key, key_node)
                    except TypeError:
                        continue  # an unhashable key: the base class reports it
                    if first is not key_node:
                        raise _DuplicateKey(str(key), first, key_node)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def _node_children(node: yaml.Node) -> list[yaml.Node] | None:
    """The nodes inside a composed YAML node (keys and values), None for a scalar."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return None


def _index(
    node: yaml.Node,
    path: YamlPath,
    values: dict[YamlPath, Span],
    keys: dict[YamlPath, Span],
    span: Callable[[yaml.Node], Span],
) -> None:
    """Record where every value (and every mapping key) of the document is."""
    import yaml  # imported by `read_profile_file` already

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
                    help=did_you_mean(str(loc[-1]), list(e.accepted)),
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
