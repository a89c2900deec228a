"""postgres: moving rows between PostgreSQL and DuckDB, against what one would do by hand.

A database of its own on the PostgreSQL server named by SQLFLOW_TEST_PG_DSN (default
`postgresql://postgres@127.0.0.1:5432/test`) is made for the run and dropped after it. Row
counts scale with BENCH_SCALE (`BENCH_SCALE=0.05` for a quick run).

- PostgreSQL → DuckDB, 5M rows of ten types (bigint, integer, numeric(12,2), double, boolean,
  text, date, timestamp, timestamptz, uuid): `LOAD t FROM pg` into a DuckDB file database
  against `psql -c "\\copy (SELECT ...) TO /dev/null"` (target: ≥ 0.6x its throughput, i.e.
  time ratio ≤ 1.67; stretch 0.8x, ≤ 1.25) and against a hand-written loop — psycopg
  `Copy.read()` → `pyarrow.csv` → DuckDB (target: ≥ 1.3x its throughput, ratio ≤ 0.77).
- Peak memory with 1M and with 5M rows (the process's `VmHWM`, interpreter and DuckDB
  included; target within 10%): of the connector's read alone (Arrow batches taken and
  dropped); of the whole load with DuckDB's default settings (its `memory_limit`, 80% of the
  RAM, lets it keep every block of the table it writes cached: the peak grows with the table,
  though nothing of it is needed); and of the whole load at `memory_limit` 64MB (the cache
  bounded), whose time is also compared with the load at the default settings. Beside them,
  how much DuckDB's own `CREATE TABLE AS SELECT * FROM read_parquet(...)` of the same rows
  (Parquet files written from the same generator) grows from 1M to 5M rows, in a fresh process
  too: the growth of the whole load against DuckDB's own, in MB.
- DuckDB → PostgreSQL, 2M rows: `EXPORT ... TYPE POSTGRES` (mode replace) against `psql -1`
  running `TRUNCATE` and `\\copy ... FROM` a CSV file of the same rows (target: ≥ 0.9x its
  throughput, ratio ≤ 1.11); the CSV file is written before the clock starts.
- MERGE: 1M rows, half of them updates, into a 2M-row table (no index): `EXPORT ... "mode":
  "merge"` against `psql -1` loading the rows into a staging table with `\\copy` and running
  PostgreSQL's own `MERGE INTO` (target: no slower, ratio ≤ 1.0). The table is restored before
  every sample, untimed.

`BENCH_PG_PARTS=write,merge` (any of read, write, merge) measures only those parts;
`BENCH_PG_REPEATS=5` takes 5 samples of each side (default 3).

Ours is the step's duration as the executor reports it (compile and opening the database
excluded), in a fresh process each time; the baselines are whole `psql` processes (their start-up,
a few ms, included) or, for the hand-written loop, the loop in a fresh process.

    python benchmarks/run.py postgres
    BENCH_SCALE=0.05 python benchmarks/postgres.py      # standalone, quick
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import Context, Row, Timing, child_env, interleaved, log, log_sample, median

NAME = "postgres"
TITLE = "PostgreSQL: COPY into DuckDB, EXPORT back (replace, merge) against psql and psycopg"
READ_ROWS = 5_000_000
SMALL_READ_ROWS = 1_000_000
WRITE_ROWS = 2_000_000
MERGE_ROWS = 1_000_000
REPEATS = int(os.environ.get("BENCH_PG_REPEATS", "3"))  # samples of each side
ADMIN_DSN = os.environ.get("SQLFLOW_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MEMORY_LIMIT = "256MB"  # the exports' engine
LOAD_MEMORY_LIMIT = "64MB"  # the bounded load

# Ten types, in PostgreSQL, over generate_series(1, n) g.
PG_ROWS = (
    "SELECT g::bigint AS id, (g % 100000)::int AS n, ((g % 1000000) / 100.0)::numeric(12,2) AS "
    "amount, g * 1.000001::float8 AS x, g % 3 = 0 AS flag, 'name ' || (g % 50000) AS name, "
    "DATE '2000-01-01' + (g % 9000) AS d, TIMESTAMP '2020-01-01' + g * INTERVAL '1 second' AS ts, "
    "TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 second' AS tstz, "
    "md5(g::text)::uuid AS u FROM generate_series(1, {n}) g"
)
PG_TYPES = (
    "id bigint, n integer, amount numeric(12,2), x double precision, flag boolean, name text, "
    "d date, ts timestamp, tstz timestamptz, u uuid"
)
# The same rows in DuckDB, over range(first, first + n) r(g).
DUCK_ROWS = (
    "SELECT g::BIGINT AS id, (g % 100000)::INTEGER AS n, ((g % 1000000) / 100)::DECIMAL(12,2) "
    "AS amount, (g * 1.000001)::DOUBLE AS x, g % 3 = 0 AS flag, 'name ' || (g % 50000) AS name, "
    "DATE '2000-01-01' + (g % 9000)::INTEGER AS d, TIMESTAMP '2020-01-01' + to_seconds(g) AS ts, "
    "TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(g) AS tstz, md5(g::VARCHAR)::UUID AS u "
    "FROM range({first}, {first} + {n}) r(g)"
)
COLUMNS = ("id", "n", "amount", "x", "flag", "name", "d", "ts", "tstz", "u")


def _dsn(dbname: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(ADMIN_DSN, dbname=dbname)


def _uri(dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(ADMIN_DSN)
    user, host = info.get("user", "postgres"), info.get("host", "127.0.0.1")
    return f"postgresql://{user}@{host}:{info.get('port', 5432)}/{dbname}"


def _pg(dsn: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- one measurement


MEASURED_RSS: dict[str, list[float]] = {}


def measure(spec: dict[str, Any]) -> Timing:
    """One side, in a fresh process; its time (and peak memory, in MEASURED_RSS)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['side']} failed:\n{proc.stdout}\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    MEASURED_RSS.setdefault(spec["key"], []).append(out["rss_mb"])
    return Timing(out["wall"], out["cpu"])


