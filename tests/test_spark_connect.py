"""Spark Connect (marked `spark`: `nox -s spark`): a real Spark Connect server (PySpark's own
`SparkConnectServer`, local[1], started with spark-submit on a free loopback port) and
`sqlflowc run --profile connect` (`remote: sc://127.0.0.1:PORT`) as a user runs it: the Spark
example (CSV and JSON sources, MERGE, INCREMENTAL CTAS, row and Arrow Python UDFs, exports)
gives the files DuckDB gives. Skipped when the Spark Connect client (grpcio, ...) is not
installed; an unreachable server is SF1002."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SQLFLOWC
from spark_pipelines import export_rows, same

pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "spark"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client_installed() -> bool:
    try:
        import pyspark.sql.connect.session  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not _client_installed():
        pytest.skip("the Spark Connect client is not installed (pip install 'pyspark[connect]')")
    port = _free_port()
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    logs = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    with logs.open("w") as out:
        proc = subprocess.Popen(
            [
                str(submit),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--master",
                "local[1]",
                "--conf",
                f"spark.connect.grpc.binding.port={port}",
                "--conf",
                "spark.ui.enabled=false",
                "--conf",
                "spark.sql.shuffle.partitions=2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the Spark Connect server exited: {logs.read_text()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(1)
        else:
            pytest.fail("the Spark Connect server did not listen within 300 s")
        yield f"sc://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _project(root: Path, remote: str) -> Path:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target"))
    (root / "profiles" / "connect.yml").write_text(
        f"engine: {{type: spark, remote: '{remote}', warehouse: target/wh}}\n"
    )
    return root


def _sqlflowc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [SQLFLOWC, *args], cwd=root, capture_output=True, text=True, timeout=900, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_the_spark_example_runs_on_spark_connect(connect_server: str, tmp_path: Path) -> None:
    duck = _project(tmp_path / "duck", connect_server)
    assert _sqlflowc(duck, "run", "pipelines/orders.sf").returncode == 0
    root = _project(tmp_path / "connect", connect_server)
    done = _sqlflowc(root, "run", "pipelines/orders.sf", "--profile", "connect")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 ok" in done.stdout + done.stderr
    assert "(inserted 1, updated 1)" in done.stdout + done.stderr  # the MERGE's exact counts
    expected, got = export_rows(duck), export_rows(root)
    assert got.keys() == expected.keys() == {"customer_totals.csv", "daily_sales.parquet"}
    for name, rows in expected.items():
        assert same(got[name], rows), name
    assert sorted(p.name for p in (root / "target" / "wh").iterdir() if p.name[0] != "_") == [
        "customer_totals",
        "customers",
        "daily_sales",
        "orders",
    ]


def test_an_unreachable_server_is_sf1002(tmp_path: Path) -> None:
    if not _client_installed():
        pytest.skip("the Spark Connect client is not installed")
    root = _project(tmp_path / "p", f"sc://127.0.0.1:{_free_port()}")
    done = _sqlflowc(root, "run", "pipelines/orders.sf", "--profile", "connect")
    assert done.returncode != 0
    assert "error[SF1002]: cannot connect to Spark Connect at sc://127.0.0.1:" in done.stderr
    assert "UNAVAILABLE" in done.stderr  # the gRPC status, not a Python repr
    assert "start-connect-server.sh" in done.stderr
