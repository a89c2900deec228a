"""The typed plan: every example pipeline's plan survives JSON, and bad plan files are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sqlflowc.api import compile_file, compile_source
from sqlflowc.backend.load_modes import with_schema_policy
from sqlflowc.backend.plan import (
    PLAN_VERSION,
    Append,
    CreateTable,
    Export,
    Load,
    Merge,
    Replace,
    Source,
    step_target,
)
from sqlflowc.backend.plan_io import load_plan
from sqlflowc.diagnostics import Code, CompileError
from sqlflowc.profiles import available_profiles, find_project_dir

ROOT = Path(__file__).resolve().parents[1]
# examples/connectors/ needs a plugin or a server: tests/test_connector_plugin.py and
# tests/postgres/test_connector_examples.py run them.
EXAMPLES = sorted(
    p
    for p in (ROOT / "examples").rglob("*.sf")
    if "target" not in p.parts and not p.is_relative_to(ROOT / "examples" / "connectors")
)
V1 = Path(__file__).parent / "plans_v1" / "load_modes_basic_modes.json"


@pytest.mark.parametrize("pipeline", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_plan_reads_back_equal(pipeline: Path, tmp_path: Path) -> None:
    project = find_project_dir(pipeline)
    profile = (available_profiles(project) or [None])[0]
    plan = compile_file(pipeline, profile=profile, project_dir=project, environ={}).plan
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json(), encoding="utf-8")
    loaded = load_plan(path)
    assert loaded == plan
    assert loaded.to_json() == plan.to_json()
    assert json.loads(plan.to_json())["version"] == PLAN_VERSION == 2


def test_the_ops_of_a_pipeline(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.csv").write_text("id,name\n1,Ann\n", encoding="utf-8")
    comp = compile_source(
        'SOURCE p TYPE CSV PARAMS {"path": "data/p.csv", "has_header": true};\n'
        "LOAD people FROM p;\n"
        "LOAD people FROM p MODE MERGE KEY (id);\n"
        "CREATE TABLE names MODE APPEND AS SELECT name FROM people;\n"
        "EXPORT names TO 'out/names.csv' TYPE CSV OPTIONS {\"header\": false};\n",
        str(tmp_path / "p.sf"),
        project_dir=tmp_path,
        environ={},
    )
    load, merge, append, export = comp.plan.steps
    source = Source(name="p", connector="csv", params={"has_header": True, "path": "data/p.csv"})
    assert isinstance(load, Load) and load.mode == Replace() and load.source == source
    assert load.writes == ("people",) and load.reads == ()
    assert isinstance(merge, Load) and merge.depends_on == ("load_people",)
    assert merge.mode == Merge(
        stage="_sqlflow_stage_load_people_2", schema_policy="strict", keys=("id",)
    )
    assert isinstance(append, CreateTable) and append.reads == ("people",)
    assert append.mode == Append(stage="_sqlflow_stage_table_names", schema_policy="strict")
    assert isinstance(export, Export) and (export.format, export.options) == (
        "csv",
        {"header": False},
    )
    assert [step_target(s) for s in comp.plan.steps] == [
        "people",
        "people",
        "names",
        "out/names.csv",
    ]
    evolved = with_schema_policy(comp.plan, "evolve")
    assert [getattr(getattr(s, "mode", None), "schema_policy", None) for s in evolved.steps] == [
        None,
        "evolve",
        "evolve",
        None,
    ]


# -- refused plan files ---------------------------------------------------------------------


def refused(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    with pytest.raises(CompileError) as caught:
        load_plan(path)
    assert all(d.code is Code.BAD_PLAN for d in caught.value.diagnostics)
    return [d.message for d in caught.value.diagnostics]


def compiled(tmp_path: Path) -> dict[str, Any]:
    comp = compile_source(
        "CREATE TABLE t AS SELECT 1 AS id;\n"
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 2 AS id;\n",
        str(tmp_path / "p.sf"),
        project_dir=tmp_path,
        environ={},
    )
    doc: dict[str, Any] = json.loads(comp.plan.to_json())
    return doc


def test_a_merge_without_keys_is_refused(tmp_path: Path) -> None:
    doc = compiled(tmp_path)
    doc["steps"][1]["mode"]["keys"] = []
    [message] = refused(tmp_path, doc)
    assert message.endswith("`steps.1.mode.keys`: needs at least one item, got []")


def test_keys_on_an_append_are_refused(tmp_path: Path) -> None:
    doc = compiled(tmp_path)
    doc["steps"][1]["mode"]["kind"] = "append"
    [message] = refused(tmp_path, doc)
    assert message.endswith(
        "`steps.1.mode.keys` is not an accepted key (accepted: schema_policy, stage)"
    )


def test_an_unknown_op_or_engine_is_refused(tmp_path: Path) -> None:
    doc = compiled(tmp_path)
    doc["steps"][0]["op"] = "teleport"
    assert any("teleport" in m for m in refused(tmp_path, doc))
    doc = compiled(tmp_path)
    doc["engine"] = "flink"
    assert any("`engine`" in m for m in refused(tmp_path, doc))


def test_a_step_after_a_later_one_is_refused(tmp_path: Path) -> None:
    doc = compiled(tmp_path)
    doc["steps"][0]["depends_on"] = ["table_t_2"]
    [message] = refused(tmp_path, doc)
    assert "step `table_t` depends on `table_t_2`, which is not an earlier step" in message


def test_a_version_1_plan_with_bad_details_names_each_step(tmp_path: Path) -> None:
    doc = json.loads(V1.read_text(encoding="utf-8"))
    doc["steps"][1]["details"]["keys"] = []
    doc["steps"][2]["details"]["schema_policy"] = "lenient"
    doc["steps"][3]["sql"].append("SELECT 2")
    assert refused(tmp_path, doc) == [
        f"plan {tmp_path / 'plan.json'}: step `load_products_2`: a merge needs `details.keys`",
        f"plan {tmp_path / 'plan.json'}: step `table_price_history`: "
        "`details.schema_policy` must be strict or evolve, not 'lenient'",
        f"plan {tmp_path / 'plan.json'}: step `export_products`: "
        "a `export` step has one statement, not 2",
    ]


def test_a_version_1_plan_reads_into_typed_steps(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(V1.read_text(encoding="utf-8"), encoding="utf-8")
    plan = load_plan(path)
    load, merge, append, export = plan.steps
    assert isinstance(load, Load) and load.mode == Replace()
    assert load.source == Source(name="products_csv", connector="csv", params={})
    assert isinstance(merge, Load) and merge.mode == Merge(
        stage="_sqlflow_stage_load_products_2", schema_policy="strict", keys=("product_id",)
    )
    assert isinstance(append, CreateTable) and isinstance(append.mode, Append)
    assert append.writes == ("price_history",)
    assert isinstance(export, Export) and export.uri == "target/products.csv"
    assert export.options == {"header": True} and export.format == "csv"
    assert json.loads(plan.to_json())["version"] == 2
