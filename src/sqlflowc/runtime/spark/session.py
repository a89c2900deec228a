"""Starting the Spark session of a run.

`start(master, conf, app)` returns the active session (one per process, as Spark allows),
built with `master` and `conf`, the UI off unless `conf` turns it on, and the Python workers
on this interpreter (so they import the same pyarrow and the project's UDFs). A missing
PySpark, Java or master is `EngineUnavailable` with what to do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlflowc.runtime.engine import EngineUnavailable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["start"]

_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def start(master: str, conf: Mapping[str, str], app: str = "sqlflowc") -> SparkSession:
    """The session; raises EngineUnavailable when Spark cannot start."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable(
            "cannot start Spark: PySpark is not installed",
            "install it with `pip install 'sqlflowc[spark]'` (Java 17 or later must be on PATH)",
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app).master(master)
    for key, value in {**_DEFAULTS, **conf}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as err:  # noqa: BLE001 - py4j and Java start-up errors have no common type
        raise EngineUnavailable(
            f"cannot start Spark (master {master}): {str(err).splitlines()[0]}",
            "check that Java 17 or later is on PATH (or JAVA_HOME is set) and that the master "
            "URL is reachable",
        ) from None
    session.sparkContext.setLogLevel("OFF")  # failures are the steps' diagnostics
    return session
