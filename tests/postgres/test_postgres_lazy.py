"""psycopg is imported only when PostgreSQL is used: not even by compiling a PostgreSQL pipeline
(`tests/test_lazy_imports.py`: nor by `sqlflowc --help` or a local pipeline's compile)."""

from __future__ import annotations

from pathlib import Path

from helpers import imported_modules


def test_compiling_a_postgres_pipeline_with_a_secret_does_not_connect(tmp_path: Path) -> None:
    (tmp_path / "p.sf").write_text(
        'SOURCE o TYPE POSTGRES PARAMS {"host": "db.invalid", "password": "${PG_PASSWORD|x}", '
        '"table": "orders"};\nLOAD o FROM o;\n',
        encoding="utf-8",
    )
    found = imported_modules(tmp_path, "compile", "p.sf")
    assert "sqlflowc" in found and "psycopg" not in found
