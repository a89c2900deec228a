"""fold_conditionals: the IF language, evaluated safely at compile time."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from sqlflowc.api import compile_context
from sqlflowc.diagnostics import Code, Diagnostic, Reporter
from sqlflowc.ir import ast
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.fold_conditionals import MAX_DEPTH, fold_conditionals
from sqlflowc.passes.lower_program import lower_program
from sqlflowc.syntax.lower import parse_pipeline


def _context(text: str, **settings: Any) -> tuple[ast.Pipeline, PassContext]:
    # `parse_pipeline`, not `api.parse`: a test below forbids `__import__` while it runs
    ctx = compile_context(project_dir=Path("/project"), **settings)
    pipeline = parse_pipeline(text, ctx.sources.add("main.sf", text), ctx.reporter)
    assert pipeline is not None, ctx.reporter.diagnostics
    return pipeline, ctx


def fold(text: str, **settings: Any) -> tuple[list[str], list[Diagnostic]]:
    """The SQL of the statements kept (SETs as `SET name`) and the diagnostics."""
    pipeline, ctx = _context(text, **settings)
    folded = fold_conditionals(pipeline, ctx)
    kept: list[str] = []
    for stmt in folded.statements:
        assert not isinstance(stmt, ast.If)
        if isinstance(stmt, ast.SqlStatement):
            kept.append(stmt.sql.text)
        elif isinstance(stmt, ast.Set):
            kept.append(f"SET {stmt.name.value}")
        else:
            kept.append(type(stmt).__name__)
    return kept, ctx.reporter.diagnostics


def holds(condition: str, **settings: Any) -> bool:
    """Whether `condition` is true (and produced no diagnostic)."""
    kept, diags = fold(f"IF {condition} THEN SELECT 'yes'; ELSE SELECT 'no'; END IF;", **settings)
    assert diags == [], [d.message for d in diags]
    assert len(kept) == 1
    return kept[0] == "SELECT 'yes'"


def errors(condition: str, **settings: Any) -> list[Diagnostic]:
    kept, diags = fold(f"IF {condition} THEN SELECT 'yes'; ELSE SELECT 'no'; END IF;", **settings)
    assert kept == [], "a condition with errors keeps no branch"
    assert diags
    return diags


# ------------------------------------------------------------------ operators and value rules


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("1 = 1", True),
        ("1 == 1", True),
        ("1 != 1", False),
        ("1 <> 2", True),
        ("1 < 2", True),
        ("2 < 1", False),
        ("2 <= 2", True),
        ("3 > 2", True),
        ("2 >= 3", False),
        ("'a' = 'a'", True),
        ("'a' == \"a\"", True),
        ("'a' != 'b'", True),
        ("'a' < 'b'", True),
        ("'b' >= 'a'", True),
        ("'A' = 'a'", False),
        ("1.0 = 1", True),
        ("'1.50' = 1.5", True),
        ("'10' > '9'", True),
        ("-1 < +1", True),
        ("1e3 = 1000", True),
        ("true", True),
        ("FALSE", False),
        ("'True'", True),
        ("'TRUE' = true", True),
        ("'false' == FALSE", True),
        ("null = null", True),
        ("NULL != null", False),
        ("null = 'null'", False),
        ("null = 0", False),
        ("null != ''", True),
        ("10 = 'ten'", False),
        ("10 != 'ten'", True),
        ("true = 1", False),
        ("'x' IN ('a', 'x')", True),
        ("'x' IN ('a', 'b')", False),
        ("'x' NOT IN ('a', 'b')", True),
        ("'x' not in ('x')", False),
        ("10 IN ('10.0', 11)", True),
        ("null IN (1, null)", True),
    ],
)
def test_operator(condition: str, expected: bool) -> None:
    assert holds(condition) is expected


@pytest.mark.parametrize(
    ("condition", "variables", "expected"),
    [
        ("${n} > 9", {"n": "10"}, True),  # text from the command line compares as a number
        ("${n} > 9", {"n": 10}, True),
        ("${n} = 10", {"n": "10"}, True),
        ("${n} < '9'", {"n": "10"}, False),  # two numbers, not two strings
        ("${flag} == 'true'", {"flag": True}, True),
        ("${flag} == 'true'", {"flag": "true"}, True),
        ("${flag} == 'true'", {"flag": "TRUE"}, True),
        ("${flag} = true", {"flag": "False"}, False),
        ("${flag}", {"flag": True}, True),
        ("${flag}", {"flag": "True"}, True),
        ("${flag}", {"flag": "false"}, False),
        ("${x} = null", {"x": None}, True),
        ("${x} != null", {"x": "a"}, True),
        ("${region} IN ('eu', 'us')", {"region": "eu"}, True),
        ("${region} NOT IN ('eu', 'us')", {"region": "ap"}, True),
        ("${n} IN (1, 2, 10)", {"n": "10"}, True),
        ("environment = 'production'", {"environment": "production"}, True),
        ("environment == ${target}", {"environment": "dev", "target": "dev"}, True),
        ("${missing|eu} = 'eu'", {}, True),
        ("${missing|10} > 9", {}, True),
        ("${missing|} = ''", {}, True),
        ("${missing|'a b'} = 'a b'", {}, True),
    ],
)
def test_variables_in_conditions(condition: str, variables: dict[str, Any], expected: bool) -> None:
    assert holds(condition, cli_vars=variables) is expected


def test_environment_and_profile_variables_are_visible() -> None:
    assert holds("${HOME_REGION} = 'eu'", environ={"HOME_REGION": "eu"})
    assert holds("env = 'staging'", profile_vars={"env": "staging"})
    assert holds("env = 'x-1'", profile_vars={"env": "x-${N}"}, environ={"N": "1"})


def test_unset_reference_inside_a_profile_variable() -> None:
    for condition in ("env = 'x'", "${env} = 'x'"):
        (diag,) = errors(condition, profile_vars={"env": "${NOPE}"})
        assert diag.message == "unknown variable `NOPE`"
        assert diag.notes == ("used by profile variable `env`",)


# ------------------------------------------------------------------ logic and precedence


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("true AND true", True),
        ("true AND false", False),
        ("false OR true", True),
        ("false or false", False),
        ("NOT false", True),
        ("not true", False),
        ("true Or false And false", True),  # AND binds tighter than OR
        ("(true OR false) AND false", False),
        ("NOT 1 == 2", True),  # NOT (1 == 2)
        ("NOT 1 == 1 OR true", True),
        ("NOT (true AND false)", True),
        ("NOT NOT true", True),
        ("((1 = 1)) = true", True),
        ("(1 < 2) = (2 < 3)", True),
        ("('x' IN ('x')) AND NOT ('y' IN ('x'))", True),
    ],
)
def test_logic(condition: str, expected: bool) -> None:
    assert holds(condition) is expected


def test_not_binds_looser_than_comparison() -> None:
    pipeline, _ = _context("IF NOT ${a} == 'b' THEN SELECT 1; END IF;")
    stmt = pipeline.statements[0]
    assert isinstance(stmt, ast.If)
    condition = stmt.branches[0].condition
    assert isinstance(condition, ast.Not)
    assert isinstance(condition.operand, ast.Compare)
    assert holds("NOT ${a} == 'b'", cli_vars={"a": "c"})


# ------------------------------------------------------------------ IF forms


@pytest.mark.parametrize(
    "text",
    [
        "IF ${n} = 1 THEN SELECT 1; ELSE IF ${n} = 2 THEN SELECT 2; ELSE SELECT 3; END IF;",
        "IF ${n} = 1 THEN SELECT 1; ELSEIF ${n} = 2 THEN SELECT 2; ELSE SELECT 3; ENDIF;",
        "if ${n} = 1 then SELECT 1; else   if ${n} = 2 then SELECT 2; else SELECT 3; end if;",
        "IF ${n} = 1 THEN SELECT 1; elseif ${n} = 2 THEN SELECT 2; ELSE SELECT 3; EndIf;",
    ],
)
def test_if_spellings(text: str) -> None:
    assert fold(text, cli_vars={"n": 1})[0] == ["SELECT 1"]
    assert fold(text, cli_vars={"n": 2})[0] == ["SELECT 2"]
    assert fold(text, cli_vars={"n": 3})[0] == ["SELECT 3"]


def test_else_if_chain_stops_at_first_true_branch() -> None:
    text = """
    IF ${n} > 0 THEN SELECT 'first';
    ELSE IF ${n} > 1 THEN SELECT 'second';
    ELSE IF ${unset} THEN SELECT 'never evaluated';
    END IF;
    """
    kept, diags = fold(text, cli_vars={"n": 5})
    assert kept == ["SELECT 'first'"]
    assert diags == []


def test_no_branch_true_and_no_else_keeps_nothing() -> None:
    assert fold("SELECT 0; IF false THEN SELECT 1; END IF; SELECT 2;") == (
        ["SELECT 0", "SELECT 2"],
        [],
    )


def test_active_branch_is_spliced_in_program_order() -> None:
    text = """
    SELECT 'a';
    IF true THEN SELECT 'b'; SET x = 1; SELECT 'c'; END IF;
    SELECT 'd';
    """
    assert fold(text)[0] == ["SELECT 'a'", "SELECT 'b'", "SET x", "SELECT 'c'", "SELECT 'd'"]


def test_nested_ifs_fold_recursively() -> None:
    text = """
    IF ${a} THEN
      IF ${b} THEN SELECT 'a and b';
      ELSE SELECT 'a not b';
        IF true THEN SELECT 'deeper'; END IF;
      END IF;
    ELSE
      SELECT 'not a';
      IF ${b} THEN SELECT 'b not a'; END IF;
    END IF;
    """
    assert fold(text, cli_vars={"a": True, "b": True})[0] == ["SELECT 'a and b'"]
    assert fold(text, cli_vars={"a": True, "b": False})[0] == [
        "SELECT 'a not b'",
        "SELECT 'deeper'",
    ]
    assert fold(text, cli_vars={"a": False, "b": True})[0] == ["SELECT 'not a'", "SELECT 'b not a'"]
    assert fold(text, cli_vars={"a": False, "b": False})[0] == ["SELECT 'not a'"]


def test_every_data_statement_survives_folding() -> None:
    text = """
    IF true THEN
      SOURCE s TYPE csv PARAMS {"path": "a.csv"};
      LOAD t FROM s;
      CREATE TABLE u AS SELECT * FROM t;
      CREATE VIEW v AS SELECT * FROM u;
      EXPORT u TO "out.csv" TYPE csv;
      SOURCE p FROM "conn";
    END IF;
    """
    assert fold(text)[0] == [
        "SourceDecl",
        "Load",
        "CreateTable",
        "CreateView",
        "Export",
        "SourceFromProfile",
    ]


# ------------------------------------------------------------------ SET and conditions


def test_set_inside_active_branch_affects_later_ifs() -> None:
    text = """
    SET mode = 'full';
    IF ${env} = 'prod' THEN SET mode = 'incremental'; END IF;
    IF ${mode} = 'incremental' THEN SELECT 'inc'; ELSE SELECT 'full'; END IF;
    """
    assert fold(text, cli_vars={"env": "prod"})[0][-1] == "SELECT 'inc'"
    assert fold(text, cli_vars={"env": "dev"})[0][-1] == "SELECT 'full'"


def test_set_in_inactive_branch_does_not_count() -> None:
    text = """
    IF false THEN SET flag = true; END IF;
    IF ${flag|false} THEN SELECT 'set'; ELSE SELECT 'unset'; END IF;
    """
    assert fold(text)[0] == ["SELECT 'unset'"]


def test_command_line_beats_set_in_conditions() -> None:
    text = "SET env = 'dev'; IF env = 'prod' THEN SELECT 'p'; ELSE SELECT 'd'; END IF;"
    assert fold(text, cli_vars={"env": "prod"})[0] == ["SET env", "SELECT 'p'"]
    assert fold(text)[0] == ["SET env", "SELECT 'd'"]


def test_set_from_variable_with_default() -> None:
    text = """SET a = "${b|d}"; IF ${a} = 'x' THEN SELECT 'b'; ELSE SELECT 'default'; END IF;"""
    assert fold(text, cli_vars={"b": "x"})[0][-1] == "SELECT 'b'"
    assert fold(text)[0][-1] == "SELECT 'default'"


def test_set_value_types() -> None:
    text = """
    SET n = 10; SET f = TRUE; SET z = null;
    IF ${n} > 9 AND ${f} AND ${z} = null THEN SELECT 1; END IF;
    """
    assert fold(text)[0][-1] == "SELECT 1"


def test_broken_set_is_left_to_lower_program() -> None:
    text = "SET a = '${nope}'; IF ${a} = 'x' THEN SELECT 1; END IF; SELECT 2;"
    pipeline, ctx = _context(text)
    folded = fold_conditionals(pipeline, ctx)
    assert ctx.reporter.diagnostics == []  # the IF depending on it keeps no branch, silently
    assert len(folded.statements) == 2
    lower_program(folded, ctx)
    assert [d.message for d in ctx.reporter.diagnostics] == ["unknown variable `nope`"]


def test_unset_variable_in_a_condition_lists_its_other_uses() -> None:
    text = """SELECT '${x}';
    IF ${x} = 1 THEN SELECT 1; END IF;
    SELECT '${x}', '${x|default is fine}';
    SET x = 2;
    SELECT ${x};
    """
    _, diags = fold(text)
    (diag,) = diags
    assert diag.span is not None and diag.span.start == text.index("IF ${x}") + 3
    assert diag.notes == ("also used at main.sf:1:9", "also used at main.sf:3:13")


# ------------------------------------------------------------------ errors


def test_unset_variable_is_an_error_not_false() -> None:
    (diag,) = errors("${regoin} == 'eu'", cli_vars={"region": "eu"})
    assert diag.code is Code.UNKNOWN_VARIABLE
    assert diag.message == "unknown variable `regoin`"
    assert "did you mean `region`?" in diag.help
    assert diag.span is not None and (diag.span.start, diag.span.end) == (3, 12)


def test_unset_variable_reported_once_with_every_use() -> None:
    text = """
    IF ${x} = 1 THEN SELECT 1; END IF;
    IF ${x} = 2 THEN SELECT 2; END IF;
    """
    _, diags = fold(text)
    (diag,) = diags
    assert diag.code is Code.UNKNOWN_VARIABLE
    assert diag.notes == ("also used at main.sf:3:8",)


def test_variable_set_later_gets_a_hint() -> None:
    _, diags = fold("IF ${x} THEN SELECT 1; END IF; SET x = true;")
    (diag,) = diags
    assert "is set at main.sf:1:32" in diag.help


def test_bare_word_suggests_quoting() -> None:
    (diag,) = errors("env == production", cli_vars={"env": "production"})
    assert diag.code is Code.BARE_WORD
    assert "did you mean 'production'?" in diag.help


def test_bare_word_close_to_a_variable_mentions_it() -> None:
    (diag,) = errors("enviroment = 'prod'", cli_vars={"environment": "prod"})
    assert diag.code is Code.BARE_WORD
    assert "`environment`" in diag.help


@pytest.mark.parametrize(
    "condition",
    ["${n} > 'abc'", "'abc' <= 3", "true < false", "null < 1", "${flag} >= 1"],
)
def test_ordering_across_kinds_is_an_error(condition: str) -> None:
    (diag,) = errors(condition, cli_vars={"n": "10", "flag": True})
    assert diag.code is Code.BAD_COMPARISON


@pytest.mark.parametrize("condition", ["${n}", "'yes'", "1", "null", "name", "(${n})"])
def test_lone_value_must_be_boolean(condition: str) -> None:
    (diag,) = errors(condition, cli_vars={"n": 10, "name": "x"})
    assert diag.code is Code.NOT_BOOLEAN


def test_secret_values_never_appear_in_errors() -> None:
    diags = errors("${api_token} AND ${db_password} > 3", cli_vars={"api_token": "tok-123"},
                   environ={"db_password": "hunter2"})  # fmt: skip
    assert [d.code for d in diags] == [Code.NOT_BOOLEAN, Code.BAD_COMPARISON]
    for diag in diags:
        assert "tok-123" not in diag.message + diag.help + diag.label
        assert "hunter2" not in diag.message + diag.help + diag.label
        assert "***" in diag.message


def test_every_if_is_reported() -> None:
    text = """
    IF ${a} THEN SELECT 1; END IF;
    IF env == prod THEN SELECT 2; END IF;
    IF 1 > 'x' THEN SELECT 3; ELSE IF ${b} THEN SELECT 4; END IF;
    """
    _, diags = fold(text, cli_vars={"env": "dev"})
    assert sorted(d.code.value for d in diags) == sorted(
        [Code.BARE_WORD.value, Code.BAD_COMPARISON.value] + [Code.UNKNOWN_VARIABLE.value] * 2
    )


def test_skipped_side_of_and_or_is_checked_for_names_only() -> None:
    _, diags = fold("IF false AND ${tpyo} = 1 THEN SELECT 1; END IF;")
    assert [d.code for d in diags] == [Code.UNKNOWN_VARIABLE]
    _, diags = fold("IF true OR bareword THEN SELECT 1; END IF;")
    assert [d.code for d in diags] == [Code.BARE_WORD]
    # type errors on the skipped side depend on values that were never needed
    assert holds("true OR ${n} > 'abc'", cli_vars={"n": 1})
    assert not holds("false AND 'x'", cli_vars={})


def test_error_in_left_side_still_checks_right_side() -> None:
    diags = errors("${a} = 1 AND env == prod", cli_vars={"env": "x"})
    assert {d.code for d in diags} == {Code.UNKNOWN_VARIABLE, Code.BARE_WORD}


def test_inactive_branches_are_not_validated() -> None:
    text = """
    IF false THEN
      SELECT ${unset};
      IF ${also_unset} > 'x' THEN SELECT 1; END IF;
      SOURCE s FROM "no such connection";
    END IF;
    SELECT 1;
    """
    pipeline, ctx = _context(text)
    program = lower_program(fold_conditionals(pipeline, ctx), ctx)
    assert ctx.reporter.diagnostics == []
    assert len(program.statements) == 1


def test_include_reaching_the_pass_is_an_internal_error() -> None:
    pipeline, ctx = _context('INCLUDE "x.sf";')
    fold_conditionals(pipeline, ctx)
    assert [d.code for d in ctx.reporter.diagnostics] == [Code.INTERNAL]


# ------------------------------------------------------------------ hostile input


HOSTILE = [
    "__import__('os').system('touch /tmp/sqlflowc-pwned')",
    "open('/etc/passwd').read()",
    "1; DROP TABLE people",
    "${other}",
    "' OR '1'='1",
    'exec("print(1)")',
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_values_are_data(payload: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("conditions must never be executed")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", refuse)
    monkeypatch.setattr(builtins, "__import__", refuse)
    assert holds("${x} == ${y}", cli_vars={"x": payload, "y": payload})
    assert not holds("${x} == 'safe'", cli_vars={"x": payload})
    assert not Path("/tmp/sqlflowc-pwned").exists()


def test_hostile_condition_text_is_a_string_or_an_error() -> None:
    assert not holds("'__import__(\"os\").system(\"touch /tmp/sqlflowc-pwned\")' = 'x'")
    (diag,) = errors("__import__ == 'os'")
    assert diag.code is Code.BARE_WORD
    assert not Path("/tmp/sqlflowc-pwned").exists()


def test_python_syntax_in_a_condition_is_a_syntax_error() -> None:
    reporter = Reporter()
    assert parse_pipeline("IF __import__('os') THEN SELECT 1; END IF;", 0, reporter) is None
    assert reporter.has_errors


def test_deep_but_reasonable_nesting_evaluates() -> None:
    depth = MAX_DEPTH // 4
    assert holds("(" * depth + "1 = 1" + ") = true" * depth)
    assert holds("NOT " * (depth * 2) + "true")
    assert holds(" AND ".join(["true"] * (depth * 2)))


@pytest.mark.parametrize(
    "condition",
    [
        "(" * 150 + "1 = 1" + ") = true" * 150,
        "(" * 400 + "1 = 1" + ") = true" * 400,
        "NOT " * 250 + "true",
        "true" + " OR (false" * 250 + ")" * 250,
    ],
)
def test_very_deep_nesting_is_a_diagnostic(condition: str) -> None:
    (diag,) = errors(condition)
    assert diag.code is Code.SYNTAX_ERROR
    assert "nested" in diag.message


@pytest.mark.parametrize("terms", [201, 5000])
def test_a_long_flat_chain_is_not_nesting(terms: int) -> None:
    """`a AND b AND ...` is one level however long (it was reported as nested from 201)."""
    assert holds(" AND ".join(["1 = 1"] * terms))
    assert not holds(" AND ".join(["1 = 1"] * terms) + " AND 1 = 2")
    assert holds(" OR ".join(["false"] * terms) + " OR true")
    assert not holds(" OR ".join(["false"] * terms))
    assert holds(" OR ".join(["false AND true"] * terms) + " OR NOT false")


def test_deeply_nested_ifs_fold() -> None:
    depth = 60
    text = "IF true THEN " * depth + "SELECT 'inner';" + " END IF;" * depth
    assert fold(text) == (["SELECT 'inner'"], [])


@pytest.mark.parametrize(
    ("env", "chosen"), [("production", "'prod'"), ("staging", "'staging'"), ("dev", "'else'")]
)
def test_references_inside_quoted_condition_strings_are_substituted(env: str, chosen: str) -> None:
    """The earlier releases wrote `IF '${environment|dev}' == 'production'`."""
    text = (
        "IF '${environment|dev}' == 'production' THEN SELECT 'prod';\n"
        'ELSE IF "${environment|dev}" = "staging" THEN SELECT \'staging\';\n'
        "ELSE SELECT 'else'; END IF;\n"
    )
    kept, diags = fold(text, cli_vars={"environment": env})
    assert diags == []
    assert kept == [f"SELECT {chosen}"]


def test_unknown_reference_inside_a_condition_string_is_an_error() -> None:
    (diag,) = errors("'${enviroment}' == 'production'", cli_vars={"environment": "x"})
    assert diag.code is Code.UNKNOWN_VARIABLE
    assert "did you mean `environment`?" in diag.help
