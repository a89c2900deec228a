"""Schema capture in a run: every source's schema before its data moves, every written table's
after, each compared with its accepted snapshot (`sqlflowc.schema.drift`).

Contract of `SchemaCapture` (one per run, handed to the executor):
- `before_load(con, step, substitute)`, right before a `Load` step's transaction: asks the
  source's connector for its columns from metadata only (`ConnectorRuntime.discover_schema`,
  on the run's connection; secrets substituted, never recorded) and captures them as
  `source:<name>` under the load's policy (`resolve_policy`: the run's `--schema-drift`, the
  SOURCE's `schema_drift`, the profile's, `warn`). When the policy is `fail` and the schema
  differs from the accepted one, it raises `DriftStop` — the executor fails the step with it
  (SF0709, the changes as a table) before any data of the source moves, and its dependents
  do not run. A source whose schema cannot be discovered is not captured (the load itself
  reports a source it cannot read).
- `after_write(step)`, after a step committed, notes each table the step wrote; the base
  tables among them are captured (`table:<key>`) with one catalog query for all of them: by
  `flush(con)` when the run ends (with `background`, compared and written in a thread while
  the executor closes the database; `warnings()` waits for it), or by `before_step(con, step)`
  before a later step that may change one of them (writes it, or is a barrier), so each
  capture is the table as that step left it. Another engine (Spark) captures a step's tables
  right after it with `capture_tables(step, describe)`, its own way to describe a table, and
  calls `before_load` with a DuckDB connection of its own for the connectors' discovery. A
  table's drift is reported, never stops anything (its data has moved): `accept` accepts it,
  `warn` and `fail` record it as observed.
- A CSV file's columns come from DuckDB's sniffer (`FileRuntime.sniffed_scan`), and the load
  then reads the file with what it detected (`sniffed_load`): DuckDB detects once, not twice.
- A table a `Load` wrote whose source drifted in the same step changed because its source did:
  it is recorded, and not reported twice.
- The files of the tables captured together (and the files of a source's capture) are one
  batch of the store (`SnapshotStore.batch`): flushed to disk together, then linked into place.
  A source's are written in a thread while its load runs (the comparison, and a `fail`, come
  before: they need only what is already on disk); another capture of the same source in the
  run (a second load of it, at once or later) reads the store after they are written, so a
  first capture is recorded once. They are on disk when `warnings()` returns. The
  tables' are on disk when `flush` returns (with `background`, when `warnings()` does) or the
  `before_step`
  that captured them, and a run killed before that (`kill -9`, a crash) has not recorded the
  tables noted since: the next run that writes them captures them. A run interrupted once
  (SIGINT, SIGTERM) and a failed one still capture what their committed steps wrote (a second
  signal abandons that).
- Drift that does not stop the run (and snapshot files that could not be read, quarantined and
  re-captured past) becomes a warning at the statement (`warnings()`; the texts are in
  `drift_warnings.py`): the changes, and how to accept them.
- Safe to call from several threads at once (the parallel scheduler): the store is, and the
  warnings list is guarded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.plan import (
    CreateTable,
    Load,
    Location,
    Plan,
    Replace,
    Sql,
    Step,
    TableUdf,
)
from sqlflowc.diagnostics import Code, StepFailure
from sqlflowc.runtime.drift_warnings import drifted, headline, notes, unrecorded, unusable_files
from sqlflowc.runtime.report import RunWarning
from sqlflowc.runtime.table_columns import describe_tables
from sqlflowc.schema import Column
from sqlflowc.schema.drift import Drift, DriftPolicy, capture, resolve_policy
from sqlflowc.schema.snapshot import Snapshot, object_name
from sqlflowc.schema.store import SnapshotBatch, SnapshotStore

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["DriftStop", "SchemaCapture", "origin_of"]

# Parameters that say where a source's data is, in the order they are looked for.
_WHERE = ("path", "table", "query", "uri", "url", "bucket", "key")


class DriftStop(StepFailure):
    """A source's schema changed under `schema_drift: fail`: its load must not run."""

    def __init__(self, message: str, help: str, notes: tuple[str, ...]) -> None:
        super().__init__(message, Code.SCHEMA_DRIFT, help, notes)


