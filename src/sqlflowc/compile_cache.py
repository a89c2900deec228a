"""The compile cache: `sqlflowc run` keeps each plan it compiled under the project's
`target/cache/`, with a record of everything the compilation read, and runs that plan again
without compiling (no Lark, no sqlglot) while every one of those inputs is unchanged.

What a cached plan depends on, and how a lookup checks it:
- the request: the pipeline's path, the working directory, `--var`/`--vars`, `--profile`,
  `--project-dir`, `--db`, `--schema-policy` — part of the key;
- the tool: sqlflowc's own files (modules and grammar: size and modification time), the
  installed distributions (the `*.dist-info` names on `sys.path`: sqlglot's, duckdb's, lark's
  versions) and the Python version — part of the key;
- every file the compiler read (the pipeline, its INCLUDEs, the profile): SHA-256 of the bytes;
- the folders whose listing decides something (`profiles/`: which profile exists; the UDF
  package `python_udfs/`: its modules' sizes and modification times);
- every environment variable the compiler looked up, present or not: SHA-256 of the value;
- every schema the compiler consulted (the project database's tables, the sources' metadata):
  a local file source by its files' sizes and modification times, anything else by asking
  the catalog again and comparing the answer.

The profile the compilation loaded is kept with the plan (it depends only on the profile's
file, which profiles exist and, for `~` in its paths, the home directory: all checked), so a
hit reads no YAML. A compilation with warnings is not cached (its warnings are shown each
time). Entries hold no secret: the plan is stored without secret values, environment values
only as hashes. Entries
are written atomically; a corrupt or unreadable entry is a miss. `sqlflowc run --no-cache`
compiles without reading or writing the cache; `sqlflowc cache clear` removes it.

>>> key = request_key(Request(Path("p.sf"), {}, None, None, None, None))
>>> len(key)
64
"""

from __future__ import annotations

import contextvars
import dataclasses
import glob
import hashlib
import json
import os
import pickle
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.limits import READS

if TYPE_CHECKING:
    from sqlflowc.api import Compilation
    from sqlflowc.backend.plan import Plan
    from sqlflowc.profiles import Profile
    from sqlflowc.schema.catalog import Catalog, Lookup, SourceQuestion

__all__ = [
    "CACHE_DIR",
    "Hit",
    "Inputs",
    "RecordingCatalog",
    "RecordingEnviron",
    "Request",
    "clear",
    "compile_cached",
    "lookup",
    "note_read",
    "plan_secrets",
    "request_key",
]

CACHE_DIR = Path("target") / "cache"
FORMAT = 2
UDF_PACKAGE = "python_udfs"

_RECORDING: contextvars.ContextVar[Inputs | None] = contextvars.ContextVar(
    "sqlflowc_compile_inputs", default=None
)


@dataclass(frozen=True, slots=True)
class Request:
    """What `sqlflowc run` was asked to compile (the parts of the key that come from it)."""

    pipeline: Path
    cli_vars: Mapping[str, Any]
    profile: str | None
    project_dir: Path | None
    database: str | None
    schema_policy: str | None
    report_unused: bool = True  # whether unused --var warnings are wanted
    engine: str | None = None  # `--engine`


@dataclass(frozen=True, slots=True)
class Hit:
    """A cached plan whose inputs are all unchanged, the variables the pipeline uses and the
    profile it was compiled with (as `load_profile` gives it, without the file's text and
    positions, which only diagnostics use)."""

    plan: Plan
    used_variables: frozenset[str]
    profile: Profile


@dataclass(slots=True)
class Inputs:
    """What one compilation read; see the module docstring."""

    files: dict[str, str | None] = field(default_factory=dict)
    env: dict[str, str | None] = field(default_factory=dict)
    lookups: list[dict[str, Any]] = field(default_factory=list)


def note_read(path: Path | str, data: bytes | None) -> None:
    """Record a file read by the compiler (`data` None: it could not be read)."""
    inputs = _RECORDING.get()
    if inputs is not None:
        inputs.files[str(Path(path).resolve())] = None if data is None else _sha(data)


class RecordingEnviron(Mapping[str, str]):
    """The process environment as the compiler sees it, noting each name looked up."""

    def __init__(self, inputs: Inputs, environ: Mapping[str, str] | None = None) -> None:
        self._inputs = inputs
        self._environ = dict(os.environ if environ is None else environ)

    def __getitem__(self, name: str) -> str:
        self._note(name)
        return self._environ[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._note(name)
        return name in self._environ

    def __iter__(self) -> Iterator[str]:
        # Listing every name (for "did you mean") makes the whole set of names an input.
        self._inputs.env["*"] = _sha("\0".join(sorted(self._environ)).encode())
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)

    def _note(self, name: str) -> None:
        value = self._environ.get(name)
        self._inputs.env[name] = None if value is None else _sha(value.encode())


