"""QA findings on pipelines and projects of the earlier SQLFlow releases, fixed and pinned here.

Every test writes a small project to a temporary directory and runs the CLI there (real files, a
real DuckDB database), checking diagnostics and the rows the run leaves behind.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import rows, sqlflowc


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def diagnostics(project: Path, pipeline: str = "pipelines/p.sf") -> list[dict[str, Any]]:
    """`sqlflowc check --format json`: the diagnostics as dicts."""
    result = sqlflowc("check", str(project / pipeline), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    out = result.stdout.strip() or result.stderr.strip()
    data = json.loads(out)
    return list(data["diagnostics"] if isinstance(data, dict) else data)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "proj"
    write(work / "profiles" / "dev.yml", "engine: {type: duckdb, path: target/dev.duckdb}\n")
    monkeypatch.chdir(work)
    return work


# --- 1. the earlier releases' sync_mode / primary_key / cursor_field on file sources -----------


def test_industry_standard_source_params_warn_and_load(project: Path) -> None:
    write(
        project / "data" / "users.csv",
        """
        user_id,name,updated_at
        1,Ada,2024-01-01 10:00:00
        2,Grace,2024-01-02 11:00:00
        """,
    )
    write(
        project / "pipelines" / "p.sf",
        """
        SOURCE users TYPE CSV PARAMS {
          "path": "data/users.csv",
          "has_header": true,
          "sync_mode": "incremental",
          "primary_key": "user_id",
          "cursor_field": "updated_at"
        };
        LOAD users_table FROM users;
        """,
    )
    found = diagnostics(project)
    assert [(d["code"], d["severity"]) for d in found] == [("SF0911", "warning")] * 3
    by_param = {d["message"].split("`")[1]: d for d in found}
    assert set(by_param) == {"sync_mode", "primary_key", "cursor_field"}
    assert all("has no effect here" in d["message"] for d in found)
    assert "MODE INCREMENTAL BY updated_at" in by_param["sync_mode"]["help"]
    assert "MODE INCREMENTAL BY updated_at" in by_param["cursor_field"]["help"]
    assert "MODE MERGE KEY (user_id)" in by_param["primary_key"]["help"]

    result = sqlflowc("run", "pipelines/p.sf")
    assert result.exit_code == 0, result.output
    assert rows(project / "target" / "dev.duckdb", "SELECT user_id, name FROM users_table") == [
        (1, "Ada"),
        (2, "Grace"),
    ]


def test_parquet_sync_params_warn_and_full_refresh_needs_no_incremental_hint(
    project: Path,
) -> None:
    (project / "data").mkdir()
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT 1 AS id, DATE '2024-01-01' AS day) "
            f"TO '{project / 'data' / 'e.parquet'}' (FORMAT parquet)"
        )
    write(
        project / "pipelines" / "p.sf",
        """
        SOURCE events TYPE PARQUET PARAMS {
          "path": "data/e.parquet", "sync_mode": "full_refresh", "cursor_field": "day"
        };
        LOAD events_table FROM events;
        """,
    )
    found = diagnostics(project)
    assert [d["code"] for d in found] == ["SF0911", "SF0911"]
    sync = next(d for d in found if "`sync_mode`" in d["message"])
    assert "INCREMENTAL" not in sync["help"]
    cursor = next(d for d in found if "`cursor_field`" in d["message"])
    assert "MODE INCREMENTAL BY day" in cursor["help"]
    result = sqlflowc("run", "pipelines/p.sf")
    assert result.exit_code == 0, result.output
    assert rows(project / "target" / "dev.duckdb", "SELECT id FROM events_table") == [(1,)]


# --- 2. UDF modules importing the decorators from sqlflow.udfs.decorators -----------------------


def test_udf_module_importing_sqlflow_udfs_decorators(project: Path) -> None:
    write(project / "data" / "items.csv", "id,price\n1,10.0\n2,2.5\n")
    write(
        project / "python_udfs" / "old_style.py",
        """
        import pyarrow as pa
        import pyarrow.compute as pc
        from sqlflow.udfs.decorators import python_scalar_udf, python_table_udf
        import sqlflow.udfs.decorators as decorators


        @python_scalar_udf
        def with_tax(price: float, rate: float = 0.1) -> float:
            return round(price * (1 + rate), 2)


        @decorators.python_table_udf(output_schema={"id": "BIGINT", "double_price": "DOUBLE"})
        def doubled(table: pa.Table) -> pa.Table:
            return pa.table(
                {"id": table.column("id"), "double_price": pc.multiply(table.column("price"), 2)}
            )
        """,
    )
    write(
        project / "pipelines" / "p.sf",
        """
        SOURCE items TYPE CSV PARAMS {"path": "data/items.csv"};
        LOAD items FROM items;
        CREATE TABLE taxed AS
          SELECT id, PYTHON_FUNC("python_udfs.old_style.with_tax", price) AS gross FROM items;
        CREATE TABLE doubled AS
          SELECT * FROM PYTHON_FUNC("python_udfs.old_style.doubled", items);
        """,
    )
    assert diagnostics(project) == []
    result = sqlflowc("run", "pipelines/p.sf")
    assert result.exit_code == 0, result.output
    database = project / "target" / "dev.duckdb"
    assert rows(database, "SELECT id, gross FROM taxed ORDER BY id") == [(1, 11.0), (2, 2.75)]
    assert rows(database, "SELECT * FROM doubled ORDER BY id") == [(1, 20.0), (2, 5.0)]
    assert not [m for m in sys.modules if m == "sqlflow" or m.startswith("sqlflow.")]


# --- 3. a table UDF's output_schema: lossless casts are made, real mismatches stay SF0809 ------

SALES_UDFS = """
import pyarrow as pa
import pyarrow.compute as pc
from sqlflow.udfs import python_table_udf


