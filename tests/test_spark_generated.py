"""The differential test on generated pipelines (marked `spark`: `nox -s spark`): seeded random
pipelines (`spark_pipelines.py`: CSV and Parquet sources; REPLACE, APPEND, MERGE and INCREMENTAL
loads; CTAS with filters, aggregates, joins, window functions, and MERGE / APPEND /
INCREMENTAL CTAS; CSV and Parquet exports) run on DuckDB and on Spark: every table (rows, and
types through the mapping of docs/engines.md), every step's row count and load counts, and
every export file are the same."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from spark_pipelines import duck_tables, export_rows, generated_project, same, spark_engine
from sqlflowc.api import compile_file, run

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

SEEDS = range(4)


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_pipeline_gives_the_same_tables_and_exports(
    spark: Any, tmp_path: Path, seed: int
) -> None:
    from sqlflowc.runtime.spark.types import duckdb_type

    pipeline = generated_project(tmp_path / "p", seed)
    text = pipeline.read_text()
    db = str(tmp_path / "duck.db")
    duck = run(compile_file(pipeline).plan, database=db)
    assert duck.ok, (duck.failures, text)
    expected_exports = export_rows(pipeline.parent)
    shutil.rmtree(pipeline.parent / "target")
    sparked = run(compile_file(pipeline, engine="spark").plan, engine=spark_engine(pipeline.parent))
    assert sparked.ok, (sparked.failures, text)
    assert [(o.rows, str(o.load)) for o in sparked.outcomes] == [
        (o.rows, str(o.load)) for o in duck.outcomes
    ], text
    tables = duck_tables(db)
    assert len(tables) >= 5, text
    for table, (types, expected) in tables.items():
        frame = spark.read.parquet(str(pipeline.parent / "target" / "wh" / table))
        assert [duckdb_type(f.dataType) for f in frame.schema] == types, (table, text)
        assert same([tuple(r) for r in frame.collect()], expected), (table, text)
    got_exports = export_rows(pipeline.parent)
    assert got_exports.keys() == expected_exports.keys() and got_exports, text
    for name, rows in expected_exports.items():
        assert same(got_exports[name], rows), (name, text)


def test_the_generator_covers_every_kind_of_step() -> None:
    """Across the seeds the generated pipelines use every load mode and kind of transform."""
    import tempfile

    texts = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in SEEDS:
            texts.append(generated_project(Path(tmp) / str(seed), seed).read_text())
    joined = "\n".join(texts)
    for needle in (
        "MODE APPEND;",
        "MODE MERGE KEY (id)",
        "MODE INCREMENTAL BY id;",
        "LOOKBACK '10 days' KEY (id)",
        "CREATE TABLE t",
        "GROUP BY grp",
        " JOIN ",
        "LEFT JOIN",
        "OVER (",
        "MODE MERGE KEY (grp)",
        "MODE INCREMENTAL BY day AS",
        "TYPE CSV",
        "TYPE PARQUET;",
    ):
        assert needle in joined, needle
