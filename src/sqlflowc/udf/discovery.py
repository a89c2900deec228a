"""Discover a project's UDFs: import every module under `python_udfs/` and read the decorated
functions.

Contract of `discover_udfs(project_dir, sources)`:
- Every `.py` file under `<project>/python_udfs/` (nested directories too, with or without
  `__init__.py`) is imported as a module of the package `python_udfs` rooted at the project
  (`python_udfs/text/clean.py` → `python_udfs.text.clean`), in sorted order. Files and
  directories whose names are not Python identifiers (and `__pycache__`) are skipped.
- The import leaves no trace: `sys.path` is not touched (the package is located directly), and
  the `python_udfs` modules are removed from `sys.modules` afterwards (any previous entries are
  restored), so compilations of different projects in one process do not see each other.
- While importing, `sqlflow`, `sqlflow.udfs` and `sqlflow.udfs.decorators` (the earlier releases'
  import paths of the decorators) resolve to `sqlflowc.udf` when no real `sqlflow` package is
  importable, so modules written for the earlier releases load unchanged.
- What a module prints while it is imported goes to stderr, never to the command's stdout.
- A module that fails to import (also by calling `sys.exit()`) is a `UDF_IMPORT_ERROR`
  diagnostic at the failing line (the SyntaxError's line, or the last traceback frame inside
  `python_udfs/`); a function whose signature cannot be typed is a `BAD_UDF_SIGNATURE` at its
  definition; two UDFs with one qualified name are a `DUPLICATE_UDF`. Their files are added to
  `sources` for rendering.
- Results are cached per project while no file under `python_udfs/` changes, so a run right
  after a compile in the same process does not import the modules again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import traceback
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlflowc.diagnostics import Code, Diagnostic
from sqlflowc.source import SourceMap, Span
from sqlflowc.udf import udf_options
from sqlflowc.udf.signature import Udf, UdfDefinitionError, describe

__all__ = ["PACKAGE", "UdfCatalog", "discover_udfs", "legacy_import_names"]

PACKAGE = "python_udfs"

_LOCK = threading.RLock()


@dataclass(frozen=True, slots=True)
class UdfCatalog:
    """The UDFs of one project, sorted by qualified name."""

    udfs: tuple[Udf, ...] = ()
    project_dir: str = ""
    modules: tuple[str, ...] = ()
    _by_name: dict[str, Udf] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({u.qualified.lower(): u for u in self.udfs})

    def get(self, qualified: str) -> Udf | None:
        """The UDF with exactly this qualified name (case-insensitive)."""
        return self._by_name.get(qualified.lower())

    def lookup(self, name: str) -> list[Udf]:
        """The UDFs a name can mean: its exact qualified name, else every UDF whose qualified
        name ends with `.name` (a dotted suffix, so `text.clean` and `clean` both work)."""
        exact = self.get(name)
        if exact is not None:
            return [exact]
        tail = "." + name.lower()
        return [u for u in self.udfs if u.qualified.lower().endswith(tail)]

    def bare(self, name: str) -> list[Udf]:
        """The UDFs whose SQL name is `name` (case-insensitive)."""
        key = name.lower()
        return [u for u in self.udfs if u.name.lower() == key]


def discover_udfs(
    project_dir: Path,
    sources: SourceMap | None = None,
    *,
    package: str = PACKAGE,
) -> tuple[UdfCatalog, list[Diagnostic]]:
    """Import the project's UDF modules; the catalog and the problems found (see module doc)."""
    sources = sources if sources is not None else SourceMap()
    root = project_dir.resolve()
    folder = root / package
    if not folder.is_dir():
        return UdfCatalog(project_dir=str(root)), []
    files = sorted(_module_files(folder))
    key = (str(root), package)
    stamp = _fingerprint(files)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1], []
        catalog, problems = _discover(root, package, folder, files)
        if not problems:  # a failure may depend on the environment: always try again
            _CACHE[key] = (stamp, catalog)
    return catalog, [p.render(sources) for p in problems]


_CACHE: dict[tuple[str, str], tuple[tuple[tuple[str, int, int], ...], UdfCatalog]] = {}


