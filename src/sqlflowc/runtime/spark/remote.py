"""PostgreSQL and S3 sources on Spark, through the jars a cluster may have (docs/engines.md).

- `jdbc_reader(session, params)`: a POSTGRES source read by Spark's JDBC reader, its options
  from the source's parameters (the profile connection's fields merged in by the compiler,
  secrets substituted): `url` `jdbc:postgresql://host:port/dbname` (host, port and database as
  libpq would resolve them: the fields, then a DSN's, then the PG* variables), `user`,
  `password`, `sslmode`, `connectTimeout`, `ApplicationName`, `fetchsize` (`batch_size`), and
  `dbtable` (the table, each part double-quoted: names are taken literally, as on DuckDB) or
  `query`; `columns` are selected after. Column types are those of Spark's JDBC reader.
- `s3_options(params, location)`: the Hadoop settings of an `s3a://` read, for its bucket only
  (`fs.s3a.bucket.<bucket>.*`: endpoint, keys, session token, region, path-style access for an
  S3-protocol server), given as reader options, which Spark hands to Hadoop for that read.
- Missing jars are `StepFailure`s with SF1002 naming what to add: the PostgreSQL driver class
  (`org.postgresql.Driver`) and `S3AFileSystem` are looked up before reading (a Spark Connect
  client cannot look: there, the read's error is recognised); an error naming
  a class of the AWS SDK (hadoop-aws without its SDK) or `No FileSystem for scheme "s3a"` met
  during the read is reported the same way (`missing_s3_jars`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlflowc.diagnostics import Code, StepFailure

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sqlflowc.connectors.postgres.params import SourceParams

__all__ = [
    "JDBC_HELP",
    "S3_HELP",
    "has_class",
    "jdbc_options",
    "jdbc_reader",
    "missing_s3_jars",
    "require_s3a",
    "s3_options",
]

JDBC_DRIVER = "org.postgresql.Driver"
JDBC_HELP = (
    "start Spark with the PostgreSQL JDBC driver: `spark.jars.packages: "
    "org.postgresql:postgresql:42.7.4` (or a path in `spark.jars`) in the profile's engine.conf "
    "(docs/engines.md)"
)
S3A_CLASS = "org.apache.hadoop.fs.s3a.S3AFileSystem"
S3_HELP = (
    "start Spark with hadoop-aws of the cluster's Hadoop version and its AWS SDK: "
    "`spark.jars.packages: org.apache.hadoop:hadoop-aws:<Hadoop version>` in the profile's "
    "engine.conf (docs/engines.md)"
)


def has_class(session: SparkSession, name: str) -> bool:
    """Whether the driver can load class `name` (through Spark's class loader, which sees the
    jars of `spark.jars` and `spark.jars.packages`, as the JDBC reader does)."""
    from sqlflowc.runtime.spark.session import is_connect

    if is_connect(session):
        return True  # a client cannot look: a missing jar is recognised by its error instead
    jvm: Any = session.sparkContext._jvm
    try:
        jvm.org.apache.spark.util.Utils.classForName(name, True, False)
    except Exception:  # noqa: BLE001 - py4j wraps Java's ClassNotFoundException in its own error
        return False
    return True


def jdbc_reader(session: SparkSession, params: Mapping[str, Any]) -> DataFrame:
    """The rows of a POSTGRES source, read over JDBC (see the module docstring)."""
    from sqlflowc.connectors import get_connector

    if not has_class(session, JDBC_DRIVER):
        raise _no_driver()
    connector = get_connector("postgres")
    assert connector is not None, "a built-in connector"
    options, columns = jdbc_options(connector.parse(params), os.environ)
    reader = session.read.format("jdbc")
    for key, value in options.items():
        reader = reader.option(key, value)
    try:
        frame: DataFrame = reader.load()
    except Exception as err:
        text = str(err)
        if JDBC_DRIVER in text or "No suitable driver" in text:
            raise _no_driver() from None
        raise
    return frame.select(*columns) if columns else frame


def _no_driver() -> StepFailure:
    return StepFailure(
        "cannot read from PostgreSQL on Spark: the cluster has no PostgreSQL JDBC driver "
        f"({JDBC_DRIVER})",
        Code.ENGINE_UNAVAILABLE,
        JDBC_HELP,
    )


def jdbc_options(
    parsed: SourceParams, environ: Mapping[str, str]
) -> tuple[dict[str, str], list[str] | None]:
    """The JDBC reader's options for a POSTGRES source, and the columns to keep (None: all)."""
    from sqlflowc.connectors.postgres.params import endpoint

    where = endpoint(parsed, environ)
    options: dict[str, Any] = {
        "driver": JDBC_DRIVER,
        "url": f"jdbc:postgresql://{where.host}:{where.port}/{where.dbname}",
        "user": parsed.user_name or environ.get("PGUSER"),
        "password": parsed.password or environ.get("PGPASSWORD"),
        "sslmode": parsed.sslmode,
        "connectTimeout": parsed.connect_timeout,
        "ApplicationName": parsed.application_name or "sqlflowc",
        "fetchsize": parsed.batch_size,
    }
    relation = parsed.relation
    if relation is not None:
        options["dbtable"] = f"{_pg_quote(relation.schema)}.{_pg_quote(relation.name)}"
    else:
        options["query"] = parsed.query
    given = {k: str(v) for k, v in options.items() if v is not None and v != ""}
    return given, parsed.columns