def origin_of(connector: str, params: Mapping[str, Any]) -> str:
    """Where a source's data is, for people: `CSV data/orders.csv`, `POSTGRES public.orders`."""
    for key in _WHERE:
        value = params.get(key)
        if isinstance(value, str) and value:
            return f"{connector.upper()} {value}"
    return connector.upper()


class SchemaCapture:
    """The schema captures of one run; see the module docstring."""

    def __init__(
        self,
        plan: Plan,
        *,
        database: str,
        override: DriftPolicy | None = None,
        default: DriftPolicy | None = None,
        origin: str | None = None,
    ) -> None:
        self.project_dir = Path(plan.project_dir)
        self.store = SnapshotStore(self.project_dir)
        self.pipeline = _shown(plan.pipeline, self.project_dir)
        self.database = (
            database if database.startswith(":memory:") else _shown(database, self.project_dir)
        )
        # where the tables' snapshots say they were read: the database, or another engine's
        self.origin = origin or f"DuckDB {self.database}"
        self.run_id: str | None = None  # set by the executor when the run starts
        self.override = override
        self.default = default
        self._warnings: list[RunWarning] = []
        self._drifted_loads: set[str] = set()  # loads whose source drifted (already reported)
        self._pending: dict[str, tuple[str, Step]] = {}  # tables written, not captured yet
        self._sniffed: dict[str, tuple[str, str]] = {}  # load → its scan, detection done
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None  # `flush(background=True)` writing
        self._sources: list[threading.Thread] = []  # sources' snapshots being written
        self._capturing: dict[str, threading.Lock] = {}  # held from reading to written
        self._raised: list[BaseException] = []  # what they raised

    # ------------------------------------------------------------------ sources

    def before_load(self, con: Connection, step: Load, substitute: Callable[[str], str]) -> None:
        """Capture the load's source; raises DriftStop under `fail` when it drifted."""
        columns = self._discover(con, step, substitute)
        if columns is None:
            return
        source = step.source
        policy = resolve_policy(self.override, source.params.get("schema_drift"), self.default)
        snap = Snapshot.capture(
            object_name("source", source.name),
            columns,
            origin=origin_of(source.connector, source.params),
            pipeline=self.pipeline,
            run_id=self.run_id,
        )
        with self._lock:
            capturing = self._capturing.setdefault(snap.object, threading.Lock())
        capturing.acquire()  # another load of it in this run: after its files are written
        try:
            drift = self._capture([(snap, policy, step.location)], done=capturing.release)[0]
        except BaseException:
            capturing.release()
            raise
        if drift is None:
            return
        if drift.stops:
            raise DriftStop(
                headline(drift, f"source `{source.name}`")
                + "; with schema_drift `fail` it is not loaded",
                f"if the change is expected, accept it (`sqlflowc schema accept "
                f"{drift.object}`) and run again; nothing of `{source.name}` was loaded",
                notes(drift),
            )
        if drift.kind == "drifted":
            self._warn(drift, f"source `{source.name}`", step, "loaded")
            with self._lock:
                self._drifted_loads.add(step.id)

    def _discover(
        self, con: Connection, step: Load, substitute: Callable[[str], str]
    ) -> list[Column] | None:
        from sqlflowc.connectors import get_connector
        from sqlflowc.connectors.files.runtime import FileRuntime
        from sqlflowc.connectors.registry import plugin_guard
        from sqlflowc.connectors.runtime import ConnectorError, ReadRequest

        connector = get_connector(step.source.connector)
        if connector is None:
            return None
        params = {
            k: substitute(v) if isinstance(v, str) else v for k, v in step.source.params.items()
        }
        try:
            parsed = connector.parse(params)
            request = ReadRequest(project_dir=self.project_dir, connection=con)
            with plugin_guard(connector):
                runtime = connector.runtime()
                if isinstance(runtime, FileRuntime) and isinstance(step.mode, Replace):
                    # a CSV file the load replaces a table with: detected once, for both
                    sniffed = runtime.sniffed_scan(parsed, request)
                    if sniffed is not None:
                        with self._lock:
                            self._sniffed[step.id] = (sniffed.scan, sniffed.pinned)
                        return sniffed.columns
                return runtime.discover_schema(parsed, request)
        except (ValueError, ConnectorError, OSError):
            return None  # the load reads the source and reports what is wrong with it

    def sniffed_load(self, step: Load, statement: str) -> str | None:
        """The load's statement reading its source with what the capture's detection found
        (`FileRuntime.sniffed_scan`): the same rows and columns, without detecting again. None
        when there is none (the statement does not end with the scan that was sniffed, as a
        statement with secrets in its scan does not)."""
        with self._lock:
            found = self._sniffed.pop(step.id, None)
        if found is None:
            return None
        scan, pinned = found
        if not statement.startswith("CREATE OR REPLACE TABLE ") or not statement.endswith(
            f" AS {scan}"
        ):
            return None
        return statement[: -len(scan)] + pinned

    # ------------------------------------------------------------------ tables

    def after_write(self, step: Step) -> None:
        """Note the tables `step` wrote, to capture them with the others (`flush`)."""
        with self._lock:
            for key in _written(step):
                self._pending.pop(key.lower(), None)  # in the order last written
                self._pending[key.lower()] = (key, step)

    def before_step(self, con: Connection, step: Step) -> None:
        """Capture now the noted tables `step` may change: those it writes, every one when it
        is a barrier (its effects are unknown)."""
        with self._lock:
            if not self._pending:
                return
            if isinstance(step, Sql) and step.barrier:
                keys = list(self._pending)
            else:
                keys = [k for k in (w.lower() for w in step.writes) if k in self._pending]
            batch = [self._pending.pop(k) for k in keys]
        self._capture_tables(con, batch)

    def flush(self, con: Connection, *, background: bool = False) -> None:
        """Capture every table noted and not captured yet (when the run ends): their columns
        read now, in one catalog query; with `background`, the rest (reading the accepted
        snapshots, comparing, writing the files) in a thread of its own, so that the caller
        can close the database meanwhile; `warnings()` waits for it."""
        with self._lock:
            batch = list(self._pending.values())
            self._pending.clear()
        found = self._describe(con, batch)
        if not found:
            return
        if not background:
            self._record_tables(batch, found)
            return

        def record() -> None:
            try:
                self._record_tables(batch, found)
            except BaseException as err:  # noqa: BLE001 - re-raised by `warnings()`
                self._raised.append(err)

        self._writer = threading.Thread(target=record, name="sqlflowc-schemas")
        self._writer.start()

    def capture_tables(self, step: Step, describe: Callable[[str], list[Column] | None]) -> None:
        """Capture now every base table `step` wrote, its columns from `describe` (another
        engine's, e.g. Spark's: None for a view or a table dropped since)."""
        found = {key: describe(key) for key in _written(step)}
        self._record_tables([(key, step) for key in found], found)

    def _capture_tables(self, con: Connection, batch: list[tuple[str, Step]]) -> None:
        """Capture the base tables of `batch` (a view, or a table dropped since, is not one)."""
        found = self._describe(con, batch)
        if found:
            self._record_tables(batch, found)

    def _describe(self, con: Connection, batch: list[tuple[str, Step]]) -> dict[str, list[Column]]:
        """The columns of the base tables of `batch`; none when the catalog cannot be read now
        (nothing is recorded, the run goes on)."""
        import duckdb

        if not batch:
            return {}
        try:
            return describe_tables(con, [key for key, _ in batch])
        except duckdb.Error:
            return {}

    def _record_tables(
        self, batch: list[tuple[str, Step]], found: Mapping[str, list[Column] | None]
    ) -> None:
        policy = self.override or self.default or "warn"
        table_policy: DriftPolicy = "warn" if policy == "fail" else policy
        captured: list[tuple[str, Step]] = []
        snaps: list[tuple[Snapshot, DriftPolicy, Location]] = []
        for key, step in batch:
            columns = found.get(key)
            if columns is None:
                continue
            snap = Snapshot.capture(
                object_name("table", key),
                columns,
                origin=self.origin,
                pipeline=self.pipeline,
                run_id=self.run_id,
            )
            captured.append((key, step))
            snaps.append((snap, table_policy, step.location))
        for (key, step), drift in zip(captured, self._capture(snaps), strict=True):
            with self._lock:
                follows = key == _target(step) and step.id in self._drifted_loads
            if drift is not None and drift.kind == "drifted" and not follows:
                self._warn(drift, f"table `{key}`", step, "written")

    def _capture(
        self,
        captures: Sequence[tuple[Snapshot, DriftPolicy, Location]],
        *,
        done: Callable[[], None] | None = None,
    ) -> list[Drift | None]:
        """`drift.capture` of each snapshot, their files written together (one batch of the
        store); unreadable files and a store that cannot be written are reported as warnings
        (None: nothing of that snapshot could be recorded; the run goes on). With `done` (a
        source's capture), the files are written in a thread of their own while the caller
        goes on (its load), which calls `done` when they are; a failure to write them is a
        warning once `warnings()` has waited for it; the drift is returned as found."""
        batch = self.store.batch()
        drifts: list[Drift | None] = []
        for snap, policy, location in captures:
            try:
                drifts.append(capture(batch, snap, policy, run_id=self.run_id))
            except OSError as err:  # its history could not be read
                self._unrecorded(snap, location, err)
                drifts.append(None)
        for drift, (_, _, location) in zip(drifts, captures, strict=True):
            if drift is not None:
                self._problems(drift, location)
        if done is None:
            return self._committed(batch, captures, drifts)

        def commit() -> None:
            try:
                self._committed(batch, captures, list(drifts))
            except BaseException as err:  # noqa: BLE001 - re-raised by `warnings()`
                self._raised.append(err)
            finally:
                done()

        writer = threading.Thread(target=commit, name="sqlflowc-source-schema")
        with self._lock:  # started and noted at once: `warnings()` joins what it finds
            writer.start()
            self._sources.append(writer)
        return drifts

    def _committed(
        self,
        batch: SnapshotBatch,
        captures: Sequence[tuple[Snapshot, DriftPolicy, Location]],
        drifts: list[Drift | None],
    ) -> list[Drift | None]:
        """Commit `batch`; `drifts` with None for each snapshot whose files could not be
        written (a warning says so)."""
        failed = batch.commit()
        for i, (snap, _, location) in enumerate(captures):
            problem = failed.get(snap.object)
            if drifts[i] is not None and problem is not None:
                self._unrecorded(snap, location, problem)
                drifts[i] = None
        return drifts

    def _unrecorded(self, snap: Snapshot, location: Location, err: OSError) -> None:
        self._add(unrecorded(snap, self.store.root, location, err))

    # ------------------------------------------------------------------ reports

    def warnings(self) -> tuple[RunWarning, ...]:
        """Every warning so far, once the snapshots being written (`flush`'s, the sources')
        are on disk."""
        while True:
            with self._lock:
                writers = [*self._sources, *([self._writer] if self._writer else [])]
                self._sources.clear()
                self._writer = None
            if not writers:
                break
            for writer in dict.fromkeys(writers):
                writer.join()
        if self._raised:
            raise self._raised.pop()
        with self._lock:
            return tuple(self._warnings)

    def _add(self, warning: RunWarning) -> None:
        with self._lock:
            self._warnings.append(warning)

    def _warn(self, drift: Drift, what: str, step: Step, done: str) -> None:
        self._add(drifted(drift, what, step.location, done))

    def _problems(self, drift: Drift, location: Location) -> None:
        for warning in unusable_files(drift, location):
            self._add(warning)


def _target(step: Step) -> str | None:
    return step.target if isinstance(step, Load | CreateTable | TableUdf) else None


def _written(step: Step) -> list[str]:
    target = _target(step)
    if target is not None:
        return [target, *(w for w in step.writes if w != target)]
    return list(step.writes)


def _shown(path: str, project_dir: Path) -> str:
    """`path` relative to the project when inside it."""
    try:
        relative = os.path.relpath(path, project_dir)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