@dataclass(frozen=True, slots=True)
class _Problem:
    """A diagnostic whose span is a (file, line) until it is rendered into a SourceMap."""

    code: Code
    message: str
    file: Path | None
    line: int = 0
    column: int = 0
    label: str = ""
    help: str = ""

    def render(self, sources: SourceMap) -> Diagnostic:
        span = None
        if self.file is not None:
            try:
                text = self.file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
            if text:
                file_id = sources.add(_display_path(self.file), text)
                src = sources[file_id]
                line = max(1, self.line)
                line_text = src.line_text(min(line, text.count("\n") + 1))
                indent = len(line_text) - len(line_text.lstrip())
                col = self.column if self.column > 0 else indent + 1
                start = src.offset(line, col)
                end = src.offset(line, len(line_text) + 1)
                span = Span(file_id, start, max(end, start + 1))
        message = (
            self.message
            if span is not None or self.file is None
            else (f"{self.message} (in {_display_path(self.file)}:{self.line})")
        )
        return Diagnostic(self.code, message, span, label=self.label, help=self.help)


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _module_files(folder: Path) -> Iterator[Path]:
    for path in folder.iterdir():
        if path.name.startswith((".", "__pycache__")):
            continue
        if path.is_dir():
            if path.name.isidentifier():
                yield from _module_files(path)
        elif path.suffix == ".py" and path.stem.isidentifier():
            yield path


