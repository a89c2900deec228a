"""Running a plan on Apache Spark (docs/engines.md): `SparkEngine`, the executor's engine
(`runtime/engine.py`) for a plan compiled with `engine = "spark"`.

PySpark is imported only here, when a run uses Spark: `session.py` starts the session,
`tables.py` keeps the warehouse's Parquet tables (each a directory, written to a staging
directory and swapped in), `io.py` reads sources and writes exports, `loads.py` carries out
the load modes, `udfs.py` registers Python UDFs and `steps.py` runs one step.
"""

from __future__ import annotations

from sqlflowc.runtime.spark.engine import SparkEngine

__all__ = ["SparkEngine"]
