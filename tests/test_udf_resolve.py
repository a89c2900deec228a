"""resolve_udfs: UDF calls found in the sqlglot trees, rewritten to registered names, checked,
and table UDF calls lifted into their own plan steps."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlglot import exp

from sqlflowc.api import Compilation, compile_source
from sqlflowc.backend.plan import TableUdf, step_statements
from sqlflowc.backend.plan_io import load_plan
from sqlflowc.diagnostics import CompileError, render_text
from sqlflowc.ir import program as ir

UDFS = {
    "python_udfs/text.py": """
        from typing import Optional
        import pyarrow as pa
        from sqlflowc.udf import python_scalar_udf, python_table_udf

        @python_scalar_udf
        def clean(text: str) -> str:
            return text.strip().lower()

        @python_scalar_udf
        def pad(text: str, width: int = 10, fill: str = " ") -> str:
            return text.ljust(width, fill)

        @python_scalar_udf
        def explode(text: str) -> str:
            return text

        @python_scalar_udf(name="lower")
        def my_lower(text: str) -> str:
            return text.lower()

        @python_table_udf(output_schema={"id": "BIGINT"})
        def first_rows(table: pa.Table, limit: int = 10, label: Optional[str] = None) -> pa.Table:
            return table.select(["id"]).slice(0, limit)

        @python_table_udf
        def needs(table: pa.Table, factor: float) -> pa.Table:
            return table
    """,
    "python_udfs/legacy.py": """
        from sqlflow.udfs import python_scalar_udf

        @python_scalar_udf
        def clean(text: str) -> str:
            return text.strip()
    """,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in UDFS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return tmp_path


PEOPLE = "CREATE TABLE people AS SELECT 1 AS id, ' Ada ' AS name;\n"


def compile_ok(project: Path, text: str, **kwargs: object) -> Compilation:
    return compile_source(
        PEOPLE + text, str(project / "p.sf"), project_dir=project, environ={}, **kwargs
    )  # type: ignore[arg-type]


def errors(project: Path, text: str) -> str:
    with pytest.raises(CompileError) as caught:
        compile_ok(project, text)
    assert caught.value.sources is not None
    return render_text(caught.value.diagnostics, caught.value.sources).replace(
        str(project) + "/", ""
    )


def step_sql(comp: Compilation, step_id: str) -> str:
    return step_statements(comp.plan.step(step_id))[0]


def test_every_call_form_becomes_the_registered_name(project: Path) -> None:
    comp = compile_ok(
        project,
        'CREATE TABLE t AS SELECT PYTHON_FUNC("python_udfs.text.clean", name) AS a,\n'
        "  PYTHON_FUNC('text.clean', name) AS b, PYTHON_FUNC(\"text.clean\" , name) AS c,\n"
        "  \"python_udfs.legacy.clean\"(name) AS d, pad(name) AS e, pad(name, 3, '.') AS f,\n"
        "  explode(name) AS g FROM people;\n",
    )
    assert step_sql(comp, "table_t") == (
        'CREATE OR REPLACE TABLE t AS SELECT "python_udfs.text.clean"(name) AS a,\n'
        '  "python_udfs.text.clean"(name) AS b, "python_udfs.text.clean"(name) AS c,\n'
        '  "python_udfs.legacy.clean"(name) AS d, "python_udfs.text.pad/1"(name) AS e, '
        "\"python_udfs.text.pad\"(name, 3, '.') AS f,\n"
        '  "python_udfs.text.explode"(name) AS g FROM people'
    )
    assert comp.plan.step("table_t").udfs == (
        "python_udfs.legacy.clean",
        "python_udfs.text.clean",
        "python_udfs.text.explode",
        "python_udfs.text.pad",
        "python_udfs.text.pad/1",
    )
    assert comp.plan.step("table_t").depends_on == ("table_people",)
    assert comp.plan.step("table_people").udfs == ()


def test_calls_in_every_kind_of_sql_body_and_nested(project: Path) -> None:
    comp = compile_ok(
        project,
        'CREATE VIEW v AS SELECT pad(PYTHON_FUNC("text.clean", name), 4) AS n FROM people;\n'
        "INSERT INTO people SELECT 2, pad(name) FROM people;\n"
        'EXPORT SELECT explode(name) AS n FROM people TO "out.csv" TYPE CSV;\n',
    )
    assert step_sql(comp, "view_v") == (
        'CREATE OR REPLACE VIEW v AS SELECT "python_udfs.text.pad/2"'
        '("python_udfs.text.clean"(name), 4) AS n FROM people'
    )
    assert comp.plan.step("view_v").udfs == ("python_udfs.text.clean", "python_udfs.text.pad/2")
    assert step_sql(comp, "sql_insert_people").endswith(
        '"python_udfs.text.pad/1"(name) FROM people'
    )
    assert (
        step_sql(comp, "export_out") == 'SELECT "python_udfs.text.explode"(name) AS n FROM people'
    )


def test_a_plan_without_udfs_has_no_udfs_key(project: Path) -> None:
    comp = compile_ok(project, "CREATE TABLE t AS SELECT upper(name) AS n FROM people;\n")
    assert '"udfs"' not in comp.plan.to_json()


def test_table_udf_as_the_whole_query_is_one_step(project: Path) -> None:
    comp = compile_ok(project, "CREATE TABLE kept AS SELECT * FROM first_rows(people);\n")
    step = comp.plan.step("table_kept")
    assert step == TableUdf(
        id="table_kept",
        depends_on=("table_people",),
        location=step.location,
        reads=("people",),
        writes=("kept",),
        target="kept",
        udf="python_udfs.text.first_rows",
        input="people",
        args={},
        query="SELECT * FROM people",
    )
    assert [type(s) for s in comp.program.statements] == [ir.CreateTable, ir.TableUdf]


def test_table_udf_inside_a_query_gets_its_own_step(project: Path) -> None:
    comp = compile_ok(
        project,
        "CREATE TABLE j AS SELECT p.name FROM people AS p\n"
        "  JOIN PYTHON_FUNC(\"text.first_rows\", people, 5, label := 'x') AS k USING (id)\n"
        "  WHERE k.id IN (SELECT id FROM first_rows(main.people));\n",
    )
    ids = [s.id for s in comp.plan.steps]
    assert ids == [
        "table_people",
        "table_udf_first_rows_people",
        "table_udf_first_rows_main_people",
        "table_j",
    ]
    first = comp.plan.step("table_udf_first_rows_people")
    assert isinstance(first, TableUdf) and first.args == {"limit": 5, "label": "x"}
    assert first.location.line == 3 and first.location.column == 8
    second = comp.plan.step("table_udf_first_rows_main_people")
    assert isinstance(second, TableUdf) and second.query == "SELECT * FROM main.people"
    j = comp.plan.step("table_j")
    assert set(j.depends_on) == {"table_udf_first_rows_people", "table_udf_first_rows_main_people"}
    assert step_sql(comp, "table_j") == (
        "CREATE OR REPLACE TABLE j AS SELECT p.name FROM people AS p\n"
        "  JOIN udf_first_rows_people AS k USING (id)\n"
        "  WHERE k.id IN (SELECT id FROM udf_first_rows_main_people)"
    )
    assert j.udfs == ()


def test_a_table_udf_over_a_table_written_later_runs_in_order(project: Path) -> None:
    comp = compile_ok(
        project,
        "CREATE TABLE a AS SELECT * FROM first_rows(people) WHERE id > 0;\n"
        "CREATE OR REPLACE TABLE people AS SELECT 3 AS id, 'x' AS name;\n"
        "CREATE TABLE b AS SELECT * FROM first_rows(people);\n",
    )
    order = [s.id for s in comp.plan.steps]
    assert order.index("table_udf_first_rows_people") < order.index("table_a")
    assert order.index("table_a") < order.index("table_people_2") < order.index("table_b")
    assert "table_people_2" in comp.plan.step("table_b").depends_on


def test_unknown_udfs_with_did_you_mean(project: Path) -> None:
    text = errors(
        project,
        'CREATE TABLE t AS SELECT PYTHON_FUNC("text.claen", name), PYTHON_FUNC("zzz", name)\n'
        "FROM people;\n",
    )
    assert "p.sf:2:38: error[SF0801]: unknown UDF `text.claen`" in text
    assert "did you mean `python_udfs.text.clean`?" in text
    assert "p.sf:2:71: error[SF0801]: unknown UDF `zzz`" in text


def test_near_miss_bare_name_is_a_warning(project: Path) -> None:
    comp = compile_ok(project, "CREATE TABLE t AS SELECT explod(name) AS x FROM people;\n")
    (warning,) = [w for w in comp.warnings if w.code.value == "SF0801"]
    assert "`explod` is neither a DuckDB function nor a UDF" in warning.message
    assert warning.help == "did you mean the UDF `explode`?"


def test_ambiguous_names(project: Path) -> None:
    text = errors(
        project,
        "CREATE TABLE t AS SELECT clean(name), PYTHON_FUNC('clean', name) FROM people;\n",
    )
    assert text.count("error[SF0803]") == 2
    assert "p.sf:2:26: error[SF0803]: `clean` could be any of `python_udfs.legacy.clean`, " in text
    # a longer suffix is not ambiguous
    compile_ok(project, "CREATE TABLE t AS SELECT PYTHON_FUNC('legacy.clean', name) FROM people;\n")


def test_argument_counts(project: Path) -> None:
    text = errors(
        project,
        "CREATE TABLE t AS SELECT pad(), pad(name, 1, 'x', 2), explode(name, 2) FROM people;\n"
        "CREATE TABLE u AS SELECT * FROM first_rows(people, 1, 'a', 3);\n"
        "CREATE TABLE v AS SELECT * FROM needs(people);\n"
        "CREATE TABLE w AS SELECT * FROM first_rows();\n",
    )
    assert "p.sf:2:26: error[SF0802]: UDF `python_udfs.text.pad` takes 1 to 3 arguments, but 0" in (
        text
    )
    assert "takes 1 to 3 arguments, but 4 are given" in text
    assert "UDF `python_udfs.text.explode` takes 1 argument, but 2 are given" in text
    assert "UDF `python_udfs.text.first_rows` takes 1 to 3 arguments, but 4 are given" in text
    assert "table UDF `python_udfs.text.needs` needs a value for `factor`" in text
    assert "table UDF `python_udfs.text.first_rows` needs the input table" in text


def test_misuse(project: Path) -> None:
    text = errors(
        project,
        "CREATE TABLE a AS SELECT first_rows(people) FROM people;\n"
        "CREATE TABLE b AS SELECT * FROM explode(people);\n"
        "CREATE TABLE c AS WITH x AS (SELECT 1 AS id) SELECT * FROM first_rows(x);\n"
        "CREATE TABLE d AS SELECT * FROM first_rows((SELECT 1 AS id));\n"
        "CREATE TABLE e AS SELECT PYTHON_FUNC(name) FROM people;\n"
        "CREATE TABLE f AS SELECT * FROM first_rows(people, limit := id);\n"
        "CREATE TABLE g AS SELECT * FROM first_rows(people, nope := 1, 2);\n",
    )
    assert "is a table UDF, used here as a scalar function" in text
    assert "is a scalar UDF, used here as a table" in text
    assert "must be a table or view of the database, and this is a CTE" in text
    assert "must be a table or view of the database, and this is not a table name" in text
    assert "PYTHON_FUNC needs the UDF's name as its first argument" in text
    assert "its arguments must be literal values" in text
    assert "it has no parameter `nope`" in text
    assert "a positional argument follows a named one" in text
    assert text.count("error[SF0807]") == 8


def test_a_udf_named_like_a_duckdb_function(project: Path) -> None:
    comp = compile_ok(
        project,
        "CREATE TABLE t AS SELECT lower(name) AS a, PYTHON_FUNC('text.lower', name) AS b\n"
        "FROM people;\n",
    )
    assert step_sql(comp, "table_t").startswith(
        'CREATE OR REPLACE TABLE t AS SELECT lower(name) AS a, "python_udfs.text.lower"(name)'
    )
    (warning,) = [w for w in comp.warnings if w.code.value == "SF0803"]
    assert "calls DuckDB's built-in `lower`, not the UDF `python_udfs.text.lower`" in (
        warning.message
    )


def test_secrets_stay_out_of_the_plan_around_rewritten_calls(project: Path) -> None:
    comp = compile_ok(
        project,
        "CREATE TABLE t AS SELECT pad('${api_token}') AS a, clean2 FROM (\n"
        '  SELECT PYTHON_FUNC("text.clean", name) AS clean2 FROM people);\n',
        cli_vars={"api_token": "s3cr3t-value"},
    )
    plan = comp.plan.to_json()
    assert "s3cr3t-value" not in plan
    assert "\"python_udfs.text.pad/1\"('${api_token}')" in step_sql(comp, "table_t")
    stmt = comp.program.statements[1]
    assert isinstance(stmt, ir.CreateTable)
    assert "\"python_udfs.text.pad/1\"('s3cr3t-value')" in stmt.query.text
    assert '"python_udfs.text.clean"(name) AS clean2' in stmt.query.display


def test_positions_after_a_rewrite_still_point_into_the_file(project: Path) -> None:
    source = (
        'CREATE TABLE t AS SELECT PYTHON_FUNC("text.clean", name) AS x, pad(name) FROM people;\n'
    )
    comp = compile_ok(project, source)
    stmt = comp.program.statements[1]
    assert isinstance(stmt, ir.CreateTable)
    sql = stmt.query
    full = PEOPLE + source
    for needle in ("name) AS x", "FROM people", "pad", "name) FROM"):
        at = sql.text.index(needle) if needle != "pad" else sql.text.index('"python_udfs.text.pad')
        expected = needle if needle != "pad" else "pad"
        offset = sql.file_offset(at)
        assert full[offset : offset + len(expected)] == expected, needle


def test_plans_with_udfs_are_deterministic_and_read_back(project: Path, tmp_path: Path) -> None:
    text = (
        "CREATE TABLE t AS SELECT pad(name) FROM people;\n"
        "CREATE TABLE k AS SELECT * FROM first_rows(t);\n"
    )
    first = compile_ok(project, text).plan.to_json()
    assert compile_ok(project, text).plan.to_json() == first
    path = tmp_path / "plan.json"
    path.write_text(first, encoding="utf-8")
    plan = load_plan(path)
    assert plan.to_json() == first
    data = json.loads(first)
    assert data["steps"][1]["udfs"] == ["python_udfs.text.pad/1"]
    assert data["steps"][2]["op"] == "table_udf"


def test_import_errors_stop_the_compilation(project: Path) -> None:
    (project / "python_udfs" / "broken.py").write_text("import does_not_exist\n", encoding="utf-8")
    text = errors(project, "CREATE TABLE t AS SELECT 1;\n")
    assert "python_udfs/broken.py:1:1: error[SF0804]: cannot import UDF module " in text
    assert "ModuleNotFoundError: No module named 'does_not_exist'" in text


def test_a_udf_named_like_a_function_sqlglot_knows_with_other_arguments(project: Path) -> None:
    # sqlglot cannot parse `pad(name)` (its PAD needs more); once the call is rewritten the
    # statement parses, so it is not opaque: it has its tables and no SF0402 warning.
    comp = compile_ok(project, "CREATE TABLE t AS SELECT pad(name) AS p FROM people;\n")
    assert step_sql(comp, "table_t").endswith(
        'SELECT "python_udfs.text.pad/1"(name) AS p FROM people'
    )
    assert comp.plan.step("table_t").depends_on == ("table_people",)
    assert [w.code.value for w in comp.warnings] == []
    stmt, found = list(comp.program.bound())[1]
    assert isinstance(stmt, ir.CreateTable) and isinstance(found.tree, exp.Expr)
    assert found.reads == frozenset({"people"})


def test_udf_calls_in_a_body_sqlglot_cannot_parse_are_found_in_its_tokens(project: Path) -> None:
    from sqlflowc.diagnostics import Reporter
    from sqlflowc.passes.context import PassContext
    from sqlflowc.passes.resolve_udfs import resolve_udfs
    from sqlflowc.source import SourceMap, Span
    from sqlflowc.udf.discovery import discover_udfs

    sources = SourceMap()
    text = (
        "INSERT INTO log SELECT explode(name), PYTHON_FUNC('text.pad', name, 3) FROM first_rows(t)"
    )
    file_id = sources.add("p.sf", text + ";\n")
    catalog, problems = discover_udfs(project, sources)
    assert problems == []
    ctx = PassContext(sources=sources, reporter=Reporter(), project_dir=project, udfs=catalog)
    sql = ir.Sql(text=text, display=text, span=Span(file_id, 0, len(text)))
    stmt = ir.SqlStatement(verb="INSERT", sql=sql, span=sql.span)
    opaque = ir.Binding(tree=ir.OPAQUE, reads=frozenset(), writes=frozenset(), barrier=True)
    prog = ir.BoundProgram(
        statements=(stmt,), sources={}, project_dir=str(project), bindings=(opaque,)
    )
    out = resolve_udfs(prog, ctx)
    assert ctx.reporter.diagnostics == []
    lifted, insert = out.statements
    assert isinstance(lifted, ir.TableUdf) and lifted.input == "t"
    assert isinstance(insert, ir.SqlStatement)
    assert insert.sql.text == (
        'INSERT INTO log SELECT "python_udfs.text.explode"(name), '
        '"python_udfs.text.pad/2"(name, 3) FROM udf_first_rows_t'
    )
    assert out.udfs == ((), ("python_udfs.text.explode", "python_udfs.text.pad/2"))
    # the rewritten text parses: its binding is the new tree's, no longer a barrier
    found = out.bindings[1]
    assert isinstance(found.tree, exp.Expr) and not found.barrier
    assert found.writes == frozenset({"log"})
    assert found.reads == frozenset({"log", "udf_first_rows_t"})
    assert out.bindings[0].reads == frozenset({"t"})


def test_a_table_udf_named_like_a_keyword(tmp_path: Path) -> None:
    (tmp_path / "python_udfs").mkdir()
    (tmp_path / "python_udfs" / "k.py").write_text(
        "import pyarrow as pa\n"
        "from sqlflowc.udf import python_table_udf\n\n"
        "@python_table_udf\n"
        "def keep(t: pa.Table) -> pa.Table:\n"
        "    return t\n",
        encoding="utf-8",
    )
    # sqlglot reads `FROM keep(people)` as the table `keep` with a column alias `people`
    comp = compile_ok(tmp_path, "CREATE TABLE kept AS SELECT * FROM keep(people);\n")
    step = comp.plan.step("table_kept")
    assert isinstance(step, TableUdf) and step.query == "SELECT * FROM people"
    comp = compile_ok(tmp_path, "CREATE TABLE kept AS SELECT id FROM keep(people) WHERE id > 0;\n")
    assert step_sql(comp, "table_kept").endswith("SELECT id FROM udf_keep_people WHERE id > 0")
    assert comp.plan.step("table_kept").depends_on == ("table_udf_keep_people",)
    assert not [w for w in comp.warnings if w.code.value == "SF0502"]  # no table `keep`


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "html"])
def test_graphs_show_table_udf_steps(project: Path, fmt: str) -> None:
    from sqlflowc.graph import render

    comp = compile_ok(project, "CREATE TABLE k AS SELECT * FROM first_rows(people);\n")
    assert "table_udf" in render(comp.plan, fmt)
