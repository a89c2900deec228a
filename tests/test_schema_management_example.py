"""examples/schema_management: the README's walk-through (run; upstream file changes; warn;
accept; fail policy; a renamed column seen by `check`) is run step by step through the installed
CLI, each command's status and shown output checked, and what each step leaves checked too."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers import sql
from sqlflowc.schema.store import SnapshotStore
from test_docs import Command, console_commands, run_session

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "schema_management"
_SECTION = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def sections() -> dict[int, list[Command]]:
    """The README's ```console commands, by numbered section."""
    text = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    found: dict[int, list[Command]] = {}
    starts = list(_SECTION.finditer(text))
    for i, start in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        blocks = re.findall(r"```console\n(.*?)```", text[start.end() : end], re.DOTALL)
        found[int(start.group(1))] = [c for b in blocks for c in console_commands(b)]
    return found


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    work = tmp_path / "shop"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("target"))
    return work


def test_the_walk_through_has_every_step() -> None:
    steps = sections()
    assert sorted(steps) == [1, 2, 3, 4, 5]
    shown = " ".join(c.shell for cs in steps.values() for c in cs)
    for command in ("run", "schema list", "schema compare", "schema accept", "schema history"):
        assert f"sqlflowc {command}" in shown
    assert "--schema-drift fail" in shown and "sqlflowc check" in shown


@pytest.mark.slow
def test_the_walk_through_step_by_step(shop: Path) -> None:
    steps = sections()
    store = SnapshotStore(shop)
    db = shop / "target" / "shop.duckdb"

    run_session(steps[1], shop)  # the baselines
    assert store.objects() == [
        "source:customers_csv",
        "source:orders_csv",
        "table:customers",
        "table:orders",
        "table:revenue_by_country",
    ]
    assert all(not store.history(o).pending for o in store.objects())

    run_session(steps[2], shop)  # a column added upstream: warned, loaded, observed
    assert sql(db, "SELECT count(*) FROM orders") == [(5,)]
    assert store.history("source:orders_csv").pending

    run_session(steps[3], shop)  # accepted
    assert not store.history("source:orders_csv").pending
    assert not store.history("table:orders").pending

    run_session(steps[4], shop)  # a breaking change stopped before its data moved
    assert sql(db, "SELECT count(*) FROM orders") == [(5,)]
    assert sql(db, "SELECT typeof(amount) FROM orders LIMIT 1") == [("DOUBLE",)]

    run_session(steps[5], shop)  # the source's own `fail`; `check` tells drift from a typo
    history = store.history("source:customers_csv")
    assert history.pending  # the renamed schema was recorded as observed, not accepted
    assert [e.snapshot.columns[-1].name for e in history.snapshots] == ["country_code", "country"]
    assert sql(db, "SELECT count(*) FROM customers") == [(3,)]