class RecordingCatalog:
    """A `Catalog` answering from `inner` and noting each question and its answer."""

    def __init__(self, inner: Catalog, inputs: Inputs, project_dir: Path) -> None:
        self.inner = inner
        self._inputs = inputs
        self._project_dir = project_dir

    def table(self, key: str) -> Lookup:
        answer = self.inner.table(key)
        self._inputs.lookups.append({"table": key, "answer": _answer(answer)})
        return answer

    def source(self, name: str, connector: str, params: Mapping[str, Any]) -> Lookup:
        answer = self.inner.source(name, connector, params)
        entry: dict[str, Any] = {
            "source": [name, connector, _plain(params)],
            "answer": _answer(answer),
        }
        stamp = _local_files_stamp(params, self._project_dir)
        if stamp is not None:
            entry["files"] = stamp
        self._inputs.lookups.append(entry)
        return answer

    def prefetch(self, questions: Sequence[SourceQuestion]) -> None:
        self.inner.prefetch(questions)  # noted when asked


def request_key(request: Request) -> str:
    """The cache key of a request: its parts, the tool's fingerprint and the Python version."""
    parts = {
        "format": FORMAT,
        "pipeline": str(request.pipeline.resolve()),
        "cwd": os.getcwd(),
        "vars": _plain(request.cli_vars),
        "profile": request.profile,
        "project_dir": str(request.project_dir.resolve()) if request.project_dir else None,
        "database": request.database,
        "schema_policy": request.schema_policy,
        "report_unused": request.report_unused,
        "engine": request.engine,
        "tool": _tool_fingerprint(),
        "python": sys.version,
    }
    return _sha(json.dumps(parts, sort_keys=True, default=str).encode())


def cache_dir(project_dir: Path) -> Path:
    """Where a project's cache entries are kept."""
    return project_dir / CACHE_DIR


def lookup(request: Request, project_dir: Path) -> Hit | None:
    """The cached plan for `request` when every input it was compiled from is unchanged."""
    entry_file = cache_dir(project_dir) / f"{request_key(request)}.pickle"
    try:
        with open(entry_file, "rb") as fh:
            entry = pickle.load(fh)  # written by `store` below, in the project's own target/
        if entry.get("format") != FORMAT or not _unchanged(entry, project_dir, request):
            return None
        return Hit(entry["plan"], frozenset(entry["used_variables"]), entry["profile"])
    except _UNUSABLE_ENTRY:  # a missing, unreadable, corrupt or outdated entry is a miss
        return None


# What reading a missing, damaged or outdated entry raises (unpickling can fail in many ways,
# and an entry of an older sqlflowc may name a class or field that is gone).
_UNUSABLE_ENTRY = (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
)


def compile_cached(request: Request, *, use_cache: bool = True, **options: Any) -> Compilation:
    """Compile `request` (`options` as `api.compile_file` takes them) while recording what
    the compilation reads; store the plan when `use_cache` and it compiled without warnings."""
    from sqlflowc.api import compile_source, database_path, project_catalog
    from sqlflowc.inputs import read_pipeline
    from sqlflowc.profiles import find_project_dir, load_profile
    from sqlflowc.source import SourceMap

    if not use_cache:
        return _compile_plain(request, **options)
    inputs = Inputs()
    token = _RECORDING.set(inputs)
    reads = READS.set(note_read)
    try:
        project_dir = (request.project_dir or find_project_dir(request.pipeline)).resolve()
        sources = SourceMap()
        text = read_pipeline(request.pipeline)
        prof = load_profile(project_dir, request.profile, SourceMap())
        catalog = RecordingCatalog(
            project_catalog(project_dir, database_path(project_dir, prof, request.database)),
            inputs,
            project_dir,
        )
        comp = compile_source(
            text,
            str(request.pipeline),
            cli_vars=request.cli_vars,
            profile=request.profile,
            project_dir=project_dir,
            environ=RecordingEnviron(inputs),
            sources=sources,
            database=request.database,
            catalog=catalog,
            engine=request.engine,
            **options,
        )
    finally:
        READS.reset(reads)
        _RECORDING.reset(token)
    secrets = plan_secrets(comp.plan, request.cli_vars, comp.profile.variables)
    # Cached: a compilation without warnings whose secrets a later run finds again (not one
    # whose secret came from a default written in the pipeline).
    if not comp.warnings and secrets == dict(comp.plan.secrets):
        _store(request, comp, inputs)
    return comp


def plan_secrets(
    plan: Plan, cli_vars: Mapping[str, Any], profile_vars: Mapping[str, Any]
) -> dict[str, str]:
    """The values of a plan's secrets, which are never in a plan file or the cache: from
    `--var`/`--vars`, else the profile's variables, else the environment."""
    secrets: dict[str, str] = {}
    for name in plan.secret_vars:
        for scope in (cli_vars, profile_vars, os.environ):
            if name in scope:
                secrets[name] = str(scope[name])
                break
    return secrets


def clear(project_dir: Path) -> int:
    """Remove a project's cache entries; how many there were."""
    folder = cache_dir(project_dir)
    n = 0
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_file():
                entry.unlink(missing_ok=True)
                n += 1
    return n


