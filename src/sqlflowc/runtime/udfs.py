"""Python UDFs at run time: load the UDFs a plan names, register the scalar ones on the DuckDB
connection, and run table UDF steps.

Contract:
- `UdfRuntime.load(plan)` discovers the project's UDFs again from `plan.project_dir` (discovery
  caches per project, so a run right after a compile in the same process imports nothing) and
  checks that every name the steps need (`qualified` or `qualified/n`) is defined; otherwise
  `UdfStepError` with SF0804 (a module does not import) or SF0810 (the UDF is gone).
- `register(con)` creates every scalar UDF the plan needs with `create_function`, as an Arrow
  function (DuckDB hands over a batch of up to 2048 rows at a time):
  - a row-at-a-time function is called once per row in a loop over the batch (`map` over the
    batch's Python values), which was faster here than DuckDB's own per-row calling;
  - a vectorized function is called once per batch with one pyarrow Array per parameter and
    must return an array (or a sequence) of the same length.
  NULLs: when no parameter is `Optional`, DuckDB removes rows with a NULL argument and their
  result is NULL (the function never sees None). When some are, DuckDB passes NULLs through;
  a row-at-a-time function then receives None for its `Optional` parameters, and a NULL in
  any other parameter gives NULL without a call; a vectorized function sees the nulls.
- A step that calls scalar UDFs runs with one DuckDB thread (`threads_for`): the UDFs hold the
  interpreter lock, and measured here more threads only made them slower.
- A UDF that raises fails its statement; the message names the UDF, the exception and the
  row's input (up to `udf_values.INPUT_SHOWN` characters); to find the row, the failing batch is run
  again row by row up to it. `explain()` hands that message to the executor (SF0808).
- `run_table_udf(con, step, query)` runs a `TableUdf` step with its UDF and literal arguments
  (`runtime/table_udfs.py`), in the step's transaction.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.plan import Plan, TableUdf, step_udfs
from sqlflowc.diagnostics import Code, Diagnostic, StepFailure
from sqlflowc.runtime.udf_values import (
    CAUGHT,
    arrow_type,
    raised_at,
    raised_text,
    row_failure,
    short,
    to_arrow,
)
from sqlflowc.source import SourceMap
from sqlflowc.udf import UdfKind
from sqlflowc.udf.discovery import PACKAGE
from sqlflowc.udf.signature import Udf

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["UdfRuntime", "UdfStepError", "plan_udfs", "raised_text"]


class UdfStepError(StepFailure):
    """A UDF problem that fails a step (or the whole run), with its diagnostic code."""

    code: Code

    def __init__(self, message: str, code: Code = Code.UDF_FAILED) -> None:
        super().__init__(message, code)


class UdfRaised(Exception):
    """Raised inside DuckDB by a UDF wrapper when the user's function raised."""


def plan_udfs(plan: Plan) -> list[str]:
    """Every UDF name the plan's steps need, sorted."""
    return sorted({name for step in plan.steps for name in step_udfs(step)})


def _split(name: str) -> tuple[str, int | None]:
    """`"python_udfs.m.f/2"` → `("python_udfs.m.f", 2)`."""
    base, slash, count = name.rpartition("/")
    if slash and count.isdigit():
        return base, int(count)
    return name, None


