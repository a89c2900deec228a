"""sqlflowc.schema: safe widenings, common types and the load check (pure rules)."""

from __future__ import annotations

import duckdb
import pytest

from sqlflowc.diagnostics import Code
from sqlflowc.schema import (
    Column,
    by_column_problem,
    check_load,
    common_type,
    normalize_type,
    widens,
)

SAFE = [
    ("TINYINT", "SMALLINT"),
    ("SMALLINT", "INTEGER"),
    ("INTEGER", "BIGINT"),
    ("BIGINT", "HUGEINT"),
    ("UTINYINT", "USMALLINT"),
    ("UINTEGER", "UBIGINT"),
    ("UINTEGER", "BIGINT"),
    ("UBIGINT", "HUGEINT"),
    ("INTEGER", "DECIMAL(10,0)"),
    ("SMALLINT", "DECIMAL(7,2)"),
    ("SMALLINT", "FLOAT"),
    ("INTEGER", "DOUBLE"),
    ("FLOAT", "DOUBLE"),
    ("DECIMAL(9,2)", "DECIMAL(18,4)"),
    ("DECIMAL(9,2)", "DECIMAL(9,2)"),
    ("DATE", "TIMESTAMP"),
    ("TIMESTAMP_S", "TIMESTAMP"),
    ("VARCHAR", "VARCHAR"),
    ('"NULL"', "INTEGER"),
    ("INTEGER[]", "INTEGER[]"),
    ("int", "INTEGER"),
    ("numeric(9, 2)", "DECIMAL(10,2)"),
]
UNSAFE = [
    ("BIGINT", "INTEGER"),
    ("INTEGER", "UINTEGER"),
    ("UINTEGER", "INTEGER"),
    ("INTEGER", "DECIMAL(9,0)"),
    ("INTEGER", "FLOAT"),
    ("BIGINT", "DOUBLE"),
    ("DOUBLE", "FLOAT"),
    ("DOUBLE", "DECIMAL(38,10)"),
    ("DECIMAL(18,4)", "DECIMAL(18,2)"),
    ("DECIMAL(10,2)", "DECIMAL(10,4)"),
    ("TIMESTAMP", "DATE"),
    ("TIMESTAMP", "TIMESTAMP_NS"),
    ("TIMESTAMPTZ", "TIMESTAMP"),
    ("INTEGER", "VARCHAR"),
    ("VARCHAR", "INTEGER"),
    ("INTEGER[]", "BIGINT[]"),
]


@pytest.mark.parametrize(("a", "b"), SAFE)
def test_safe_widenings(a: str, b: str) -> None:
    assert widens(a, b)


@pytest.mark.parametrize(("a", "b"), UNSAFE)
def test_not_widenings(a: str, b: str) -> None:
    assert not widens(a, b)


_BITS = {"TINY": 8, "SMALL": 16, "INTEGER": 32, "BIG": 64, "HUGE": 128}


def extremes(type_name: str) -> list[str]:
    """SQL literals of the most demanding values of a type (its bounds where it has them)."""
    t = normalize_type(type_name)
    if t.endswith("INT") or t in {"INTEGER", "UINTEGER"}:
        bits = next(b for k, b in _BITS.items() if k in t)
        if t.startswith("U"):
            return ["0", str(2**bits - 1)]
        return [str(-(2 ** (bits - 1))), str(2 ** (bits - 1) - 1)]
    if t.startswith("DECIMAL("):
        p, s = (int(x) for x in t[8:-1].split(","))
        top = "9" * (p - s) + ("." + "9" * s if s else "")
        return [top, "-" + top]
    return {
        "FLOAT": ["3.4028235e38", "1.17549435e-38", "0.1"],
        "DATE": ["'2024-02-29'", "'1900-01-01'"],
        "TIMESTAMP_S": ["'2024-02-29 23:59:59'"],
        "VARCHAR": ["'it''s'"],
        "INTEGER[]": ["[1, NULL, 3]"],
    }[t]


