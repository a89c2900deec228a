"""`fmt`: canonical layout, comments and blank lines kept, SQL bodies untouched, round trip."""

from __future__ import annotations

import pytest

from sqlflowc.api import format_source
from sqlflowc.diagnostics import Code, CompileError, Reporter
from sqlflowc.ir import ast
from sqlflowc.ir.printer import format_pipeline
from sqlflowc.syntax.lower import parse_pipeline


def parse(text: str) -> ast.Pipeline:
    reporter = Reporter()
    pipeline = parse_pipeline(text, 0, reporter)
    assert pipeline is not None and not reporter.diagnostics, reporter.diagnostics
    return pipeline


def fmt(text: str) -> str:
    """Format, and check the contract on the way: round trip, idempotence."""
    out = format_source(text)
    assert parse(out) == parse(text)
    assert format_source(out) == out
    return out


def test_keywords_upper_case_names_and_literals_as_written() -> None:
    src = (
        'source Src type csv params {"path": "x.csv", "HEADER": TRUE};\n'
        'load "My T" from Src mode append;\n'
        "create or replace table if not exists s.t mode replace as select 1 as id;\n"
        "create view v as select * from t;\n"
        "set Region = 'eu';\nset n = +1.5e3;\n"
        'include "lib/x.sf" as Lib;\n'
        "export select * from t to 'out/t.csv' type csv;\n"
        'source p from "warehouse" options {"schema": "x"};\n'
    )
    assert fmt(src) == (
        'SOURCE Src TYPE csv PARAMS {"path": "x.csv", "HEADER": TRUE};\n'
        'LOAD "My T" FROM Src MODE APPEND;\n'
        "CREATE OR REPLACE TABLE IF NOT EXISTS s.t MODE REPLACE AS select 1 as id;\n"
        "CREATE VIEW v AS select * from t;\n"
        "SET Region = 'eu';\nSET n = +1.5e3;\n"
        'INCLUDE "lib/x.sf" AS Lib;\n'
        "EXPORT select * from t TO 'out/t.csv' TYPE csv;\n"
        'SOURCE p FROM "warehouse" OPTIONS {"schema": "x"};\n'
    )


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("mode merge key(a,b)", "MODE MERGE KEY (a, b)"),
        ("mode merge key a ,b", "MODE MERGE KEY a, b"),
        ("mode upsert key (id)", "MODE UPSERT KEY (id)"),
        ("mode merge merge_keys k1,k2", "MODE MERGE MERGE_KEYS k1, k2"),
        ("mode replace", "MODE REPLACE"),
    ],
)
def test_merge_dialects_kept(clause: str, expected: str) -> None:
    assert fmt(f"load t from s {clause};") == f"LOAD t FROM s {expected};\n"


def test_incremental_mode() -> None:
    src = "create table t mode incremental by ts lookback '2 days' key(id) as select * from e;"
    assert fmt(src) == (
        "CREATE TABLE t MODE INCREMENTAL BY ts LOOKBACK '2 days' KEY (id) AS select * from e;\n"
    )


def test_if_nesting_indentation_and_spellings() -> None:
    src = (
        "if ${env|dev}='prod' and not (a or b) then\n"
        "set x = 1;\n"
        "  if x>=1 then insert into t values (1); endif;\n"
        "elseif c not in ('a','b') then\n"
        "else\n"
        "set y = 2;\n"
        "end   if;\n"
    )
    assert fmt(src) == (
        "IF ${env|dev} = 'prod' AND NOT (a OR b) THEN\n"
        "    SET x = 1;\n"
        "    IF x >= 1 THEN\n"
        "        insert into t values (1);\n"
        "    END IF;\n"
        "ELSE IF c NOT IN ('a', 'b') THEN\n"
        "ELSE\n"
        "    SET y = 2;\n"
        "END IF;\n"
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("(a or b) and c", "(a OR b) AND c"),
        ("a or (b or c)", "a OR (b OR c)"),
        ("(a or b) or c", "a OR b OR c"),
        ("not (a and b)", "NOT (a AND b)"),
        ("not a==b", "NOT a == b"),
        ("(a == b) <> c", "(a == b) <> c"),
        ("x in ((a == b), 2)", "x IN ((a == b), 2)"),
        ("((${flag}))", "${flag}"),
    ],
)
def test_condition_grouping(condition: str, expected: str) -> None:
    assert fmt(f"IF {condition} THEN END IF;") == f"IF {expected} THEN\nEND IF;\n"


