"""Variables: resolution order, typed values, verbatim splicing, secrets, origin
mapping, and the resolved program `lower_program` builds. The one-statement guard is in
tests/test_splices.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from sqlflowc.api import compile_context, parse, to_program
from sqlflowc.diagnostics import Code, CompileError, Diagnostic, Reporter, render_text
from sqlflowc.ir import ast, program
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.fold_conditionals import fold_conditionals
from sqlflowc.passes.lower_program import lower_program
from sqlflowc.passes.mask_secrets import mask_secrets
from sqlflowc.passes.variables import Scope, is_secret_name, loose_value, value_text
from sqlflowc.source import SourceMap, Span
from sqlflowc.syntax.lower import parse_pipeline


def lower_text(text: str, **settings: Any) -> tuple[program.Program | None, PassContext]:
    """The program after lowering and masking secrets, or None after errors in `ctx`."""
    ctx = compile_context(project_dir=Path("/project"), **settings)
    surface = parse(text, "main.sf", sources=ctx.sources, reporter=ctx.reporter)
    try:
        return to_program(surface, ctx, program_passes=(mask_secrets,)), ctx
    except CompileError:
        return None, ctx


def ok(text: str, **settings: Any) -> program.Program:
    prog, ctx = lower_text(text, **settings)
    assert ctx.reporter.diagnostics == [], render_text(ctx.reporter.diagnostics, ctx.sources)
    assert prog is not None
    return prog


def failing(text: str, **settings: Any) -> tuple[list[Diagnostic], PassContext]:
    _, ctx = lower_text(text, **settings)
    assert ctx.reporter.has_errors
    return ctx.reporter.diagnostics, ctx


def sql_of(prog: program.Program, index: int = 0) -> program.Sql:
    stmt = prog.statements[index]
    assert isinstance(stmt, program.SqlStatement | program.CreateTable | program.CreateView)
    return stmt.sql if isinstance(stmt, program.SqlStatement) else stmt.query


def source_params(prog: program.Program, name: str = "s") -> dict[str, Any]:
    return dict(prog.sources[name].params)


# ------------------------------------------------------------------ values as text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10, "10"),
        (-3, "-3"),
        (1.5, "1.5"),
        (10.0, "10"),
        (1e-7, "1e-07"),
        (1e20, "1e+20"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ("it's", "it's"),
        ([1, "a"], '[1, "a"]'),
        ({"k": True}, '{"k": true}'),
    ],
)
def test_value_text(value: Any, text: str) -> None:
    assert value_text(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [("10", 10), ("-1.5", -1.5), ("TRUE", True), ("false", False), ("Null", None), ("abc", "abc")],
)
def test_loose_value(text: str, value: Any) -> None:
    assert loose_value(text) == value and type(loose_value(text)) is type(value)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("db_password", True),
        ("PG_PASSWORD", True),
        ("passwd", True),
        ("client_secret", True),
        ("GITHUB_TOKEN", True),
        ("stripe_api_key", True),
        ("aws_access_key", True),
        ("aws_secret_key", True),
        ("ssh_private_key", True),
        ("gcp_credentials", True),
        ("region", False),
        ("password_hint_shown", False),
        ("tokens_per_batch", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


# ------------------------------------------------------------------ resolution order

SOURCES = ("cli", "profile", "set", "environ", "default")


@pytest.mark.parametrize("winner", SOURCES)
def test_resolution_order(winner: str) -> None:
    present = SOURCES[SOURCES.index(winner) :]
    settings: dict[str, Any] = {
        "cli_vars": {"v": "cli"} if "cli" in present else {},
        "profile_vars": {"v": "profile"} if "profile" in present else {},
        "environ": {"v": "environ"} if "environ" in present else {},
    }
    set_line = "SET v = 'set';" if "set" in present else ""
    prog = ok(f"{set_line} SELECT '${{v|default}}';", **settings)
    assert sql_of(prog).text == f"SELECT '{winner}'"
    assert prog.variables == {"v": winner}


def test_command_line_beats_set() -> None:
    prog = ok("SET env = 'dev'; SELECT '${env}';", cli_vars={"env": "prod"})
    assert sql_of(prog).text == "SELECT 'prod'"


def test_latest_set_before_the_use_wins() -> None:
    prog = ok("SET x = 1; SELECT ${x}; SET x = 2; SELECT ${x};")
    assert [sql_of(prog, i).text for i in (0, 1)] == ["SELECT 1", "SELECT 2"]


def test_set_with_reference_and_default() -> None:
    text = "SET a = \"${b|d}\"; SELECT '${a}';"
    assert sql_of(ok(text)).text == "SELECT 'd'"
    assert sql_of(ok(text, environ={"b": "env"})).text == "SELECT 'env'"
    assert sql_of(ok("SET b = 'set'; " + text)).text == "SELECT 'set'"


def test_set_inside_active_branch_applies_to_what_follows() -> None:
    text = "IF ${on} THEN SET t = 'on'; ELSE SET t = 'off'; END IF; SELECT '${t}';"
    assert sql_of(ok(text, cli_vars={"on": True})).text == "SELECT 'on'"
    assert sql_of(ok(text, cli_vars={"on": "false"})).text == "SELECT 'off'"


def test_sets_are_consumed() -> None:
    prog = ok("SET a = 1; SET b = 'x'; SELECT ${a};")
    assert len(prog.statements) == 1


def test_profile_variables_may_refer_to_the_environment_and_command_line() -> None:
    profile = {
        "host": "${DB_HOST|localhost}",
        "url": "https://${host}:${port}/x",
        "port": 8080,
        "dsn_password": "${PW}",
    }
    prog = ok(
        "SELECT '${url}', '${dsn_password}';",
        profile_vars=profile,
        environ={"DB_HOST": "db", "PW": "pw1"},
        cli_vars={"port": 9090},
    )
    assert sql_of(prog).text == "SELECT 'https://db:9090/x', 'pw1'"
    assert sql_of(prog).display == "SELECT 'https://db:9090/x', '${dsn_password}'"


def test_unset_reference_in_a_profile_variable_is_reported_at_its_use() -> None:
    diags, ctx = failing("SELECT '${host}';", profile_vars={"host": "${DB_HOST}"})
    (diag,) = diags
    assert diag.message == "unknown variable `DB_HOST`"
    assert diag.notes == ("used by profile variable `host`",)
    assert diag.span is not None and ctx.sources.text(diag.span) == "${host}"
    # an unused profile variable breaks nothing
    ok("SELECT 1;", profile_vars={"host": "${DB_HOST}"})


def test_profile_variables_referring_to_each_other_in_a_loop_stop() -> None:
    diags, _ = failing("SELECT '${a}';", profile_vars={"a": "${b}", "b": "${a}"})
    assert [d.code for d in diags] == [Code.UNKNOWN_VARIABLE]


# ------------------------------------------------------------------ typed values and splicing


def test_json_bare_reference_keeps_its_type() -> None:
    text = """
    SET n = 10; SET f = true; SET s = 'text'; SET z = null; SET d = 2.50;
    SOURCE s TYPE csv PARAMS {
      "n": ${n}, "f": ${f}, "s": ${s}, "z": ${z}, "d": ${d}, "cli": ${c},
      "in_string": "${n}", "mixed": "x-${f}-${d}", "nested": {"list": [${n}, "${n}"]},
      "port": ${port|5432}, "quoted_default": ${q|'10'}, "env": ${E}
    };
    """
    prog = ok(text, cli_vars={"c": [1, 2]}, environ={"E": "42"})
    assert source_params(prog) == {
        "n": 10,
        "f": True,
        "s": "text",
        "z": None,
        "d": 2.5,
        "cli": [1, 2],
        "in_string": "10",
        "mixed": "x-true-2.50",
        "nested": {"list": [10, "10"]},
        "port": 5432,
        "quoted_default": "10",
        "env": "42",  # the environment is text
    }
    assert prog.sources["s"].param_spans["port"] == Span(0, text.index("${port"), text.index(
        ", \"quoted"))  # fmt: skip


def test_splice_is_verbatim() -> None:
    text = "CREATE TABLE t AS SELECT * FROM ${tbl} WHERE region = '${region}' LIMIT ${n};"
    prog = ok(text, cli_vars={"tbl": "main.events", "region": "eu", "n": 10})
    assert sql_of(prog).text == "SELECT * FROM main.events WHERE region = 'eu' LIMIT 10"
    # no quotes are guessed: an unquoted string reference stays unquoted
    prog = ok("SELECT ${region};", cli_vars={"region": "eu"})
    assert sql_of(prog).text == "SELECT eu"


def test_set_number_keeps_its_spelling_and_defaults_splice_as_written() -> None:
    prog = ok("SET x = 1.50; SELECT ${x}, ${y|007}, ${b|TRUE};")
    assert sql_of(prog).text == "SELECT 1.50, 007, TRUE"


def test_uri_and_export_options() -> None:
    text = """
    EXPORT SELECT 1 AS a TO "out/${env}/report.csv" TYPE csv
      OPTIONS {"header": ${h}, "d": "${sep}"};
    EXPORT "My Table" TO 'out/t.parquet' TYPE parquet;
    """
    prog = ok(text, cli_vars={"env": "prod", "h": False, "sep": ";"})
    first, second = prog.statements
    assert isinstance(first, program.Export) and isinstance(second, program.Export)
    assert first.uri == first.uri_display == "out/prod/report.csv"
    assert first.format == "CSV"
    assert first.options == {"header": False, "d": ";"}
    assert first.query.text == "SELECT 1 AS a"
    assert second.query.text == 'SELECT * FROM "My Table"'
    assert second.format == "PARQUET"
    start = text.index('"My Table"')
    assert second.query.span == Span(0, start, start + len('"My Table"'))
    assert second.query.span_of(0, 6) == Span(0, start, start + 1)


# ------------------------------------------------------------------ secrets


def test_secret_is_redacted_in_display() -> None:
    text = "SELECT * FROM t WHERE pw = '${db_password}' AND n = ${n};"
    prog = ok(text, environ={"db_password": "hunter2"}, cli_vars={"n": 1})
    sql = sql_of(prog)
    assert sql.text == "SELECT * FROM t WHERE pw = 'hunter2' AND n = 1"
    assert sql.display == "SELECT * FROM t WHERE pw = '${db_password}' AND n = 1"
    assert prog.secrets == {"db_password": "hunter2"}
    assert prog.variables == {"n": 1}


def test_secrecy_follows_a_set() -> None:
    text = "SET conn = 'key=${API_TOKEN}'; SELECT '${conn}';"
    prog = ok(text, environ={"API_TOKEN": "t0k"})
    assert sql_of(prog).display == "SELECT '${conn}'"
    assert prog.secrets == {"API_TOKEN": "t0k", "conn": "key=t0k"}
    assert "conn" not in prog.variables


def test_secret_with_two_values_gets_two_placeholders() -> None:
    prog = ok(
        "SET my_secret = 'a'; SELECT '${my_secret}'; SET my_secret = 'b'; SELECT '${my_secret}';"
    )
    assert [sql_of(prog, i).display for i in (0, 1)] == [
        "SELECT '${my_secret}'",
        "SELECT '${my_secret#2}'",
    ]
    assert prog.secrets == {"my_secret": "a", "my_secret#2": "b"}


def test_scope_can_mark_any_name_secret() -> None:
    scope = Scope(cli={"plain": "v"}, profile={}, environ={})
    ref = ast.VarRef(name="plain", raw="${plain}")
    assert scope.lookup(ref) == scope.get("plain")
    assert not scope.is_secret("plain")
    scope.mark_secret("plain")
    value = scope.get("plain")
    assert value is not None and value.secret


def test_secret_params_are_placeholders() -> None:
    text = """
    SOURCE s TYPE postgres PARAMS {"password": "literal-pw", "token_x": "${PG_PASSWORD}",
      "dsn": "postgresql://app:dsnpw@db:5432/app", "host": "db",
      "conninfo": {"session_token": "st"}};
    """
    prog = ok(text, environ={"PG_PASSWORD": "envpw"})
    assert source_params(prog) == {
        "password": "${__source__.s.password}",
        "token_x": "${PG_PASSWORD}",
        "dsn": "postgresql://app:${__source__.s.dsn}@db:5432/app",
        "host": "db",
        "conninfo": {"session_token": "${__source__.s.conninfo.session_token}"},
    }
    assert prog.secrets == {
        "PG_PASSWORD": "envpw",
        "__source__.s.password": "literal-pw",
        "__source__.s.dsn": "dsnpw",
        "__source__.s.conninfo.session_token": "st",
    }


def test_profile_connection() -> None:
    connections = {
        "warehouse": {
            "type": "postgres",
            "host": "${PG_HOST|localhost}",
            "port": 5432,
            "password": "${PG_PASSWORD}",
            "dsn": "host=db password=plain dbname=app",
            "secret_access_key": "inline",
        },
        "unused": {"type": "nosuchtype", "user": "${NEVER_SET}"},
    }
    text = 'SOURCE w FROM "warehouse" OPTIONS {"schema": "raw", "port": 6543}; LOAD t FROM w;'
    prog = ok(text, connections=connections, environ={"PG_PASSWORD": "pw"})
    source = prog.sources["w"]
    assert source.connector == "POSTGRES"
    assert source.connection == "warehouse"
    assert dict(source.params) == {
        "host": "localhost",
        "port": 6543,
        "password": "${PG_PASSWORD}",
        "dsn": "host=db password=${__source__.w.dsn} dbname=app",
        "secret_access_key": "${__source__.w.secret_access_key}",
        "schema": "raw",
        "connection": "warehouse",
    }
    assert prog.secrets["__source__.w.dsn"] == "plain"
    assert prog.secrets["PG_PASSWORD"] == "pw"
    load = prog.statements[0]
    assert isinstance(load, program.Load) and load.source is source


def test_unknown_variable_in_a_used_connection() -> None:
    diags, _ = failing('SOURCE w FROM "c";', connections={"c": {"type": "pg", "u": "${NOPE}"}})
    (diag,) = diags
    assert diag.code is Code.UNKNOWN_VARIABLE
    assert diag.notes == ("used by profile connection `c` (field `u`)",)


def test_unknown_connection_lists_the_known_ones() -> None:
    diags, _ = failing('SOURCE w FROM "wharehouse";', connections={"warehouse": {"type": "pg"}})
    (diag,) = diags
    assert diag.code is Code.UNKNOWN_CONNECTION
    assert "did you mean `warehouse`?" in diag.help and "known connections" in diag.help


def test_export_uri_password_is_masked() -> None:
    prog = ok("EXPORT SELECT 1 TO 'postgresql://u:pw@h/db' TYPE postgres;")
    export = prog.statements[0]
    assert isinstance(export, program.Export)
    assert export.uri == "postgresql://u:pw@h/db"
    assert export.uri_display == "postgresql://u:${__export__.0.uri}@h/db"
    assert prog.secrets == {"__export__.0.uri": "pw"}


# ------------------------------------------------------------------ origin mapping


def test_origin_maps_text_offsets_back_to_the_file() -> None:
    text = "SELECT 1;\nCREATE TABLE t AS SELECT ${cols}, brokn( FROM ${tbl} x;\n"
    prog = ok(text, cli_vars={"cols": "a_very_long_column_name, b", "tbl": "s"})
    sql = sql_of(prog, 1)
    assert sql.text == "SELECT a_very_long_column_name, b, brokn( FROM s x"
    # a diagnostic inside SQL after a longer spliced value lands on the right column
    at = sql.file_offset(sql.text.index("brokn("))
    assert ctx_location(text, at) == (2, text.splitlines()[1].index("brokn(") + 1)
    at = sql.file_offset(sql.text.index(" x"))
    assert ctx_location(text, at) == (2, text.splitlines()[1].index(" x;") + 1)
    # an offset inside a spliced value stays inside its reference
    ref_start = text.index("${cols}")
    for i in range(len("a_very_long_column_name, b")):
        assert ref_start <= sql.file_offset(len("SELECT ") + i) < ref_start + len("${cols}")
    assert sql.span_of(7, 12).start == ref_start


def ctx_location(text: str, offset: int) -> tuple[int, int]:
    sources = SourceMap()
    return sources[sources.add("x.sf", text)].line_col(offset)


# ------------------------------------------------------------------ unknown variables


def test_unknown_variable_once_per_name_with_every_use() -> None:
    text = "SELECT '${regoin}';\nSELECT '${regoin}', ${other};\nSET x = '${regoin}';\n"
    diags, _ = failing(text, cli_vars={"region": "eu"})
    assert [d.message for d in diags] == [
        "unknown variable `regoin`",
        "unknown variable `other`",
    ]
    first = diags[0]
    assert first.span == Span(0, 8, 17)
    assert first.notes == ("also used at main.sf:2:9", "also used at main.sf:3:10")
    assert "did you mean `region`?" in first.help


def test_variable_set_after_its_use() -> None:
    diags, _ = failing("SELECT ${late};\nSET late = 1;")
    (diag,) = diags
    assert "main.sf:2:1" in diag.help


def test_no_cascade_from_a_broken_set() -> None:
    diags, _ = failing("SET a = '${missing}'; SELECT '${a}';")
    assert [d.message for d in diags] == ["unknown variable `missing`"]


# ------------------------------------------------------------------ statements and program


def test_statements_map_to_the_program() -> None:
    text = """
    SOURCE Src TYPE csv PARAMS {"path": "data/x.csv"};
    LOAD raw FROM src;
    LOAD raw2 FROM SRC MODE MERGE KEY (id);
    CREATE TABLE schema1."Big" AS SELECT * FROM raw;
    CREATE TABLE u MODE APPEND AS SELECT 1;
    CREATE VIEW v AS SELECT 2;
    INSERT INTO raw VALUES (1);
    """
    prog = ok(text)
    load, merge, create, append, view, insert = prog.statements
    assert isinstance(load, program.Load) and load.table == "raw"
    assert isinstance(load.mode, program.Replace)
    assert load.source.connector == "CSV" and load.source.name == "Src"
    assert isinstance(merge, program.Load) and isinstance(merge.mode, program.Merge)
    assert isinstance(create, program.CreateTable) and create.table == 'schema1."Big"'
    assert isinstance(create.mode, program.Replace)
    assert isinstance(append, program.CreateTable) and isinstance(append.mode, program.Append)
    assert isinstance(view, program.CreateView) and view.view == "v"
    assert isinstance(insert, program.SqlStatement) and insert.verb == "INSERT"
    assert insert.sql.text == "INSERT INTO raw VALUES (1)"
    assert list(prog.sources) == ["Src"]
    assert prog.project_dir == "/project"
    assert type(prog) is program.Program  # not bound: the tables come with `bind`


def test_load_may_name_a_source_declared_later() -> None:
    prog = ok('LOAD t FROM s; SOURCE s TYPE csv PARAMS {"path": "x"};')
    assert isinstance(prog.statements[0], program.Load)


def test_duplicate_and_unknown_sources() -> None:
    text = """
    SOURCE orders TYPE csv PARAMS {"path": "a"};
    SOURCE ORDERS TYPE csv PARAMS {"path": "b"};
    LOAD t FROM ordrs;
    """
    diags, ctx = failing(text)
    dup, unknown = diags
    assert dup.code is Code.DUPLICATE_SOURCE and "main.sf:2:12" in dup.help
    assert unknown.code is Code.UNKNOWN_SOURCE and "did you mean `orders`?" in unknown.help
    assert unknown.span is not None and ctx.sources.text(unknown.span) == "ordrs"


def test_variables_and_labels_are_deterministic() -> None:
    text = "SELECT ${b}, ${a}, ${c|3}, ${a};"
    first, ctx = lower_text(text, cli_vars={"a": 1, "b": "x"})
    assert first is not None
    labelled = dataclasses.replace(parse_again(text), labels={0: "main"})
    again = lower_program(fold_conditionals(labelled, ctx), ctx)
    assert list(first.variables.items()) == [("a", 1), ("b", "x"), ("c", 3)]
    assert again.variables == first.variables
    assert again.labels == {0: "main"}


def parse_again(text: str) -> ast.Pipeline:
    pipeline = parse_pipeline(text, 0, Reporter())
    assert pipeline is not None
    return pipeline


def test_include_or_if_reaching_the_pass_is_an_internal_error() -> None:
    sources = SourceMap()
    text = 'INCLUDE "x.sf"; IF true THEN SELECT 1; END IF;'
    file_id = sources.add("main.sf", text)
    reporter = Reporter()
    pipeline = parse_pipeline(text, file_id, reporter)
    assert pipeline is not None
    ctx = PassContext(sources=sources, reporter=reporter, project_dir=Path("."))
    lower_program(pipeline, ctx)
    assert [d.code for d in reporter.diagnostics] == [Code.INTERNAL, Code.INTERNAL]
