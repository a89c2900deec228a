"""psycopg is imported only when PostgreSQL is used: never by `sqlflowc --help`, nor by compiling
a pipeline that reads local files only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from click.testing import CliRunner
from sqlflowc.cli import cli
result = CliRunner().invoke(cli, sys.argv[1:])
assert result.exit_code == 0, result.output
print("psycopg" in sys.modules)
"""


def _imports_psycopg(cwd: Path, *args: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1] == "True"


def test_help_and_a_local_compile_do_not_import_psycopg(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "p.sf").write_text(
        'SOURCE a TYPE CSV PARAMS {"path": "data/a.csv"};\nLOAD a FROM a;\n'
        "CREATE TABLE b AS SELECT x + 1 AS y FROM a;\n"
        "EXPORT SELECT * FROM b TO 'out/b.parquet' TYPE PARQUET;\n",
        encoding="utf-8",
    )
    assert not _imports_psycopg(tmp_path, "--help")
    assert not _imports_psycopg(tmp_path, "compile", "p.sf")


def test_compiling_a_postgres_pipeline_with_a_secret_does_not_connect(tmp_path: Path) -> None:
    (tmp_path / "p.sf").write_text(
        'SOURCE o TYPE POSTGRES PARAMS {"host": "db.invalid", "password": "${PG_PASSWORD|x}", '
        '"table": "orders"};\nLOAD o FROM o;\n',
        encoding="utf-8",
    )
    assert not _imports_psycopg(tmp_path, "compile", "p.sf")
