"""docs/connectors/s3.md tells the truth: its profile and its pipelines run, in order, against a
real S3-protocol server (moto), and do what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from s3pipelines import put, put_table

from helpers import sql, sqlflowc
from s3server import ACCESS_KEY, SECRET_KEY, MotoServer

DOC = Path(__file__).parents[2] / "docs" / "connectors" / "s3.md"
BUCKET = "shop-lake"


def blocks(info: str) -> list[str]:
    return re.findall(rf"^```{info}\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.S | re.M)


def test_the_pages_pipelines_run_against_s3(
    s3_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (profile_text,) = blocks("yaml")
    profile = yaml.safe_load(profile_text)
    lake = profile["connections"]["lake"]
    assert lake["secret_access_key"] == "${LAKE_SECRET}"
    lake["endpoint_url"] = s3_server.endpoint
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "dev.yml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    monkeypatch.setenv("LAKE_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("LAKE_SECRET", SECRET_KEY)
    s3_server.filesystem().mkdir(BUCKET)
    try:
        for part in range(2):
            put_table(
                s3_server,
                f"s3://{BUCKET}/orders/part-{part}.parquet",
                f"SELECT {part} * 10 + i AS id, DATE '2024-05-01' + (i % 3)::INT AS day, "
                f"(i * 25.5)::DECIMAL(12,2) AS amount FROM range(10) t(i)",
                "parquet",
                tmp_path,
            )
        for year in (2023, 2024):
            put(s3_server, f"s3://{BUCKET}/sales/year={year}/s.csv", b"id;amount\n1;2.50\n2;\n")
        put(s3_server, f"s3://{BUCKET}/events/2024/e.json", b'{"id": 1}\n{"id": 2}\n')
        outputs = []
        for i, text in enumerate(blocks("sqlflow")):
            path = tmp_path / f"doc_{i}.sf"
            path.write_text(text, encoding="utf-8")
            monkeypatch.chdir(tmp_path)
            done = sqlflowc("run", path.name)
            assert done.exit_code == 0, done.output
            outputs.append(done.output)
        db = tmp_path / "target" / "dev.duckdb"
        assert sql(db, "SELECT count(*), count(DISTINCT day) FROM orders") == [(20, 3)]
        assert sql(db, "SELECT year, count(amount) FROM sales GROUP BY ALL ORDER BY 1") == [
            (2023, 1),
            (2024, 1),
        ]
        assert sql(db, "SELECT sum(id) FROM events") == [(3,)]
        fs = s3_server.filesystem()
        keys = {k.removeprefix(f"{BUCKET}/") for k in fs.find(BUCKET)}
        assert {"reports/daily.parquet", "reports/big_days.csv", "by_day/_SUCCESS"} <= keys
        assert len([k for k in keys if k.startswith("by_day/day=")]) == 3
        for out in outputs:
            assert SECRET_KEY not in out
        for written in (tmp_path / "target").rglob("*"):
            if written.is_file() and written.suffix != ".duckdb":
                assert SECRET_KEY not in written.read_text(errors="replace"), written
    finally:
        fs = s3_server.filesystem()
        fs.rm(BUCKET, recursive=True)
