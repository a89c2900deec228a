"""Pipelines written for the earlier SQLFlow releases (0.1.x) run unchanged, with correct results.

The projects under `tests/compat/` are modelled on the earlier project's own examples and demos
(`examples/load_modes`, `examples/conditional_pipelines`, `demos/udf_demo`,
`examples/incremental_loading_demo`), with small data written for these tests. Each test copies
a project to a temporary directory, runs the CLI there as a user would, and checks the rows the
run leaves in the database and in the exported files, not only the exit status.
"""

from __future__ import annotations

import csv
import datetime
import shutil
from pathlib import Path

import pytest

from helpers import rows, run_ok, sqlflowc

COMPAT = Path(__file__).resolve().parent / "compat"


def copy_project(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / name
    shutil.copytree(COMPAT / name, work, ignore=shutil.ignore_patterns("target", "output"))
    monkeypatch.chdir(work)
    return work


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- MODE UPSERT KEY / MODE MERGE MERGE_KEYS -------------------------------------------------


@pytest.fixture
def load_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_project("load_modes", tmp_path, monkeypatch)


def test_basic_load_modes_upsert_key(load_modes: Path) -> None:
    result = run_ok("01_basic_load_modes")
    assert "(inserted 2)" in result.output  # APPEND
    assert "(inserted 1, updated 2)" in result.output  # UPSERT KEY (user_id)
    exported = read_csv(load_modes / "output" / "basic_load_modes_result.csv")
    assert [row["user_id"] for row in exported] == ["1", "2", "3", "4", "5", "6", "7", "9"]
    by_id = {row["user_id"]: row for row in exported}
    # The update file lists its columns in another order: matched by name, never by position.
    assert by_id["2"]["email"] == "jane.smith.updated@example.com"
    assert by_id["2"]["first_name"] == "Jane"
    assert by_id["4"]["active"] == "true"
    assert by_id["9"]["last_name"] == "Anderson"
    assert by_id["3"]["email"] == "robertj@example.com"  # not in the updates: left alone


def test_second_run_of_a_persistent_pipeline_gives_the_same_table(load_modes: Path) -> None:
    run_ok("01_basic_load_modes")
    database = load_modes / "target" / "compat.duckdb"
    first = rows(database, "SELECT * FROM users_table ORDER BY user_id")
    run_ok("01_basic_load_modes")  # LOAD (REPLACE) first: the APPEND and UPSERT start again
    assert rows(database, "SELECT * FROM users_table ORDER BY user_id") == first
    assert len(first) == 8


INVENTORY = [
    (101, 1, "Laptop", 25, datetime.date(2023, 6, 15)),
    (101, 2, "Laptop", 10, datetime.date(2023, 6, 16)),
    (102, 1, "Smartphone", 50, datetime.date(2023, 6, 15)),
    (102, 2, "Smartphone", 35, datetime.date(2023, 6, 18)),
    (103, 1, "Tablet", 30, datetime.date(2023, 6, 17)),
    (104, 1, "Monitor", 12, datetime.date(2023, 6, 1)),
]


@pytest.mark.parametrize(
    ("pipeline", "export"),
    [
        ("02_multiple_merge_keys", "multiple_merge_keys_result.csv"),
        ("02_multiple_upsert_keys", "multiple_upsert_keys_result.csv"),
    ],
)
def test_composite_keys_in_both_dialects(load_modes: Path, pipeline: str, export: str) -> None:
    result = run_ok(pipeline)
    assert "(inserted 2, updated 3)" in result.output
    database = load_modes / "target" / "compat.duckdb"
    query = "SELECT * FROM inventory_table ORDER BY product_id, warehouse_id"
    assert rows(database, query) == INVENTORY
    exported = read_csv(load_modes / "output" / export)
    assert [(r["product_id"], r["warehouse_id"], r["quantity"]) for r in exported] == [
        (str(p), str(w), str(q)) for p, w, _, q, _ in INVENTORY
    ]


def test_key_lists_without_parentheses_and_lower_case(load_modes: Path) -> None:
    run_ok("03_key_spellings")
    database = load_modes / "target" / "compat.duckdb"
    for table in ("merged_keys", "upserted_keys"):
        assert rows(database, f"SELECT * FROM {table} ORDER BY product_id, warehouse_id") == (
            INVENTORY
        )


# --- conditionals, variables, old profiles ----------------------------------------------------


@pytest.fixture
def conditionals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_project("conditionals", tmp_path, monkeypatch)


def test_nested_conditions_default_profile(conditionals: Path) -> None:
    # profiles/dev.yml has connectors of types this tool lacks and `${API_TOKEN}` unset: unused,
    # so they do not matter.
    result = run_ok("nested_conditions")
    assert "4 ok" in result.output
    exported = read_csv(conditionals / "output" / "development" / "customer_metrics.csv")
    assert exported == [{"customer_count": "3", "region_count": "3"}]


def test_nested_conditions_production_eu(conditionals: Path) -> None:
    run_ok("nested_conditions", "--profile", "production", "--var", "region=eu")
    exported = read_csv(
        conditionals / "output" / "production" / "customer_metrics_production_eu.csv"
    )
    assert exported == [{"region": "EU", "customer_count": "2", "premium_customers": "1"}]
    database = conditionals / "target" / "production.duckdb"
    assert rows(database, "SELECT customer_id, email FROM transformed_customers ORDER BY 1") == [
        (3, None),
        (4, "GDPR_PROTECTED"),
    ]


def test_nested_conditions_staging_flag_in_any_case(conditionals: Path) -> None:
    run_ok("nested_conditions", "--var", "env=staging", "--var", "use_production_data=TRUE")
    exported = read_csv(conditionals / "output" / "staging" / "customer_metrics.csv")
    assert sorted((r["region"], r["customer_count"]) for r in exported) == [
        ("eu", "2"),
        ("us-east", "1"),
    ]


def test_nested_conditions_unset_variable_is_an_error(conditionals: Path) -> None:
    result = sqlflowc("run", "pipelines/nested_conditions.sf", "--profile", "production")
    assert result.exit_code == 1
    assert "error[SF0201]: unknown variable `region`" in result.output
    assert not (conditionals / "target" / "production.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["1", "2", "3", "4", "5"]),
        (("--var", "env=production"), ["1", "2", "3", "4", "5", "6"]),
    ],
)
def test_conditional_table_validation(
    conditionals: Path, args: tuple[str, ...], expected: list[str]
) -> None:
    run_ok("conditional_table_validation", *args)
    exported = read_csv(conditionals / "output" / "conditional_validation_customers.csv")
    assert [row["customer_id"] for row in exported] == expected