def _compile_plain(request: Request, **options: Any) -> Compilation:
    from sqlflowc.api import compile_file

    return compile_file(
        request.pipeline,
        cli_vars=request.cli_vars,
        profile=request.profile,
        project_dir=request.project_dir,
        database=request.database,
        engine=request.engine,
        **options,
    )


def _store(request: Request, comp: Compilation, inputs: Inputs) -> None:
    plan = dataclasses.replace(comp.plan, secrets={})
    profile = dataclasses.replace(
        comp.profile, warnings=(), connection_spans={}, sources=None
    )  # (a cached compilation has no warnings)
    entry = {
        "format": FORMAT,
        "files": inputs.files,
        "dirs": _dir_stamps(comp.project_dir),
        "home": _home(),
        "env": inputs.env,
        "lookups": inputs.lookups,
        "used_variables": sorted(comp.used_variables),
        "plan": plan,
        "profile": profile,
    }
    folder = cache_dir(comp.project_dir)
    final = folder / f"{request_key(request)}.pickle"
    tmp = folder / f".{final.name}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, final)
    except (OSError, pickle.PicklingError):
        tmp.unlink(missing_ok=True)  # a cache that cannot be written is only slower


def _unchanged(entry: Mapping[str, Any], project_dir: Path, request: Request) -> bool:
    for path, digest in entry["files"].items():
        try:
            data = Path(path).read_bytes()
        except OSError:
            data = None
        if (None if data is None else _sha(data)) != digest:
            return False
    if entry["dirs"] != _dir_stamps(project_dir) or entry["home"] != _home():
        return False
    environ = os.environ
    for name, digest in entry["env"].items():
        if name == "*":
            if _sha("\0".join(sorted(environ)).encode()) != digest:
                return False
            continue
        value = environ.get(name)
        if (None if value is None else _sha(value.encode())) != digest:
            return False
    return _lookups_unchanged(entry["lookups"], project_dir, request)


def _lookups_unchanged(lookups: list[dict[str, Any]], project_dir: Path, request: Request) -> bool:
    # A local file source whose files are as they were needs no new look; the rest are asked.
    pending = [e for e in lookups if "files" not in e or _files_stamp(e, project_dir) != e["files"]]
    if not pending:
        return True
    from sqlflowc.profiles import load_profile
    from sqlflowc.runner import database_path, project_catalog
    from sqlflowc.source import SourceMap

    prof = load_profile(project_dir, request.profile, SourceMap())
    catalog = project_catalog(project_dir, database_path(project_dir, prof, request.database))
    for e in pending:
        if "table" in e:
            answer = catalog.table(e["table"])
        else:
            name, connector, params = e["source"]
            answer = catalog.source(name, connector, params)
        if _answer(answer) != e["answer"]:
            return False
    return True


def _files_stamp(entry: Mapping[str, Any], project_dir: Path) -> Any:
    return _local_files_stamp(entry["source"][2], project_dir)


def _local_files_stamp(params: Mapping[str, Any], project_dir: Path) -> list[Any] | None:
    """Sizes and modification times of a local file source's files (None: not a local file
    source, so its schema is checked by asking again)."""
    path = params.get("path") if isinstance(params, Mapping) else None
    if not isinstance(path, str) or "://" in path:
        return None
    pattern = path if os.path.isabs(path) else str(project_dir / path)
    return [_stat(p) for p in sorted(glob.glob(pattern, recursive=True))] or [[pattern, None]]


def _dir_stamps(project_dir: Path) -> list[Any]:
    stamps: list[Any] = []
    profiles = project_dir / "profiles"
    stamps.append(sorted(os.listdir(profiles)) if profiles.is_dir() else None)
    udfs = project_dir / UDF_PACKAGE
    stamps.append([_stat(str(p)) for p in sorted(udfs.rglob("*.py"))] if udfs.is_dir() else None)
    return stamps


def _home() -> str:
    """The home directory, which `~` in the profile's paths means."""
    return os.path.expanduser("~")


def _stat(path: str) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [path, None]
    return [path, st.st_size, st.st_mtime_ns]


@cache
def _tool_fingerprint() -> str:
    """sqlflowc's own files and the installed distributions: changing either changes keys."""
    import sqlflowc

    package = Path(sqlflowc.__file__).parent
    files = [
        os.path.join(folder, name)
        for folder, _, names in os.walk(package)
        for name in names
        if name.endswith((".py", ".lark"))
    ]
    stamps = [_stat(p) for p in sorted(files)]
    grammar = package.parent.parent / "grammar"
    if grammar.is_dir():
        stamps.extend(_stat(str(p)) for p in sorted(grammar.glob("*.lark")))
    dists: list[str] = []
    for entry in sys.path:
        if entry.endswith("site-packages") and os.path.isdir(entry):
            dists.extend(n for n in os.listdir(entry) if n.endswith(".dist-info"))
    return _sha(json.dumps([stamps, sorted(dists)]).encode())


def _answer(answer: object) -> str:
    return _sha(repr(answer).encode())


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
