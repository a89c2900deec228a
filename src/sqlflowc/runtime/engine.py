"""The engine interface of the executor: what `runtime/executor.run_plan` asks of the engine a
plan runs on, besides DuckDB (its built-in one). The Spark engine (`runtime/spark/`) is one.

An `Engine` opens a session (`connect`: raises `EngineUnavailable` with a message when it cannot),
loads the Python UDFs the plan needs onto it (`load_udfs`: a run-level `Failure` when it cannot),
runs one step atomically where it can (`run_step`: the step's `StepOutcome`; run-time errors
are FAILED outcomes, never exceptions) and closes the session. The executor keeps the order,
fail-fast, events, hooks and secrets: they are the same on every engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlflowc.backend.plan import Plan, Step
    from sqlflowc.runtime.report import Failure, StepOutcome
    from sqlflowc.runtime.steps import StepContext
    from sqlflowc.runtime.udfs import UdfRuntime

__all__ = ["Engine", "EngineUnavailable"]


class EngineUnavailable(Exception):
    """The engine cannot start (the message says why; `help` what to do)."""

    def __init__(self, message: str, help: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.help = help


class Engine(Protocol):
    """An engine the executor runs a plan on."""

    @property
    def description(self) -> str:
        """What the run is on, for the run's record (`Spark local[2], warehouse ...`)."""
        ...

    def connect(self) -> Any: ...

    def load_udfs(self, session: Any, plan: Plan) -> tuple[UdfRuntime | None, Failure | None]: ...

    def run_step(self, session: Any, step: Step, ctx: StepContext) -> StepOutcome: ...

    def close(self, session: Any) -> None: ...
