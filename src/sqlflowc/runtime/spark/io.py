"""Sources and exports on Spark (docs/engines.md).

`read_source(session, source, project_dir)` reads a CSV, Parquet or JSON source with Spark's
readers and the source's parameters (header, delimiter, quote, escape, encoding, NULL string,
date and timestamp formats, typed columns, globs). The column types are those DuckDB gives the
same files (the connector's own schema discovery on the driver, which reads a CSV sample or a
Parquet footer, never the data), so both engines load the same types; a remote path Spark
reads and types itself. A POSTGRES source reads through Spark's JDBC reader and an `s3://`
path through `s3a://` (`remote.py`: the jars they need, and SF1002 when they are missing).

`write_export(frame, step, uri, project_dir)` writes an export as one file at the path the user
gave (Spark writes a directory of parts: one part is written to a staging directory beside the
target and moved into place, so a failed export leaves a previous file untouched); its rows are
counted as they are written (`counts.Counted`), not by running the query a second time.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.runtime.spark.types import spark_ddl
from sqlflowc.runtime.steps import StepError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["read_source", "write_export"]


def read_source(
    session: SparkSession, connector: str, params: Mapping[str, Any], project_dir: Path
) -> DataFrame:
    """The source's rows as a DataFrame."""
    from sqlflowc.connectors import get_connector

    if connector == "postgres":
        from sqlflowc.runtime.spark.remote import jdbc_reader

        return jdbc_reader(session, params)
    found = get_connector(connector)
    if found is None or connector not in ("csv", "parquet", "json"):
        raise StepError(f"the {connector.upper()} connector cannot read on Spark")
    from sqlflowc.connectors.files.base import resolve_location

    location = resolve_location(str(params["path"]), project_dir, connector)
    reader = session.read
    remote = "://" in location
    if location.startswith(("s3://", "s3a://")):
        from sqlflowc.runtime.spark.remote import require_s3a, s3_options

        location = "s3a://" + location.split("://", 1)[1]
        require_s3a(session, location)
        for key, value in s3_options(params, location).items():
            reader = reader.option(key, value)
    columns = None
    if not remote:
        discovered = found.discover_schema(params, project_dir)
        columns = [(c.name, c.type) for c in discovered] if discovered else None
    if columns:
        reader = reader.schema(spark_ddl(columns))
    try:
        if connector == "csv":
            return _csv(reader, params, location, infer=columns is None)
        if connector == "json":
            multi = params.get("format") == "array"
            return reader.option("multiLine", multi).json(location)
        frame = reader.parquet(location)
        wanted = params.get("columns")
        return frame.select(*wanted) if isinstance(wanted, list) else frame
    except Exception as err:
        from sqlflowc.runtime.spark.remote import missing_s3_jars

        missing = missing_s3_jars(err, location)
        if missing is not None:
            raise missing from None
        raise


def _csv(reader: Any, params: Mapping[str, Any], location: str, *, infer: bool) -> DataFrame:
    header = params.get("has_header", params.get("header", True))
    options: dict[str, Any] = {
        "header": bool(header) if header is not None else True,
        "sep": params.get("delimiter", ","),
        "quote": params.get("quote_char"),
        "escape": params.get("escape_char"),
        "encoding": params.get("encoding"),
        "dateFormat": _java_format(params.get("date_format")),
        "timestampNTZFormat": _java_format(params.get("timestamp_format")),
        "inferSchema": infer,
        "mode": "FAILFAST",
    }
    nulls = params.get("null_values")
    if isinstance(nulls, str):
        options["nullValue"] = nulls
    elif isinstance(nulls, list) and nulls:
        options["nullValue"] = nulls[0]
    if params.get("skip_rows"):
        raise StepError("`skip_rows` is not supported on Spark; remove the lines first")
    for key, value in options.items():
        if value is not None:
            reader = reader.option(key, value)
    frame: DataFrame = reader.csv(location)
    return frame


def _java_format(strftime: Any) -> str | None:
    """A strftime format (DuckDB's) as Java's (Spark's): `%Y-%m-%d` → `yyyy-MM-dd`."""
    if not isinstance(strftime, str):
        return None
    pairs = {
        "%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss",
        "%y": "yy", "%b": "MMM", "%B": "MMMM", "%f": "SSSSSS", "%p": "a", "%I": "hh",
    }  # fmt: skip
    out = strftime
    for a, b in pairs.items():
        out = out.replace(a, b)
    return out


def write_export(
    frame: DataFrame, fmt: str, options: Mapping[str, Any], uri: str, project_dir: Path
) -> int:
    """Write the rows to `uri` as one file; the number of rows."""
    if fmt not in ("csv", "parquet", "json"):
        raise StepError(f"{fmt.upper()} exports are not supported on Spark")
    if "://" in uri and not uri.startswith("file://"):
        raise StepError(f"exports on Spark are written to local files; cannot write {uri}")
    target = Path(uri.removeprefix("file://"))
    target = target if target.is_absolute() else project_dir / target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.sqlflow-{secrets.token_hex(4)}"
    from sqlflowc.runtime.spark.counts import Counted

    counted = Counted(frame)  # counted as it is written: no second run of the query
    writer = counted.frame.coalesce(1).write.mode("overwrite")
    compression = options.get("compression")
    if compression and compression not in ("auto", "none"):
        writer = writer.option("compression", compression)
    try:
        if fmt == "csv":
            writer = writer.option("header", bool(options.get("header", True)))
            writer = writer.option("sep", options.get("delimiter", ","))
            if options.get("quote"):
                writer = writer.option("quote", options["quote"])
            if options.get("date_format"):
                writer = writer.option("dateFormat", _java_format(options["date_format"]))
            writer = writer.option("timestampNTZFormat", "yyyy-MM-dd HH:mm:ss[.SSSSSS]")
            writer = writer.option("emptyValue", "")
            writer.csv(str(staging))
        elif fmt == "json":  # as DuckDB writes it: NULL fields kept, timestamps as text
            writer = writer.option("ignoreNullFields", False)
            writer = writer.option("timestampNTZFormat", "yyyy-MM-dd HH:mm:ss[.SSSSSS]")
            writer.json(str(staging))
        else:
            writer.parquet(str(staging))
        parts = sorted(p for p in staging.iterdir() if p.name.startswith("part-"))
        if len(parts) != 1:
            raise StepError(f"internal error: Spark wrote {len(parts)} parts for {uri}")
        rows = counted.rows()
        if rows is None:  # Spark did not report the count
            rows = int(frame.count())
        os.replace(parts[0], target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows
