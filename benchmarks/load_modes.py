"""load_modes: APPEND, REPLACE, MERGE and INCREMENTAL steps against the SQL one would write by hand.

A 6M-row table in a DuckDB file database receives 1M rows (BENCH_SCALE scales both):
- APPEND: the sqlflowc step against `INSERT INTO t SELECT ...`. Target: ratio <= 1.05.
- REPLACE: against `CREATE OR REPLACE TABLE t AS SELECT ...`. Target: ratio <= 1.05.
- MERGE on the key, half updates and half inserts, key checks included, against a plain append of
  the same rows (target: ratio <= 2.5) and, for context, against a hand-written `MERGE INTO`.
- INCREMENTAL BY a timestamp, one new day (1M rows) on six days already loaded, against the
  hand-written `DELETE` of the window + `INSERT` of the window's rows, in one transaction.

Every measurement runs in a fresh process on a fresh copy of the prepared database file, so
each starts from the same state and reports its own peak memory (`ru_maxrss`, which includes the
interpreter and DuckDB). Ours is the step's duration as the executor reports it (BEGIN to
COMMIT, compile excluded); the baseline is its statements between BEGIN and COMMIT. Opening the
database and the checkpoint on close are outside both.

    python benchmarks/run.py load_modes
    python benchmarks/load_modes.py                 # the same, standalone
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import Context, Row, Timing, child_env, interleaved, log, log_sample, median

NAME = "load_modes"
TITLE = "load modes: 1M rows into a 6M-row file database (APPEND, REPLACE, MERGE, INCREMENTAL)"
TARGET_ROWS = 6_000_000
NEW_ROWS = 1_000_000
REPEATS = 5
DAYS = 6  # days already in the incremental table; the new day is one more

# 16 columns shaped like TPC-H lineitem (the measurements in the issue were on lineitem).
COLUMNS = (
    "i AS id, i % 200000 AS partkey, i % 10000 AS suppkey, i % 7 AS linenumber, "
    "(i * 7) % 5000 / 100.0 AS quantity, (i * 11) % 10000000 / 100.0 AS price, "
    "(i % 10) / 100.0 AS discount, (i % 9) / 100.0 AS tax, chr(65 + (i % 3)::INTEGER) AS flag, "
    "chr(70 + (i % 2)::INTEGER) AS status, DATE '1995-01-01' + (i % 2500)::INTEGER AS shipdate, "
    "DATE '1995-02-01' + (i % 2500)::INTEGER AS commitdate, "
    "DATE '1995-03-01' + (i % 2500)::INTEGER AS receiptdate, 'DELIVER IN PERSON' AS instruct, "
    "'TRUCK' AS shipmode, 'comment ' || (i % 100000)::VARCHAR AS comment"
)

_NON_KEY = [part.split(" AS ")[-1].strip() for part in COLUMNS.split(", ")][1:]

# What each side runs. `ours` is a pipeline (one step measured: the last one); `hand` is SQL run
# in one transaction. {start}/{end} are the incremental window's bounds, known after setup.
CASES: dict[str, dict[str, Any]] = {
    "append": {
        "ours": "CREATE TABLE t MODE APPEND AS SELECT * FROM src_new;",
        "hand": ["INSERT INTO t SELECT * FROM src_new"],
    },
    "replace": {
        "ours": "CREATE TABLE t AS SELECT * FROM src_new;",
        "hand": ["CREATE OR REPLACE TABLE t AS SELECT * FROM src_new"],
    },
    "merge": {
        "ours": "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM src_merge;",
        "hand": ["INSERT INTO t SELECT * FROM src_merge"],
    },
    "merge_delete_insert": {
        "hand": [
            "DELETE FROM t WHERE id IN (SELECT id FROM src_merge)",
            "INSERT INTO t SELECT * FROM src_merge",
        ],
    },
    "merge_into": {
        "hand": [
            "MERGE INTO t USING src_merge AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET "
            + ", ".join(f"{c} = s.{c}" for c in _NON_KEY)
            + " WHEN NOT MATCHED THEN INSERT BY NAME"
        ],
    },
    "incremental": {
        "ours": (
            "CREATE TABLE events MODE INCREMENTAL BY ts AS "
            "SELECT * FROM events_src WHERE ts BETWEEN @start_dt AND @end_dt;"
        ),
        "hand": [
            "DELETE FROM events WHERE ts BETWEEN TIMESTAMP '{start}' AND TIMESTAMP '{end}'",
            "INSERT INTO events SELECT * FROM events_src "
            "WHERE ts BETWEEN TIMESTAMP '{start}' AND TIMESTAMP '{end}'",
        ],
    },
}


# ---------------------------------------------------------------------------- setup


def prepare(project: Path, target_rows: int, new_rows: int) -> tuple[Path, dict[str, str]]:
    """The database every measurement copies, and the incremental window's bounds."""
    import duckdb

    from sqlflowc.api import compile_source, run

    db = project / "base.duckdb"
    per_day = new_rows
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE t AS SELECT {COLUMNS} FROM range({target_rows}) r(i)")
        con.execute(
            f"CREATE TABLE src_new AS SELECT * REPLACE (id + {target_rows} AS id) "
            f"FROM (SELECT {COLUMNS} FROM range({new_rows}) r(i))"
        )
        # half of the ids exist (updates), half are new (inserts)
        con.execute(
            "CREATE TABLE src_merge AS SELECT * REPLACE "
            f"(id + {target_rows - new_rows // 2} AS id, quantity + 1 AS quantity) "
            f"FROM (SELECT {COLUMNS} FROM range({new_rows}) r(i))"
        )
        con.execute(
            "CREATE TABLE events_src AS SELECT i AS id, TIMESTAMP '2024-01-01' + "
            f"to_microseconds((i * 86400000000 // {per_day})) AS ts, i % 97 AS v, "
            f"'e' || (i % 1000)::VARCHAR AS tag FROM range({per_day * DAYS}) r(i)"
        )
    # the incremental table holds the first days, loaded by sqlflowc (so its state is real)
    text = CASES["incremental"]["ours"] + "\n"
    comp = compile_source(text, str(project / "init.sf"), project_dir=project, environ={})
    result = run(comp.plan, database=str(db))
    if not result.ok:
        raise RuntimeError(result.failures[0].message)
    with duckdb.connect(str(db)) as con:
        con.execute(
            f"INSERT INTO events_src SELECT i AS id, TIMESTAMP '2024-01-01' + "
            f"to_microseconds((i * 86400000000 // {per_day})) AS ts, i % 97 AS v, "
            f"'e' || (i % 1000)::VARCHAR AS tag FROM range({per_day * DAYS}, "
            f"{per_day * (DAYS + 1)}) r(i)"
        )
        (high_water,) = con.execute(
            "SELECT CAST(high_water AS VARCHAR) FROM _sqlflow_state"
        ).fetchall()[0]
        con.execute("CHECKPOINT")
    # the hand-written side uses the window the step computes: the mark to "now"
    return db, {"start": str(high_water), "end": "2100-01-01 00:00:00"}


