"""Lifecycle hooks: Python code called as a run starts and ends, and as each step starts, ends,
fails or is retried.

A hook is any object with one or more of these methods — usually a module with these functions:

    on_run_start(run: RunRecord)      before anything runs
    on_step_start(step: StepRecord)   before a step runs
    on_step_failure(step: StepRecord) after a step failed (before its `on_step_end`)
    on_step_retry(step: StepRecord)   before a failed attempt of a step is tried again
    on_step_end(step: StepRecord)     after a step ran, whether it succeeded or failed
    on_run_end(run: RunRecord)        after everything, with the run's result

Contract of `load_hooks(project_dir)`:
- Entry points in the group `sqlflowc.hooks` (`name = "package.module:object"` or
  `"package.module"`), sorted by name: the object is the hook (a class is instantiated with no
  arguments). The installed distributions are only scanned for the group when one of them
  declares it (`entry_points.txt`), so a machine without hooks pays well under a millisecond.
- Then every `<project>/hooks/*.py` whose name is a Python identifier not starting with `_`,
  sorted by file name, imported as a module of its own (`_sqlflowc_hook_<name>`), only when
  the directory exists.
- A hook that cannot be loaded (an import error, a syntax error, an object with none of the
  methods) is left out with a `HOOK_FAILED` warning at the line that failed; the run goes on.
Contract of `Hooks`: each method calls that method of every hook that has it, in load order,
synchronously (a slow hook delays the run by as long as it takes). A hook that raises
(`Exception`, or `SystemExit`) is reported as a `HOOK_FAILED` warning naming the hook, the
method and the step, at the hook's line that raised; the run goes on as if it had returned.
`KeyboardInterrupt` stops the run as usual. The warnings are in `Hooks.warnings`.
"""

from __future__ import annotations

import enum
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.plan import Location, Plan, Step, step_target
from sqlflowc.diagnostics import Code
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.runtime.report import RunResult, RunWarning, StepOutcome

if TYPE_CHECKING:
    from sqlflowc.runtime.load_modes import LoadCounts

__all__ = [
    "ENTRY_POINT_GROUP",
    "METHODS",
    "Hook",
    "Hooks",
    "RunRecord",
    "StepRecord",
    "StepState",
    "load_hooks",
]

ENTRY_POINT_GROUP = "sqlflowc.hooks"
METHODS = (
    "on_run_start",
    "on_step_start",
    "on_step_failure",
    "on_step_retry",
    "on_step_end",
    "on_run_end",
)
_MODULE_PREFIX = "_sqlflowc_hook_"


class StepState(enum.Enum):
    """Where a step is: `RUNNING` (at start), `RETRYING` (a failed attempt about to be tried
    again), `SUCCEEDED` or `FAILED` (at the end)."""

    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A run, as hooks see it. `started_at` and `finished_at` are UTC; `finished_at` and
    `result` (every step's outcome, the failures, the duration) are None until the run ends."""

    run_id: str
    pipeline: str
    project_dir: str
    database: str
    plan: Plan
    started_at: datetime
    finished_at: datetime | None = None
    result: RunResult | None = None

    @property
    def ok(self) -> bool | None:
        """Whether the run succeeded; None while it runs."""
        return self.result.ok if self.result is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    """A step of a run, as hooks see it. `step` is the plan's step (its `id`, op, location,
    SQL...); `attempt` counts from 1. At the end, `outcome` holds the duration, the row count,
    what a load did (`load`: inserted, updated...) and, for a failure, the error (secrets
    masked) and its code."""

    run_id: str
    step: Step
    state: StepState
    attempt: int = 1
    started_at: datetime
    finished_at: datetime | None = None
    outcome: StepOutcome | None = None

    @property
    def id(self) -> str:
        return self.step.id

    @property
    def target(self) -> str | None:
        """What the step writes: a table or view, or an export's file."""
        return step_target(self.step)

    @property
    def duration_ms(self) -> float | None:
        return self.outcome.duration_ms if self.outcome is not None else None

    @property
    def rows(self) -> int | None:
        return self.outcome.rows if self.outcome is not None else None

    @property
    def load(self) -> LoadCounts | None:
        return self.outcome.load if self.outcome is not None else None

    @property
    def error(self) -> str | None:
        """The error of a failed attempt (secrets masked), else None."""
        if self.outcome is None or self.state is StepState.SUCCEEDED:
            return None
        return self.outcome.message or None


@dataclass(frozen=True, slots=True)
class Hook:
    """One loaded hook: its name in messages, its source file, and the methods it has."""

    name: str
    file: str | None
    methods: dict[str, Callable[..., Any]]


@dataclass(slots=True)
class Hooks:
    """The hooks of one run, and the warnings about them so far."""

    hooks: Sequence[Hook] = ()
    warnings: list[RunWarning] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.hooks)

    def run_start(self, run: RunRecord) -> None:
        self._call("on_run_start", run, None)

    def run_end(self, run: RunRecord) -> None:
        self._call("on_run_end", run, None)

    def step_start(self, step: StepRecord) -> None:
        self._call("on_step_start", step, step.id)

    def step_failure(self, step: StepRecord) -> None:
        self._call("on_step_failure", step, step.id)

    def step_retry(self, step: StepRecord) -> None:
        self._call("on_step_retry", step, step.id)

    def step_end(self, step: StepRecord) -> None:
        self._call("on_step_end", step, step.id)

    def _call(self, method: str, record: RunRecord | StepRecord, step_id: str | None) -> None:
        for hook in self.hooks:
            function = hook.methods.get(method)
            if function is None:
                continue
            try:
                function(record)
            except (Exception, SystemExit) as err:  # noqa: BLE001 - reported, never fatal
                where = f" for step `{step_id}`" if step_id else ""
                self.warnings.append(
                    RunWarning(
                        code=Code.HOOK_FAILED,
                        message=f"hook `{hook.name}` raised {type(err).__name__} in "
                        f"{method}{where}: {_first_line(err)}; the run went on",
                        location=_raised_at(err, hook.file),
                        label="raised here",
                        help="a hook's failure never stops a run; fix the hook or remove it",
                    )
                )


