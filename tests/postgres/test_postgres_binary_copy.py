"""EXPORT to PostgreSQL in its binary COPY form: which columns go binary, and that they arrive
exactly as the CSV lines bring them (against the real server)."""

from __future__ import annotations

import duckdb
import psycopg
import pytest
from pgserver import PgDatabase
from test_postgres_write import WRITE_CASES, _pg_text, _target, _write

from sqlflowc.connectors.postgres.binary_copy import binary_kinds
from sqlflowc.connectors.postgres.catalog import copy_columns
from sqlflowc.connectors.postgres.params import SourceParams
from sqlflowc.connectors.postgres.session import connection, target_of
from sqlflowc.connectors.postgres.write import WriteCounts, WriteSpec, _map

# The DuckDB types a created column receives in binary; every other one goes as CSV.
BINARY = {
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "UTINYINT",
    "USMALLINT",
    "INTEGER",
    "UINTEGER",
    "BIGINT",
    "DECIMAL(4,4)",
    "FLOAT",
    "DOUBLE",
    "VARCHAR",
    "BLOB",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_MS",
    "TIMESTAMPTZ",
    "INTERVAL",
    "UUID",
}


def _sent_binary(db: PgDatabase, duck: duckdb.DuckDBPyConnection, query: str) -> bool:
    params = SourceParams(dsn=db.dsn, table="unused")
    with connection(params, target_of(params)) as conn:
        return binary_kinds(_map(duck, query), copy_columns(conn, "public.t")) is not None


@pytest.mark.parametrize(("duck_type", "pg_type", "values"), WRITE_CASES, ids=lambda c: str(c))
def test_each_type_alone_arrives_exactly(
    pg_db: PgDatabase, duck_type: str, pg_type: str, values: list[tuple[str, str]]
) -> None:
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE src (id INTEGER, c {duck_type})")
    for i, (lit, _) in enumerate(values):
        duck.execute(f"INSERT INTO src VALUES ({i}, CAST({lit} AS {duck_type}))")
    duck.execute(f"INSERT INTO src VALUES ({len(values)}, NULL)")
    counts = _write(pg_db, duck, "SELECT * FROM src", WriteSpec(target=_target()))
    assert counts == WriteCounts(len(values) + 1, len(values) + 1, 0, True)
    assert _sent_binary(pg_db, duck, "SELECT * FROM src") is (duck_type in BINARY)
    got = [r[0] for r in pg_db.rows("SELECT c::text FROM t ORDER BY id")]
    assert got == [_pg_text(pg_db, lit, pg_type) for _, lit in values] + [None]


# Every type that goes binary, NULL in turns, and values at their edges: compared with the same
# rows sent as CSV lines (a HUGEINT column among them keeps them CSV).
MIXED = """
SELECT i AS id,
  CASE WHEN i % 7 <> 1 THEN i % 2 = 0 END AS b,
  CASE WHEN i % 7 <> 2 THEN (i % 255 - 127)::TINYINT END AS t8,
  CASE WHEN i % 7 <> 3 THEN (i * 7919 % 65535 - 32767)::SMALLINT END AS s16,
  CASE WHEN i % 7 <> 4 THEN (i * 104729 % 4294967295 - 2147483647)::INTEGER END AS i32,
  CASE WHEN i % 7 <> 5 THEN (i * 2654435761 * (i % 3 - 1))::BIGINT END AS i64,
  CASE WHEN i % 7 <> 6 THEN (i * 1.000001 * (i % 3 - 1))::DOUBLE END AS f64,
  CASE WHEN i % 7 <> 0 THEN (i / 7.0)::FLOAT END AS f32,
  CASE WHEN i % 5 <> 0 THEN ((i * 7919 % 200000001) - 100000000) / 100.0 END::DECIMAL(12,2) AS d12,
  CASE WHEN i % 5 <> 1 THEN (i::HUGEINT * 2654435761 * 3333333 % 999999999999999999) * (i % 3 - 1) END::DECIMAL(18,0)
    AS d18,
  CASE WHEN i % 5 <> 2 THEN (i % 100000) / 100000.0 END::DECIMAL(5,5) AS d5,
  CASE WHEN i % 5 <> 3 THEN (i * 7919 % 1000000000) / 1e9 * (i % 3 - 1) END::DECIMAL(18,17) AS d17,
  CASE WHEN i % 5 <> 4 THEN (i * 31 % 100003) / 7.0 END::DECIMAL(9,3) AS d9,
  CASE WHEN i % 6 <> 0 THEN repeat(chr((97 + i % 26)::INTEGER), (i % 40)::INTEGER) || CASE WHEN i % 3 = 0 THEN 'é,"' || chr(10) ELSE '' END END AS s,
  CASE WHEN i % 6 <> 1 THEN DATE '2000-01-01' + (i * 97 % 2000000 - 1000000)::INTEGER END AS dt,
  CASE WHEN i % 6 <> 2 THEN TIMESTAMP '2000-01-01' + to_microseconds((i * 2654435761 % 100000000000000) * (i % 3 - 1)) END AS ts,
  CASE WHEN i % 6 <> 3 THEN TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(i * 987654321) END AS tz,
  CASE WHEN i % 6 <> 4 THEN md5(i::VARCHAR)::UUID END AS u,
  CASE WHEN i = 3 THEN 'infinity'::DATE WHEN i = 4 THEN '-infinity'::DATE END AS dinf,
  CASE WHEN i = 3 THEN 'infinity'::TIMESTAMP WHEN i = 4 THEN '-infinity'::TIMESTAMP END AS tinf,
  CASE WHEN i = 5 THEN 'NaN'::DOUBLE WHEN i = 6 THEN '-inf'::DOUBLE WHEN i = 7 THEN '-0.0'::DOUBLE END AS fx,
  CASE WHEN i % 4 <> 0 THEN encode(repeat(chr((i % 256)::INTEGER), (i % 9)::INTEGER)) END AS bl,
  CASE WHEN i % 4 <> 1 THEN TIME '00:00:00' + to_microseconds(i * 2879999) END AS tm,
  CASE WHEN i % 4 <> 2 THEN to_months((i % 40 - 20)::INTEGER) + to_days((i % 61 - 30)::INTEGER)
    + to_microseconds(i * 7919 * (i % 3 - 1)) END AS iv,
  CASE WHEN i % 4 <> 3 THEN (TIMESTAMP '1990-01-01' + to_seconds(i * 86399))::TIMESTAMP_S END AS tss
FROM range(0, 30000) r(i)
"""  # noqa: E501