def psql(dsn: str, *commands: str, single: bool = False) -> Timing:
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn]
    if single:
        argv.append("-1")
    for command in commands:
        argv += ["-c", command]
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed: {proc.stderr}")
    return Timing(wall, _children_cpu() - c0)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in the measuring process."""
    c0, t0 = _cpu(), time.perf_counter()
    if spec["side"] == "ours":
        wall = _ours(spec)
        cpu = _cpu() - c0
    elif spec["side"] == "drain":
        _drain(spec)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    elif spec["side"] == "native":
        _native(spec)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    else:
        _by_hand(spec)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"wall": wall, "cpu": cpu, "rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's own peak RSS: `VmHWM` of /proc (`ru_maxrss` would also count the parent's
    size when it forked this process, which Linux keeps across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(spec: dict[str, Any]) -> float:
    from sqlflowc.api import compile_source
    from sqlflowc.runtime.executor import run_plan

    project = Path(spec["project"])
    comp = compile_source(spec["pipeline"], str(project / "bench.sf"), project_dir=project)
    limit = spec.get("memory_limit", MEMORY_LIMIT)  # None: DuckDB's default
    result = run_plan(comp.plan, database=spec["db"], memory_limit=limit)
    if not result.ok:
        raise RuntimeError(result.failures[0].message)
    return float(result.outcomes[-1].duration_ms) / 1000


def _drain(spec: dict[str, Any]) -> None:
    """The POSTGRES connector's read alone: every Arrow batch taken (converted by its `select`
    in an in-memory DuckDB when it has one) and dropped."""
    import duckdb

    from sqlflowc.connectors import get_connector
    from sqlflowc.connectors.runtime import ArrowBatches, ReadRequest

    connector = get_connector("postgres")
    assert connector is not None
    params = connector.parse({"dsn": spec["uri"], "table": spec["table"]})
    request = ReadRequest(project_dir=Path.cwd(), connection=duckdb.connect())
    result = connector.runtime().read(params, request)
    assert isinstance(result, ArrowBatches)
    try:
        batches: Any = result.reader
        if result.select is not None:
            duck = duckdb.connect()
            duck.register("batches", batches)
            batches = duck.sql(f"SELECT {result.select} FROM batches").to_arrow_reader()
        for _ in batches:
            pass
    finally:
        if result.close is not None:
            result.close()


def _native(spec: dict[str, Any]) -> None:
    """DuckDB's own load of the same rows from a Parquet file, into a fresh file database."""
    import duckdb

    with duckdb.connect(spec["db"]) as con:
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{spec['parquet']}')")


