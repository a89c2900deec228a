"""Ctrl-C and SIGTERM while a run waits on an S3 server that took the request and never answers
(a real `sqlflowc run` process; the server a proxy in front of moto that hangs on the chosen
requests, or a listener that answers nothing): the run ends promptly with 130 or 143 (not when
the read times out, 120 s per attempt), no retry starts after the signal, and the target is left
as before — the table, the object."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import duckdb
import pytest
from s3pipelines import get, project, put, put_table

from helpers import start, stop
from s3server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer, StallingProxy

BOUND = 60.0  # seconds: far below one read timeout (120 s), however loaded the machine


def lake(endpoint: str) -> dict[str, object]:
    return {
        "lake": {
            "type": "s3",
            "endpoint_url": endpoint,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "region": REGION,
        }
    }


def interrupted_run(path: Path, proxy: StallingProxy, sig: int) -> tuple[int, str, str, float]:
    """Run the pipeline, send `sig` once a request stalled; status, stdout, stderr, seconds
    from the signal to the end."""
    proc = start(path.parent.parent, "run", str(path))
    try:
        if not proxy.stalled.wait(60):
            proc.kill()
            raise AssertionError(f"no request stalled: {proc.communicate()}")
        time.sleep(0.5)  # the request is surely being waited for
        assert proc.poll() is None, proc.communicate()
        return stop(proc, sig, timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def table(db: Path, name: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
    finally:
        con.close()


def earlier_orders(root: Path) -> Path:
    db = root / "target" / "dev.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE orders AS SELECT 42 AS id")
    con.close()
    return db


@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_signal_stops_a_load_from_a_server_that_never_answers(
    tmp_path: Path, sig: int, status: int
) -> None:
    proxy = StallingProxy(None)  # accepts, answers nothing
    try:
        path = project(
            tmp_path,
            'SOURCE o TYPE PARQUET PARAMS {"path": "s3://b/in/orders.parquet", '
            '"connection": "lake"};\nLOAD orders FROM o;\n',
            lake(proxy.endpoint),
        )
        db = earlier_orders(tmp_path)
        code, out, err, took = interrupted_run(path, proxy, sig)
    finally:
        proxy.close()
    name = signal.Signals(sig).name
    assert code == status, (out, err)
    assert took < BOUND, f"the run went on for {took:.0f} s after {name}"
    assert "load_orders" in out and f"interrupted ({name}); rolled back" in out, out
    assert "retrying" not in out, "no retry after the signal"
    assert "Traceback" not in err and "internal error" not in err, err
    assert table(db, "orders") == [(42,)], "the table is as it was"


def test_sigterm_stops_a_load_whose_object_read_hangs(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    """The object is found (HEAD answered), then its ranged GET, made in DuckDB's own thread
    through the filesystem, hangs."""
    uri = f"s3://{s3_bucket}/in/orders.parquet"
    put_table(s3_server, uri, "SELECT range AS id FROM range(1000)", "parquet", tmp_path)
    proxy = StallingProxy(s3_server.port, lambda request: b"\r\nrange:" in request.lower())
    try:
        path = project(
            tmp_path,
            f'SOURCE o TYPE PARQUET PARAMS {{"path": "{uri}", "connection": "lake"}};\n'
            "LOAD orders FROM o;\n",
            lake(proxy.endpoint),
        )
        db = earlier_orders(tmp_path)
        code, out, err, took = interrupted_run(path, proxy, signal.SIGTERM)
    finally:
        proxy.close()
    assert code == 143, (out, err)
    assert took < BOUND, f"the run went on for {took:.0f} s after SIGTERM"
    assert "interrupted (SIGTERM); rolled back" in out, out
    assert "retrying" not in out
    assert "Traceback" not in err and "internal error" not in err, err
    assert table(db, "orders") == [(42,)]


def test_sigterm_stops_an_export_whose_upload_hangs(
    s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{s3_bucket}/out/orders.csv"
    put(s3_server, uri, b"id\n42\n")
    proxy = StallingProxy(s3_server.port, lambda request: request.startswith(b"PUT "))
    try:
        path = project(
            tmp_path,
            "CREATE TABLE orders AS SELECT range AS id FROM range(1000);\n"
            f"EXPORT orders TO '{uri}' TYPE CSV "
            'OPTIONS {"connection": "lake"};\n',
            lake(proxy.endpoint),
        )
        code, out, err, took = interrupted_run(path, proxy, signal.SIGTERM)
    finally:
        proxy.close()
    assert code == 143, (out, err)
    assert took < BOUND, f"the run went on for {took:.0f} s after SIGTERM"
    assert "interrupted (SIGTERM); rolled back" in out, out
    assert "retrying" not in out
    assert "Traceback" not in err and "Exception in thread" not in err, err
    assert get(s3_server, uri) == b"id\n42\n", "the object is as it was"
