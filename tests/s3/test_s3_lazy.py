"""s3fs (and botocore, aiobotocore, fsspec under it) is imported only when a run reads or writes
S3: never by `sqlflowc --help`, by compiling a local pipeline, or by compiling an S3 pipeline
(the compiler does not reach S3)."""

from __future__ import annotations

from pathlib import Path

from helpers import imported_modules

HEAVY = ("s3fs", "fsspec", "botocore", "aiobotocore", "boto3", "aiohttp")


def test_help_and_compiles_do_not_import_s3fs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "local.sf").write_text(
        'SOURCE a TYPE CSV PARAMS {"path": "data/a.csv"};\nLOAD a FROM a;\n'
        "EXPORT SELECT * FROM a TO 'out/a.parquet' TYPE PARQUET;\n",
        encoding="utf-8",
    )
    (tmp_path / "remote.sf").write_text(
        'SOURCE e TYPE S3 PARAMS {"uri": "s3://lake/events/*.parquet", '
        '"secret_access_key": "${LAKE_SECRET|x}", "access_key_id": "k"};\nLOAD e FROM e;\n'
        "EXPORT SELECT * FROM e TO 's3://lake/out/e.csv' TYPE CSV;\n",
        encoding="utf-8",
    )
    assert not imported_modules(tmp_path, "--help") & set(HEAVY)
    assert not imported_modules(tmp_path, "compile", "local.sf") & set(HEAVY)
    assert not imported_modules(tmp_path, "compile", "remote.sf") & set(HEAVY)