# ---------------------------------------------------------------------------- one measurement


def measure(base: Path, work: Path, case: str, side: str, window: dict[str, str]) -> Timing:
    """Copy the database, run one side of one case in a fresh process; its wall time (and the
    process's peak memory, in `MEASURED_RSS`)."""
    db = work / f"{case}-{side}.duckdb"
    shutil.copy(base, db)
    spec = {"db": str(db), "project": str(work), "case": case, "side": side, "window": window}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    db.unlink(missing_ok=True)
    db.with_name(db.name + ".wal").unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{case}/{side} failed:\n{proc.stdout}\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    MEASURED_RSS.setdefault(f"{case}/{side}", []).append(out["rss_mb"])
    if out.get("load"):
        LOAD_NOTES[case] = out["load"]
    return Timing(out["wall"], out["cpu"])


MEASURED_RSS: dict[str, list[float]] = {}
LOAD_NOTES: dict[str, str] = {}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in the measuring process: one side of one case on its own database copy."""
    import duckdb

    case = CASES[spec["case"]]
    db = spec["db"]
    load = ""
    if spec["side"] == "ours":
        from sqlflowc.api import compile_source
        from sqlflowc.runtime.executor import EventKind, RunEvent, run_plan

        project = Path(spec["project"])
        comp = compile_source(
            case["ours"] + "\n", str(project / "bench.sf"), project_dir=project, environ={}
        )
        marks: dict[EventKind, float] = {}

        def events(event: RunEvent) -> None:
            marks[event.kind] = _cpu()

        result = run_plan(comp.plan, database=db, events=events)
        cpu = marks.get(EventKind.FINISHED, 0.0) - marks.get(EventKind.STARTED, 0.0)
        if not result.ok:
            raise RuntimeError(result.failures[0].message)
        outcome = result.outcomes[-1]
        wall = outcome.duration_ms / 1000
        load = str(outcome.load) if outcome.load is not None else ""
    else:
        statements = [s.format(**spec["window"]) for s in case["hand"]]
        con = duckdb.connect(db)
        try:
            c0, t0 = _cpu(), time.perf_counter()
            con.execute("BEGIN TRANSACTION")
            for statement in statements:
                con.execute(statement).fetchall()
            con.execute("COMMIT")
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
        finally:
            con.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall": wall, "cpu": cpu, "rss_mb": rss_mb, "load": load}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------- the group


# sample key -> (case, side, label)
SIDES: dict[str, tuple[str, str, str]] = {
    "append_ours": ("append", "ours", "APPEND, sqlflowc"),
    "append_hand": ("append", "hand", "INSERT INTO ... SELECT"),
    "replace_ours": ("replace", "ours", "REPLACE, sqlflowc"),
    "replace_hand": ("replace", "hand", "CREATE OR REPLACE ... AS"),
    "merge_ours": ("merge", "ours", "MERGE, sqlflowc"),
    "merge_append": ("merge", "hand", "the same rows, appended"),
    "merge_into": ("merge_into", "hand", "MERGE INTO by hand"),
    "merge_delete_insert": ("merge_delete_insert", "hand", "DELETE + INSERT by key, by hand"),
    "incremental_ours": ("incremental", "ours", "INCREMENTAL, sqlflowc"),
    "incremental_hand": ("incremental", "hand", "DELETE + INSERT by hand"),
}


def run(ctx: Context) -> list[Row]:
    target_rows = ctx.scaled(TARGET_ROWS, 60_000)
    new_rows = ctx.scaled(NEW_ROWS, 10_000)
    work = ctx.workdir / NAME
    work.mkdir(parents=True)
    log(f"  preparing a {target_rows:,}-row table and {new_rows:,}-row sources ...")
    t0 = time.perf_counter()
    base, window = prepare(work, target_rows, new_rows)
    log(f"  ({time.perf_counter() - t0:.1f} s; {base.stat().st_size / 1e6:.0f} MB file)")

    def action(case: str, who: str) -> Callable[[], Timing]:
        return lambda: measure(base, work, case, who, window)

    samples = interleaved(
        {key: action(case, who) for key, (case, who, _) in SIDES.items()}, repeats=REPEATS
    )
    peak = {key: median(MEASURED_RSS[f"{case}/{who}"]) for key, (case, who, _) in SIDES.items()}
    for key, (_, _, label) in SIDES.items():
        log_sample(label, samples[key], f"  peak {peak[key]:.0f} MB")
    for case, note in LOAD_NOTES.items():
        log(f"  {case}: {note}")

    def row(ours: str, baseline: str, what: str, limit: float | None) -> Row:
        case = SIDES[ours][0]
        r = Row.measured(
            NAME,
            f"{case} ({new_rows:,} into {target_rows:,})",
            what,
            samples[ours],
            samples[baseline],
            extra={
                "rows": new_rows,
                "target_rows": target_rows,
                "peak_mb_ours": peak[ours],
                "peak_mb_baseline": peak[baseline],
            },
        )
        if limit is not None:
            r.target = f"ratio <= {limit:g}"
            r.met = (r.ratio or 0) <= limit
        return r

    return [
        row("append_ours", "append_hand", "APPEND step vs INSERT INTO ... SELECT", 1.05),
        row("replace_ours", "replace_hand", "REPLACE step vs CREATE OR REPLACE TABLE ... AS", 1.05),
        row(
            "merge_ours",
            "merge_append",
            "MERGE step (half updates, key checks) vs a plain append of the rows",
            2.5,
        ),
        row(
            "merge_ours",
            "merge_delete_insert",
            "the same MERGE step vs DELETE + INSERT by key by hand, in one transaction",
            1.2,
        ),
        row(
            "merge_ours",
            "merge_into",
            "the same MERGE step vs a hand-written MERGE INTO (no checks), for context",
            None,
        ),
        row(
            "incremental_ours",
            "incremental_hand",
            "INCREMENTAL step, one new day vs DELETE + INSERT of the window by hand",
            None,
        ),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
        sys.exit(0)
    import run as runner

    sys.exit(runner.main([NAME, *sys.argv[1:]]))
