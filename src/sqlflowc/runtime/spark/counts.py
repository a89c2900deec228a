"""Exact row counts of what a Spark write wrote, from the write itself.

`Counted(frame)` wraps a DataFrame in a Spark `Observation` counting its rows: the count is
taken while the write runs, in the same job, instead of by a second job that runs the query
again (a table's stage, an export). `rows()` after the write is that count. When the metric
did not arrive (it does on classic Spark and Spark Connect alike; this is a safeguard, since
waiting for a metric that never comes would hang the run), `rows()` is None and the caller
counts what was written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["Counted"]

_METRIC = "sqlflow_rows"


class Counted:
    """`frame`, counted as an action runs it: write `.frame`, then read `rows()`."""

    def __init__(self, frame: DataFrame) -> None:
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        self._observation: Any = Observation()
        self.frame: DataFrame = frame.observe(self._observation, F.count(F.lit(1)).alias(_METRIC))

    def rows(self) -> int | None:
        """The rows the action that ran `.frame` saw; None when Spark did not report them.
        Call after the action has returned."""
        job = getattr(self._observation, "_jo", None)  # classic: the JVM's Observation
        if job is not None and not job.future().isCompleted():
            return None  # `get` would wait for a metric that is not coming
        value = self._observation.get.get(_METRIC)
        return int(value) if value is not None else None
