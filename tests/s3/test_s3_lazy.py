"""s3fs (and botocore, aiobotocore, fsspec under it) is imported only when a run reads or writes
S3: never by `sqlflowc --help`, by compiling a local pipeline, or by compiling an S3 pipeline
(the compiler does not reach S3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("s3fs", "fsspec", "botocore", "aiobotocore", "boto3", "aiohttp")
PROBE = f"""
import sys
from click.testing import CliRunner
from sqlflowc.cli import cli
result = CliRunner().invoke(cli, sys.argv[1:])
assert result.exit_code == 0, result.output
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def _heavy_imports(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


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
    assert _heavy_imports(tmp_path, "--help") == "[]"
    assert _heavy_imports(tmp_path, "compile", "local.sf") == "[]"
    assert _heavy_imports(tmp_path, "compile", "remote.sf") == "[]"
