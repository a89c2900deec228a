"""The grammar and lowering: every statement form, soft keywords, opaque SQL bodies, errors."""

from __future__ import annotations

import re

import duckdb
import pytest
from lark import Lark

from sqlflowc.diagnostics import Code, Reporter, render_text
from sqlflowc.ir import ast
from sqlflowc.source import SourceMap
from sqlflowc.syntax.lower import parse_pipeline
from sqlflowc.syntax.parser import grammar_text


def parse(text: str) -> tuple[ast.Pipeline | None, Reporter, SourceMap]:
    sources = SourceMap()
    reporter = Reporter()
    file_id = sources.add("test.sf", text)
    return parse_pipeline(text, file_id, reporter), reporter, sources


def ok(text: str) -> tuple[ast.Statement, ...]:
    pipeline, reporter, sources = parse(text)
    assert not reporter.diagnostics, render_text(reporter.diagnostics, sources)
    assert pipeline is not None
    return pipeline.statements


def errors(text: str) -> list[tuple[Code, int, int]]:
    """(code, line, column) of every diagnostic."""
    _, reporter, sources = parse(text)
    assert reporter.diagnostics, "expected a diagnostic"
    out = []
    for d in reporter.diagnostics:
        assert d.span is not None
        line, col = sources.line_col(d.span)
        out.append((d.code, line, col))
    return out


def test_grammar_builds_strict() -> None:
    Lark(grammar_text(), parser="lalr", lexer="contextual", strict=True, maybe_placeholders=True)


def test_source_and_load_with_soft_keywords() -> None:
    (src, load) = ok('source source TYPE csv PARAMS {"path": "x.csv"};\nLOAD mode FROM source;')
    assert isinstance(src, ast.SourceDecl)
    assert src.name.value == "source"
    assert src.connector.value == "csv"
    assert isinstance(load, ast.Load)
    assert load.table.sql == "mode"
    assert load.source.value == "source"
    assert load.mode is None


@pytest.mark.parametrize(
    ("clause", "keys", "spelling"),
    [
        ("MODE MERGE KEY (a, b)", ("a", "b"), ast.MergeSpelling.MERGE_KEY),
        ("mode merge key a", ("a",), ast.MergeSpelling.MERGE_KEY),
        ("MODE UPSERT KEY (id)", ("id",), ast.MergeSpelling.UPSERT_KEY),
        ("MODE UPSERT KEY id, day", ("id", "day"), ast.MergeSpelling.UPSERT_KEY),
        ("MODE MERGE MERGE_KEYS (k)", ("k",), ast.MergeSpelling.MERGE_MERGE_KEYS),
        ("MODE MERGE MERGE_KEYS k1, k2", ("k1", "k2"), ast.MergeSpelling.MERGE_MERGE_KEYS),
    ],
)
def test_merge_spellings(clause: str, keys: tuple[str, ...], spelling: ast.MergeSpelling) -> None:
    (load,) = ok(f"LOAD t FROM s {clause};")
    assert isinstance(load, ast.Load)
    assert isinstance(load.mode, ast.Merge)
    assert tuple(k.value for k in load.mode.keys) == keys
    assert load.mode.spelling is spelling


def test_create_table_modes_and_incremental() -> None:
    a, b, c = ok(
        "CREATE TABLE t MODE APPEND AS SELECT 1;\n"
        "CREATE OR REPLACE TABLE s.t AS SELECT 2;\n"
        "CREATE TABLE inc MODE INCREMENTAL BY ts LOOKBACK '2 days' KEY (id) AS SELECT * FROM e;"
    )
    assert isinstance(a, ast.CreateTable) and isinstance(a.mode, ast.Append)
    assert isinstance(b, ast.CreateTable) and b.or_replace and b.table.sql == "s.t"
    assert isinstance(c, ast.CreateTable) and isinstance(c.mode, ast.Incremental)
    assert c.mode.by.value == "ts"
    assert c.mode.lookback is not None and c.mode.lookback.value == "2 days"
    assert [k.value for k in c.mode.keys] == ["id"]


