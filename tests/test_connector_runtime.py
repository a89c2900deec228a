"""The connectors' run-time face: Arrow reads registered for a load, exports written by the
format's connector, `test` of the file connectors."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from sqlflowc.api import compile_source, run
from sqlflowc.backend.plan import Load
from sqlflowc.backend.plan_io import load_plan
from sqlflowc.connectors import get_connector, registry
from sqlflowc.connectors.runtime import ConnectorError

PLUGIN = """
from dataclasses import dataclass
from typing import Annotated

from sqlflowc.connectors import CommonParams, Connector
from sqlflowc.connectors.runtime import ArrowBatches, ConnectionTest, ConnectorRuntime
from sqlflowc.schema import Column
from sqlflowc.validation import Ge

CLOSED = []


@dataclass(frozen=True, slots=True, kw_only=True)
class Params(CommonParams):
    count: Annotated[int, Ge(0)]
    api_token: str = ""


class Numbers(Connector):
    name = "NUMBERS"
    params_schema = Params
    runtime_class = "demo_numbers:NumbersRuntime"

    def discover_schema(self, params, project_dir):
        return [Column("n", "BIGINT", False)]


class NumbersRuntime(ConnectorRuntime):
    def read(self, params, request):
        import pyarrow as pa

        schema = pa.schema([pa.field("n", pa.int64())])
        batches = (
            pa.record_batch([pa.array(range(i, min(i + 3, params.count)))], schema=schema)
            for i in range(0, params.count, 3)
        )
        reader = pa.RecordBatchReader.from_batches(schema, batches)
        return ArrowBatches(reader, close=lambda: CLOSED.append(params.api_token))

    def test(self, params, project_dir):
        return ConnectionTest(server="numbers", objects=("n",))
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def numbers_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A plugin distribution on sys.path declaring `numbers` in the entry-point group."""
    site = tmp_path / "site"
    write(site / "demo_numbers.py", PLUGIN)
    info = site / "demo_numbers-1.0.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: demo-numbers\nVersion: 1.0\n")
    write(info / "entry_points.txt", "[sqlflowc.connectors]\nnumbers = demo_numbers:Numbers\n")
    monkeypatch.syspath_prepend(str(site))
    registry.clear_plugin_cache()
    yield
    registry.clear_plugin_cache()
    sys.modules.pop("demo_numbers", None)


def test_arrow_read_is_loaded_and_closed(tmp_path: Path, numbers_plugin: None) -> None:
    project = tmp_path / "p"
    text = textwrap.dedent(
        """
        SOURCE nums TYPE NUMBERS PARAMS {"count": 10, "api_token": "${API_TOKEN}"};
        LOAD numbers FROM nums;
        LOAD more FROM nums MODE APPEND;
        CREATE TABLE total AS SELECT count(*) AS n, sum(n) AS s FROM numbers;
        """
    )
    comp = compile_source(
        text, str(project / "p.sf"), project_dir=project, environ={"API_TOKEN": "t0ken"}
    )
    step = comp.plan.steps[0]
    assert isinstance(step, Load) and step.read == "_sqlflow_read_load_numbers"
    assert step.source.params == {"api_token": "${API_TOKEN}", "count": 10}
    assert step.sql == (
        'CREATE OR REPLACE TABLE numbers AS SELECT * FROM "_sqlflow_read_load_numbers"',
    )
    assert "t0ken" not in comp.plan.to_json()
    # the plan file round-trips, `read` included
    (tmp_path / "plan.json").write_text(comp.plan.to_json(), encoding="utf-8")
    assert load_plan(tmp_path / "plan.json") == comp.plan
    db = tmp_path / "db.duckdb"
    result = run(comp.plan, database=str(db))
    assert result.ok, result.failures
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT * FROM total").fetchall() == [(10, 45)]
        assert con.execute("SELECT count(*) FROM more").fetchall() == [(10,)]
        # the registered relation is gone
        assert not con.execute(
            "SELECT * FROM duckdb_views() WHERE view_name LIKE '_sqlflow%'"
        ).fetchall()
    assert sys.modules["demo_numbers"].CLOSED == ["t0ken", "t0ken"]


def test_file_connector_test_lists_files(tmp_path: Path) -> None:
    write(tmp_path / "data" / "a.csv", "x\n1\n")
    write(tmp_path / "data" / "b.csv", "x\n2\n")
    csv = get_connector("csv")
    assert csv is not None
    found = csv.runtime().test(csv.parse({"path": "data"}), tmp_path)
    assert found.objects == ("data/a.csv", "data/b.csv") and "2 files" in found.server
    with pytest.raises(ConnectorError, match="not found"):
        csv.runtime().test(csv.parse({"path": "nowhere"}), tmp_path)