def _by_hand(spec: dict[str, Any]) -> None:
    """psycopg's `Copy.read()` → pyarrow's CSV reader → DuckDB, as one would write it."""
    import io

    import duckdb
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {
        "id": pa.int64(),
        "n": pa.int32(),
        "amount": pa.decimal128(12, 2),
        "x": pa.float64(),
        "flag": pa.bool_(),
        "name": pa.string(),
        "d": pa.date32(),
        "ts": pa.timestamp("us"),
        "tstz": pa.timestamp("us", tz="UTC"),
        "u": pa.string(),
    }
    options = {
        "read_options": pacsv.ReadOptions(column_names=list(COLUMNS)),
        "convert_options": pacsv.ConvertOptions(
            column_types=types, true_values=["t"], false_values=["f"]
        ),
    }
    duck = duckdb.connect(spec["db"])
    duck.execute(
        "CREATE TABLE t (id BIGINT, n INTEGER, amount DECIMAL(12,2), x DOUBLE, flag BOOLEAN, "
        "name VARCHAR, d DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, u UUID)"
    )
    with psycopg.connect(spec["dsn"]) as conn, conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        copy_sql = f"COPY (SELECT * FROM {spec['table']}) TO STDOUT (FORMAT CSV)"
        pending = b""
        with cur.copy(copy_sql) as copy:  # type: ignore[arg-type]
            chunks: list[bytes] = []
            size = 0
            while data := copy.read():
                chunks.append(bytes(data))
                size += len(data)
                if size >= 16 << 20:
                    block = pending + b"".join(chunks)
                    cut = block.rindex(b"\n") + 1
                    pending, block = block[cut:], block[:cut]
                    _insert(duck, pacsv.read_csv(io.BytesIO(block), **options))
                    chunks, size = [], 0
            block = pending + b"".join(chunks)
            if block:
                _insert(duck, pacsv.read_csv(io.BytesIO(block), **options))
    duck.close()


def _insert(duck: Any, table: Any) -> None:
    duck.register("chunk", table)
    duck.execute("INSERT INTO t SELECT * FROM chunk")
    duck.unregister("chunk")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------- the group


def prepare(work: Path, dbname: str, rows: dict[str, int], *, read: bool = True) -> Path:
    """The PostgreSQL tables and the DuckDB database the sides read; the DuckDB file."""
    import duckdb

    dsn = _dsn(dbname)
    if read:
        _pg(
            dsn,
            f"CREATE TABLE big AS {PG_ROWS.format(n=rows['read'])}",
            f"CREATE TABLE small AS {PG_ROWS.format(n=rows['small'])}",
        )
    _pg(
        dsn,
        f"CREATE TABLE merge_base AS {PG_ROWS.format(n=rows['write'])}",
        f"CREATE TABLE w_psql ({PG_TYPES})",
        "VACUUM ANALYZE",
    )
    db = work / "source.duckdb"
    with duckdb.connect(str(db)) as con:
        if read:  # the rows PostgreSQL holds, as Parquet files for DuckDB's own load
            for name in ("read", "small"):
                rows_sql = DUCK_ROWS.format(first=1, n=rows[name])
                con.execute(f"COPY ({rows_sql}) TO '{work / name}.parquet' (FORMAT PARQUET)")
        con.execute(f"CREATE TABLE src AS {DUCK_ROWS.format(first=1, n=rows['write'])}")
        first = rows["write"] - rows["merge"] // 2 + 1  # half updates, half new rows
        con.execute(
            "CREATE TABLE src_merge AS SELECT * REPLACE ((amount + 1)::DECIMAL(12,2) AS amount) "
            f"FROM ({DUCK_ROWS.format(first=first, n=rows['merge'])})"
        )
        for table in ("src", "src_merge"):
            path = str(work / f"{table}.csv")
            con.execute(f"COPY {table} TO '{path}' (FORMAT CSV, HEADER false)")
    return db