SQL_BODIES = [
    "SELECT 'a;b' AS x, \"weird;name\" FROM t",
    "SELECT x::INTEGER || 'it''s' FROM t -- trailing; comment\n  WHERE y = 1",
    "WITH c AS (SELECT 1 AS a) SELECT * FROM c /* ; */",
    "VALUES (1, 'a  b'), (2, 'c\tsemi;')",
    "SELECT $$dollar;quoted$$ AS d",
    "FROM t SELECT a",
    # Read as DuckDB reads them: dollar tags, nested block comments, E'' escapes.
    "SELECT $tag$a;b$tag$ AS d, $t$ $$ ; $t$ AS e",
    "SELECT $é$a;b$é$ AS d",
    "SELECT 1 /* outer /* inner */ still ; comment */ AS a",
    "SELECT 1 /* 1 /* 2 /* 3 /* 4 /* 5 /* 6 /* 7 /* 8 */ ; */ */ */ */ */ */ */ AS a",
    "SELECT E'it\\'s; here' AS a, e'\\\\' AS b",
    "SELECT 1 AS a$b$c, $1 AS p",
    "SELECT $name AS q",
    "SELECT 'x' AS E, 2 AS de",
]


@pytest.mark.parametrize("body", SQL_BODIES)
def test_sql_bodies_survive_verbatim(body: str) -> None:
    (stmt,) = ok(f"CREATE TABLE out AS {body};")
    assert isinstance(stmt, ast.CreateTable)
    assert stmt.query.text == body
    # ... and DuckDB reads each as one statement too.
    assert len(duckdb.connect().extract_statements(body)) == 1


def test_export_forms() -> None:
    q, t = ok(
        "EXPORT SELECT * FROM t WHERE note = 'to' TO \"out/a.csv\" TYPE CSV\n"
        'OPTIONS {"header": true};\n'
        "EXPORT main.t TO 'out/b.parquet' TYPE parquet;"
    )
    assert isinstance(q, ast.Export) and q.table is None and q.query is not None
    assert q.query.text == "SELECT * FROM t WHERE note = 'to'"
    assert isinstance(t, ast.Export) and t.table is not None and t.table.sql == "main.t"
    assert t.uri.value == "out/b.parquet"


def test_other_sql_statements_kept_whole() -> None:
    stmts = ok(
        "INSERT INTO t VALUES (1);\nCREATE SCHEMA s;\nCREATE TABLE d (a INT, b TEXT);\n"
        "SET threads TO 2;\nPRAGMA threads=2;\nCHECKPOINT;\nDROP TABLE IF EXISTS t;"
    )
    texts = [s.sql.text for s in stmts if isinstance(s, ast.SqlStatement)]
    assert texts == [
        "INSERT INTO t VALUES (1)",
        "CREATE SCHEMA s",
        "CREATE TABLE d (a INT, b TEXT)",
        "SET threads TO 2",
        "PRAGMA threads=2",
        "CHECKPOINT",
        "DROP TABLE IF EXISTS t",
    ]


def test_set_values_and_var_refs() -> None:
    stmts = ok(
        "SET a = 'x';\nSET b = \"y\";\nSET c = 10;\nSET d = TRUE;\nSET e = ${a|'q r'};\n"
        "SET f = null;"
    )
    values = [s.value for s in stmts if isinstance(s, ast.Set)]
    assert [v.value for v in values[:4] if isinstance(v, ast.Literal)] == ["x", "y", 10, True]
    ref = values[4]
    assert isinstance(ref, ast.VarRef) and ref.name == "a" and ref.default == "q r"
    assert isinstance(values[5], ast.Literal) and values[5].value is None


