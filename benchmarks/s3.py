"""s3: reading and writing Parquet (~40 MB) and CSV (~100 MB) on a local S3-protocol server (moto),
sqlflowc against the faster of the two ways one would do it by hand.

The data: 850k rows of 16 lineitem-like columns (BENCH_SCALE scales them), written once as one
Parquet object and one CSV object. moto_server runs on a free loopback port; every side speaks
HTTP to it through s3fs, with the same credentials.

- read: ours is a run of `SOURCE s TYPE PARQUET|CSV PARAMS {"path": "s3://..."}; LOAD t FROM s;`
  into an in-memory database (the whole run: schema discovery, the load). The baselines load the
  same object into a table: DuckDB reading through a registered s3fs filesystem
  (`read_parquet('s3://...')` / `read_csv`), and pyarrow reading through s3fs
  (`pq.read_table` / `pyarrow.csv.read_csv`) handed to DuckDB. Target: ratio <= 1/0.9 of the
  faster baseline (throughput >= 0.9x).
- write: ours is the EXPORT step of `EXPORT t TO 's3://.../x.parquet' TYPE PARQUET` (its
  duration as the run reports it); the baselines write the same table: DuckDB `COPY t TO
  's3://...'` through s3fs, and DuckDB → Arrow → `pq.write_table`/`pyarrow.csv.write_csv`
  through s3fs. Same target.

moto re-reads a whole object for each ranged GET, so reading through many small requests costs
more here than against S3 itself; every side pays that alike.

    python benchmarks/run.py s3
    python benchmarks/s3.py
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import Clock, Context, Row, Timing, interleaved, log, log_sample, median

NAME = "s3"
TITLE = "S3 (local moto server): read and write ~40 MB Parquet, ~100 MB CSV"
ROWS = 850_000
REPEATS = 5
TARGET = 1 / 0.9  # ours may take at most this many times the faster baseline
BUCKET = "sqlflowc-bench"
KEY_ID, SECRET = "bench-key", "bench-secret-value"
REGION = "eu-west-1"

COLUMNS = (
    "i AS id, i % 200000 AS partkey, i % 10000 AS suppkey, i % 7 AS linenumber, "
    "(i * 7) % 5000 / 100.0 AS quantity, (i * 11) % 10000000 / 100.0 AS price, "
    "(i % 10) / 100.0 AS discount, (i % 9) / 100.0 AS tax, chr(65 + (i % 3)::INTEGER) AS flag, "
    "chr(70 + (i % 2)::INTEGER) AS status, DATE '1995-01-01' + (i % 2500)::INTEGER AS shipdate, "
    "DATE '1995-02-01' + (i % 2500)::INTEGER AS commitdate, "
    "DATE '1995-03-01' + (i % 2500)::INTEGER AS receiptdate, "
    "'DELIVER IN PERSON ' || (i % 13)::VARCHAR AS instruct, 'TRUCK' AS shipmode, "
    "md5(i::VARCHAR) AS comment"
)


class Moto:
    """moto_server on a free loopback port, for the duration of a `with`."""

    def __enter__(self) -> Moto:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1):
                    return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(
            key=KEY_ID,
            secret=SECRET,
            endpoint_url=self.endpoint,
            client_kwargs={"region_name": REGION},
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def params(self) -> str:
        return (
            f'"endpoint_url": "{self.endpoint}", "access_key_id": "{KEY_ID}", '
            f'"secret_access_key": "{SECRET}", "region": "{REGION}"'
        )


def _ours_read(server: Moto, work: Path, fmt: str, key: str) -> Callable[[], Timing]:
    from sqlflowc.api import compile_source, run

    text = (
        f'SOURCE s TYPE {fmt.upper()} PARAMS {{"path": "s3://{BUCKET}/{key}", '
        f"{server.params()}}};\nLOAD t FROM s;\n"
    )
    plan = compile_source(text, str(work / "read.sf"), project_dir=work, environ={}).plan

    def action() -> Timing:
        with Clock() as clock:
            result = run(plan, database=":memory:")
        if not result.ok:
            raise RuntimeError(result.failures[0].message)
        return clock.timing

    return action


def _duckdb_read(fs: Any, fmt: str, key: str) -> Callable[[], Timing]:
    import duckdb

    def action() -> Timing:
        with Clock() as clock:
            con = duckdb.connect()
            con.register_filesystem(fs)
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_{fmt}('s3://{BUCKET}/{key}')")
            con.close()
        return clock.timing

    return action


def _arrow_read(fs: Any, fmt: str, key: str) -> Callable[[], Timing]:
    import duckdb
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    def action() -> Timing:
        with Clock() as clock:
            if fmt == "parquet":
                table = pq.read_table(f"{BUCKET}/{key}", filesystem=fs)
            else:
                with fs.open(f"{BUCKET}/{key}", "rb") as fh:
                    table = pacsv.read_csv(fh)
            con = duckdb.connect()
            con.register("arrow_in", table)
            con.execute("CREATE TABLE t AS SELECT * FROM arrow_in")
            con.close()
        return clock.timing

    return action


def _ours_write(server: Moto, work: Path, fmt: str, local: Path) -> Callable[[], Timing]:
    from sqlflowc.api import compile_source, run

    text = (
        f"CREATE TABLE t AS SELECT * FROM read_parquet('{local}');\n"
        f"EXPORT t TO 's3://{BUCKET}/out/ours.{fmt}' TYPE {fmt.upper()} "
        f"OPTIONS {{{server.params()}}};\n"
    )
    plan = compile_source(text, str(work / "write.sf"), project_dir=work, environ={}).plan

    def action() -> Timing:
        with Clock() as clock:
            result = run(plan, database=":memory:")
        if not result.ok:
            raise RuntimeError(result.failures[0].message)
        # The EXPORT step's wall time; the CPU is the whole run's (CREATE TABLE included).
        return Timing(result.outcomes[-1].duration_ms / 1000, clock.timing.cpu)

    return action


def _duckdb_write(fs: Any, fmt: str, local: Path) -> Callable[[], Timing]:
    import duckdb

    def action() -> Timing:
        con = duckdb.connect()
        con.register_filesystem(fs)
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{local}')")
        with Clock() as clock:
            con.execute(f"COPY t TO 's3://{BUCKET}/out/duck.{fmt}' (FORMAT {fmt})")
        con.close()
        return clock.timing

    return action


def _arrow_write(fs: Any, fmt: str, local: Path) -> Callable[[], Timing]:
    import duckdb
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    def action() -> Timing:
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{local}')")
        with Clock() as clock:
            table = con.sql("SELECT * FROM t").to_arrow_table()
            if fmt == "parquet":
                pq.write_table(table, f"{BUCKET}/out/arrow.parquet", filesystem=fs)
            else:
                with fs.open(f"{BUCKET}/out/arrow.csv", "wb") as fh:
                    pacsv.write_csv(table, fh)
        con.close()
        return clock.timing

    return action


def run(ctx: Context) -> list[Row]:
    import duckdb

    rows_n = ctx.scaled(ROWS, 10_000)
    work = Path(tempfile.mkdtemp(prefix="sqlflowc-bench-s3-", dir=ctx.workdir))
    rows: list[Row] = []
    try:
        local = work / "data.parquet"
        with duckdb.connect() as con:
            con.execute(f"CREATE TABLE t AS SELECT {COLUMNS} FROM range({rows_n}) r(i)")
            con.execute(f"COPY t TO '{local}' (FORMAT parquet)")
            con.execute(f"COPY t TO '{work / 'data.csv'}' (FORMAT csv)")
        sizes = {f: (work / f"data.{f}").stat().st_size / 2**20 for f in ("parquet", "csv")}
        with Moto() as server:
            fs = server.filesystem()
            fs.mkdir(BUCKET)
            for f in ("parquet", "csv"):
                fs.put_file(str(work / f"data.{f}"), f"{BUCKET}/in/data.{f}")
            for fmt in ("parquet", "csv"):
                key = f"in/data.{fmt}"
                log(f"{fmt}: {rows_n:,} rows, {sizes[fmt]:.0f} MB")
                rows.append(
                    _row(
                        f"read {fmt}",
                        f"LOAD from s3:// ({sizes[fmt]:.0f} MB {fmt}) into DuckDB",
                        {
                            "ours": _ours_read(server, work, fmt, key),
                            "duckdb+s3fs": _duckdb_read(fs, fmt, key),
                            "pyarrow+s3fs": _arrow_read(fs, fmt, key),
                        },
                    )
                )
                rows.append(
                    _row(
                        f"write {fmt}",
                        f"EXPORT to s3:// ({sizes[fmt]:.0f} MB {fmt})",
                        {
                            "ours": _ours_write(server, work, fmt, local),
                            "duckdb+s3fs": _duckdb_write(fs, fmt, local),
                            "pyarrow+s3fs": _arrow_write(fs, fmt, local),
                        },
                    )
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _row(name: str, measures: str, actions: dict[str, Callable[[], Timing]]) -> Row:
    samples = interleaved(actions, REPEATS)
    for label, values in samples.items():
        log_sample(f"{name}: {label}", values)
    fastest = min(
        ("duckdb+s3fs", "pyarrow+s3fs"), key=lambda k: median([t.wall for t in samples[k]])
    )
    row = Row.measured(
        NAME,
        f"s3 {name}",
        f"{measures}; baseline: {fastest}",
        samples["ours"],
        samples[fastest],
        target=f"<= {TARGET:.2f}x",
    )
    row.met = row.ratio is not None and row.ratio <= TARGET
    return row


if __name__ == "__main__":  # a standalone run of this group only
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import run as runner

    sys.exit(runner.main([NAME, *sys.argv[1:]]))
