"""versus_raw: whole `sqlflowc run` processes against a raw DuckDB script issuing the same SQL
(`python raw.py`: import duckdb, connect, execute, close), start-up included, same machine,
interleaved, each output checked:

- small: two CSV files loaded, joined, the join exported to CSV;
- chain100: a 1,000-row seed, then 100 chained `CREATE TABLE AS`.

Each runs with the compile cache warm (what a second `sqlflowc run` of an unchanged pipeline
does: no compiler loaded) and cold (`--no-cache`: every check compiled again). Targets from
the speed issue: warm ratio <= 1.3 for both. Every run uses a fresh database file and, but for
one side, an empty `target/schemas/`: each of those runs records every object's first schema
snapshot (the tables' baselines in one pack file, flushed to disk). The side "snapshots kept"
is the steady state of a pipeline run again: its schemas are captured and compared, nothing written.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

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

NAME = "versus_raw"
TITLE = "small and chain100: `sqlflowc run` vs a raw DuckDB script (whole processes)"
REPEATS = 7
TARGET = 1.3


def _chain100() -> tuple[str, list[str]]:
    statements = [
        "CREATE TABLE t0 AS SELECT range AS id, range % 7 AS g, 'x' || range AS s FROM range(1000)"
    ]
    statements += [f"CREATE TABLE t{i} AS SELECT id, g, s FROM t{i - 1}" for i in range(1, 101)]
    return "".join(s + ";\n" for s in statements), statements


def _small(project: Path, rows: int) -> tuple[str, list[str]]:
    data = project / "data"
    data.mkdir()
    with open(data / "customers.csv", "w", encoding="utf-8") as fh:
        fh.write("customer_id,name,country\n")
        for i in range(1000):
            fh.write(f"{i},customer {i},{['DE', 'FR', 'NL', 'US'][i % 4]}\n")
    with open(data / "orders.csv", "w", encoding="utf-8") as fh:
        fh.write("order_id,customer_id,amount\n")
        for i in range(rows):
            fh.write(f"{i},{i % 1000},{(i * 37) % 1000 / 10}\n")
    pipeline = (
        'SOURCE customers_csv TYPE CSV PARAMS {"path": "data/customers.csv", "has_header": true};\n'
        'SOURCE orders_csv TYPE CSV PARAMS {"path": "data/orders.csv", "has_header": true};\n'
        "LOAD customers FROM customers_csv;\n"
        "LOAD orders FROM orders_csv;\n"
        "CREATE TABLE revenue AS SELECT c.country, c.name, SUM(o.amount) AS revenue\n"
        "FROM orders AS o JOIN customers AS c USING (customer_id) GROUP BY ALL ORDER BY ALL;\n"
        'EXPORT revenue TO "out/revenue.csv" TYPE CSV OPTIONS {"header": true};\n'
    )
    statements = [
        "CREATE TABLE customers AS SELECT * FROM read_csv('data/customers.csv', header = true)",
        "CREATE TABLE orders AS SELECT * FROM read_csv('data/orders.csv', header = true)",
        "CREATE TABLE revenue AS SELECT c.country, c.name, SUM(o.amount) AS revenue "
        "FROM orders AS o JOIN customers AS c USING (customer_id) GROUP BY ALL ORDER BY ALL",
        "COPY revenue TO 'raw_out/revenue.csv' (HEADER true)",
    ]
    return pipeline, statements


def _fresh(project: Path, *names: str) -> None:
    for name in names:
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
            Path(str(path) + ".wal").unlink(missing_ok=True)


def _workload(ctx: Context, name: str) -> list[Row]:
    project = ctx.workdir / NAME / name
    (project / "pipelines").mkdir(parents=True)
    (project / "profiles").mkdir()
    (project / "profiles" / "dev.yml").write_text(
        "engine:\n  type: duckdb\n  path: target/run.duckdb\n", encoding="utf-8"
    )
    if name == "small":
        pipeline, statements = _small(project, ctx.scaled(20_000, 1_000))
    else:
        pipeline, statements = _chain100()
    (project / "pipelines" / f"{name}.sf").write_text(pipeline, encoding="utf-8")
    (project / "raw.py").write_text(raw_duckdb_script(statements), encoding="utf-8")
    run = [ctx.sqlflowc, "run", f"pipelines/{name}.sf"]

    def ours(*extra: str, snapshots: bool = False) -> Callable[[], Timing]:
        def action() -> Timing:
            _fresh(project, "target/run.duckdb", "target/runs", "out")
            if not snapshots:
                _fresh(project, "target/schemas")
            return time_command([*run, *extra], cwd=project)

        return action

    def raw() -> Timing:
        _fresh(project, "raw.duckdb", "raw_out")
        return time_command([ctx.python, "raw.py"], cwd=project)

    run_checked(run, cwd=project)  # fills the cache
    sides = {
        "warm": ours(),
        "steady": ours(snapshots=True),
        "cold": ours("--no-cache"),
        "raw": raw,
    }
    samples = interleaved(sides, repeats=REPEATS)
    if name == "small":  # both wrote the same report
        mine = (project / "out" / "revenue.csv").read_text(encoding="utf-8")
        theirs = (project / "raw_out" / "revenue.csv").read_text(encoding="utf-8")
        if mine != theirs:
            raise RuntimeError("versus_raw: sqlflowc and the raw script wrote different reports")
    log_sample(f"{name}: sqlflowc, cache warm", samples["warm"])
    log_sample(f"{name}: sqlflowc, cache warm, snapshots kept", samples["steady"])
    log_sample(f"{name}: sqlflowc --no-cache", samples["cold"])
    log_sample(f"{name}: raw DuckDB script", samples["raw"])
    rows = []
    for side, what in (
        ("warm", "cache warm"),
        ("steady", "cache warm, snapshots kept"),
        ("cold", "--no-cache"),
    ):
        row = Row.measured(
            NAME,
            f"{name} ({what})",
            f"`sqlflowc run` {name}, {what}, vs the same SQL in a raw DuckDB script",
            samples[side],
            samples["raw"],
        )
        if side == "warm":
            row.target = f"ratio <= {TARGET:g}"
            row.met = (row.ratio or 0) <= TARGET
        rows.append(row)
    return rows


def run(ctx: Context) -> list[Row]:
    return [*_workload(ctx, "small"), *_workload(ctx, "chain100")]
