"""Reading CSV, Parquet and JSON from S3 (a real moto server over HTTP): `TYPE PARQUET` with an
`s3://` path, globs, hive partitions, the CSV parameters, credentials from a profile connection
or the AWS environment, and S3's own errors for a missing bucket or key."""

from __future__ import annotations

from pathlib import Path

import pytest
from s3pipelines import lake, project, put, put_table, run

from helpers import sql, sqlflowc
from s3server import SECRET_KEY, MotoServer


def test_parquet_path_on_s3_with_a_profile_connection(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    select = (
        "SELECT i AS id, 'n' || i AS name, DATE '2024-01-01' + i::INT AS day FROM range(5) t(i)"
    )
    put_table(s3_server, f"s3://{s3_bucket}/in/orders.parquet", select, "parquet", tmp_path)
    path = project(
        tmp_path,
        f'SOURCE o TYPE PARQUET PARAMS {{"path": "s3://{s3_bucket}/in/orders.parquet", '
        '"connection": "lake"};\nLOAD orders FROM o;\n',
        lake(s3_server),
    )
    result = run(path)
    assert result.exit_code == 0, result.output
    rows = sql(
        tmp_path / "target" / "dev.duckdb", "SELECT id, name, day::VARCHAR FROM orders ORDER BY id"
    )
    assert rows[0] == (0, "n0", "2024-01-01") and len(rows) == 5
    plan = sqlflowc("compile", str(path))
    assert SECRET_KEY not in plan.output + result.output


def test_csv_glob_and_hive_partitions(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    for year in (2023, 2024):
        body = f"id;amount;day\n1;1.5;{year}-01-02\n2;;{year}-03-04\n".encode()
        put(s3_server, f"s3://{s3_bucket}/sales/year={year}/part.csv", body)
    path = project(
        tmp_path,
        f'SOURCE s FROM "lake" OPTIONS {{"path": "s3://{s3_bucket}/sales/*/*.csv", '
        '"delimiter": ";", "columns": {"amount": "DECIMAL(10,2)"}};\nLOAD sales FROM s;\n',
        {"lake": {"type": "csv", **s3_server.params}},
    )
    result = run(path)
    assert result.exit_code == 0, result.output
    db = tmp_path / "target" / "dev.duckdb"
    types = dict(
        sql(
            db,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'sales'",
        )
    )
    assert types["amount"] == "DECIMAL(10,2)" and types["day"] == "DATE"
    assert types["year"] == "BIGINT"
    assert sql(
        db, "SELECT year, count(*), count(amount) FROM sales GROUP BY ALL ORDER BY year"
    ) == [
        (2023, 2, 1),
        (2024, 2, 1),
    ]


def test_json_directory_with_the_aws_environment(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        put(
            s3_server,
            f"s3://{s3_bucket}/events/e{i}.json",
            f'{{"id": {i}, "kind": "k{i}"}}\n'.encode(),
        )
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    path = project(
        tmp_path,
        f'SOURCE e TYPE JSON PARAMS {{"path": "s3://{s3_bucket}/events/", '
        f'"endpoint_url": "{s3_server.endpoint}"}};\n'
        "LOAD events FROM e;\n",
    )
    result = run(path)
    assert result.exit_code == 0, result.output
    assert sql(tmp_path / "target" / "dev.duckdb", "SELECT sum(id), count(*) FROM events") == [
        (3, 3)
    ]


def test_missing_bucket_and_key_fail_at_once_with_s3s_words(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    path = project(
        tmp_path,
        'SOURCE a TYPE PARQUET PARAMS {"path": "s3://no-such-bucket-here/x.parquet", '
        '"connection": "lake", "retry_delay": 30};\n'
        "LOAD a_t FROM a;\n",
        lake(s3_server),
    )
    result = run(path)
    assert result.exit_code != 0
    assert "NoSuchBucket" in result.output and "no-such-bucket-here" in result.output
    assert "connection `lake`" in result.output and "p.sf:2:1" in result.output
    assert "retrying" not in result.output and SECRET_KEY not in result.output
    path.write_text(
        f'SOURCE a TYPE PARQUET PARAMS {{"path": "s3://{s3_bucket}/missing.parquet", '
        '"connection": "lake"};\n'
        "LOAD a_t FROM a;\n"
    )
    result = run(path)
    assert result.exit_code != 0
    assert f"no object `s3://{s3_bucket}/missing.parquet`" in result.output


def test_connect_test_lists_buckets_and_objects(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(s3_server, f"s3://{s3_bucket}/a/x.csv", b"id\n1\n")
    connections = {**lake(s3_server), "inbox": {"type": "s3", **s3_server.params}}
    connections["inbox"]["bucket"] = s3_bucket
    connections["wrong"] = {**connections["inbox"], "bucket": "no-such-bucket-here"}
    project(tmp_path, "", connections)
    monkeypatch.chdir(tmp_path)
    result = sqlflowc("connect", "test", "lake")
    assert result.exit_code == 0, result.output
    assert s3_bucket in result.output and SECRET_KEY not in result.output
    result = sqlflowc("connect", "test", "inbox")
    assert result.exit_code == 0, result.output
    assert f"{s3_bucket}/a" in result.output
    assert f"server: S3 {s3_server.endpoint}: bucket `{s3_bucket}` (1 entry)" in result.output
    result = sqlflowc("connect", "test", "wrong")
    assert result.exit_code == 1, result.output
    assert "NoSuchBucket" in result.output and SECRET_KEY not in result.output


def test_an_s3_sources_schema_is_discovered_before_its_data_moves(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{s3_bucket}/in/orders.parquet"
    put_table(s3_server, uri, "SELECT i AS id, 'n' AS name FROM range(3) t(i)", "parquet", tmp_path)
    path = project(
        tmp_path,
        f'SOURCE o TYPE PARQUET PARAMS {{"path": "{uri}", "connection": "lake", '
        '"schema_drift": "fail"};\nLOAD orders FROM o;\n',
        lake(s3_server),
    )
    result = run(path)
    assert result.exit_code == 0, result.output
    put_table(s3_server, uri, "SELECT 'x' || i AS id FROM range(5) t(i)", "parquet", tmp_path)
    result = run(path)
    assert result.exit_code != 0
    assert "SF0709" in result.output and "name" in result.output, result.output
    db = tmp_path / "target" / "dev.duckdb"
    assert sql(db, "SELECT count(*) FROM orders") == [(3,)]  # nothing moved