@pytest.mark.parametrize(("a", "b"), [p for p in SAFE if '"NULL"' not in p])
def test_every_safe_widening_keeps_values_in_duckdb(a: str, b: str) -> None:
    """What `widens` accepts, DuckDB converts without loss: the bounds survive a round trip."""
    con = duckdb.connect()
    try:
        for value in extremes(a):
            same = con.execute(
                f"SELECT CAST(CAST(CAST({value} AS {a}) AS {b}) AS {a}) = CAST({value} AS {a})"
            ).fetchall()
            assert same == [(True,)], (a, b, value)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("a", "b", "wider"),
    [
        ("INTEGER", "BIGINT", "BIGINT"),
        ("BIGINT", "INTEGER", "BIGINT"),
        ("UINTEGER", "INTEGER", "BIGINT"),
        ("DECIMAL(10,4)", "DECIMAL(12,2)", "DECIMAL(14,4)"),
        ("INTEGER", "DECIMAL(5,2)", "DECIMAL(12,2)"),
        ("VARCHAR", "INTEGER", None),
        ("DECIMAL(38,0)", "DECIMAL(38,10)", None),
    ],
)
def test_common_type(a: str, b: str, wider: str | None) -> None:
    assert common_type(a, b) == wider


def test_normalize_type() -> None:
    assert normalize_type("timestamp with time zone") == "TIMESTAMPTZ"
    assert normalize_type("decimal") == "DECIMAL(18,3)"
    assert normalize_type("varchar(20)") == "VARCHAR"
    assert normalize_type("STRUCT(a  INTEGER)") == "STRUCT(A INTEGER)"


def cols(*spec: str) -> list[Column]:
    out = []
    for item in spec:
        name, _, rest = item.partition(" ")
        nullable = not rest.endswith(" NOT NULL")
        out.append(Column(name, rest.removesuffix(" NOT NULL"), nullable))
    return out


def test_check_load_matches_by_name_case_insensitively() -> None:
    diff = check_load("t", cols("B INTEGER", "a VARCHAR"), cols("A VARCHAR", "b BIGINT"), "strict")
    assert diff.ok and diff.missing == ()


def test_check_load_reports_every_problem_with_table_column_types_and_fix() -> None:
    diff = check_load(
        "sales",
        cols("id BIGINT", "note VARCHAR", "amount VARCHAR"),
        cols("id INTEGER", "amount DOUBLE", "region VARCHAR NOT NULL"),
        "strict",
    )
    codes = [p.code for p in diff.problems]
    assert codes == [
        Code.SCHEMA_NARROWING,
        Code.SCHEMA_EXTRA_COLUMN,
        Code.SCHEMA_TYPE_MISMATCH,
        Code.SCHEMA_MISSING_COLUMN,
    ]
    narrowing, extra, mismatch, missing = diff.problems
    assert "`id`" in narrowing.message and "INTEGER" in narrowing.message
    assert "BIGINT" in narrowing.message and "evolve" in narrowing.help
    assert "`note`" in extra.message and "ALTER TABLE sales ADD COLUMN note VARCHAR" in extra.help
    assert "DOUBLE" in mismatch.message and "CAST(amount AS DOUBLE)" in mismatch.help
    assert "`region`" in missing.message and "NOT NULL" in missing.message
    assert all("`sales`" in p.message for p in diff.problems)


def test_evolve_adds_columns_and_widens_but_not_incompatible_types() -> None:
    diff = check_load(
        "t",
        cols("id BIGINT", "note VARCHAR", "x VARCHAR"),
        cols("id INTEGER", "x INTEGER"),
        "evolve",
    )
    assert [p.code for p in diff.problems] == [Code.SCHEMA_TYPE_MISMATCH]
    assert diff.add == (Column("note", "VARCHAR"),)
    assert [(c.name, c.type) for c in diff.alter] == [("id", "BIGINT")]


def test_a_missing_column_with_a_default_or_nullable_is_fine() -> None:
    target = [Column("id", "INTEGER"), Column("n", "INTEGER", nullable=False, default="0")]
    diff = check_load("t", cols("id INTEGER"), target, "strict")
    assert diff.ok and diff.missing == ("n",)


def test_keys_must_be_in_source_and_target() -> None:
    diff = check_load(
        "t", cols("id INTEGER"), cols("id INTEGER", "k INTEGER"), "strict", keys=["K"]
    )
    assert [p.code for p in diff.problems] == [Code.KEY_COLUMN_MISSING]
    assert "the source" in diff.problems[0].message
    diff = check_load("t", cols("k INTEGER"), None, "strict", keys=["k"])
    assert diff.ok


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (cols("ts TIMESTAMP"), None),
        (cols("TS DATE"), None),
        (cols("ts TIMESTAMP WITH TIME ZONE"), None),
        (cols("ts VARCHAR"), Code.INCREMENTAL_COLUMN_TYPE),
        (cols("other DATE"), Code.KEY_COLUMN_MISSING),
    ],
)
def test_by_column(source: list[Column], code: Code | None) -> None:
    problem = by_column_problem("t", "ts", source)
    assert (problem.code if problem else None) is code