SQL_BODIES = [
    "SELECT a::INTEGER || 'it''s' AS x FROM t",
    "WITH c AS (SELECT 1 AS a)\n    SELECT *\n  FROM c /* ; keep */ -- inside; too\n WHERE a = 1",
    "VALUES (1, 'a  b'), (2, 'c\tsemi;')",
    'SELECT $$dollar;quoted$$ AS d, "weird;name"',
    "FROM t SELECT a",
    "SELECT $tag$a;b$tag$ AS d, E'it\\'s;' AS e /* 1 /* 2 */ ; */",
]


@pytest.mark.parametrize("body", SQL_BODIES)
def test_sql_bodies_verbatim(body: str) -> None:
    out = fmt(f"if true then\ncreate table t as {body};\nend if;")
    assert out == f"IF true THEN\n    CREATE TABLE t AS {body};\nEND IF;\n"


def test_body_ending_in_line_comment_keeps_terminator_off_the_comment() -> None:
    src = "create table t as select 1 -- one\n;\nexport select 2 -- two\n to 'x.csv' type csv;"
    assert fmt(src) == (
        "CREATE TABLE t AS select 1 -- one\n;\nEXPORT select 2 -- two\nTO 'x.csv' TYPE csv;\n"
    )


@pytest.mark.parametrize(
    ("body", "in_comment"),
    [
        ("select E'it\\'s' -- note", True),  # the E'' string ends at the second quote
        ("select 1 /* a /* b */ -- */", False),  # block comments nest: no line comment here
        ("select $q$ -- $q$ AS b", False),  # the `--` is inside a dollar-quoted string
    ],
)
def test_line_comment_at_the_end_is_found_as_duckdb_reads_sql(body: str, in_comment: bool) -> None:
    out = fmt(f"create table t as {body}\n;")
    assert out == f"CREATE TABLE t AS {body}" + ("\n;\n" if in_comment else ";\n")
    assert fmt(out) == out


def test_multi_line_bodies_keep_their_own_line() -> None:
    src = (
        "create table t as\n"
        "SELECT a\n"
        "  FROM b;\n"
        "if x then\n"
        "  create view v as\n"
        "    SELECT 1\n"
        "    UNION ALL SELECT 2;\n"
        "  export\n"
        "  SELECT *\n"
        "  FROM v\n"
        "  to 'v.csv' type csv;\n"
        "end if;\n"
        "create table u as\n  select 1;\n"
        "export select 1\n  to 'one.csv' type csv;\n"
    )
    assert fmt(src) == (
        "CREATE TABLE t AS\n"
        "SELECT a\n"
        "  FROM b;\n"
        "IF x THEN\n"
        "    CREATE VIEW v AS\n"
        "    SELECT 1\n"
        "    UNION ALL SELECT 2;\n"
        "    EXPORT\n"
        "  SELECT *\n"
        "  FROM v\n"
        "    TO 'v.csv' TYPE csv;\n"
        "END IF;\n"
        "CREATE TABLE u AS\nselect 1;\n"  # a body on its own line stays there
        "EXPORT select 1\nTO 'one.csv' TYPE csv;\n"  # and so does a TO on its own line
    )


def test_other_sql_statements_kept_whole_with_their_comments() -> None:
    src = "INSERT /* why */ INTO t\n  VALUES (1);   -- after\ncreate table d (a int);"
    assert fmt(src) == "INSERT /* why */ INTO t\n  VALUES (1); -- after\ncreate table d (a int);\n"


def test_comments_before_after_and_inside_statements() -> None:
    src = (
        "-- file header\n"
        "\n"
        "/* block\n   header */\n"
        "SET a = 1; -- trailing\n"
        "SET b = 2; /* one */ /* two */\n"
        "  -- leading, indented wrong\n"
        "LOAD t -- inside\n"
        "  FROM s /* also inside */ MODE APPEND;\n"
        "-- at the end\n"
    )
    assert fmt(src) == (
        "-- file header\n"
        "\n"
        "/* block\n   header */\n"
        "SET a = 1; -- trailing\n"
        "SET b = 2; /* one */ /* two */\n"
        "-- leading, indented wrong\n"
        "-- inside\n"
        "/* also inside */\n"
        "LOAD t FROM s MODE APPEND;\n"
        "-- at the end\n"
    )


def test_comments_inside_if_blocks() -> None:
    src = (
        "IF a -- cond\n"
        "THEN -- then\n"
        "-- first\n"
        "SET x = 1;\n"
        "-- dangling\n"
        "ELSE IF /* in header */ b THEN\n"
        "ELSE /* else */\n"
        "-- nested\n"
        "IF c THEN END IF; -- after nested\n"
        "END IF /* before semi */; -- after\n"
    )
    assert fmt(src) == (
        "-- cond\n"
        "IF a THEN -- then\n"
        "    -- first\n"
        "    SET x = 1;\n"
        "    -- dangling\n"
        "    /* in header */\n"
        "ELSE IF b THEN\n"
        "ELSE /* else */\n"
        "    -- nested\n"
        "    IF c THEN\n"
        "    END IF; -- after nested\n"
        "    /* before semi */\n"
        "END IF; -- after\n"
    )


