"""The compiler's view of PostgreSQL sources (connectors/catalog.py): several sources are
discovered together when the checks announce them, and each answer is the one asking alone
would give."""

from __future__ import annotations

from pathlib import Path

import pytest
from pgserver import PgDatabase

from sqlflowc.api import compile_source
from sqlflowc.connectors.catalog import DiscoveryCatalog
from sqlflowc.diagnostics import Code, CompileError
from sqlflowc.schema.catalog import Known


def test_prefetch_reads_every_source_once_and_answers_as_asking_alone(
    pg_db: PgDatabase, tmp_path: Path
) -> None:
    tables = [f"t{i}" for i in range(4)]
    pg_db.run(*(f"CREATE TABLE {t} (id integer NOT NULL, v{i} numeric(9,2))" for i, t in
                enumerate(tables)))  # fmt: skip
    (tmp_path / "a.csv").write_text("id,day\n1,2024-01-31\n", encoding="utf-8")
    questions = [(t, "POSTGRES", {**pg_db.params, "table": t}) for t in tables]
    questions.append(("a", "CSV", {"path": "a.csv"}))
    alone = DiscoveryCatalog(tmp_path)
    expected = [alone.source(*q) for q in questions]
    assert all(isinstance(found, Known) for found in expected)

    together = DiscoveryCatalog(tmp_path)
    together.prefetch(questions)
    pg_db.run(*(f"DROP TABLE {t}" for t in tables))  # later questions cannot reach them now
    (tmp_path / "a.csv").unlink()
    assert [together.source(*q) for q in questions] == expected


def test_a_check_with_several_postgres_sources(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.run(
        "CREATE TABLE people (id integer, name text)",
        "CREATE TABLE orders (id integer, person integer, amount numeric(9,2))",
    )
    conn = ", ".join(f'"{k}": "{v}"' for k, v in pg_db.params.items())
    text = (
        f'SOURCE people TYPE POSTGRES PARAMS {{{conn}, "table": "people"}};\n'
        f'SOURCE orders TYPE POSTGRES PARAMS {{{conn}, "table": "orders"}};\n'
        "LOAD people FROM people;\n"
        "LOAD orders FROM orders;\n"
        "CREATE TABLE totals AS SELECT p.name, sum(o.amount) AS total FROM orders o\n"
        "JOIN people p ON p.id = o.person GROUP BY p.nam;\n"
    )
    with pytest.raises(CompileError) as info:
        compile_source(
            text, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}, verify_sql=True
        )
    [d] = info.value.diagnostics
    assert d.code is Code.UNKNOWN_COLUMN and "POSTGRES source's metadata" in str(d.notes), d
    assert info.value.sources.location(d.span).endswith("p.sf:6:45")
