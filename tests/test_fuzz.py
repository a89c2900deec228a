"""Property tests of the grammar, the parser and `fmt`.

Programs come from the grammar itself (`hypothesis.extra.lark.from_lark`). The opaque terminals
(SQL bodies, names, strings, `${...}`) are drawn from small pools of realistic text, and every
terminal is followed by whitespace so the contextual lexer can read the tokens back. Properties:
- for generated programs, mutations of them and arbitrary text, `parse_pipeline` returns or reports
  diagnostics with valid spans — never another exception, never slowly;
- for generated programs that parse cleanly, `parse(fmt(p)) == p`, `fmt` is idempotent and keeps
  every comment;
- the whole compiler either compiles or raises CompileError.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark
from lark.lexer import PatternStr

from sqlflowc.api import compile_source
from sqlflowc.diagnostics import Code, CompileError, Reporter
from sqlflowc.ir import ast
from sqlflowc.ir.printer import format_pipeline
from sqlflowc.syntax.lower import parse_pipeline
from sqlflowc.syntax.parser import grammar_text

MAX_SECONDS = 2.0

# Built like the production parser, but strict: a regex collision between terminals fails here.
GRAMMAR = Lark(
    grammar_text(), parser="lalr", lexer="contextual", strict=True, maybe_placeholders=True
)

SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "  ", "\n\n", "\t"])

POOLS: dict[str, list[str]] = {
    "NAME": [
        "t",
        "src",
        "orders",
        "id",
        "day",
        "region",
        "env",
        "n",
        "flag",
        "users",
        "ts",
        "source",
        "mode",
        "key",
        "type",
        "data",
        "merge",
        "append",
        "load",
        "_tmp1",
    ],
    "QUOTED_IDENT": ['"My Table"', '"a""b"', '"select"', '"x"'],
    "SQ_STRING": [
        "'x'",
        "'it''s'",
        "'2 days'",
        "'6 hours'",
        "'a;b'",
        "'out/x.csv'",
        "''",
        "'${region}'",
        "'prod'",
        "'--not a comment'",
    ],
    "DQ_STRING": [
        '"x"',
        '"path"',
        '"data/x.csv"',
        '"${dir|data}/x.csv"',
        '"a \\"q\\""',
        '"warehouse"',
        '"header"',
        '"delimiter"',
        '""',
        '"tab\\tsep"',
        '"caf\\u00e9"',
    ],
    "VAR_REF": [
        "${x}",
        "${env|dev}",
        "${ n | 10 }",
        "${x|}",
        "${x|'a b'}",
        '${x|"a b"}',
        "${flag}",
    ],
    "SQL_BODY": [
        "SELECT * FROM t",
        "SELECT a::INTEGER AS a, b || 'x' AS c FROM t WHERE note = 'it''s'",
        "WITH c AS (SELECT 1 AS a) SELECT * FROM c",
        "VALUES (1, 'a  b'), (2, 'c;d')",
        "FROM orders SELECT region, sum(amount) GROUP BY ALL",
        "SELECT 1 -- a trailing comment\n",
        'SELECT /* ; */ 2 AS "weird;name"',
        "SELECT $$dollar;quoted$$ AS d",
        "SELECT *\n  FROM orders\n  WHERE region = '${region}'\n  LIMIT ${n|10}",
        "SELECT * FROM events WHERE ts BETWEEN @start_dt AND @end_dt",
        "SELECT - 1 / 2 AS half, 'x' -- c\n  FROM t",
    ],
    "SQL_COLUMNS": ["(a INT, b TEXT)", "(id INTEGER PRIMARY KEY, note VARCHAR DEFAULT 'x;y')"],
    "EXPORT_QUERY": [
        "SELECT * FROM t",
        "t",
        "main.t",
        '"My Table"',
        "SELECT a FROM t WHERE note = 'to x'",
        "SELECT 1 -- c\n",
        "WITH x AS (SELECT 1) SELECT * FROM x",
    ],
    "SQL_VERB": [
        "INSERT INTO audit",
        "DELETE FROM t WHERE",
        "DROP TABLE IF EXISTS",
        "CHECKPOINT",
        "PRAGMA",
        "SELECT",
        "ALTER TABLE t ADD COLUMN",
        "CREATE SCHEMA",
        "update",
        "BEGIN",
    ],
    "COMP_OP": ["==", "=", "!=", "<>", "<", "<=", ">", ">="],
    "ELSE_IF": ["ELSE IF", "ELSEIF", "else if", "Else\tIf"],
    "END_IF": ["END IF", "ENDIF", "end if", "End  If"],
    "COMMENT": ["-- note\n", "/* c */", "/* multi\n   line */", "-- x;y 'q\n", "/**/"],
    "WS": [" ", "\n", "\n\n", "\t"],
}


def _terminal(name: str, pattern_value: str, alternatives: bool) -> st.SearchStrategy[str]:
    """Pool text for the opaque terminals; the spelling variants of keywords and operators."""
    if name in POOLS:
        base: st.SearchStrategy[str] = st.sampled_from(POOLS[name])
        if name == "NAME":
            base = base | st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)
        if name == "DQ_STRING":  # also strings that are not valid JSON
            base = base | st.from_regex(r'"(?:[^"\\\n]|\\.){0,6}"', fullmatch=True)
        if name in {"COMMENT", "WS"}:
            return base
    elif name == "NUMBER":
        number = r"[+-]?(?:\d{1,4}(?:\.\d{0,2})?|\.\d{1,2})(?:[eE][+-]?\d)?"
        base = st.from_regex(number, fullmatch=True)
    else:
        words = pattern_value.split("|") if alternatives else [pattern_value]
        base = st.sampled_from(
            sorted({v for w in words for v in (w.upper(), w.lower(), w.capitalize())})
        )
    return st.builds(lambda tok, sep: tok + sep, base, SEPARATORS)


def _explicit() -> dict[str, st.SearchStrategy[str]]:
    out: dict[str, st.SearchStrategy[str]] = {}
    for term in GRAMMAR.terminals:
        pattern = term.pattern
        simple = isinstance(pattern, PatternStr) or term.name in {"MODE_KIND", "KEY_WORD"}
        assert simple or term.name in POOLS or term.name == "NUMBER", term.name
        out[term.name] = _terminal(
            term.name, pattern.value, alternatives=not isinstance(pattern, PatternStr)
        )
    return out


EXPLICIT = _explicit()
PROGRAMS = from_lark(GRAMMAR, explicit=EXPLICIT)
# Whole programs rarely reach deep IFs or valid load modes; statements drawn from the grammar rules
# that hold them, joined into programs, do.
MODES = from_lark(GRAMMAR, start="load_mode", explicit=EXPLICIT)
STATEMENTS = st.one_of(
    [
        *(
            from_lark(GRAMMAR, start=rule, explicit=EXPLICIT)
            for rule in ("_statement", "if_stmt", "load_stmt", "create_table_stmt", "export_stmt")
        ),
        st.builds("LOAD t FROM s {};\n".format, MODES),
        st.builds("CREATE TABLE t {} AS SELECT * FROM s;\n".format, MODES),
    ]
)


def parse(text: str) -> tuple[ast.Pipeline | None, Reporter]:
    reporter = Reporter()
    return parse_pipeline(text, 0, reporter), reporter


def _parses_cleanly(text: str) -> bool:
    pipeline, reporter = parse(text)
    return pipeline is not None and not reporter.diagnostics


CLEAN_PROGRAMS = st.lists(STATEMENTS.filter(_parses_cleanly), max_size=6).map("".join)

SAMPLES = [
    'SOURCE s TYPE CSV PARAMS {"path": "data/x.csv", "has_header": true};\nLOAD t FROM s;\n',
    "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 1 AS id;\n",
    "IF ${env|dev} == 'prod' THEN\n  EXPORT t TO 'out/t.csv' TYPE CSV;\n"
    "ELSE\n  SET x = 1;\nEND IF;\n",
    "-- c\nINSERT INTO t VALUES (1); /* d */\nSET a = ${b|'q r'};\n",
]
TOKENS = [
    ";",
    "'",
    '"',
    "/*",
    "*/",
    "--",
    "${",
    "}",
    "{",
    "(",
    ")",
    ",",
    "IF ",
    "END IF",
    "ELSE ",
    "THEN ",
    "\n",
    " ",
    "$$",
    "MODE ",
    "KEY ",
    ":",
    "[",
    "SELECT ",
    " TO ",
    "\\",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A program with characters and tokens deleted, inserted and duplicated."""
    text = draw(PROGRAMS | CLEAN_PROGRAMS | st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            text = draw(st.sampled_from(TOKENS))
            continue
        pos = draw(st.integers(0, len(text) - 1))
        length = draw(st.integers(1, 12))
        match draw(st.sampled_from(["delete", "insert", "insert_text", "duplicate"])):
            case "delete":
                text = text[:pos] + text[pos + length :]
            case "insert":
                text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
            case "insert_text":
                text = text[:pos] + draw(st.text(max_size=4)) + text[pos:]
            case _:
                text = text[:pos] + text[pos : pos + length] + text[pos:]
    return text


def check_parse_is_total(text: str) -> None:
    started = time.perf_counter()
    pipeline, reporter = parse(text)
    elapsed = time.perf_counter() - started
    assert elapsed < MAX_SECONDS, f"parsing took {elapsed:.2f}s"
    assert pipeline is not None or reporter.has_errors
    for diag in reporter.diagnostics:
        assert isinstance(diag.code, Code)
        assert diag.span is not None, diag
        assert 0 <= diag.span.start <= diag.span.end <= len(text), diag


@pytest.mark.slow
@given(PROGRAMS | st.lists(STATEMENTS, max_size=6).map("".join))
def test_parse_generated_programs(text: str) -> None:
    check_parse_is_total(text)


@pytest.mark.slow
@given(mutated())
def test_parse_mutated_programs(text: str) -> None:
    check_parse_is_total(text)


@given(st.text(max_size=200))
def test_parse_arbitrary_text(text: str) -> None:
    check_parse_is_total(text)


def comment_texts(pipeline: ast.Pipeline) -> list[str]:
    return sorted(c.text.rstrip() if c.text.startswith("--") else c.text for c in pipeline.comments)


@pytest.mark.slow
@given(CLEAN_PROGRAMS | PROGRAMS)
def test_fmt_round_trips_and_is_idempotent(text: str) -> None:
    pipeline, reporter = parse(text)
    assume(pipeline is not None and not reporter.diagnostics)
    assert pipeline is not None
    formatted = format_pipeline(pipeline, text)
    again, reporter = parse(formatted)
    assert not reporter.diagnostics, (formatted, reporter.diagnostics)
    assert again is not None
    assert again == pipeline, formatted
    assert comment_texts(again) == comment_texts(pipeline), formatted
    assert format_pipeline(again, formatted) == formatted
    assert formatted == "" or (formatted.endswith("\n") and not formatted.endswith("\n\n"))
    assert not formatted.startswith("\n")


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("project")


@given(text=CLEAN_PROGRAMS | PROGRAMS | mutated())
def test_compile_source_returns_or_raises_compile_error(text: str, project_dir: Path) -> None:
    try:
        compile_source(text, str(project_dir / "p.sf"), project_dir=project_dir, environ={})
    except CompileError as err:
        assert any(d.is_error for d in err.diagnostics)
