"""Development sessions: tests, lint, typecheck, fuzz, build, bench, goldens (`nox -s NAME`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent


def _pytest(session: nox.Session, *args: str) -> None:
    """pytest on every core (pytest-xdist), with the bounded hypothesis profile `ci`."""
    session.install("-e", ".[test]")
    workers = os.environ.get("PYTEST_WORKERS", "auto")
    env = {"HYPOTHESIS_PROFILE": "ci"}
    session.run("pytest", "-q", "-n", workers, *args, *session.posargs, env=env)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite without the tests marked `slow` or `spark` (CI runs all three sessions)."""
    _pytest(session, "-m", "not slow and not spark")


@nox.session
def slow(session: nox.Session) -> None:
    """The tests marked `slow`: grammar fuzzing, whole documented sessions, large kills."""
    _pytest(session, "-m", "slow")


@nox.session
def spark(session: nox.Session) -> None:
    """The tests marked `spark`: the Spark engine on one shared local[2] session (Java 17+), and
    a Spark Connect server of its own for the Spark Connect client."""
    session.install("-e", ".[test,spark,spark-connect]")
    env = {"HYPOTHESIS_PROFILE": "ci"}
    session.run("pytest", "-q", "-m", "spark", "-p", "no:xdist", *session.posargs, env=env)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Grammar fuzzing with the long hypothesis profile."""
    session.install("-e", ".[test]")
    session.run(
        "pytest", "-q", "tests/test_fuzz.py", *session.posargs, env={"HYPOTHESIS_PROFILE": "fuzz"}
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/."""
    session.install("-e", ".[lint]")
    session.run("mypy", "src")


@nox.session
def goldens(session: nox.Session) -> None:
    """Rewrite the golden files under tests/golden/ from the current compiler."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "tests/test_goldens.py", env={"SQLFLOWC_UPDATE_GOLDENS": "1"})


@nox.session
def build(session: nox.Session) -> None:
    """Build the wheel, install it in a fresh venv and run an example with it."""
    session.install("build")
    dist = Path(tempfile.mkdtemp(prefix="sqlflowc-dist-"))
    session.run("python", "-m", "build", "--wheel", "--outdir", str(dist))
    wheel = next(dist.glob("sqlflowc-*.whl"))
    venv = dist / "venv"
    session.run("python", "-m", "venv", str(venv))
    pip = venv / "bin" / "pip"
    session.run(str(pip), "install", "-q", str(wheel), external=True)
    project = dist / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", project)
    sqlflowc = str(venv / "bin" / "sqlflowc")
    with session.chdir(str(dist)):  # far from the checkout: the grammar must come from the wheel
        session.run(sqlflowc, "--version", external=True)
        session.run(sqlflowc, "run", str(project / "pipelines" / "quickstart.sf"), external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each prints its ratio against a baseline measured in the same run."""
    # moto: the s3 group's local S3-protocol server; pydantic and msgspec: what the validation
    # group compares sqlflowc.validation with
    session.install(".", "moto[server]", "pydantic", "msgspec")
    env = {"PYTHONHASHSEED": "0", **{k: v for k, v in os.environ.items() if k == "BENCH_SCALE"}}
    session.run("python", "benchmarks/run.py", *session.posargs, env=env)
