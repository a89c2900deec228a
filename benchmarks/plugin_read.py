"""plugin_read: a connector plugin's Arrow read through sqlflowc, against the same read by hand.

The example plugin (examples/connectors/plugin, `TYPE SQLITE`) is pip-installed into the run's
work directory. Ours: `sqlflowc run` of `LOAD orders FROM s` on a SQLite table of mixed types
(integer, text, real, timestamp), on `:memory:` — start-up, compilation (schema discovery
through the plugin), the registry, the executor registering the plugin's `ArrowBatches` and
DuckDB streaming them. Baseline: a script doing the same read by hand — sqlite3's `fetchmany`
in batches of the same size, converted to Arrow with the same types, streamed into DuckDB with
`CREATE TABLE ... AS SELECT * FROM reader`. The ratio is what the connector interface and the
rest of sqlflowc cost on top of the plugin's own work.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from _common import ROOT, Context, Row, interleaved, log, log_sample, run_checked, time_command

NAME = "plugin_read"
TITLE = "a plugin's read: `TYPE SQLITE` (examples/connectors/plugin) vs by hand"
REPEATS = 5
ROWS = 400_000
BATCH = 50_000
TARGET = 1.3  # ours / baseline

BASELINE = """\
import datetime as dt
import sqlite3
import sys

import duckdb
import pyarrow as pa

TYPES = [pa.int64(), pa.string(), pa.float64(), pa.timestamp("us")]
schema = pa.schema([pa.field(n, t) for n, t in zip(
    ["order_id", "customer", "amount", "ordered_at"], TYPES)])
db = sqlite3.connect(sys.argv[1], check_same_thread=False)
cursor = db.execute("SELECT order_id, customer, amount, ordered_at FROM orders")


def batches():
    while rows := cursor.fetchmany({batch}):
        columns = [list(c) for c in zip(*rows)]
        columns[3] = [None if v is None else dt.datetime.fromisoformat(v) for v in columns[3]]
        yield pa.record_batch(
            [pa.array(c, type=t) for c, t in zip(columns, TYPES)], schema=schema
        )


reader = pa.RecordBatchReader.from_batches(schema, batches())
con = duckdb.connect(":memory:")
con.register("rows", reader)
con.execute("CREATE TABLE orders AS SELECT * FROM rows")
assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == {rows}
"""


def _database(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE orders (order_id INTEGER, customer TEXT, amount REAL, "
            "ordered_at TIMESTAMP)"
        )
        db.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            (
                (i, f"customer {i % 997}", i * 0.25, f"2024-03-{1 + i % 28:02} 10:{i % 60:02}:00")
                for i in range(rows)
            ),
        )


def run(ctx: Context) -> list[Row]:
    work = ctx.workdir / NAME
    site = work / "site"
    work.mkdir(parents=True)
    plugin = ROOT / "examples" / "connectors" / "plugin"
    run_checked(
        [ctx.python, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(plugin)]
    )
    rows = ctx.scaled(ROWS, minimum=BATCH)
    _database(work / "shop.db", rows)
    (work / "sqlflow.yml").write_text("# the benchmark's project\n", encoding="utf-8")
    (work / "p.sf").write_text(
        'SOURCE s TYPE SQLITE PARAMS {"path": "shop.db", "table": "orders", '
        f'"batch_size": {BATCH}}};\nLOAD orders FROM s;\n',
        encoding="utf-8",
    )
    script = work / "baseline.py"
    script.write_text(BASELINE.format(batch=BATCH, rows=rows), encoding="utf-8")
    with_site = ["env", f"PYTHONPATH={site}"]
    ours_cmd = [*with_site, ctx.sqlflowc, "run", "p.sf", "--db", ":memory:"]
    base_cmd = [*with_site, ctx.python, str(script), str(work / "shop.db")]
    done = run_checked(ours_cmd, cwd=work).stdout
    if f"{rows:,} rows".replace(",", "") not in done.replace(",", ""):
        raise RuntimeError(f"plugin_read: sqlflowc did not load {rows} rows:\n{done}")
    samples = interleaved(
        {
            "ours": lambda: time_command(ours_cmd, cwd=work),
            "baseline": lambda: time_command(base_cmd, cwd=work),
        },
        repeats=REPEATS,
    )
    log(f"  {rows} rows in batches of {BATCH}")
    log_sample("sqlflowc run (SQLITE plugin)", samples["ours"])
    log_sample("sqlite3 → pyarrow → duckdb by hand", samples["baseline"])
    row = Row.measured(
        NAME,
        "plugin_read",
        f"`sqlflowc run` LOAD of {rows} SQLite rows through the plugin vs the same read by hand",
        samples["ours"],
        samples["baseline"],
        target=f"ratio <= {TARGET}",
    )
    row.met = row.ratio is not None and row.ratio <= TARGET
    return [row]
