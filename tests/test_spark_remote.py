"""PostgreSQL and S3 on Spark without Spark: the JDBC reader's options and the s3a settings a
source's parameters (with its profile connection merged in) become (`runtime/spark/remote.py`).
The reads themselves, and the SF1002 error when the jars are missing, are in test_spark_run.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlflowc.api import compile_file
from sqlflowc.connectors import get_connector
from sqlflowc.runtime.spark.remote import jdbc_options, missing_s3_jars, s3_options
from sqlflowc.runtime.steps import Secrets

PROFILE = """\
connections:
  pg: {type: postgres, host: db.example.com, port: 6543, user: app, password: "${PGPW}", dbname: shop}
  lake: {type: s3, endpoint_url: "http://127.0.0.1:9000", access_key_id: AK, secret_access_key: "${S3SECRET}", region: eu-west-1}
"""  # noqa: E501


def _params(tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The source's parameters as the Spark run reads them: the connection's fields merged in
    by the compiler, secrets substituted from the environment."""
    monkeypatch.setenv("PGPW", "pw")
    monkeypatch.setenv("S3SECRET", "sk")
    (tmp_path / "profiles").mkdir(exist_ok=True)
    (tmp_path / "profiles" / "dev.yml").write_text(PROFILE)
    (tmp_path / "p.sf").write_text(f"{source}\nLOAD t FROM s;\n")
    plan = compile_file(tmp_path / "p.sf", engine="spark").plan
    (step,) = plan.steps
    vault = Secrets(plan.secret_vars, {}, plan.secrets, plan.secret_templates)
    return {
        k: vault.substitute(v) if isinstance(v, str) else v for k, v in step.source.params.items()
    }


def test_jdbc_options_of_a_table_from_a_profile_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _params(
        tmp_path,
        'SOURCE s TYPE POSTGRES PARAMS {"connection": "pg", "table": "Sales.Order Lines", '
        '"columns": ["id", "qty"], "batch_size": 500};',
        monkeypatch,
    )
    connector = get_connector("postgres")
    assert connector is not None
    options, columns = jdbc_options(connector.parse(params), {})
    assert options == {
        "driver": "org.postgresql.Driver",
        "url": "jdbc:postgresql://db.example.com:6543/shop",
        "user": "app",
        "password": "pw",
        "connectTimeout": "10",
        "ApplicationName": "sqlflowc",
        "fetchsize": "500",
        "dbtable": '"Sales"."Order Lines"',
    }
    assert columns == ["id", "qty"]


def test_jdbc_options_of_a_query_from_the_environment() -> None:
    connector = get_connector("postgres")
    assert connector is not None
    parsed = connector.parse({"query": "SELECT 1 AS x", "sslmode": "require"})
    env = {"PGHOST": "pg.internal", "PGUSER": "etl", "PGDATABASE": "dw", "PGPASSWORD": "x"}
    options, columns = jdbc_options(parsed, env)
    assert options["url"] == "jdbc:postgresql://pg.internal:5432/dw"
    assert (options["user"], options["password"], options["sslmode"]) == ("etl", "x", "require")
    assert options["query"] == "SELECT 1 AS x" and "dbtable" not in options
    assert columns is None


def test_s3a_settings_are_scoped_to_the_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _params(
        tmp_path,
        'SOURCE s TYPE PARQUET PARAMS {"connection": "lake", "path": "s3://bkt/x/*.parquet"};',
        monkeypatch,
    )
    assert s3_options(params, "s3a://bkt/x/*.parquet") == {
        "fs.s3a.bucket.bkt.endpoint": "http://127.0.0.1:9000",
        "fs.s3a.bucket.bkt.path.style.access": "true",
        "fs.s3a.bucket.bkt.connection.ssl.enabled": "false",
        "fs.s3a.bucket.bkt.access.key": "AK",
        "fs.s3a.bucket.bkt.secret.key": "sk",
        "fs.s3a.bucket.bkt.aws.credentials.provider": (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        ),
        "fs.s3a.bucket.bkt.endpoint.region": "eu-west-1",
    }
    # no connection: the cluster's own settings and credentials
    assert s3_options({"path": "s3://open/data.csv"}, "s3a://open/data.csv") == {}


def test_missing_s3_jars_are_recognised_and_other_errors_are_not() -> None:
    cases = {
        'org.apache.hadoop.fs.UnsupportedFileSystemException: No FileSystem for scheme "s3a"': 1,
        "java.lang.ClassNotFoundException: Class org.apache.hadoop.fs.s3a.S3AFileSystem": 1,
        "java.lang.NoClassDefFoundError: software/amazon/awssdk/core/exception/SdkException "
        "software.amazon.awssdk": 1,
        "java.io.FileNotFoundException: No such file or directory: s3a://bkt/x.csv": 0,
        "AccessDenied: S3AFileSystem 403": 0,
    }
    for text, missing in cases.items():
        found = missing_s3_jars(RuntimeError(text), "s3a://bkt/x.csv")
        assert (found is not None) == bool(missing), text
        if found is not None:
            assert found.code is not None and found.code.value == "SF1002"
            assert "hadoop-aws" in found.help