def _first_line(err: BaseException) -> str:
    text = (err.msg if isinstance(err, SyntaxError) else str(err)).strip()
    return text.splitlines()[0] if text else "(no message)"


# -- loading ------------------------------------------------------------------------------------


def load_hooks(project_dir: Path) -> Hooks:
    """The hooks of installed packages and of the project; see the module docstring."""
    hooks = Hooks()
    if _declares_group(ENTRY_POINT_GROUP):
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            name = f"{ep.name} ({ep.value})"
            try:
                obj = ep.load()
                if isinstance(obj, type):
                    obj = obj()
            except Exception as err:  # noqa: BLE001 - a broken plugin is reported, not fatal
                hooks.warnings.append(_load_warning(name, err, None))
                continue
            _add(hooks, name, obj, _source_file(obj))
    folder = project_dir / "hooks"
    if folder.is_dir():
        for file in sorted(folder.glob("*.py")):
            if not file.stem.isidentifier() or file.stem.startswith("_"):
                continue
            name = f"hooks/{file.name}"
            try:
                module = _import_file(file)
            except (Exception, SystemExit) as err:  # noqa: BLE001 - reported, not fatal
                hooks.warnings.append(_load_warning(name, err, file))
                continue
            _add(hooks, name, module, str(file))
    return hooks


def _add(hooks: Hooks, name: str, obj: object, file: str | None) -> None:
    methods = {m: f for m in METHODS if callable(f := getattr(obj, m, None))}
    if not methods:
        hooks.warnings.append(
            RunWarning(
                code=Code.HOOK_FAILED,
                message=f"hook `{name}` defines none of {', '.join(METHODS)}; it is not used",
                help="define one of these functions in it (e.g. `def on_step_end(step): ...`)",
            )
        )
        return
    hooks.hooks = (*hooks.hooks, Hook(name=name, file=file, methods=methods))


def _import_file(file: Path) -> object:
    """Import one project hook file as a module of its own (kept in `sys.modules`, so that
    dataclasses and pickling inside it work)."""
    module_name = _MODULE_PREFIX + file.stem
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _load_warning(name: str, err: BaseException, file: Path | None) -> RunWarning:
    location: Location | None
    if isinstance(err, SyntaxError) and err.filename and err.lineno:
        location = _line_location(err.filename, err.lineno)
        label = "Python cannot parse this"
    else:
        location = _raised_at(err, str(file) if file is not None else None)
        label = "raised here while importing"
    return RunWarning(
        code=Code.HOOK_FAILED,
        message=f"hook `{name}` cannot be loaded: {type(err).__name__}: {_first_line(err)}; "
        "the run goes on without it",
        location=location,
        label=label,
        help="hooks are loaded when a run starts; fix the module or remove it",
    )


def _raised_at(err: BaseException, file: str | None) -> Location | None:
    """The line of `file` (else the innermost line) where `err` was raised, or None."""
    import traceback  # (a hook that raised: not imported by every run)

    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return None
    mine = [f for f in frames if file is not None and _same_file(f.filename, file)]
    frame = (mine or frames)[-1]
    return _line_location(frame.filename, frame.lineno or 1)


def _line_location(filename: str, line: int) -> Location | None:
    """The whole text of one line of a Python file (None when it cannot be read)."""
    try:
        lines = Path(filename).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    start = len(text) - len(text.lstrip()) + 1
    return Location(str(Path(filename).resolve()), line, start, line, max(len(text) + 1, start))


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _source_file(obj: object) -> str | None:
    target = obj if inspect.ismodule(obj) or inspect.isclass(obj) else type(obj)
    try:
        return inspect.getsourcefile(target)
    except TypeError:
        return None


def _declares_group(group: str) -> bool:
    """Whether an installed distribution on `sys.path` may declare entry points of `group`:
    a scan of its `*.dist-info`/`*.egg-info` `entry_points.txt` files, far cheaper than
    importing `importlib.metadata` (a zip archive on the path is left to it)."""
    header = f"[{group}]".encode()
    for entry in sys.path:
        path = entry or "."
        if os.path.isfile(path):
            return True
        try:
            listing = os.scandir(path)
        except OSError:
            continue
        with listing:
            for item in listing:
                if not item.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(item.path, "entry_points.txt"), "rb") as f:
                        if header in f.read():
                            return True
                except OSError:
                    continue
    return False