def test_var_refs_in_templates() -> None:
    (stmt,) = ok("CREATE TABLE t AS SELECT * FROM x WHERE r = '${region}' LIMIT ${n|10};")
    assert isinstance(stmt, ast.CreateTable)
    refs = stmt.query.refs
    assert [(r.name, r.default) for r in refs] == [("region", None), ("n", "10")]
    assert [stmt.query.text[o : o + 2] for o in stmt.query.offsets] == ["${", "${"]


def test_empty_default_and_spaces_around_bar() -> None:
    (stmt,) = ok("SET x = ${ name | };")
    assert isinstance(stmt, ast.Set) and isinstance(stmt.value, ast.VarRef)
    assert stmt.value.name == "name" and stmt.value.default == ""


def test_if_structure_and_precedence() -> None:
    (stmt,) = ok(
        "IF NOT a == 'x' AND b IN (1, 2) OR c THEN\n  INSERT INTO t VALUES (1);\n"
        "ELSE IF d <> 3 THEN\nELSEIF e THEN\nELSE\n  SET z = 1;\nENDIF;"
    )
    assert isinstance(stmt, ast.If)
    assert len(stmt.branches) == 3
    cond = stmt.branches[0].condition
    assert isinstance(cond, ast.Or)
    both, c = cond.operands
    assert isinstance(both, ast.And) and isinstance(c, ast.BareName)
    negated, listed = both.operands
    assert isinstance(negated, ast.Not)
    assert isinstance(negated.operand, ast.Compare)  # NOT binds looser than ==
    assert isinstance(listed, ast.InList)
    assert stmt.else_body is not None and len(stmt.else_body) == 1


def test_comments_collected_outside_sql() -> None:
    pipeline, reporter, _ = parse(
        "-- head\nSET a = 1; /* tail */\nCREATE TABLE t AS SELECT 1 -- in\n;"
    )
    assert pipeline is not None and not reporter.diagnostics
    assert [c.text for c in pipeline.comments] == ["-- head", "/* tail */"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LAOD t FROM s;", [(Code.UNKNOWN_STATEMENT, 1, 1)]),
        ("LOAD t FROM s\nLOAD u FROM s;", [(Code.MISSING_SEMICOLON, 1, 13)]),
        ("IF ${x} THEN\n  SET a = 1;\n", [(Code.MISSING_END_IF, 1, 1)]),  # at the IF
        ('SOURCE s TYPE CSV PARAMS {"a": 1,};', [(Code.JSON_TRAILING_COMMA, 1, 33)]),
        ("LOAD t FROM s MODE MERGE;", [(Code.MERGE_WITHOUT_KEY, 1, 15)]),
        ("LOAD t FROM s MODE APPEND KEY (a);", [(Code.KEY_NOT_ALLOWED, 1, 27)]),
        ("LOAD t FROM s MODE MERGE KEY (a, A);", [(Code.DUPLICATE_KEY, 1, 34)]),
        ("LOAD t FROM s MODE REPLACE LOOKBACK '1 day';", [(Code.INCREMENTAL_CLAUSE, 1, 28)]),
        ("LOAD t FROM s MODE INCREMENTAL LOOKBACK '1 day';", [(Code.INCREMENTAL_CLAUSE, 1, 15)]),
        ("CREATE TABLE t AS SELECT 'abc;", [(Code.UNTERMINATED, 1, 26)]),
        ("BEGIN;", [(Code.TRANSACTION_CONTROL, 1, 1)]),
        ("SET x = ${bad name};", [(Code.BAD_VARIABLE_REF, 1, 9)]),
        ("EXPORT SELECT 1 TO 'x' TYPE CSV OPTIONS {'a': 1};", [(Code.INVALID_JSON, 1, 42)]),
    ],
)
def test_named_errors(text: str, expected: list[tuple[Code, int, int]]) -> None:
    assert errors(text) == expected


def test_several_syntax_errors_reported_together() -> None:
    found = errors("LAOD a FROM b;\nSET x = 1;\nCRATE TABLE t AS SELECT 1;\nSET y = ;\n")
    assert [c for c, _, _ in found] == [
        Code.UNKNOWN_STATEMENT,
        Code.UNKNOWN_STATEMENT,
        Code.SYNTAX_ERROR,
    ]
    assert [line for _, line, _ in found] == [1, 3, 4]


