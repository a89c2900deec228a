"""tpch: a TPC-H-shaped pipeline on DuckDB — `sqlflowc run` against a raw DuckDB script issuing
the same SQL (`python raw.py`: import duckdb, connect, execute, close), whole processes, start-up
included, interleaved, the exports checked to hold the same rows.

The tables are generated at scale factor BENCH_SCALE (SF1 by default: 6 million lineitems) as
Parquet; the pipeline loads the eight of them, runs six queries shaped like TPC-H Q1, Q3, Q5,
Q6, Q10 and Q12 and exports two results (CSV and Parquet). sqlflowc runs with its compile cache
warm and the schema snapshots kept (a pipeline run again), each sample on a fresh database
file. What the ratio shows is what sqlflowc adds to a heavy run: compiling (here: the cache
lookup), capturing every source's and table's schema, exact row counts, atomic table swaps and
exports, run records. The speed issue asks for it to stay where it was (1.04x when filed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import _tpch
from _common import (
    Context,
    Row,
    Timing,
    interleaved,
    log_sample,
    raw_duckdb_script,
    run_checked,
    time_command,
)

NAME = "tpch"
TITLE = "TPC-H-shaped pipeline on DuckDB: `sqlflowc run` vs a raw DuckDB script"
REPEATS = 3


def _fresh(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
            Path(str(path) + ".wal").unlink(missing_ok=True)


def _same_exports(project: Path) -> None:
    """Both sides exported the same rows; sums of DOUBLEs may differ in the last bits (DuckDB
    adds in parallel, in no fixed order), so floats are compared to 12 significant digits."""
    import math

    import duckdb

    def rows(con: duckdb.DuckDBPyConnection, reader: str, path: Path) -> list[tuple[object, ...]]:
        return sorted(con.execute(f"SELECT * FROM {reader}(?)", [str(path)]).fetchall(), key=repr)

    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-12)
        return a == b

    with duckdb.connect() as con:
        for name, reader in (("q1.csv", "read_csv"), ("q10.parquet", "read_parquet")):
            mine = rows(con, reader, project / "target" / name)
            theirs = rows(con, reader, project / "raw_out" / name)
            if (
                not mine
                or len(mine) != len(theirs)
                or not all(
                    len(a) == len(b) and all(map(same, a, b))
                    for a, b in zip(mine, theirs, strict=True)
                )
            ):
                raise RuntimeError(f"tpch: sqlflowc and the raw script exported different {name}")


def run(ctx: Context) -> list[Row]:
    project = ctx.workdir / NAME
    pipeline = _tpch.project(project, ctx.scale)
    script = raw_duckdb_script(_tpch.statements("raw_out"))
    (project / "raw.py").write_text(script, encoding="utf-8")
    database = project / "target" / "run.duckdb"
    argv = [ctx.sqlflowc, "run", pipeline.name, "--db", str(database)]
    run_checked(argv, cwd=project)  # fills the cache and the page cache, snapshots recorded

    def ours() -> Timing:
        _fresh(database, project / "target" / "runs")
        return time_command(argv, cwd=project)

    def raw() -> Timing:
        _fresh(project / "raw.duckdb", project / "raw_out")
        return time_command([ctx.python, "raw.py"], cwd=project)

    samples = interleaved({"ours": ours, "raw": raw}, repeats=REPEATS)
    _same_exports(project)
    log_sample(f"SF{ctx.scale:g}: sqlflowc, cache warm, snapshots kept", samples["ours"])
    log_sample(f"SF{ctx.scale:g}: raw DuckDB script", samples["raw"])
    return [
        Row.measured(
            NAME,
            f"tpch SF{ctx.scale:g}",
            "`sqlflowc run` of 8 loads, 6 queries, 2 exports vs the same SQL in a raw script",
            samples["ours"],
            samples["raw"],
        )
    ]