# As the earlier releases' examples/udf_examples/python_udfs/data_transforms.py declares it: the
# CSV's dates as VARCHAR and its BIGINT ids as INTEGER.
@python_table_udf(
    output_schema={
        "id": "INTEGER",
        "product": "VARCHAR",
        "price": "DOUBLE",
        "quantity": "INTEGER",
        "date": "VARCHAR",
        "day_start": "TIMESTAMP",
        "total": "DOUBLE",
    }
)
def add_sales_metrics(table: pa.Table) -> pa.Table:
    total = pc.multiply(table["price"], pc.cast(table["quantity"], pa.float64()))
    return table.append_column("day_start", table["date"]).append_column("total", total)


@python_table_udf(output_schema={"id": "BIGINT", "date": "DATE"})
def narrowing(table: pa.Table) -> pa.Table:
    return pa.table({"id": table["id"], "date": pc.cast(table["date"], pa.timestamp("us"))})


@python_table_udf(output_schema={"id": "BIGINT", "product": "INTEGER"})
def text_as_number(table: pa.Table) -> pa.Table:
    return table.select(["id", "product"])
"""


def test_table_udf_output_cast_to_declared_types_when_lossless(project: Path) -> None:
    write(
        project / "data" / "sales.csv",
        """
        id,product,price,quantity,date
        1,apple,1.5,4,2024-01-31
        2,pear,2.0,1,2024-02-01
        """,
    )
    write(project / "python_udfs" / "data_transforms.py", SALES_UDFS)
    write(
        project / "pipelines" / "p.sf",
        """
        SOURCE sales TYPE CSV PARAMS {"path": "data/sales.csv", "has_header": true};
        LOAD raw_sales FROM sales;
        CREATE TABLE sales_metrics AS
          SELECT * FROM PYTHON_FUNC("python_udfs.data_transforms.add_sales_metrics", raw_sales);
        """,
    )
    result = sqlflowc("run", "pipelines/p.sf")
    assert result.exit_code == 0, result.output
    database = project / "target" / "dev.duckdb"
    assert rows(database, "SELECT * FROM sales_metrics ORDER BY id") == [
        (1, "apple", 1.5, 4, "2024-01-31", dt.datetime(2024, 1, 31), 6.0),
        (2, "pear", 2.0, 1, "2024-02-01", dt.datetime(2024, 2, 1), 2.0),
    ]
    types = rows(
        database,
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE table_name = 'sales_metrics' ORDER BY column_index",
    )
    assert types == [
        ("id", "INTEGER"),
        ("product", "VARCHAR"),
        ("price", "DOUBLE"),
        ("quantity", "INTEGER"),
        ("date", "VARCHAR"),
        ("day_start", "TIMESTAMP"),
        ("total", "DOUBLE"),
    ]


@pytest.mark.parametrize(
    ("udf", "problem"),
    [
        ("narrowing", "`date` is TIMESTAMP, declared DATE"),
        ("text_as_number", "`product` is VARCHAR, declared INTEGER"),
    ],
)
def test_table_udf_output_real_mismatches_stay_errors(
    project: Path, udf: str, problem: str
) -> None:
    write(project / "data" / "sales.csv", "id,product,price,quantity,date\n1,a,1.0,1,2024-01-31\n")
    write(project / "python_udfs" / "data_transforms.py", SALES_UDFS)
    write(
        project / "pipelines" / "p.sf",
        f"""
        SOURCE sales TYPE CSV PARAMS {{"path": "data/sales.csv"}};
        LOAD raw_sales FROM sales;
        CREATE TABLE out AS SELECT * FROM {udf}(raw_sales);
        """,
    )
    result = sqlflowc("run", "pipelines/p.sf")
    assert result.exit_code == 3, result.output
    assert "error[SF0809]" in result.output and problem in result.output
    assert rows(
        project / "target" / "dev.duckdb",
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'out'",
    ) == [(0,)]


# --- 4. EXPORT: CSV options on JSON exports warn; unknown keys at the key, bad values at the value


def test_json_export_with_csv_header_option_warns_and_writes(project: Path) -> None:
    write(
        project / "pipelines" / "p.sf",
        """
        CREATE TABLE user_segments AS SELECT 1 AS customer_id, 'active' AS segment;
        EXPORT SELECT * FROM user_segments
        TO "output/user_segments.json"
        TYPE JSON
        OPTIONS {
            "header": true
        };
        """,
    )
    [warning] = diagnostics(project)
    assert (warning["code"], warning["severity"]) == ("SF0911", "warning")
    assert "option `header` of JSON export has no effect here" in warning["message"]
    assert warning["help"] == "remove `header`: it is an option of CSV exports"
    assert (warning["line"], warning["column"], warning["end_column"]) == (6, 5, 13)
    result = sqlflowc("run", "pipelines/p.sf")
    assert result.exit_code == 0, result.output
    lines = (project / "output" / "user_segments.json").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"customer_id": 1, "segment": "active"}]


def test_export_and_source_diagnostics_point_at_the_key_or_the_value(project: Path) -> None:
    write(project / "data" / "a.csv", "a\n1\n")
    text = (
        'SOURCE s TYPE CSV PARAMS {"path": "data/a.csv", "delimeter": ";", "skip_rows": "x"};\n'
        "LOAD a FROM s;\n"
        'EXPORT a TO "out.json" TYPE JSON OPTIONS {"compresion": "gzip"};\n'
        'EXPORT a TO "out.parquet" TYPE PARQUET OPTIONS {"row_group_size": 0};\n'
    )
    write(project / "pipelines" / "p.sf", text)
    lines = text.splitlines()

    def marked(d: dict[str, Any]) -> str:
        assert d["line"] == d["end_line"]
        return lines[d["line"] - 1][d["column"] - 1 : d["end_column"] - 1]

    found = sorted((d["line"], d["code"], marked(d)) for d in diagnostics(project))
    assert found == [
        (1, "SF0902", '"delimeter"'),  # unknown parameter: its key
        (1, "SF0902", '"x"'),  # bad value: the value
        (3, "SF0904", '"compresion"'),
        (4, "SF0904", "0"),
    ]
