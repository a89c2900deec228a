"""Compile-time checks of load modes: schemas (check_schemas) and macros (check_load_modes)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from helpers import compile_text
from sqlflowc.backend.plan import Append, CreateTable, Merge
from sqlflowc.diagnostics import Code, CompileError, Severity, render_text


def errors(text: str, tmp_path: Path, **kwargs: object) -> CompileError:
    with pytest.raises(CompileError) as caught:
        compile_text(text, tmp_path, **kwargs)
    return caught.value


def codes(err: CompileError) -> list[Code]:
    return [d.code for d in err.diagnostics if d.severity is Severity.ERROR]


def rendered(err: CompileError) -> str:
    assert err.sources is not None
    return render_text(err.diagnostics, err.sources)


def default_db(tmp_path: Path) -> Path:
    path = tmp_path / "target" / "sqlflow.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def make_db(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for s in statements:
            con.execute(s)
    finally:
        con.close()


def test_append_checked_against_a_table_written_earlier_in_the_pipeline(tmp_path: Path) -> None:
    err = errors(
        "CREATE TABLE t AS SELECT 1 AS id, 'a' AS name;\n"
        "CREATE TABLE t MODE APPEND AS SELECT 2 AS id, 'b' AS name, 3.5 AS price;\n",
        tmp_path,
    )
    assert codes(err) == [Code.SCHEMA_EXTRA_COLUMN]
    text = rendered(err)
    assert "p.sf:2:16: error[SF0701]: table `t` has no column `price`" in text
    assert "^^^^^^^^^^^ writes `t`, a table of this pipeline" in text
    assert "--schema-policy evolve" in text


def test_every_problem_of_a_statement_is_reported(tmp_path: Path) -> None:
    err = errors(
        "CREATE TABLE t (id INTEGER NOT NULL, amount DOUBLE, day DATE);\n"
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 'x' AS amount, 1 AS id, 2 AS extra;\n"
        "CREATE TABLE u (id INTEGER NOT NULL, day DATE);\n"
        "CREATE TABLE u MODE APPEND AS SELECT 1.5 AS day;\n",
        tmp_path,
    )
    assert codes(err) == [
        Code.SCHEMA_TYPE_MISMATCH,
        Code.SCHEMA_EXTRA_COLUMN,
        Code.SCHEMA_TYPE_MISMATCH,
        Code.SCHEMA_MISSING_COLUMN,
    ]
    text = rendered(err)
    assert "column `amount` of table `t` is DOUBLE, but the source's is VARCHAR" in text
    assert "column `id` of table `u` is INTEGER NOT NULL" in text


def test_the_database_table_is_the_target_when_the_pipeline_has_not_written_it(
    tmp_path: Path,
) -> None:
    db = default_db(tmp_path)
    make_db(db, "CREATE TABLE sales (id INTEGER, amount DECIMAL(10, 2))")
    err = errors(
        "CREATE TABLE sales MODE APPEND AS SELECT 1 AS id, 2.5::DOUBLE AS amount;\n", tmp_path
    )
    assert codes(err) == [Code.SCHEMA_TYPE_MISMATCH]
    assert f"writes `sales`, as it is in {db}" in rendered(err)
    # `--db` decides which database a run, and so its compile-time check, uses.
    compile_text(
        "CREATE TABLE sales MODE APPEND AS SELECT 1 AS id, 2.5::DOUBLE AS amount;\n",
        tmp_path,
        database=str(tmp_path / "other.duckdb"),
    )


def test_a_query_reading_database_tables_is_described_with_their_columns(tmp_path: Path) -> None:
    make_db(
        default_db(tmp_path),
        "CREATE TABLE raw (id INTEGER, v VARCHAR)",
        "CREATE TABLE clean (id INTEGER, v INTEGER)",
    )
    err = errors("CREATE TABLE clean MODE MERGE KEY (id) AS SELECT * FROM raw;\n", tmp_path)
    assert codes(err) == [Code.SCHEMA_TYPE_MISMATCH]


def test_evolve_accepts_and_later_statements_see_the_evolved_table(tmp_path: Path) -> None:
    text = (
        "CREATE TABLE t AS SELECT 1::INTEGER AS id;\n"
        "CREATE TABLE t MODE APPEND AS SELECT 2::BIGINT AS id, 'x' AS note;\n"
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 3::BIGINT AS id, 'y' AS note;\n"
    )
    assert codes(errors(text, tmp_path)) == [Code.SCHEMA_NARROWING, Code.SCHEMA_EXTRA_COLUMN]
    comp = compile_text(text, tmp_path, schema_policy="evolve")
    modes = [s.mode for s in comp.plan.steps[1:] if isinstance(s, CreateTable)]
    assert [type(m) for m in modes] == [Append, Merge]
    assert all(isinstance(m, Append | Merge) and m.schema_policy == "evolve" for m in modes)


def test_the_profile_sets_the_policy_and_the_argument_overrides_it(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "dev.yml").write_text("schema_policy: evolve\n", encoding="utf-8")
    text = (
        "CREATE TABLE t AS SELECT 1 AS id;\n"
        "CREATE TABLE t MODE APPEND AS SELECT 2 AS id, 'x' AS note;\n"
    )
    step = compile_text(text, tmp_path).plan.steps[1]
    assert isinstance(step, CreateTable) and step.mode == Append(
        stage="_sqlflow_stage_table_t_2", schema_policy="evolve"
    )
    assert codes(errors(text, tmp_path, schema_policy="strict")) == [Code.SCHEMA_EXTRA_COLUMN]


def test_replayed_ddl_gives_the_target_its_constraints(tmp_path: Path) -> None:
    err = errors(
        "CREATE TABLE t (id INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 0, note VARCHAR);\n"
        "ALTER TABLE t ADD COLUMN region VARCHAR NOT NULL;\n"
        "CREATE TABLE t MODE APPEND AS SELECT 1 AS id;\n",
        tmp_path,
    )
    assert codes(err) == [Code.SCHEMA_MISSING_COLUMN]
    assert "`region`" in rendered(err)


def test_merge_keys_and_incremental_by_column_are_checked_against_the_query(
    tmp_path: Path,
) -> None:
    err = errors(
        "CREATE TABLE m MODE MERGE KEY (id, code) AS SELECT 1 AS id;\n"
        "CREATE TABLE i MODE INCREMENTAL BY day AS SELECT 1 AS id;\n"
        "CREATE TABLE j MODE INCREMENTAL BY day AS SELECT 1 AS id, 'x' AS day;\n",
        tmp_path,
    )
    assert codes(err) == [
        Code.KEY_COLUMN_MISSING,
        Code.KEY_COLUMN_MISSING,
        Code.INCREMENTAL_COLUMN_TYPE,
    ]
    assert "INCREMENTAL BY column `day` of `j` is VARCHAR" in rendered(err)


def test_a_view_is_not_a_load_target(tmp_path: Path) -> None:
    err = errors(
        "CREATE VIEW v AS SELECT 1 AS id;\nCREATE TABLE v MODE APPEND AS SELECT 2 AS id;\n",
        tmp_path,
    )
    assert codes(err) == [Code.TARGET_NOT_A_TABLE]


@pytest.mark.parametrize(
    "middle",
    [
        "INSTALL something_unparsed;",  # a barrier: nothing after it is known
        "ALTER TABLE t RENAME COLUMN id TO key; ALTER TABLE t ADD note VARCHAR;",  # replayed
        "CREATE TABLE t2 AS SELECT * FROM nowhere;",  # unknown source: t2 unknown
    ],
)
def test_nothing_is_reported_when_the_target_fits_or_cannot_be_known(
    tmp_path: Path, middle: str
) -> None:
    target = "t2" if "t2" in middle else "t"
    compile_text(
        "CREATE TABLE t AS SELECT 1 AS id;\n"
        f"{middle}\n"
        f"CREATE TABLE {target} MODE APPEND AS SELECT 1 AS key, 'x' AS note;\n",
        tmp_path,
    )


def test_a_database_locked_by_a_running_pipeline_is_not_consulted(tmp_path: Path) -> None:
    db = default_db(tmp_path)
    make_db(db, "CREATE TABLE t (id INTEGER)")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db)!r})
                print("ready", flush=True)
                time.sleep(30)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        start = time.perf_counter()
        comp = compile_text(
            "CREATE TABLE t MODE APPEND AS SELECT 'x' AS other;\n"
            "CREATE TABLE t MODE APPEND AS SELECT 1.5 AS third;\n"
            "CREATE TABLE u MODE MERGE KEY (id) AS SELECT 1 AS id;\n",
            tmp_path,
        )
        assert len(comp.plan.steps) == 3 and time.perf_counter() - start < 10
        # Not silent: each table whose schema could not be read is named once, at its MODE.
        warned = [d for d in comp.warnings if d.code is Code.SCHEMA_NOT_CHECKED]
        assert [d.severity for d in warned] == [Severity.WARNING] * 2
        text = render_text(warned, comp.sources)
        assert f"p.sf:1:16: warning[SF0708]: the schema of `t` in {db} could not be read; " in text
        assert "it will be checked at run time" in text
        assert "p.sf:3:16: warning[SF0708]: the schema of `u`" in text
        assert "lock" in warned[0].notes[0].lower()
    finally:
        holder.kill()
        holder.wait()


def test_compile_imports_duckdb_only_for_non_replace_loads(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from sqlflowc.api import compile_source
        project = Path({str(tmp_path)!r})
        text = "CREATE TABLE t AS SELECT 1 AS x;"
        compile_source(text, "p.sf", project_dir=project, environ={{}})
        before = "duckdb" in sys.modules
        text = "CREATE TABLE t MODE APPEND AS SELECT 1 AS x;"
        compile_source(text, "p.sf", project_dir=project, environ={{}})
        print(before, "duckdb" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# ---------------------------------------------------------------------------- macros


def test_a_macro_outside_an_incremental_table_is_an_error_at_the_macro(tmp_path: Path) -> None:
    err = errors(
        "CREATE TABLE e AS SELECT TIMESTAMP '2024-01-01' AS ts;\n"
        "CREATE TABLE d AS SELECT * FROM e WHERE ts >= @start_dt AND note = '@end_dt';\n"
        "CREATE VIEW v AS SELECT @END_DATE AS d -- @start_date in a comment\n;\n",
        tmp_path,
    )
    assert codes(err) == [Code.MACRO_OUTSIDE_INCREMENTAL, Code.MACRO_OUTSIDE_INCREMENTAL]
    text = rendered(err)
    assert "p.sf:2:47: error[SF0611]: `@start_dt` is only bound in" in text
    assert "p.sf:3:25: error[SF0611]: `@end_date`" in text


def test_an_incremental_query_without_macros_gets_a_warning(tmp_path: Path) -> None:
    comp = compile_text(
        "CREATE TABLE e AS SELECT TIMESTAMP '2024-01-01' AS ts;\n"
        "CREATE TABLE i MODE INCREMENTAL BY ts AS SELECT * FROM e;\n",
        tmp_path,
    )
    assert [d.code for d in comp.warnings] == [Code.INCREMENTAL_WITHOUT_MACROS]
    assert "WHERE ts BETWEEN @start_dt AND @end_dt" in comp.warnings[0].help


def test_create_schema_does_not_end_the_replay(tmp_path: Path) -> None:
    err = errors(
        "CREATE SCHEMA IF NOT EXISTS mart;\n"
        "CREATE TABLE mart.t AS SELECT 1 AS id;\n"
        "CREATE TABLE mart.t MODE APPEND AS SELECT 1 AS id, 2 AS x;\n",
        tmp_path,
    )
    assert codes(err) == [Code.SCHEMA_EXTRA_COLUMN]