@pytest.mark.parametrize(
    ("args", "export", "expected"),
    [
        ((), "sales_summary_2023-10-25.csv", [("2023-10-25", "sample-all", "100")]),
        (
            ("--var", "env=production", "--var", "region=eu", "--var", "date=2024-01-01"),
            "sales_summary_2024-01-01.csv",
            [("2024-01-01", "regional-eu", "100"), ("2024-01-01", "regional-eu", "101")],
        ),
        (
            ("--var", "env=staging"),
            "sales_summary_2023-10-25.csv",
            [("2023-10-25", "global-all", str(n)) for n in (100, 101, 102, 103)],
        ),
    ],
)
def test_set_defaults_and_set_inside_if(
    conditionals: Path, args: tuple[str, ...], export: str, expected: list[tuple[str, ...]]
) -> None:
    run_ok("showcase_variables", *args)
    exported = read_csv(conditionals / "target" / export)
    assert [(r["report_date"], r["label"], r["order_id"]) for r in exported] == expected


# --- UDF modules of the earlier releases ------------------------------------------------------


def test_udf_modules_importing_sqlflow_udfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project("udfs", tmp_path, monkeypatch)
    run_ok("data_quality_check")
    exported = read_csv(project / "output" / "validated_customers_udf_demo_run.csv")
    assert [
        (r["name"], r["has_valid_email"], r["email_domain"], r["note_words"]) for r in exported
    ] == [
        ("Ada Lovelace", "true", "example.com", "3"),
        ("Alan Turing", "false", "bad", "1"),
        ("Grace Hopper", "true", "navy.mil", "2"),
    ]
    database = project / "target" / "udfs.duckdb"
    priced = rows(database, "SELECT * FROM priced_sales ORDER BY id")
    assert [row[0] for row in priced] == [1, 2, 3, 4]
    for (_, discounted, with_tax, custom_tax), price in zip(
        priced, [10.0, 25.5, 10.0, 99.99], strict=True
    ):
        assert discounted == pytest.approx(price * 0.85)
        assert with_tax == pytest.approx(price * 1.1)  # the default tax_rate
        assert custom_tax == pytest.approx(price * 1.2)
    assert rows(database, "SELECT id, total FROM sales_totals ORDER BY id") == [
        (1, 20.0),
        (2, 25.5),
        (3, 50.0),
        (4, 99.99),
    ]


# --- ordering of exports around loads; INCREMENTAL ---------------------------------------------


@pytest.fixture
def ordering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_project("ordering", tmp_path, monkeypatch)


def test_exports_see_the_table_at_their_place_in_the_program(ordering: Path) -> None:
    for _ in range(2):  # and the same again on the second run of the persistent pipeline
        run_ok("03_error_recovery")
        output = ordering / "output"
        assert read_csv(output / "03_step1_success.csv")[0]["records_loaded"] == "2"
        assert read_csv(output / "03_orders_initial.csv")[0]["records_loaded"] == "1"
        recovered = read_csv(output / "03_recovery_success.csv")[0]
        assert (recovered["total_records"], recovered["new_records"]) == ("3", "2")
        assert recovered["total_amount"] == "60"  # APPEND matched the columns by name
        final = read_csv(output / "03_final_state.csv")[0]
        assert (
            final["total_customers"],
            final["active_customers"],
            final["pending_customers"],
        ) == ("3", "2", "1")
        assert read_csv(output / "03_best_practices.csv") == [
            {"guide_type": "RESILIENCE_GUIDE", "practice_1": "Use MERGE for upserts"}
        ]


def test_incremental_with_quoted_lookback(ordering: Path) -> None:
    first = run_ok("daily_metrics")
    assert "(created, inserted 1)" in first.output
    second = run_ok("daily_metrics", "--var", "day=2")
    assert "(inserted 2, replaced 1 in the window)" in second.output
    database = ordering / "target" / "demo.duckdb"
    assert rows(database, "SELECT * FROM daily_metrics ORDER BY order_date") == [
        (datetime.date(2024, 1, 1), 1, 10),
        (datetime.date(2024, 1, 2), 2, 50),
    ]