def test_did_you_mean_keyword() -> None:
    _, reporter, sources = parse("EXPROT t TO 'x.csv' TYPE CSV;")
    text = render_text(reporter.diagnostics, sources)
    assert "did you mean `EXPORT`?" in text
    assert "test.sf:1:1: error[SF0002]" in text


SOURCE_O = 'SOURCE o TYPE CSV PARAMS {"path": "o.csv"};\n'


@pytest.mark.parametrize(
    ("text", "caret", "suggestion"),
    [
        (SOURCE_O + "LOAD o FORM o;", "2:8", "FROM"),
        (SOURCE_O + "LOAD o FROM o MODE MERG;", "2:20", "MERGE"),
        (SOURCE_O + "LOAD o FROM o MODE APEND;", "2:20", "APPEND"),
        (SOURCE_O + "LOAD o FROM o MODE MERGE KYE (id);", "2:26", "KEY"),
        ('SOURCE o TPYE CSV PARAMS {"path": "o.csv"};', "1:10", "TYPE"),
        ('EXPORT t TO "o.csv" TYPE CSV OPTINS {"header": true};', "1:30", "OPTIONS"),
        ("SET x = 1;\nIF ${x} = 1 THNE\n  SET y = 2;\nEND IF;", "2:13", "THEN"),
    ],
)
def test_a_misspelt_keyword_gets_a_did_you_mean(text: str, caret: str, suggestion: str) -> None:
    _, reporter, sources = parse(text)
    rendered = render_text(reporter.diagnostics, sources)
    assert rendered.startswith(f"test.sf:{caret}: error[SF0001]: unexpected `"), rendered
    assert f"= help: did you mean `{suggestion}`?" in rendered, rendered
    assert "^" in rendered.splitlines()[3], "the caret under the word"


def test_a_word_like_no_keyword_expected_gets_no_guess() -> None:
    _, reporter, sources = parse(SOURCE_O + "LOAD o FROM o MODE ZIGZAG;")
    rendered = render_text(reporter.diagnostics, sources)
    assert "error[SF0001]: unexpected `ZIGZAG`" in rendered
    assert "did you mean" not in rendered and "help" not in rendered


def test_unquoted_lookback_of_the_earlier_releases() -> None:
    (stmt,) = ok("CREATE TABLE m MODE INCREMENTAL BY ts LOOKBACK 7 DAYS AS SELECT * FROM e;")
    assert isinstance(stmt, ast.CreateTable) and isinstance(stmt.mode, ast.Incremental)
    assert stmt.mode.lookback is not None and stmt.mode.lookback.value == "7 DAYS"
    assert errors("CREATE TABLE m MODE INCREMENTAL BY ts LOOKBACK 7 FORTNIGHTS AS SELECT 1;") == [
        (Code.BAD_LOOKBACK, 1, 48)
    ]


def test_statement_keywords_are_the_grammars() -> None:
    """`ast.STATEMENT_KEYWORDS` (what the parser's messages and `bind`'s missing-`;` check know
    of statements) are the first words of the grammar's statements."""
    grammar = grammar_text()
    alternatives = re.search(r"^_statement: (.*?)\n\n", grammar, re.M | re.S)
    assert alternatives is not None
    first_words = set()
    for rule in re.findall(r"\w+", alternatives.group(1)):
        body = re.search(rf"^{rule}: (.*?)\n(?=\S|\n)", grammar, re.M | re.S)
        assert body is not None, rule
        for alternative in body.group(1).split("\n"):
            head = alternative.strip().lstrip("|").split()[0]
            first_words.add(head.strip('"').removesuffix('"i').upper())
    assert first_words == {*ast.STATEMENT_KEYWORDS, "SQL_VERB"}