def _pg_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def require_s3a(session: SparkSession, location: str) -> None:
    """Raise SF1002 when the session cannot read `s3a://` (no hadoop-aws)."""
    if not has_class(session, S3A_CLASS):
        raise StepFailure(
            f"cannot read {location} on Spark: the cluster has no S3 file system ({S3A_CLASS}, "
            "from hadoop-aws)",
            Code.ENGINE_UNAVAILABLE,
            S3_HELP,
        )


def missing_s3_jars(error: BaseException, location: str) -> StepFailure | None:
    """SF1002 when `error` (raised by a read of `location`) says a jar of S3 is missing."""
    text = str(error)
    markers = (
        "No FileSystem for scheme",
        "S3AFileSystem",
        "com.amazonaws",
        "software.amazon.awssdk",
    )
    if not any(m in text for m in markers) or not (
        "ClassNotFound" in text or "NoClassDefFound" in text or "No FileSystem" in text
    ):
        return None
    return StepFailure(
        f"cannot read {location} on Spark: a jar S3 needs is missing ({_first_line(text)})",
        Code.ENGINE_UNAVAILABLE,
        S3_HELP,
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:200] if lines else "no message"


def s3_options(params: Mapping[str, Any], location: str) -> dict[str, str]:
    """The Hadoop settings for reading `location` (`s3a://bucket/...`) with the source's S3
    fields, scoped to its bucket."""
    from sqlflowc.connectors.s3.params import split_s3

    bucket, _ = split_s3(location)
    prefix = f"fs.s3a.bucket.{bucket}."
    out: dict[str, str] = {}
    endpoint = params.get("endpoint_url")
    if isinstance(endpoint, str) and endpoint:
        out[prefix + "endpoint"] = endpoint
        out[prefix + "path.style.access"] = "true"  # MinIO and the like
        out[prefix + "connection.ssl.enabled"] = str(endpoint.startswith("https://")).lower()
    key, secret = params.get("access_key_id"), params.get("secret_access_key")
    if key and secret:
        out[prefix + "access.key"] = str(key)
        out[prefix + "secret.key"] = str(secret)
        token = params.get("session_token")
        if token:
            out[prefix + "session.token"] = str(token)
            out[prefix + "aws.credentials.provider"] = (
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
            )
        else:
            out[prefix + "aws.credentials.provider"] = (
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
            )
    region = params.get("region")
    if region:
        out[prefix + "endpoint.region"] = str(region)
    return out
