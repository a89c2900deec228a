"""Seeded random pipelines for the DuckDB/Spark differential test (`test_spark_generated.py`),
and the comparison of what two runs wrote.

`generated_project(root, seed)` writes a project: three sources (a CSV of orders with unique
ids, a Parquet file of more orders with other ids and the columns in another order, a CSV of
updates to some ids and new ones), 2-4 loads (REPLACE, then APPEND, MERGE or INCREMENTAL on
the same targets; seeds 0-3 have every mode between them), 4-6 CTAS transforms, each of
another kind: filters, aggregates, inner and left joins, window functions (row_number, rank,
running sums, lag), CASE and date functions, and INCREMENTAL / MERGE / APPEND CTAS; and 1-3
exports (CSV, Parquet). Only constructs both engines run are used, with every ORDER BY of a
window total (ties broken by every column), so the rows are the same on both: the point is
that sqlflowc runs the same pipeline the same way.

`same(a, b)` compares two row lists as multisets, floats to 10 significant digits (sums of
doubles are added in another order on Spark).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

FACT = ("id", "grp", "amount", "qty", "day")  # a table of orders' shape
KINDS = (
    "filter",
    "case",
    "window",
    "lag",
    "agg",
    "join",
    "merge_ctas",
    "incremental_ctas",
    "append_ctas",
)


@dataclass
class _Table:
    name: str
    fact: bool  # has the FACT columns
    grouped: bool = False  # one row per grp (an aggregate), to join on grp


def _orders(rng: random.Random, ids: list[int]) -> list[tuple[Any, ...]]:
    start = dt.date(2024, 1, 1)
    rows = []
    for i in ids:
        amount = None if rng.random() < 0.1 else round(rng.uniform(-50, 500), 2)
        grp = rng.choice(["a", "b", "c", "d", None if rng.random() < 0.3 else "e"])
        rows.append((i, grp, amount, rng.randint(0, 20), start + dt.timedelta(rng.randint(0, 60))))
    return rows


def _csv(path: Path, rows: list[tuple[Any, ...]]) -> None:
    def cell(v: Any) -> str:
        return "" if v is None else str(v)

    lines = [",".join(FACT)] + [",".join(cell(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parquet(path: Path, rows: list[tuple[Any, ...]]) -> None:
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (id BIGINT, grp VARCHAR, amount DOUBLE, qty BIGINT, day DATE)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
        # other column order: APPEND matches columns by name
        con.execute(f"COPY (SELECT day, qty, amount, grp, id FROM t) TO '{path}' (FORMAT PARQUET)")


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tables: list[_Table] = []
        self.lines: list[str] = []
        self.n = 0

    def new(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def facts(self) -> list[_Table]:
        return [t for t in self.tables if t.fact]

    def aggs(self) -> list[_Table]:
        return [t for t in self.tables if t.grouped]

    def loads(self, seed: int) -> None:
        rng = self.rng
        self.lines.append("LOAD orders FROM orders_csv;")
        self.tables.append(_Table("orders", True))
        all_modes = ["append", "merge", "incremental", "incremental_key"]
        modes = {all_modes[seed % 4], *rng.sample(all_modes, rng.randint(0, 2))}
        for mode in sorted(modes):
            if mode == "append":
                self.lines += [
                    "LOAD hist FROM orders_csv;",
                    "LOAD hist FROM more_parquet MODE APPEND;",
                ]
                self.tables.append(_Table("hist", True))
            elif mode == "merge":
                self.lines.append("LOAD orders FROM updates_csv MODE MERGE KEY (id);")
            elif mode == "incremental":
                self.lines += [
                    "LOAD inc FROM orders_csv MODE INCREMENTAL BY id;",
                    "LOAD inc FROM updates_csv MODE INCREMENTAL BY id;",
                ]
                self.tables.append(_Table("inc", True))
            else:
                self.lines += [
                    "LOAD inck FROM orders_csv MODE INCREMENTAL BY day KEY (id);",
                    "LOAD inck FROM updates_csv MODE INCREMENTAL BY day LOOKBACK '10 days' "
                    "KEY (id);",
                ]
                self.tables.append(_Table("inck", True))

    def transform(self, kind: str) -> None:
        """Append one transform of `kind` (a join or a MERGE CTAS needing an aggregate when
        there is none yet gets one first)."""
        rng = self.rng
        if kind in ("join", "merge_ctas") and not self.aggs():
            self.transform("agg")
        src = rng.choice(self.facts()).name
        name = self.new("t")
        fact = True
        if kind == "filter":
            op = rng.choice([">", "<=", "<>"])
            body = f"SELECT * FROM {src} WHERE amount {op} {rng.randint(0, 300)} OR grp IS NULL"
        elif kind == "case":
            body = (
                f"SELECT id, coalesce(grp, 'none') AS grp, "
                f"CASE WHEN amount IS NULL THEN 0.0 WHEN amount < 0 THEN -amount "
                f"ELSE amount END AS amount, qty * 2 AS qty, "
                f"CAST(day + INTERVAL 1 DAY AS DATE) AS day "
                f"FROM {src} WHERE qty BETWEEN {rng.randint(0, 5)} AND {rng.randint(6, 20)}"
            )
        elif kind == "window":
            fn = rng.choice(
                [
                    "row_number() OVER (PARTITION BY grp ORDER BY amount DESC, id, qty, day)",
                    "rank() OVER (PARTITION BY grp ORDER BY qty)",
                    "sum(amount) OVER (PARTITION BY grp ORDER BY id, amount, qty, day "
                    "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
                    "count(*) OVER (PARTITION BY day)",
                ]
            )
            body = f"SELECT id, grp, amount, qty, day, {fn} AS w FROM {src}"
            fact = False  # an extra column: not of the orders' shape
        elif kind == "lag":
            body = (
                f"SELECT id, grp, amount, qty, day, lag(amount) OVER "
                f"(PARTITION BY grp ORDER BY day, id, amount, qty) AS prev_amount FROM {src}"
            )
            fact = False
        elif kind == "agg":
            body = (
                f"SELECT grp, count(*) AS n, sum(amount) AS total, avg(qty) AS avg_qty, "
                f"min(day) AS first_day, max(amount) AS top, count(DISTINCT qty) AS qtys "
                f"FROM {src} GROUP BY grp"
            )
            if rng.random() < 0.5:
                body += f" HAVING count(*) > {rng.randint(0, 3)}"
            self.lines.append(f"CREATE TABLE {name} AS {body};")
            self.tables.append(_Table(name, False, grouped=True))
            return
        elif kind == "join":
            how = rng.choice(["JOIN", "LEFT JOIN"])
            aggs = self.aggs()
            if aggs and (rng.random() < 0.5 or len(self.facts()) < 2):
                other = rng.choice(aggs).name
                body = (
                    f"SELECT f.id, f.grp, f.amount, f.qty, f.day FROM {src} f {how} {other} o "
                    f"ON f.grp = o.grp WHERE o.grp IS NOT NULL OR f.qty > 10"
                )
            else:
                other = rng.choice([t for t in self.facts() if t.name != src]).name
                body = (
                    f"SELECT a.id, a.grp, a.amount, b.qty, a.day FROM {src} a {how} {other} b "
                    f"ON a.id = b.id AND a.day = b.day"
                )
        elif kind == "merge_ctas":
            self.lines.append(
                f"CREATE TABLE {name} MODE MERGE KEY (grp) AS SELECT grp, count(*) AS n "
                f"FROM {src} WHERE grp IS NOT NULL GROUP BY grp;"
            )
            self.lines.append(
                f"CREATE TABLE {name} MODE MERGE KEY (grp) AS SELECT grp, max(qty) AS n "
                f"FROM {src} WHERE grp IN ('a', 'c', 'e') GROUP BY grp;"
            )
            self.tables.append(_Table(name, False, grouped=True))
            return
        elif kind == "incremental_ctas":
            self.lines.append(
                f"CREATE TABLE {name} MODE INCREMENTAL BY day AS SELECT day, count(*) AS n, "
                f"sum(amount) AS total FROM {src} WHERE day BETWEEN @start_dt AND @end_dt "
                "GROUP BY day;"
            )
            self.tables.append(_Table(name, False))
            return
        else:  # append_ctas
            self.lines.append(f"CREATE TABLE {name} AS SELECT * FROM {src} WHERE qty < 10;")
            self.lines.append(
                f"CREATE TABLE {name} MODE APPEND AS SELECT day, qty, id, grp, amount "
                f"FROM {src} WHERE qty >= 10;"
            )
            self.tables.append(_Table(name, True))
            return
        self.lines.append(f"CREATE TABLE {name} AS {body};")
        self.tables.append(_Table(name, fact))

    def exports(self) -> None:
        rng = self.rng
        for i, table in enumerate(
            rng.sample(self.tables, min(len(self.tables), rng.randint(1, 3)))
        ):
            kind = rng.choice(["csv", "parquet"])
            options = ' OPTIONS {"header": true}' if kind == "csv" else ""
            self.lines.append(
                f'EXPORT SELECT * FROM {table.name} TO "target/out{i}.{kind}" '
                f"TYPE {kind.upper()}{options};"
            )


def generated_project(root: Path, seed: int) -> Path:
    """A project under `root` with data and one generated pipeline; the pipeline's path."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    ids = rng.sample(range(1, 400), 60)
    _csv(root / "orders.csv", _orders(rng, ids[:30]))
    _parquet(root / "more.parquet", _orders(rng, ids[30:45]))
    _csv(root / "updates.csv", _orders(rng, ids[20:25] + ids[45:55]))
    gen = _Gen(seed)
    gen.lines += [
        'SOURCE orders_csv TYPE CSV PARAMS {"path": "orders.csv"};',
        'SOURCE more_parquet TYPE PARQUET PARAMS {"path": "more.parquet"};',
        'SOURCE updates_csv TYPE CSV PARAMS {"path": "updates.csv"};',
    ]
    gen.loads(seed)
    # each kind of transform at most once per pipeline, an aggregate first half the time; seeds
    # 0-3 have every kind between them (seed s those at positions s, s + 4, ... of KINDS)
    kinds = [k for i, k in enumerate(KINDS) if i % 4 == seed % 4]
    others = [k for k in KINDS if k not in kinds]
    kinds += gen.rng.sample(others, gen.rng.randint(4, 6) - len(kinds))
    for kind in sorted(kinds, key=lambda k: k != "agg") if gen.rng.random() < 0.5 else kinds:
        gen.transform(kind)
    gen.exports()
    pipeline = root / "p.sf"
    pipeline.write_text("\n".join(gen.lines) + "\n", encoding="utf-8")
    return pipeline


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.10g}")
    return value


def same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    """Whether two lists of rows hold the same rows (any order; floats to 10 digits)."""

    def key(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted((tuple(_norm(v) for v in row) for row in rows), key=repr)

    return key(a) == key(b)


# ---------------------------------------------------------------------------- comparing runs


def spark_engine(project: Path) -> Any:
    """The Spark engine of a test: the shared local[2] session, its warehouse in the project."""
    from sqlflowc.runtime.spark import SparkEngine

    return SparkEngine("local[2]", str(project / "target" / "wh"), {}, stop=False)


def duck_tables(db: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table DuckDB wrote (not sqlflowc's own): its types and rows."""
    out = {}
    with duckdb.connect(db, read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        for name in names:
            if not name.startswith("_sqlflow"):
                types = [r[1] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
                out[name] = (types, con.execute(f'SELECT * FROM "{name}"').fetchall())
    return out


def export_rows(project: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of every export file under target/ (read by DuckDB)."""
    out = {}
    target = project / "target"
    with duckdb.connect() as con:
        for path in sorted(target.glob("*.*")) if target.is_dir() else []:
            if path.suffix in (".csv", ".parquet", ".json"):
                out[path.name] = con.execute(f"SELECT * FROM '{path}'").fetchall()
    return out