class UdfRuntime:
    """The UDFs of one run."""

    def __init__(
        self, udfs: Mapping[str, Udf], needed: Sequence[str], folder: Path | None = None
    ) -> None:
        self._udfs = dict(udfs)  # by lower-cased qualified name
        self._needed = list(needed)
        self._failure: str | None = None
        self._lock = threading.Lock()
        self._folder = folder  # the project's python_udfs/, to find the user's frames
        self._sigint = threading.Event()  # a real Ctrl-C arrived while a UDF step ran

    @classmethod
    def load(cls, plan: Plan) -> UdfRuntime:
        """The UDFs `plan` needs, imported from its project; raises UdfStepError."""
        from sqlflowc.udf.discovery import discover_udfs

        needed = plan_udfs(plan)
        project = Path(plan.project_dir)
        sources = SourceMap()
        catalog, problems = discover_udfs(project, sources)
        errors = [p for p in problems if p.is_error]
        if errors:
            raise UdfStepError(_first_lines(errors, sources), Code.UDF_IMPORT_ERROR)
        found: dict[str, Udf] = {}
        missing: list[str] = []
        for name in needed:
            qualified, nargs = _split(name)
            udf = catalog.get(qualified)
            if udf is None or (nargs is not None and not udf.min_args <= nargs <= udf.max_args):
                missing.append(name)
            else:
                found[qualified.lower()] = udf
        if missing:
            listed = ", ".join(f"`{m}`" for m in missing)
            raise UdfStepError(
                f"the plan needs UDF(s) {listed}, which {project / 'python_udfs'} no longer "
                "defines as compiled; compile the pipeline again",
                Code.UDF_UNAVAILABLE,
            )
        return cls(found, needed, project / PACKAGE)

    def get(self, qualified: str) -> Udf:
        return self._udfs[qualified.lower()]

    # -- scalar UDFs -------------------------------------------------------------------------

    def register(self, con: Connection) -> None:
        """Create every scalar UDF the plan needs on `con` (replacing any of the same name)."""
        import duckdb

        try:
            from duckdb.func import FunctionNullHandling, PythonUDFType
        except ImportError:  # duckdb 1.x
            from duckdb.functional import (  # type: ignore[no-redef,unused-ignore]
                FunctionNullHandling,
                PythonUDFType,
            )

        arrow_types: dict[str, pa.DataType] = {}
        for name in self._needed:
            qualified, nargs = _split(name)
            udf = self.get(qualified)
            if udf.kind is not UdfKind.SCALAR:
                continue
            params = udf.params[: nargs if nargs is not None else len(udf.params)]
            assert udf.return_type is not None
            ret = udf.return_type
            if ret not in arrow_types:
                arrow_types[ret] = arrow_type(con, ret)
            # SPECIAL: the wrappers skip the rows with a NULL in a non-Optional parameter
            # themselves, and a result may be NULL (DEFAULT refuses a None from the function).
            nulls = FunctionNullHandling.SPECIAL
            if not params:
                function: Callable[..., Any] = self._no_arguments(udf)
                kind = PythonUDFType.NATIVE
            elif udf.vectorized:
                function = self._vectorized(udf, params, arrow_types[ret])
                kind = PythonUDFType.ARROW
            else:
                function = self._row_at_a_time(udf, params, arrow_types[ret])
                kind = PythonUDFType.ARROW
            _set_arity(function, len(params))
            with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
                con.remove_function(name)  # registered by an earlier run on this connection
            con.create_function(
                name,
                function,
                [str(p.type) for p in params],
                ret,
                type=kind,
                null_handling=nulls,
                side_effects=False,
            )

    @contextlib.contextmanager
    def threads_for(self, con: Connection, names: Sequence[str]) -> Iterator[None]:
        """Run a step that calls scalar UDFs (`names`, as registered) with one DuckDB thread,
        then restore the setting; meanwhile a SIGINT is noted, so a wrapper tells the user's
        Ctrl-C from a `KeyboardInterrupt` the function raised itself (`_raised`).

        Python UDFs hold the interpreter lock, so DuckDB's other threads only wait for it: on
        2 cores a row-at-a-time UDF over 5M rows took 0.80 s with 1 thread and 1.09 s with 2,
        a vectorized one 0.33 s and 0.46 s (the built-in `lower` 0.23 s and 0.12 s).
        """
        if not any(
            self._udfs[_split(name)[0].lower()].kind is UdfKind.SCALAR
            for name in names
            if _split(name)[0].lower() in self._udfs
        ):
            yield
            return
        rows = con.execute("SELECT current_setting('threads')").fetchall()
        before = int(rows[0][0]) if rows else 0
        with self._noting_sigint():
            if before <= 1:
                yield
                return
            con.execute("SET threads = 1")
            try:
                yield
            finally:
                con.execute(f"SET threads = {before}")

    @contextlib.contextmanager
    def _noting_sigint(self) -> Iterator[None]:
        """Note a SIGINT in `_sigint`, then handle it as before (by default: KeyboardInterrupt).
        Signal handlers belong to the main thread: elsewhere nothing is noted."""
        import signal

        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)
        if previous is signal.SIG_IGN:
            yield
            return

        def note(signum: int, frame: types.FrameType | None) -> None:
            self._sigint.set()
            if callable(previous):
                previous(signum, frame)
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, note)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def interrupt(self) -> None:
        """The run is being interrupted (Ctrl-C, SIGTERM): a `KeyboardInterrupt` now raised in
        a UDF stops its step instead of failing it as the UDF's own exception."""
        self._sigint.set()

    def explain(self, error: str) -> str | None:
        """The message for a statement that failed with `error` because a UDF raised, else None.

        The wrappers record the last UDF failure; it explains `error` only when DuckDB's message
        shows our exception (a failure that `TRY(...)` swallowed explains nothing later)."""
        if self._sigint.is_set():
            self._sigint.clear()
            raise KeyboardInterrupt  # Ctrl-C while a UDF ran: the run stops (the step rolled back)
        with self._lock:
            failure, self._failure = self._failure, None
        return failure if failure is not None and UdfRaised.__name__ in error else None

    def _fail(self, message: str) -> UdfRaised:
        with self._lock:
            self._failure = message
        return UdfRaised(message)

    def _row_at_a_time(
        self, udf: Udf, params: Sequence[Any], out_type: pa.DataType
    ) -> Callable[..., Any]:
        fn = udf.function
        strict = [i for i, p in enumerate(params) if not p.optional]
        fail = self._fail
        raised = self._raised

        def call(*columns: Any) -> Any:
            values = [c.to_pylist() for c in columns]
            try:
                if any(columns[i].null_count for i in strict):
                    out = [
                        None if any(row[i] is None for i in strict) else fn(*row)
                        for row in zip(*values, strict=True)
                    ]
                else:
                    out = list(map(fn, *values))
            except CAUGHT as err:
                failed = err
                raise raised(err, lambda: row_failure(udf, fn, values, strict, failed)) from err
            return to_arrow(udf, out, out_type, fail)

        return call

    def _vectorized(
        self, udf: Udf, params: Sequence[Any], out_type: pa.DataType
    ) -> Callable[..., Any]:
        import pyarrow as pa
        import pyarrow.compute as pc

        fn = udf.function
        strict = [i for i, p in enumerate(params) if not p.optional]
        fail = self._fail
        raised = self._raised

        def call(*columns: Any) -> Any:
            arrays = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in columns]
            size = len(arrays[0]) if arrays else 0
            keep = None  # rows without a NULL in a non-Optional parameter, when some have one
            if any(arrays[i].null_count for i in strict):
                keep = arrays[strict[0]].is_valid()
                for i in strict[1:]:
                    keep = pc.and_(keep, arrays[i].is_valid())
                arrays = [a.filter(keep) for a in arrays]
            count = len(arrays[0]) if arrays else 0
            try:
                result = fn(*arrays)
            except CAUGHT as err:
                shown = ", ".join(short(a.slice(0, 3).to_pylist()) for a in arrays)
                message = (
                    f"UDF `{udf.qualified}` raised {raised_text(err)} "
                    f"(on a batch of {count} rows starting with {shown})"
                )
                raise raised(err, lambda: message) from err
            if isinstance(result, pa.ChunkedArray):
                result = result.combine_chunks()
            if not isinstance(result, pa.Array):
                result = to_arrow(udf, list(result), out_type, fail)
            if len(result) != count:
                raise fail(
                    f"vectorized UDF `{udf.qualified}` returned {len(result)} values for a "
                    f"batch of {count} rows; it must return one value per row"
                )
            if keep is not None:  # put the results back between the NULL rows
                result = pc.replace_with_mask(pa.nulls(size, type=result.type), keep, result)
            return result

        return call

    def _no_arguments(self, udf: Udf) -> Callable[[], Any]:
        fn = udf.function
        raised = self._raised

        def call() -> Any:
            try:
                return fn()
            except CAUGHT as err:
                message = f"UDF `{udf.qualified}` raised {raised_text(err)}"
                raise raised(err, lambda: message) from err

        return call

    def _raised(self, err: BaseException, message: Callable[[], str]) -> BaseException:
        """What a wrapper raises when the user's function raised `err`: a real Ctrl-C goes on
        as the interrupt it is; anything else (an exception, or a `KeyboardInterrupt` or
        `SystemExit` the function raised itself) fails the statement with `message`, and the
        place in the user's module where it was raised."""
        if isinstance(err, KeyboardInterrupt) and self._sigint.is_set():
            return err
        where = raised_at(err, self._folder)
        return self._fail(message() + (f"\nraised at {where}" if where else ""))

    # -- table UDFs --------------------------------------------------------------------------

    def run_table_udf(self, con: Connection, step: TableUdf, query: str) -> tuple[int | None, ...]:
        """Run a `TableUdf` step (`runtime/table_udfs.py`), inside the step's transaction;
        `query` is its input query with the secrets substituted."""
        from sqlflowc.runtime.table_udfs import run_table_udf

        udf = self.get(step.udf)
        if udf.kind is not UdfKind.TABLE:
            raise UdfStepError(
                f"`{step.udf}` is a {udf.kind.value} UDF, not a table UDF (step `{step.id}`); "
                "compile the pipeline again",
                Code.UDF_UNAVAILABLE,
            )
        with self._noting_sigint():
            return run_table_udf(
                con,
                udf,
                step.target,
                query,
                step.args,
                temporary=step.temporary,
                raised=self._raised,
            )


# -- helpers --------------------------------------------------------------------------------------


def _first_lines(diagnostics: Iterable[Diagnostic], sources: SourceMap) -> str:
    out = []
    for d in diagnostics:
        where = sources.location(d.span) + ": " if d.span is not None else ""
        out.append(where + d.message)
    return "; ".join(out)


def _set_arity(function: Callable[..., Any], count: int) -> None:
    """Give a `*columns` wrapper the signature DuckDB checks against the parameter types."""
    positional = inspect.Parameter.POSITIONAL_ONLY
    params = [inspect.Parameter(f"arg{i}", positional) for i in range(count)]
    function.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
