"""Table names follow DuckDB's rule everywhere: case-insensitive whether quoted or not, `main.`
optional; names the SQL grammar reserves still work as table names; the tool's own names are
reserved for it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from helpers import sqlflowc
from sqlflowc.api import Compilation, compile_source
from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.names import is_reserved, parts_key, table_key
from sqlflowc.schema.catalog import MappingCatalog
from sqlflowc.schema.model import Column


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("id,name\n1,a\n2,b\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def compiled(text: str, project: Path) -> Compilation:
    return compile_source(text, str(project / "p.sf"), project_dir=project)


def errors(text: str, project: Path) -> list[Diagnostic]:
    with pytest.raises(CompileError) as err:
        compiled(text, project)
    return [d for d in err.value.diagnostics if d.is_error]


def depends_on(comp: Compilation) -> dict[str, tuple[str, ...]]:
    return {s.id: s.depends_on for s in comp.plan.steps}


def tables(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        # Not sqlflowc's own (the commit marks of the run's record).
        names = (r[0] for r in con.execute("SHOW TABLES").fetchall())
        return sorted(n for n in names if not n.startswith("_sqlflow_"))
    finally:
        con.close()


# ------------------------------------------------------------------ the one rule


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("foo", "foo"),
        ('"Foo"', "foo"),
        ("FOO", "foo"),
        ("main.Foo", "foo"),
        ('main."FOO"', "foo"),
        ("s.T", "s.t"),
        ('"a.b"', '"a.b"'),  # one table, not table b of schema a
        ("a.b", "a.b"),
        ('"select"', "select"),
        ('"É"', '"É"'),  # DuckDB folds ASCII letters only
        ('"my table"', '"my table"'),
    ],
)
def test_table_key(written: str, key: str) -> None:
    assert table_key(written) == key


def test_keys_agree_with_duckdb() -> None:
    """Two names have one key exactly when DuckDB finds the same table by both."""
    names = ['"Foo"', "foo", '"FOO"', '"a.b"', '"É"', '"é"', '"select"', '"x y"']
    con = duckdb.connect()
    con.execute("CREATE SCHEMA a")
    for name in names:
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT {name!r} AS created_as")
    con.execute("CREATE TABLE IF NOT EXISTS a.b AS SELECT 'a.b' AS created_as")
    for a in [*names, "a.b"]:
        for b in [*names, "a.b"]:
            same = (
                con.execute(f"SELECT created_as FROM {a}").fetchall()
                == con.execute(f"SELECT created_as FROM {b}").fetchall()
            )
            assert (table_key(a) == table_key(b)) == same, (a, b)


def test_parts_key_is_table_key_of_the_parts() -> None:
    assert parts_key(["main", "Foo"]) == table_key('main."Foo"') == "foo"
    assert parts_key(["a.b"]) == table_key('"a.b"')


def test_catalog_uses_the_same_rule() -> None:
    catalog = MappingCatalog({'"Users"': [Column("id", "INTEGER")]}, origin="test")
    assert catalog.table("users") is not None
    assert catalog.table('main."USERS"') is not None
    assert catalog.table('"É"') is None


# ------------------------------------------------------------------ dependencies


def test_quoted_mixed_case_name_keeps_its_dependency_edge(project: Path) -> None:
    comp = compiled(
        'CREATE TABLE "Foo" AS SELECT 1 AS a;\nCREATE TABLE bar AS SELECT * FROM "Foo";\n'
        "CREATE TABLE baz AS SELECT * FROM FOO;\n",
        project,
    )
    assert depends_on(comp) == {
        "table_foo": (),
        "table_bar": ("table_foo",),
        "table_baz": ("table_foo",),
    }
    assert [w.code for w in comp.warnings] == []


def test_continue_does_not_run_a_dependent_on_a_stale_table(project: Path) -> None:
    (project / "p.sf").write_text(
        'CREATE TABLE "Foo" AS SELECT 1 / ${d} AS a;\nCREATE TABLE bar AS SELECT * FROM "Foo";\n'
    )
    assert sqlflowc("run", "p.sf", "--var", "d=1").exit_code == 0
    result = sqlflowc("run", "p.sf", "--var", "d='x'", "--continue")
    assert result.exit_code == 3
    assert "table_bar  skipped: depends on failed step `table_foo`" in result.output


# ------------------------------------------------------------------ reserved words as names


def test_sql_keywords_are_table_names_that_run(project: Path) -> None:
    (project / "p.sf").write_text(
        'SOURCE s TYPE csv PARAMS {"path": "data/rows.csv"};\n'
        "LOAD order FROM s;\n"
        "LOAD group FROM s MODE MERGE KEY (id);\n"
        'CREATE TABLE select AS SELECT * FROM "order";\n'
        'CREATE VIEW from AS SELECT * FROM "select";\n'
        'CREATE TABLE limit MODE APPEND AS SELECT * FROM "from";\n'
        'EXPORT "limit" TO "target/limit.csv" TYPE csv;\n'
    )
    checked = sqlflowc("check", "p.sf")
    assert checked.exit_code == 0, checked.stderr
    first = sqlflowc("run", "p.sf")
    assert first.exit_code == 0, first.output + first.stderr
    again = sqlflowc("run", "p.sf")  # the second run appends and merges into existing tables
    assert again.exit_code == 0, again.output + again.stderr
    db = project / "target" / "sqlflow.duckdb"
    assert tables(db) == ["from", "group", "limit", "order", "select"]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute('SELECT count(*) FROM "limit"').fetchall() == [(4,)]
    assert con.execute('SELECT count(*) FROM "group"').fetchall() == [(2,)]
    con.close()


# ------------------------------------------------------------------ the tool's own names


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE _sqlflow_state AS SELECT 1 AS a;",
        'CREATE TABLE "_SQLFLOW_STATE" AS SELECT 1 AS a;',
        "CREATE VIEW main._sqlflow_stage_x AS SELECT 1 AS a;",
        'SOURCE s TYPE csv PARAMS {"path": "data/rows.csv"};\nLOAD __sqlflowc_udf_1 FROM s;',
        "CREATE TABLE t AS SELECT 1 AS a;\nINSERT INTO _sqlflow_state SELECT 'x', 'y', NULL;",
        "DROP TABLE IF EXISTS _sqlflow_state;",
    ],
)
def test_the_tools_own_names_are_reserved(statement: str, project: Path) -> None:
    (diag,) = errors(statement, project)
    assert diag.code is Code.RESERVED_TABLE
    assert "reserved" in diag.message


def test_reading_the_state_table_is_fine(project: Path) -> None:
    comp = compiled("CREATE TABLE s AS SELECT * FROM _sqlflow_state;", project)
    assert len(comp.plan.steps) == 1


def test_is_reserved() -> None:
    assert is_reserved("_sqlflow_state")
    assert is_reserved('"_sqlflow_x.y"')
    assert is_reserved("s._sqlflow_state")
    assert not is_reserved("sqlflow_state")
    assert not is_reserved('"x._sqlflow_state"')


def test_source_names_follow_the_same_rule(project: Path) -> None:
    comp = compiled(
        'SOURCE "Rows" TYPE csv PARAMS {"path": "data/rows.csv"};\nLOAD t FROM rows;\n', project
    )
    assert [s.id for s in comp.plan.steps] == ["load_t"]
    (diag,) = errors(
        'SOURCE "Rows" TYPE csv PARAMS {"path": "data/rows.csv"};\n'
        'SOURCE rows TYPE csv PARAMS {"path": "data/rows.csv"};\n',
        project,
    )
    assert diag.code is Code.DUPLICATE_SOURCE