def run(ctx: Context) -> list[Row]:
    rows = {
        "read": ctx.scaled(READ_ROWS, 20_000),
        "small": ctx.scaled(SMALL_READ_ROWS, 4_000),
        "write": ctx.scaled(WRITE_ROWS, 8_000),
        "merge": ctx.scaled(MERGE_ROWS, 4_000),
    }
    if shutil.which("psql") is None:
        raise SystemExit("the postgres benchmarks need `psql` on PATH")
    work = ctx.workdir / NAME
    work.mkdir(parents=True)
    dbname = f"sqlflowc_bench_{uuid.uuid4().hex[:8]}"
    _pg(ADMIN_DSN, f'CREATE DATABASE "{dbname}"')
    try:
        return _run(work, dbname, rows)
    finally:
        _pg(ADMIN_DSN, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _run(work: Path, dbname: str, rows: dict[str, int]) -> list[Row]:
    log(f"  preparing {rows['read']:,} rows in PostgreSQL, {rows['write']:,} in DuckDB ...")
    t0 = time.perf_counter()
    parts = {p.strip() for p in os.environ.get("BENCH_PG_PARTS", "read,write,merge").split(",")}
    source = prepare(work, dbname, rows, read="read" in parts)
    log(f"  ({time.perf_counter() - t0:.1f} s)")
    dsn, uri = _dsn(dbname), _uri(dbname)
    counter = iter(range(1_000_000))

    def ours_read(table: str, key: str, limit: str | None = None) -> Callable[[], Timing]:
        pipeline = (
            f'SOURCE s TYPE POSTGRES PARAMS {{"dsn": "{uri}", "table": "{table}"}};\n'
            "LOAD t FROM s;\n"
        )
        return lambda: _fresh(work, counter, pipeline, key, limit)

    def hand_read() -> Timing:
        db = work / f"hand{next(counter)}.duckdb"
        spec = {"side": "hand", "key": "hand", "dsn": dsn, "table": "big", "db": str(db)}
        try:
            return measure(spec)
        finally:
            db.unlink(missing_ok=True)

    def native(name: str) -> Callable[[], Timing]:
        def action() -> Timing:
            db = work / f"native{next(counter)}.duckdb"
            parquet = str(work / f"{name}.parquet")
            try:
                return measure(
                    {"side": "native", "key": f"native_{name}", "db": str(db), "parquet": parquet}
                )
            finally:
                db.unlink(missing_ok=True)

        return action

    def drain(table: str, key: str) -> Callable[[], Timing]:
        return lambda: measure({"side": "drain", "key": key, "uri": uri, "table": table})

    def export(mode: str, table: str, source_table: str, key: str) -> Callable[[], Timing]:
        keys = ', "key": ["id"]' if mode == "merge" else ""
        pipeline = (
            f'EXPORT SELECT * FROM {source_table} TO "{uri}" TYPE POSTGRES '
            f'OPTIONS {{"table": "{table}", "mode": "{mode}"{keys}}};\n'
        )

        def action() -> Timing:
            if mode == "merge":
                _restore(dsn, table)
            db = work / f"export{next(counter)}.duckdb"
            shutil.copy(source, db)
            spec = {"side": "ours", "key": key, "project": str(work), "db": str(db)}
            try:
                return measure({**spec, "pipeline": pipeline})
            finally:
                db.unlink(missing_ok=True)

        return action

    def psql_merge() -> Timing:
        _restore(dsn, "m_psql")
        sets = ", ".join(f"{c} = s.{c}" for c in COLUMNS[1:])
        values = ", ".join(f"s.{c}" for c in COLUMNS)
        return psql(
            dsn,
            "CREATE TEMPORARY TABLE s (LIKE m_psql)",
            f"\\copy s FROM '{work / 'src_merge.csv'}' WITH (FORMAT csv)",
            f"MERGE INTO m_psql t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET {sets} "
            f"WHEN NOT MATCHED THEN INSERT VALUES ({values})",
            single=True,
        )

    actions: dict[str, Callable[[], Timing]] = {
        "read_ours": ours_read("big", "read_ours"),
        "read_psql": lambda: psql(dsn, "\\copy (SELECT * FROM big) TO '/dev/null'"),
        "read_hand": hand_read,
        "read_small": ours_read("small", "read_small"),
        "read_bounded": ours_read("big", "read_bounded", LOAD_MEMORY_LIMIT),
        "read_small_bounded": ours_read("small", "read_small_bounded", LOAD_MEMORY_LIMIT),
        "drain_big": drain("big", "drain_big"),
        "drain_small": drain("small", "drain_small"),
        "native_read": native("read"),
        "native_small": native("small"),
        "write_ours": export("replace", "w_ours", "src", "write_ours"),
        "write_psql": lambda: psql(
            dsn,
            "TRUNCATE w_psql",
            f"\\copy w_psql FROM '{work / 'src.csv'}' WITH (FORMAT csv)",
            single=True,
        ),
        "merge_ours": export("merge", "m_ours", "src_merge", "merge_ours"),
        "merge_psql": psql_merge,
    }
    prefixes = {"read": ("read_", "drain_", "native_"), "write": ("write_",), "merge": ("merge_",)}
    wanted = tuple(x for part in parts for x in prefixes.get(part, ()))
    actions = {key: action for key, action in actions.items() if key.startswith(wanted)}
    samples = interleaved(actions, repeats=REPEATS)
    labels = {
        "read_ours": f"LOAD, {rows['read']:,} rows",
        "read_psql": "psql \\copy TO /dev/null",
        "read_hand": "Copy.read() → pyarrow → DuckDB",
        "read_small": f"LOAD, {rows['small']:,} rows",
        "read_bounded": f"LOAD, {rows['read']:,}, {LOAD_MEMORY_LIMIT}",
        "read_small_bounded": f"LOAD, {rows['small']:,}, {LOAD_MEMORY_LIMIT}",
        "drain_big": f"read alone, {rows['read']:,} rows",
        "drain_small": f"read alone, {rows['small']:,} rows",
        "native_read": f"DuckDB's own load from Parquet, {rows['read']:,}",
        "native_small": f"DuckDB's own load from Parquet, {rows['small']:,}",
        "write_ours": f"EXPORT replace, {rows['write']:,}",
        "write_psql": "psql TRUNCATE + \\copy FROM",
        "merge_ours": f"EXPORT merge, {rows['merge']:,}",
        "merge_psql": "psql \\copy + MERGE INTO",
    }
    for key, label in labels.items():
        if key not in samples:
            continue
        peak = f"  peak {median(MEASURED_RSS[key]):.0f} MB" if key in MEASURED_RSS else ""
        log_sample(label, samples[key], peak)
    return _rows(samples, rows)


def _rows(samples: dict[str, list[Timing]], rows: dict[str, int]) -> list[Row]:
    def row(ours: str, base: str, name: str, what: str, limit: float) -> Row:
        r = Row.measured(NAME, name, what, samples[ours], samples[base], extra={"rows": rows})
        r.target = f"ratio <= {limit:g}"
        r.met = (r.ratio or 0) <= limit
        return r

    def memory(large: str, small: str, what: str) -> Row:
        big, little = median(MEASURED_RSS[large]), median(MEASURED_RSS[small])
        return Row(
            group=NAME,
            name=f"peak memory, {rows['read']:,} vs {rows['small']:,} rows",
            measures=what,
            ours=big,
            baseline=little,
            target="ratio <= 1.1",
            met=big / little <= 1.1,
            samples=len(MEASURED_RSS[large]),
            extra={"rss_mb_large": MEASURED_RSS[large], "rss_mb_small": MEASURED_RSS[small]},
        )

    def growth() -> Row:
        def grew(large: str, small: str) -> float:
            return median(MEASURED_RSS[large]) - median(MEASURED_RSS[small])

        ours, duckdb_own = grew("read_ours", "read_small"), grew("native_read", "native_small")
        return Row(
            group=NAME,
            name=f"peak memory growth, {rows['small']:,} → {rows['read']:,} rows",
            measures="growth of the whole LOAD's peak RSS (MB, not s) vs DuckDB's own CTAS "
            "from Parquet of the same rows (its cache of the written table)",
            ours=ours,
            baseline=duckdb_own,
            samples=len(MEASURED_RSS["native_read"]),
        )

    read = f"PG → DuckDB ({rows['read']:,} rows)"
    found: list[Row] = []
    if "read_ours" in samples:
        found += [
            row(
                "read_ours",
                "read_psql",
                read,
                "LOAD vs psql \\copy TO /dev/null (0.6x = 1.67)",
                1.67,
            ),
            row(
                "read_ours",
                "read_hand",
                read,
                "LOAD vs psycopg Copy.read() → pyarrow → DuckDB",
                0.77,
            ),
            memory(
                "drain_big",
                "drain_small",
                "peak RSS (MB, not s) of the connector's read alone, batches dropped",
            ),
            memory(
                "read_ours",
                "read_small",
                "peak RSS (MB) of the whole LOAD, DuckDB's default settings (its cache of the "
                "table written grows to memory_limit, 80% of RAM)",
            ),
            growth(),
            memory(
                "read_bounded",
                "read_small_bounded",
                f"peak RSS (MB) of the whole LOAD at memory_limit {LOAD_MEMORY_LIMIT}",
            ),
            row(
                "read_bounded",
                "read_ours",
                read,
                f"LOAD at memory_limit {LOAD_MEMORY_LIMIT} vs at DuckDB's default settings",
                1.1,
            ),
        ]
    if "write_ours" in samples:
        found.append(
            row(
                "write_ours",
                "write_psql",
                f"DuckDB → PG ({rows['write']:,} rows)",
                "EXPORT replace vs psql TRUNCATE + \\copy FROM a CSV file",
                1.11,
            )
        )
    if "merge_ours" in samples:
        found.append(
            row(
                "merge_ours",
                "merge_psql",
                f"merge ({rows['merge']:,} into {rows['write']:,})",
                "EXPORT merge vs psql \\copy into staging + MERGE INTO",
                1.0,
            )
        )
    return found


def _restore(dsn: str, table: str) -> None:
    _pg(dsn, f"DROP TABLE IF EXISTS {table}", f"CREATE TABLE {table} AS TABLE merge_base")


def _fresh(work: Path, counter: Any, pipeline: str, key: str, limit: str | None) -> Timing:
    db = work / f"load{next(counter)}.duckdb"
    spec = {
        "side": "ours",
        "key": key,
        "project": str(work),
        "db": str(db),
        "pipeline": pipeline,
        "memory_limit": limit,
    }
    try:
        return measure(spec)
    finally:
        db.unlink(missing_ok=True)
        db.with_name(db.name + ".wal").unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
    else:
        import tempfile

        from _common import console_script

        scale = float(os.environ.get("BENCH_SCALE", "1"))
        with tempfile.TemporaryDirectory(prefix="sqlflowc-bench-") as tmp:
            ctx = Context(scale, sys.executable, console_script("sqlflowc"), Path(tmp))
            for r in run(ctx):
                ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
                log(f"{r.name}: {r.measures}: ratio {ratio} ({r.target}, met: {r.met})")
