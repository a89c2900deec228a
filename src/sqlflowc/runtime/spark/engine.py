"""`SparkEngine`: the executor's engine for Spark plans (`runtime/engine.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.plan import Plan, Step, step_udfs
from sqlflowc.runtime.engine import EngineUnavailable
from sqlflowc.runtime.report import Failure, StepOutcome

if TYPE_CHECKING:
    from sqlflowc.runtime.spark.tables import Warehouse
    from sqlflowc.runtime.steps import StepContext
    from sqlflowc.runtime.udfs import UdfRuntime

__all__ = ["SparkEngine"]


class SparkEngine:
    """Runs a Spark plan on the session of `master` (or of the Spark Connect server `remote`)
    with `conf`, its tables in `warehouse`.
    `stop`: stop the session when the run ends (False keeps it for the next run in the same
    process, as the tests and benchmarks do)."""

    def __init__(
        self,
        master: str,
        warehouse: str,
        conf: Mapping[str, str],
        *,
        stop: bool = True,
        remote: str | None = None,
    ) -> None:
        self.master = master
        self.remote = remote
        self.warehouse_root = warehouse
        self.conf = dict(conf)
        self.stop = stop
        self._warehouse: Warehouse | None = None
        self._discovery: Any = None  # a DuckDB connection for the connectors' discovery

    @property
    def description(self) -> str:
        where = f"Spark Connect {self.remote}" if self.remote else f"Spark {self.master}"
        return f"{where}, warehouse {self.warehouse_root}"

    def connect(self) -> Any:
        from sqlflowc.runtime.spark.session import start
        from sqlflowc.runtime.spark.tables import Warehouse

        session = start(self.master, self.conf, remote=self.remote)
        try:
            self._warehouse = Warehouse(session, self.warehouse_root)
            self._warehouse.register_all()
        except Exception as err:  # noqa: BLE001 - Hadoop's errors come through py4j
            from sqlflowc.runtime.spark.remote import S3_HELP, missing_s3_jars

            s3 = missing_s3_jars(err, self.warehouse_root)
            raise EngineUnavailable(
                f"cannot open the Spark warehouse {self.warehouse_root}: {err}".splitlines()[0],
                S3_HELP if s3 is not None else "check the profile's engine.warehouse",
            ) from None
        return session

    def load_udfs(self, session: Any, plan: Plan) -> tuple[UdfRuntime | None, Failure | None]:
        needed = sorted({name for step in plan.steps for name in step_udfs(step)})
        if not needed:
            return None, None
        from sqlflowc.runtime.spark.udfs import register
        from sqlflowc.runtime.udfs import UdfRuntime, UdfStepError

        try:
            udfs = UdfRuntime.load(plan)
            register(session, udfs, needed)
        except UdfStepError as err:
            return None, Failure(step_id=None, message=str(err), location=None, code=err.code)
        return udfs, None

    def run_step(self, session: Any, step: Step, ctx: StepContext) -> StepOutcome:
        from sqlflowc.runtime.spark.steps import run_spark_step

        assert self._warehouse is not None, "connect() first"
        return run_spark_step(session, self._warehouse, step, ctx, self._discovery_connection)

    def _discovery_connection(self) -> Any:
        """An in-memory DuckDB connection, opened on first use: the connectors' schema
        discovery (a source's snapshot before its load) runs on one, as on DuckDB runs."""
        if self._discovery is None:
            import duckdb

            self._discovery = duckdb.connect(":memory:")
        return self._discovery

    def close(self, session: Any) -> None:
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None
        if self.stop:
            session.stop()  # its temporary views go with it
            return
        # `SHOW VIEWS`, not `catalog.listTables()`, which looks up every view's columns
        for row in session.sql("SHOW VIEWS").collect():
            if row.isTemporary:
                session.catalog.dropTempView(row.viewName)
