"""The schema catalog the compiler is handed: its layers, the project database's tables, the
sources' discovered schemas, and check_schemas answering from it alone."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sqlflowc.api import compile_source, project_catalog
from sqlflowc.connectors.catalog import DiscoveryCatalog
from sqlflowc.diagnostics import Code, CompileError
from sqlflowc.runtime.schema import DatabaseCatalog
from sqlflowc.schema import Column
from sqlflowc.schema.catalog import Known, LayeredCatalog, MappingCatalog, Unknown


def test_layers_first_known_wins_then_unknown() -> None:
    users = [Column("id", "INTEGER")]
    unknown = Unknown("db.duckdb", "locked")

    class Locked:
        def table(self, key: str) -> Unknown:
            return unknown

        def source(self, name: str, connector: str, params: object) -> None:
            return None

    layered = LayeredCatalog(Locked(), MappingCatalog({"users": users}, origin="snapshots"))
    assert layered.table("main.users") == Known(tuple(users), "snapshots")
    assert layered.table("orders") == unknown
    assert LayeredCatalog(MappingCatalog()).table("orders") is None
    by_name = MappingCatalog(sources={"Orders": users}, origin="snapshots")
    assert by_name.source("orders", "POSTGRES", {}) == Known(tuple(users), "snapshots")


def test_database_catalog_reads_tables_once_and_never_views(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA s")
        con.execute("CREATE TABLE s.T (id INTEGER NOT NULL, name VARCHAR DEFAULT 'x')")
        con.execute("CREATE VIEW v AS SELECT 1 AS one")
    catalog = DatabaseCatalog(str(db))
    found = catalog.table("S.t")
    assert found == Known(
        (Column("id", "INTEGER", False, None), Column("name", "VARCHAR", True, "'x'")), str(db)
    )
    assert catalog.table("v") is None and catalog.table("nothing") is None
    # nothing stays open: the file can be opened for writing again
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE s.t")
    assert DatabaseCatalog(str(tmp_path / "missing.duckdb")).table("t") is None
    assert DatabaseCatalog(":memory:").table("t") is None


def test_database_catalog_locked_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "broken.duckdb").write_bytes(b"not a database at all" * 100)
    found = DatabaseCatalog(str(tmp_path / "broken.duckdb")).table("t")
    assert isinstance(found, Unknown) and found.reason


def test_discovery_catalog_from_file_metadata(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,day\n1,2024-01-31\n", encoding="utf-8")
    catalog = DiscoveryCatalog(tmp_path)
    found = catalog.source("a", "csv", {"path": "a.csv"})
    assert isinstance(found, Known)
    assert [(c.name, c.type) for c in found.columns] == [("id", "BIGINT"), ("day", "DATE")]
    assert catalog.source("a", "csv", {"path": "missing.csv"}) is None
    assert catalog.source("a", "nope", {}) is None
    assert catalog.source("a", "csv", {"path": 3}) is None  # invalid: reported elsewhere


PIPELINE = """
SOURCE people TYPE CSV PARAMS {"path": "people.csv"};
LOAD people FROM people MODE APPEND;
"""


def test_check_schemas_answers_from_the_catalog_alone(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    target = [Column("id", "BIGINT"), Column("name", "INTEGER")]
    catalog = LayeredCatalog(
        MappingCatalog({"people": target}, origin="the test catalog"), DiscoveryCatalog(tmp_path)
    )
    with pytest.raises(CompileError) as info:
        compile_source(
            PIPELINE, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}, catalog=catalog
        )
    [d] = info.value.diagnostics
    assert d.code is Code.SCHEMA_TYPE_MISMATCH
    assert d.label == "writes `people`, as it is in the test catalog"
    # the source's schema unknown: nothing to check, nothing reported
    blind = MappingCatalog({"people": target})
    compile_source(
        PIPELINE, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}, catalog=blind
    )


def test_project_catalog_layers_database_and_discovery(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("id\n1\n", encoding="utf-8")
    catalog = project_catalog(tmp_path, str(tmp_path / "none.duckdb"))
    assert catalog.table("people") is None
    assert isinstance(catalog.source("people", "CSV", {"path": "people.csv"}), Known)