def test_binary_rows_equal_the_csv_rows(pg_db: PgDatabase) -> None:
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE src AS {MIXED}")
    duck.execute("CREATE TABLE src_csv AS SELECT *, 1::HUGEINT AS keep_csv FROM src")
    _write(pg_db, duck, "SELECT * FROM src", WriteSpec(target=_target()))
    assert _sent_binary(pg_db, duck, "SELECT * FROM src")
    _write(pg_db, duck, "SELECT * FROM src_csv", WriteSpec(target=_target("c")))
    columns = [
        str(r[0])
        for r in pg_db.rows(
            "SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum"
        )
    ]
    assert len(columns) == 25
    listed = ", ".join(f"{c}::text" for c in columns)
    differ = pg_db.rows(
        f"(SELECT {listed} FROM t EXCEPT ALL SELECT {listed} FROM c) UNION ALL "
        f"(SELECT {listed} FROM c EXCEPT ALL SELECT {listed} FROM t)"
    )
    assert differ == []
    assert pg_db.rows("SELECT count(*), count(s), count(dinf) FROM t") == [(30000, 25000, 2)]


def test_binary_rows_merge_into_an_existing_table(pg_db: PgDatabase) -> None:
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE src AS {MIXED}")
    _write(pg_db, duck, "SELECT * FROM src WHERE id < 20000", WriteSpec(target=_target()))
    changed = (
        "SELECT * REPLACE ((d12 + 1)::DECIMAL(12,2) AS d12, s || 'x' AS s) FROM src "
        "WHERE id >= 10000"
    )
    spec = WriteSpec(target=_target(), mode="merge", keys=("id",))
    assert _write(pg_db, duck, changed, spec) == WriteCounts(20000, 10000, 10000, False)
    duck.execute(
        "CREATE TABLE want AS SELECT * FROM src WHERE id < 10000 UNION ALL "
        f"SELECT * FROM ({changed})"
    )
    _write(pg_db, duck, "SELECT * FROM want", WriteSpec(target=_target("w")))
    differ = pg_db.rows(
        "(SELECT t::text FROM t EXCEPT SELECT w::text FROM w) UNION ALL "
        "(SELECT w::text FROM w EXCEPT SELECT t::text FROM t)"
    )
    assert differ == []


@pytest.mark.parametrize(
    ("value", "column"),
    [
        ("DATE '5000-01-01 (BC)'", "date"),
        ("TIMESTAMP '5000-01-01 (BC) 00:00:00'", "timestamp"),
        ("TIMESTAMPTZ '5000-01-01 (BC) 00:00:00+00'", "timestamptz"),
        ("DATE '5874898-01-01'", "date"),
    ],
)
def test_a_value_postgres_cannot_hold_fails_and_leaves_the_table(
    pg_db: PgDatabase, value: str, column: str
) -> None:
    pg_db.run(f"CREATE TABLE t (id int, v {column})", "INSERT INTO t VALUES (0, NULL)")
    duck = duckdb.connect()
    query = f"SELECT 1 AS id, {value} AS v"
    with pytest.raises(psycopg.DataError, match="out of range"):
        _write(pg_db, duck, query, WriteSpec(target=_target(), mode="append"))
    assert pg_db.rows("SELECT * FROM t") == [(0, None)]


@pytest.mark.parametrize(
    "setting", ["arrow_large_buffer_size = true", "produce_arrow_string_view = true"]
)
def test_text_in_duckdbs_other_arrow_layouts_arrives(pg_db: PgDatabase, setting: str) -> None:
    duck = duckdb.connect()
    duck.execute(f"SET {setting}")
    duck.execute(
        "CREATE TABLE src AS SELECT i AS id, CASE WHEN i % 3 <> 0 THEN 'v' || i END AS s, "
        "(i * 1.5)::DOUBLE AS x, CASE WHEN i % 5 <> 0 THEN md5(i::VARCHAR)::UUID END AS u, "
        "CASE WHEN i % 7 <> 0 THEN encode('b' || i) END AS b FROM range(20000) r(i)"
    )
    _write(pg_db, duck, "SELECT * FROM src", WriteSpec(target=_target()))
    assert _sent_binary(pg_db, duck, "SELECT * FROM src")
    summary = (
        "SELECT count(*), count(s), sum(length(s)), sum(x)::BIGINT, count(u), "
        "count(DISTINCT u::VARCHAR), sum(octet_length(b)) FROM "
    )
    assert pg_db.rows(summary + "t") == duck.sql(summary + "src").fetchall()
