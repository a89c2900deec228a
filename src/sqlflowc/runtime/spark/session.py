"""Starting the Spark session of a run.

`start(master, conf, app)` returns the active session (one per process, as Spark allows),
built with `master` and `conf`, the UI off unless `conf` turns it on, and the Python workers
on this interpreter (so they import the same pyarrow and the project's UDFs). A missing
PySpark, Java or master is `EngineUnavailable` with what to do.

`start(..., remote="sc://host:port")` is a Spark Connect client session instead: no JVM here,
the server's master and static settings; `conf`'s and the defaults' SQL settings are set on
the session. The client needs `pyspark[connect]` (grpcio, grpcio-status,
googleapis-common-protos, pandas, pyarrow, zstandard): without them, or when the server cannot
be reached, `EngineUnavailable` says so. `is_connect(session)` tells the two apart.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

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


def is_connect(session: object) -> bool:
    """Whether `session` is a Spark Connect client session."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def start(
    master: str, conf: Mapping[str, str], app: str = "sqlflowc", *, remote: str | None = None
) -> SparkSession:
    """The session; raises EngineUnavailable when Spark cannot start."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable(
            "cannot start Spark: PySpark is not installed",
            "install it with `pip install 'sqlflowc[spark]'` (Java 17 or later must be on PATH)",
        ) from None
    if remote is not None:
        return _connect(remote, conf)
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


# The settings of a session a Spark Connect client may set (the others are the server's).
_SQL_DEFAULTS = {k: v for k, v in _DEFAULTS.items() if k.startswith("spark.sql.")}


def _connect(remote: str, conf: Mapping[str, str]) -> SparkSession:
    """A Spark Connect session on `remote`."""
    try:  # the import checks the client's dependencies
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as err:
        raise EngineUnavailable(
            f"cannot connect to Spark Connect at {remote}: its client is not installed "
            f"({str(err).splitlines()[0]})",
            "install it with `pip install 'sqlflowc[spark-connect]'` (pyspark[connect]: "
            "grpcio, grpcio-status, googleapis-common-protos, pandas, pyarrow, zstandard)",
        ) from None
    # What PySpark's own builder does for a remote session: `pyspark.sql.functions` (udf,
    # arrow_udf) then build Spark Connect functions.
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    try:
        from pyspark.sql.connect.client.retries import DefaultPolicy

        session = ConnectSession.builder.remote(remote).getOrCreate()
        # Reach the server now, not at the first step, and give up within seconds: the
        # client's own policy retries an unreachable server for ten minutes.
        policies = session.client.get_retry_policies()
        session.client.set_retry_policies([DefaultPolicy(max_retries=3, max_backoff=2000)])
        session.sql("SELECT 1").collect()
        session.client.set_retry_policies(policies)
        for key, value in {**_SQL_DEFAULTS, **conf}.items():
            session.conf.set(key, value)
    except Exception as err:  # noqa: BLE001 - gRPC and the server's errors have no common type
        raise EngineUnavailable(
            f"cannot connect to Spark Connect at {remote}: {_reason(err)}",
            "check that the Spark Connect server is running and reachable "
            "(`$SPARK_HOME/sbin/start-connect-server.sh`, port 15002 by default)",
        ) from None
    # A Spark Connect session stands in for the classic one (PySpark types them apart).
    return cast("SparkSession", session)


def _reason(err: BaseException) -> str:
    """What went wrong, in a line: a gRPC error's status and details (it may be the cause of
    the error raised), else the error's first line."""
    seen: BaseException | None = err
    while seen is not None:
        code, details = getattr(seen, "code", None), getattr(seen, "details", None)
        if callable(code) and callable(details):
            status = getattr(code(), "name", str(code()))
            return f"{status}: {str(details()).splitlines()[0][:300]}"
        seen = seen.__cause__ or seen.__context__
    return str(err).splitlines()[0][:300]
