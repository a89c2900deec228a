"""Heavy clients load only when a run uses them: `sqlflowc --help`, `connect list` and compiling
a pipeline that reads and writes local files import no PostgreSQL driver and no S3 client.
Each command runs in a fresh interpreter, which then reports what it imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import imported_modules

HEAVY = (
    "psycopg",
    "adbc_driver_manager",
    "adbc_driver_postgresql",
    "s3fs",
    "boto3",
    "botocore",
    "aiobotocore",
)


@pytest.fixture
def local_project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "p.sf").write_text(
        'SOURCE a TYPE CSV PARAMS {"path": "data/a.csv"};\nLOAD a FROM a;\n'
        "CREATE TABLE b AS SELECT x + 1 AS y FROM a;\n"
        "EXPORT SELECT * FROM b TO 'out/b.parquet' TYPE PARQUET;\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [("--help",), ("connect", "list"), ("compile", "p.sf"), ("check", "p.sf")],
    ids=lambda a: " ".join(a),
)
def test_no_heavy_client_is_imported(local_project: Path, args: tuple[str, ...]) -> None:
    found = imported_modules(local_project, *args)
    assert "sqlflowc" in found  # the probe sees what it should
    assert not found & set(HEAVY), f"sqlflowc {' '.join(args)} imported {found & set(HEAVY)}"
