"""Shared fixtures. Hypothesis profiles: `ci` (bounded, the default) and `fuzz` (`nox -s fuzz`).
`spark`: the shared Spark session. `s3_server` and `s3_bucket`: a real S3-protocol server
(moto) and a bucket per test (`s3server.py`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from s3server import MotoServer, moto_server

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one local[2] Spark session of the test session (start-up takes ~10 s); the tests
    marked `spark` share it (`nox -s spark`)."""
    pytest.importorskip("pyspark")
    from sqlflowc.runtime.spark.session import start

    session = start("local[2]", {"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    """A `moto_server` on a free loopback port for the whole session (`s3server.py`)."""
    with moto_server() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: MotoServer) -> Iterator[str]:
    """A fresh bucket on `s3_server`, removed with its objects after the test."""
    with s3_server.bucket() as name:
        yield name
