"""EXPORT to S3 (a real moto server): one object uploaded whole, partitioned exports with
`_SUCCESS` last, `TYPE S3` sources and exports, and a server stopped mid-export — a retry or a
clean failure, each retry reported, the previous object untouched."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import Result
from s3pipelines import get, lake, project, put, run

from helpers import sql
from s3server import SECRET_KEY, CuttingProxy, MotoServer


def test_export_parquet_and_csv_then_read_back_with_type_s3(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    path = project(
        tmp_path,
        "CREATE TABLE t AS SELECT i AS id, 'v' || i AS v FROM range(100) r(i);\n"
        f"EXPORT t TO 's3://{s3_bucket}/out/t.parquet' TYPE PARQUET "
        '{"connection": "lake", "compression": "zstd"};\n'.replace("{", "OPTIONS {", 1)
        + f"EXPORT SELECT * FROM t WHERE id < 10 TO 's3://{s3_bucket}/out/t.csv' TYPE CSV "
        'OPTIONS {"connection": "lake", "delimiter": "|"};\n'
        f'SOURCE back TYPE S3 PARAMS {{"bucket": "{s3_bucket}", "key": "out/t.parquet", '
        '"connection": "lake"};\n'
        "LOAD t_back FROM back;\n",
        lake(s3_server),
    )
    result = run(path)
    assert result.exit_code == 0, result.output
    table = pq.read_table(io.BytesIO(get(s3_server, f"s3://{s3_bucket}/out/t.parquet")))
    assert table.num_rows == 100 and table.column_names == ["id", "v"]
    assert get(s3_server, f"s3://{s3_bucket}/out/t.csv").decode().splitlines()[:2] == [
        "id|v",
        "0|v0",
    ]
    assert sql(tmp_path / "target" / "dev.duckdb", "SELECT count(*) FROM t_back") == [(100,)]
    assert SECRET_KEY not in result.output


def test_partitioned_export_writes_success_last(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    put(s3_server, f"s3://{s3_bucket}/sales/year=1999/stale.parquet", b"old")
    path = project(
        tmp_path,
        "CREATE TABLE s AS SELECT i AS id, 2020 + i % 3 AS year FROM range(30) r(i);\n"
        f"EXPORT s TO 's3://{s3_bucket}/sales/' TYPE S3 "
        '{"connection": "lake", "format": "parquet", "partition_by": ["year"]};\n'.replace(
            "{", "OPTIONS {", 1
        )
        + f'SOURCE back TYPE S3 PARAMS {{"uri": "s3://{s3_bucket}/sales/*/*.parquet", '
        '"connection": "lake"};\n'
        "LOAD back_t FROM back;\n",
        lake(s3_server),
    )
    result = run(path)
    assert result.exit_code == 0, result.output
    fs = s3_server.filesystem()
    found = fs.find(f"{s3_bucket}/sales", detail=True)
    keys = sorted(k.split("/sales/", 1)[1] for k in found)
    assert keys[0] == "_SUCCESS" and "year=1999/stale.parquet" not in keys
    assert {k.split("/")[0] for k in keys[1:]} == {"year=2020", "year=2021", "year=2022"}
    written = {k.split("/sales/", 1)[1]: info["LastModified"] for k, info in found.items()}
    assert written["_SUCCESS"] >= max(written.values())
    db = tmp_path / "target" / "dev.duckdb"
    assert sql(db, "SELECT year, count(*) FROM back_t GROUP BY ALL ORDER BY 1") == [
        (2020, 10),
        (2021, 10),
        (2022, 10),
    ]


def _stopped_mid_export(
    server: MotoServer, bucket: str, tmp_path: Path, retries: int, down_for: float | None
) -> tuple[Result, CuttingProxy, str]:
    """Export ~20 MB of CSV over an old object through a proxy that stops 2 MB into the upload."""
    target = f"s3://{bucket}/out/big.csv"
    put(server, target, b"id\nold\n")
    proxy = CuttingProxy(server.port, cut_after=2 * 2**20, down_for=down_for)
    try:
        conn = {"lake": {"type": "s3", **server.params, "endpoint_url": proxy.endpoint}}
        path = project(
            tmp_path,
            "CREATE TABLE big AS SELECT i AS id, md5(i::VARCHAR) AS h FROM range(500000) r(i);\n"
            f"EXPORT big TO '{target}' TYPE CSV "
            f'OPTIONS {{"connection": "lake", "retries": {retries}, "retry_delay": 0.5}};\n',
            conn,
        )
        return run(path), proxy, target
    finally:
        proxy.close()


def test_server_stopped_mid_export_fails_cleanly_and_leaves_the_object(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    result, proxy, target = _stopped_mid_export(s3_server, s3_bucket, tmp_path, 0, None)
    assert proxy.cuts == 1
    assert result.exit_code != 0, result.output
    assert "connection `lake`" in result.output and "p.sf:2:1" in result.output
    assert SECRET_KEY not in result.output
    assert get(s3_server, target) == b"id\nold\n"


def test_server_back_after_a_stop_mid_export_is_retried(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    # five attempts with backoff from 0.5 s span ~15 s: the 1 s outage ends within them even on a
    # loaded machine
    result, proxy, target = _stopped_mid_export(s3_server, s3_bucket, tmp_path, 5, 1.0)
    assert result.exit_code == 0, result.output
    assert proxy.cuts == 1, result.output
    assert "export_big  retrying (1/5)" in result.output, result.output
    lines = get(s3_server, target).decode().splitlines()
    assert lines[0] == "id,h" and len(lines) == 500001


def test_local_partitioned_export_replaces_the_directory_with_success(tmp_path: Path) -> None:
    out = tmp_path / "out" / "sales"
    (out / "year=1999").mkdir(parents=True)
    (out / "year=1999" / "stale.csv").write_text("old\n")
    path = project(
        tmp_path,
        "CREATE TABLE s AS SELECT i AS id, 2020 + i % 2 AS year FROM range(10) r(i);\n"
        'EXPORT s TO \'out/sales\' TYPE CSV OPTIONS {"partition_by": ["year"]};\n',
    )
    result = run(path)
    assert result.exit_code == 0, result.output
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert found == ["_SUCCESS", "year=2020/data_0.csv", "year=2021/data_0.csv"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".sqlflowc-")]


def test_no_retry_beyond_the_steps_own_when_the_server_is_back_at_once(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    # The connection is cut mid-upload and the server answers again at once. With `retries: 0`
    # nothing may try again: aiohttp would resend an idempotent PUT on its own, unreported.
    result, proxy, target = _stopped_mid_export(s3_server, s3_bucket, tmp_path, 0, 0.0)
    assert proxy.cuts == 1, result.output
    assert result.exit_code != 0, result.output
    assert "retrying" not in result.output, result.output
    assert get(s3_server, target) == b"id\nold\n"