def test_else_then_comment_then_if_stays_nested() -> None:
    src = "IF a THEN ELSE -- not an ELSE IF\nIF b THEN END IF; END IF;"
    out = fmt(src)
    (stmt,) = parse(out).statements
    assert isinstance(stmt, ast.If) and len(stmt.branches) == 1
    assert stmt.else_body is not None and isinstance(stmt.else_body[0], ast.If)


def test_blank_lines_kept_collapsed_and_trimmed() -> None:
    src = "\n\n\nSET a = 1;\n\n\n\nSET b = 2;\nSET c = 3;\n\n-- x\n\nSET d = 4;\n\n\n"
    assert fmt(src) == "SET a = 1;\n\nSET b = 2;\nSET c = 3;\n\n-- x\n\nSET d = 4;\n"


def test_no_blank_lines_at_branch_edges() -> None:
    src = "IF a THEN\n\n  SET x = 1;\n\n  SET y = 2;\n\nELSE\n\nEND IF;"
    assert fmt(src) == "IF a THEN\n    SET x = 1;\n\n    SET y = 2;\nELSE\nEND IF;\n"


def test_json_compact_when_short() -> None:
    src = (
        'SOURCE s TYPE csv PARAMS {\n  "path" : "x.csv",\n  "n": [1,2, {"a":null}],\n  "v": ${v}};'
    )
    assert fmt(src) == (
        'SOURCE s TYPE csv PARAMS {"path": "x.csv", "n": [1, 2, {"a": null}], "v": ${v}};\n'
    )


def test_json_one_pair_per_line_when_long() -> None:
    long_value = "x" * 60
    src = (
        'IF a THEN SOURCE s TYPE postgres PARAMS {"query": "'
        + long_value
        + '", "columns": {"id": "INTEGER", "name": "VARCHAR"}, "empty": {}}; END IF;'
    )
    assert fmt(src) == (
        "IF a THEN\n"
        "    SOURCE s TYPE postgres PARAMS {\n"
        f'        "query": "{long_value}",\n'
        '        "columns": {"id": "INTEGER", "name": "VARCHAR"},\n'
        '        "empty": {}\n'
        "    };\n"
        "END IF;\n"
    )


def test_json_line_limit_counts_the_whole_line() -> None:
    pairs = '{"path": "' + "p" * 62 + '"}'
    fits = f"SOURCE s TYPE csv PARAMS {pairs};"
    assert len(fits) == 100
    assert fmt(fits) == fits + "\n"
    assert fmt(f"SOURCE s1 TYPE csv PARAMS {pairs};").count("\n") == 3


def test_empty_and_comment_only_files() -> None:
    assert fmt("") == ""
    assert fmt("  \n\n") == ""
    assert fmt("-- only\n\n\n/* me */") == "-- only\n\n/* me */\n"


def test_windows_line_endings_in_comments() -> None:
    assert fmt("-- a\r\nSET a = 1;\r\n") == "-- a\nSET a = 1;\n"


def test_format_pipeline_uses_the_given_text() -> None:
    text = "SET a = 1; -- why\n"
    assert format_pipeline(parse(text), text) == text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("LAOD t FROM s;", Code.UNKNOWN_STATEMENT),
        ("LOAD t FROM s MODE MERGE;", Code.MERGE_WITHOUT_KEY),
        ('SOURCE s TYPE csv PARAMS {"a\\q": 1};', Code.INVALID_JSON),
    ],
)
def test_errors_raise_compile_error(text: str, code: Code) -> None:
    with pytest.raises(CompileError) as info:
        format_source(text, "bad.sf")
    assert [d.code for d in info.value.diagnostics] == [code]
    assert info.value.sources is not None


def test_shipped_pipelines_are_formatted() -> None:
    """Examples and the `init` scaffold are what users copy: they must pass `fmt --check`."""
    from pathlib import Path

    from sqlflowc.scaffold import _FILES

    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.glob("examples/*/pipelines/**/*.sf")):
        text = path.read_text(encoding="utf-8")
        assert format_source(text, str(path)) == text, f"{path} is not formatted"
    scaffold = _FILES["pipelines/example.sf"]
    assert format_source(scaffold) == scaffold
