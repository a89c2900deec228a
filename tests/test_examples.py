"""Every pipeline under examples/ compiles and runs, and the examples compute what they say.

Each run happens in a temporary copy of the example's project (without its `target/`), with the
working directory there and `--db` pointing into the temporary directory, so nothing is written
into the checkout. A new `examples/<name>/` project is picked up by `test_compiles_and_runs`
without changes here: every `*.sf` file, with every profile of its project.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import Result

from helpers import sqlflowc
from sqlflowc.profiles import available_profiles, find_project_dir, load_profile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _cases() -> list[tuple[Path, Path, str | None]]:
    """(project, pipeline, profile) for every example pipeline and every profile it can use."""
    cases: list[tuple[Path, Path, str | None]] = []
    for pipeline in sorted(EXAMPLES.rglob("*.sf")):
        if "target" in pipeline.relative_to(EXAMPLES).parts:
            continue
        if pipeline.is_relative_to(EXAMPLES / "connectors"):
            continue  # a plugin or a server: tests/test_connector_plugin.py, tests/postgres/
        project = find_project_dir(pipeline)
        for profile in available_profiles(project) or [None]:
            if load_profile(project, profile).engine.type == "spark":
                continue  # run on Spark by tests/test_spark_run.py (`nox -s spark`)
            cases.append((project, pipeline, profile))
    return cases


CASES = _cases()


def _id(case: tuple[Path, Path, str | None]) -> str:
    _, pipeline, profile = case
    return f"{pipeline.relative_to(EXAMPLES)}[{profile or 'no profile'}]"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Path]]:
    """Copy `examples/<name>` to a temporary directory and make it the working directory."""

    def copy(name: str) -> Path:
        work = tmp_path / name
        shutil.copytree(EXAMPLES / name, work, ignore=shutil.ignore_patterns("target"))
        monkeypatch.chdir(work)
        return work

    yield copy


def run_ok(*args: str) -> Result:
    """`sqlflowc run ...` on a fresh database in the parent directory; must succeed."""
    db = Path.cwd().parent / f"{uuid.uuid4().hex}.duckdb"
    result = sqlflowc("run", *args, "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output and "skipped" not in result.output, result.output
    return result


def csv_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# ------------------------------------------------------------------ every example


def test_examples_exist() -> None:
    projects = {project.name for project, _, _ in CASES}
    assert {"quickstart", "conditional_pipelines"} <= projects


@pytest.mark.parametrize(("project", "pipeline", "profile"), CASES, ids=[_id(c) for c in CASES])
def test_compiles_and_runs(
    project: Path,
    pipeline: Path,
    profile: str | None,
    example: Callable[[str], Path],
) -> None:
    work = example(project.relative_to(EXAMPLES).as_posix())
    rel = pipeline.relative_to(project).as_posix()
    options = ["--profile", profile] if profile else []

    compiled = sqlflowc("compile", rel, "--format", "json", *options)
    assert compiled.exit_code == 0, compiled.output
    plan = json.loads(compiled.stdout)
    assert plan["project_dir"] == str(work.resolve())  # outputs go to the copy, not the checkout
    assert plan["steps"], "an example pipeline with no steps"

    result = run_ok(rel, *options)
    assert f"{len(plan['steps'])} ok" in result.output
    db = str(work.parent)
    assert f"steps on {db}" in result.output


# ------------------------------------------------------------------ quickstart


REVENUE_BY_CUSTOMER = [
    "customer,country,revenue,orders",
    "Grace Hopper,US,498.0,2",
    "Ada Lovelace,GB,317.9,3",
    "Edsger Dijkstra,NL,158.0,1",
    "Margaret Hamilton,US,149.7,1",
    "Linus Torvalds,FI,120.0,1",
]


def test_quickstart_outputs(example: Callable[[str], Path]) -> None:
    work = example("quickstart")
    run_ok("pipelines/quickstart.sf")
    assert csv_lines(work / "target" / "revenue_by_customer.csv") == REVENUE_BY_CUSTOMER
    parquet = str(work / "target" / "order_lines.parquet")
    with duckdb.connect() as con:
        rows = con.execute("SELECT count(*) FROM read_parquet(?)", [parquet]).fetchall()
        columns = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [parquet]).fetchall()
        revenue = con.execute(
            "SELECT round(sum(revenue), 2) FROM read_parquet(?)", [parquet]
        ).fetchall()
    assert rows == [(8,)]
    assert [(c[0], c[1]) for c in columns] == [
        ("order_id", "BIGINT"),
        ("order_date", "DATE"),
        ("customer", "VARCHAR"),
        ("country", "VARCHAR"),
        ("product", "VARCHAR"),
        ("category", "VARCHAR"),
        ("revenue", "DOUBLE"),
    ]
    assert revenue == [(1243.6,)]


def test_quickstart_min_revenue_from_the_command_line(example: Callable[[str], Path]) -> None:
    work = example("quickstart")
    run_ok("pipelines/quickstart.sf", "--var", "min_revenue=200")
    assert csv_lines(work / "target" / "revenue_by_customer.csv") == REVENUE_BY_CUSTOMER[:3]


def test_quickstart_database_from_the_profile(example: Callable[[str], Path]) -> None:
    work = example("quickstart")
    result = sqlflowc("run", "pipelines/quickstart.sf")
    assert result.exit_code == 0, result.output
    database = work / "target" / "quickstart.duckdb"
    assert f"steps on {database}" in result.output
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM order_lines").fetchall() == [(8,)]


# ------------------------------------------------------------------ conditional_pipelines


def test_environment_based(example: Callable[[str], Path]) -> None:
    work = example("conditional_pipelines")
    target = work / "target"

    run_ok("pipelines/environment_based.sf", "--profile", "dev")
    # dev keeps the test rows (sales 4 and 6)
    assert csv_lines(target / "daily_totals_dev.csv") == [
        "sold_on,sales,amount",
        "2024-06-01,2,195.5",
        "2024-06-02,2,235.25",
        "2024-06-03,2,425.0",
        "2024-06-04,2,159.99",
    ]
    assert not (target / "daily_totals_prod.csv").exists()

    run_ok("pipelines/environment_based.sf", "--profile", "production")
    assert csv_lines(target / "daily_totals_prod.csv") == [
        "sold_on,sales,amount",
        "2024-06-01,2,195.5",
        "2024-06-02,1,200.0",
        "2024-06-03,1,410.0",
        "2024-06-04,2,159.99",
    ]

    # neither production nor dev/test: the ELSE branch keeps no rows
    run_ok("pipelines/environment_based.sf", "--var", "environment=staging")
    assert csv_lines(target / "daily_totals_other.csv") == ["sold_on,sales,amount"]


def test_feature_flags(example: Callable[[str], Path]) -> None:
    work = example("conditional_pipelines")
    forecast = work / "target" / "product_forecast.csv"
    totals_parquet = work / "target" / "product_totals.parquet"

    result = run_ok("pipelines/feature_flags.sf", "--profile", "dev")  # enable_forecast: false
    assert not forecast.exists()
    assert not totals_parquet.exists()
    assert "product_forecast" not in result.output

    run_ok("pipelines/feature_flags.sf", "--profile", "production")  # enable_forecast: true
    assert csv_lines(forecast) == [
        "product,forecast",
        "gadget,644.04",
        "gizmo,55.28",
        "widget,418.0",
    ]
    forecast.unlink()

    run_ok("pipelines/feature_flags.sf", "--var", "enable_forecast=false")
    assert not forecast.exists()

    run_ok(
        "pipelines/feature_flags.sf",
        "--var",
        "enable_forecast=true",
        "--var",
        "growth=2",
        "--var",
        "enable_parquet_export=true",
    )
    assert csv_lines(forecast) == [
        "product,forecast",
        "gadget,1170.98",
        "gizmo,100.5",
        "widget,760.0",
    ]
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT product, amount FROM read_parquet(?) ORDER BY product", [str(totals_parquet)]
        ).fetchall()
    assert rows == [("gadget", 585.49), ("gizmo", 50.25), ("widget", 380.0)]


def test_region_based(example: Callable[[str], Path]) -> None:
    work = example("conditional_pipelines")
    target = work / "target"

    run_ok("pipelines/region_based.sf", "--profile", "dev")  # region: eu
    assert csv_lines(target / "sales_eu.csv") == [
        "sale_id;country;product;amount;currency",
        "1;DE;widget;110.4;EUR",
        "2;FR;gadget;69.46;EUR",
    ]

    run_ok("pipelines/region_based.sf", "--profile", "production")  # region: us
    assert csv_lines(target / "sales_us.csv") == [
        "sale_id;country;product;amount;currency",
        "3;US;widget;200.0;USD",
        "7;US;gadget;99.99;USD",
    ]

    run_ok("pipelines/region_based.sf", "--var", "region=apac")
    assert csv_lines(target / "sales_apac.csv") == [
        "sale_id;country;product;amount;currency",
        "5;JP;gadget;62033.0;JPY",
        "8;AU;widget;9078.0;JPY",
    ]


LARGE_SALES_50 = ["region,n,amount", "apac,2,470.0", "eu,2,195.5", "us,2,299.99"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # dev, min_amount 0: no inner condition holds, so the ELSE keeps amount >= 50
        (["--profile", "dev"], LARGE_SALES_50),
        # production, min_amount 50: amount >= 50
        (["--profile", "production"], LARGE_SALES_50),
        (
            ["--profile", "production", "--var", "min_amount=100"],
            ["region,n,amount", "apac,1,410.0", "eu,1,120.0", "us,1,200.0"],
        ),
        # dev, min_amount 5: the ELSEIF keeps amount >= 10 (the test rows too)
        (
            ["--profile", "dev", "--var", "min_amount=5"],
            ["region,n,amount", "apac,2,470.0", "eu,3,210.5", "us,3,335.24"],
        ),
        # dev, min_amount 150 and include_small unset: the first inner branch, amount >= 150
        (
            ["--profile", "dev", "--var", "min_amount=150"],
            ["region,n,amount", "apac,1,410.0", "us,1,200.0"],
        ),
        # ... but include_small=true skips it (NOT true), and the ELSEIF keeps amount >= 10
        (
            ["--profile", "dev", "--var", "min_amount=150", "--var", "include_small=true"],
            ["region,n,amount", "apac,2,470.0", "eu,3,210.5", "us,3,335.24"],
        ),
    ],
)
def test_nested_conditions(
    example: Callable[[str], Path], args: list[str], expected: list[str]
) -> None:
    work = example("conditional_pipelines")
    run_ok("pipelines/nested_conditions.sf", *args)
    assert csv_lines(work / "target" / "large_sales_by_region.csv") == expected


def test_active_branch_only_in_the_plan(example: Callable[[str], Path]) -> None:
    example("conditional_pipelines")
    dev = sqlflowc("compile", "pipelines/environment_based.sf", "--format", "json")
    prod = sqlflowc(
        "compile", "pipelines/environment_based.sf", "--profile", "production", "--format", "json"
    )
    assert dev.exit_code == 0 and prod.exit_code == 0, dev.output + prod.output
    dev_steps, prod_steps = json.loads(dev.stdout)["steps"], json.loads(prod.stdout)["steps"]
    dev_sql = [s["sql"][0] for s in dev_steps if s["op"] == "create_table"]
    prod_sql = [s["sql"][0] for s in prod_steps if s["op"] == "create_table"]
    assert "CREATE OR REPLACE TABLE sales AS SELECT * FROM sales_raw" in dev_sql
    assert "CREATE OR REPLACE TABLE sales AS SELECT * FROM sales_raw WHERE NOT is_test" in prod_sql
    assert len(dev_steps) == len(prod_steps) == 4