def _fingerprint(files: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _module_name(package: str, folder: Path, file: Path) -> str:
    parts = list(file.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _discover(
    root: Path, package: str, folder: Path, files: list[Path]
) -> tuple[UdfCatalog, list[_Problem]]:
    problems: list[_Problem] = []
    found: dict[str, Udf] = {}
    names = [_module_name(package, folder, f) for f in files]
    # What a module prints while it is imported goes to stderr: stdout carries the command's
    # output (`check --format json`, `udf list --format json`, a plan).
    with _isolated_package(root, package), contextlib.redirect_stdout(sys.stderr):
        for name, file in zip(names, files, strict=True):
            try:
                module = importlib.import_module(name)
            except SyntaxError as err:
                problems.append(_syntax_problem(err, name, file))
                continue
            except (Exception, SystemExit) as err:  # noqa: BLE001 - user code may raise anything
                problems.append(_import_problem(err, name, file, folder))
                continue
            _collect(module, name, file, found, problems)
    udfs = tuple(sorted(found.values(), key=lambda u: u.qualified))
    return UdfCatalog(udfs=udfs, project_dir=str(root), modules=tuple(names)), problems


def _collect(
    module: types.ModuleType,
    name: str,
    file: Path,
    found: dict[str, Udf],
    problems: list[_Problem],
) -> None:
    """Add the module's own decorated functions (not ones it imported from elsewhere)."""
    for attr, value in sorted(vars(module).items()):
        options = udf_options(value)
        if options is None or getattr(value, "__module__", name) != name:
            continue
        line = int(getattr(getattr(value, "__code__", None), "co_firstlineno", 1) or 1)
        try:
            udf = describe(value, options, name, str(file))
        except UdfDefinitionError as err:
            problems.append(
                _Problem(
                    Code.BAD_UDF_SIGNATURE,
                    str(err),
                    file,
                    _def_line(file, line),
                    label=f"`{attr}` cannot be called from SQL",
                )
            )
            continue
        udf = dataclasses.replace(udf, line=_def_line(file, udf.line))
        previous = found.get(udf.qualified.lower())
        if previous is not None:
            problems.append(
                _Problem(
                    Code.DUPLICATE_UDF,
                    f"two UDFs are named `{udf.qualified}` (functions "
                    f"`{previous.function.__name__}` and `{attr}`)",
                    file,
                    _def_line(file, line),
                    help="give one of them another `name=`",
                )
            )
            continue
        found[udf.qualified.lower()] = udf


def _def_line(file: Path, first: int) -> int:
    """The `def` line of a function whose first line (its first decorator) is `first`."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return first
    for n in range(first - 1, min(len(lines), first + 40)):
        if lines[n].lstrip().startswith(("def ", "async def ")):
            return n + 1
    return first


def _syntax_problem(err: SyntaxError, module: str, file: Path) -> _Problem:
    where = Path(err.filename) if err.filename else file
    return _Problem(
        Code.UDF_IMPORT_ERROR,
        f"cannot import UDF module `{module}`: SyntaxError: {err.msg}",
        where if where.exists() else file,
        err.lineno or 1,
        err.offset or 0,
        label="Python cannot parse this",
    )


def _import_problem(err: BaseException, module: str, file: Path, folder: Path) -> _Problem:
    frames = traceback.extract_tb(err.__traceback__)
    where: tuple[Path, int] | None = None
    for frame in frames:
        path = Path(frame.filename)
        if path.is_relative_to(folder) and frame.lineno:
            where = (path, frame.lineno)
    path, line = where if where is not None else (file, 1)
    return _Problem(
        Code.UDF_IMPORT_ERROR,
        f"cannot import UDF module `{module}`: {type(err).__name__}: {err}",
        path,
        line,
        label="raised here while importing",
        help="UDF modules are imported when a pipeline of this project is compiled",
    )


# -- importing without side effects ------------------------------------------------------------


@contextmanager
def _isolated_package(root: Path, package: str) -> Iterator[None]:
    """Import `package` from `root` only (no sys.path change); undo sys.modules afterwards."""
    with _LOCK:
        importlib.invalidate_caches()
        saved = {k: v for k, v in sys.modules.items() if _in_package(k, package)}
        for key in saved:
            del sys.modules[key]
        finder = _PackageFinder(root, package)
        legacy = _LegacyFinder()
        sys.meta_path.insert(0, finder)
        sys.meta_path.append(legacy)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)
            sys.meta_path.remove(legacy)
            for key in [k for k in sys.modules if _in_package(k, package)]:
                del sys.modules[key]
            for key in legacy.loaded:
                if sys.modules.get(key) is _legacy_module(key):
                    del sys.modules[key]
            sys.modules.update(saved)


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


class _PackageFinder(importlib.abc.MetaPathFinder):
    """Finds the top-level UDF package in the project directory; submodules are found by the
    usual machinery through the package's `__path__`."""

    def __init__(self, root: Path, package: str) -> None:
        self.root = str(root)
        self.package = package

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.package:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [self.root])


def legacy_import_names() -> tuple[str, ...]:
    """The module names of the earlier releases that resolve to `sqlflowc.udf`: the package, and
    the two paths its UDF modules imported the decorators from (`sqlflow.udfs` re-exported them
    from `sqlflow.udfs.decorators`, whose `python_scalar_udf` / `python_table_udf` take the same
    arguments as ours)."""
    return ("sqlflow", "sqlflow.udfs", "sqlflow.udfs.decorators")


def _make_legacy_modules() -> dict[str, types.ModuleType]:
    import sqlflowc.udf as udf

    root = types.ModuleType("sqlflow", "Compatibility alias of the earlier releases' package.")
    root.__path__ = []
    alias = types.ModuleType("sqlflow.udfs", "Compatibility alias: the same as `sqlflowc.udf`.")
    alias.__path__ = []
    decorators = types.ModuleType(
        "sqlflow.udfs.decorators", "Compatibility alias: the decorators of `sqlflowc.udf`."
    )
    for name in udf.__all__:
        setattr(alias, name, getattr(udf, name))
        setattr(decorators, name, getattr(udf, name))
    setattr(root, "udfs", alias)  # noqa: B010
    setattr(alias, "decorators", decorators)  # noqa: B010
    return {"sqlflow": root, "sqlflow.udfs": alias, "sqlflow.udfs.decorators": decorators}


_LEGACY: dict[str, types.ModuleType] = {}


def _legacy_module(name: str) -> types.ModuleType:
    if not _LEGACY:
        _LEGACY.update(_make_legacy_modules())
    return _LEGACY[name]


class _LegacyFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on `sys.meta_path`: answers `legacy_import_names()` only when nothing else did."""

    def __init__(self) -> None:
        self.loaded: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in legacy_import_names():
            return None
        parent = fullname.rpartition(".")[0]
        if parent and sys.modules.get(parent) is not _legacy_module(parent):
            return None  # a real `sqlflow` package is installed: its own submodule wins
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        self.loaded.append(spec.name)
        return _legacy_module(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        """The alias modules are complete when created."""
