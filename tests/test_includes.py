"""expand_includes: INCLUDE replaced by the included file's statements."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlflowc.api import compile_context, parse
from sqlflowc.diagnostics import Code, Diagnostic
from sqlflowc.ir import ast
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.expand_includes import expand_includes


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def expand(main: Path) -> tuple[ast.Pipeline, PassContext]:
    ctx = compile_context(project_dir=main.parent)
    pipeline = parse(main.read_text(encoding="utf-8"), str(main), sources=ctx.sources)
    return expand_includes(pipeline, ctx), ctx


def sqls(statements: tuple[ast.Statement, ...]) -> list[str]:
    return [s.sql.text for s in statements if isinstance(s, ast.SqlStatement)]


def includes_anywhere(statements: tuple[ast.Statement, ...]) -> bool:
    for stmt in statements:
        if isinstance(stmt, ast.Include):
            return True
        if isinstance(stmt, ast.If):
            bodies = [b.body for b in stmt.branches] + [stmt.else_body or ()]
            if any(includes_anywhere(body) for body in bodies):
                return True
    return False


def only(diags: list[Diagnostic]) -> Diagnostic:
    assert len(diags) == 1, [d.message for d in diags]
    return diags[0]


def test_included_statements_take_the_place_of_the_include(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": 'SELECT 1;\nINCLUDE "lib.sf";\nSELECT 4;\n',
        "lib.sf": "SELECT 2;\n  SELECT 3;\n",
    })  # fmt: skip
    pipeline, ctx = expand(tmp_path / "main.sf")
    assert ctx.reporter.diagnostics == []
    assert sqls(pipeline.statements) == ["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4"]
    third = pipeline.statements[2]
    assert ctx.sources.location(third.span) == f"{tmp_path / 'lib.sf'}:2:3"
    assert ctx.sources.text(third.span) == "SELECT 3;"


def test_nested_includes_resolve_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path, {
        "pipelines/main.sf": 'INCLUDE "../shared/a.sf";',
        "shared/a.sf": 'SELECT 1; INCLUDE "sub/b.sf";',
        "shared/sub/b.sf": 'SELECT 2; INCLUDE "../c.sf";',
        "shared/c.sf": "SELECT 3;",
    })  # fmt: skip
    pipeline, ctx = expand(tmp_path / "pipelines/main.sf")
    assert ctx.reporter.diagnostics == []
    assert sqls(pipeline.statements) == ["SELECT 1", "SELECT 2", "SELECT 3"]
    paths = {ctx.sources.path(s.span) for s in pipeline.statements}
    assert paths == {str(tmp_path / p) for p in ("shared/a.sf", "shared/sub/b.sf", "shared/c.sf")}


def test_same_file_twice_is_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": 'INCLUDE "common.sf"; INCLUDE "other.sf"; INCLUDE "common.sf";',
        "other.sf": 'INCLUDE "common.sf";',
        "common.sf": "SELECT 'common';",
    })  # fmt: skip
    pipeline, ctx = expand(tmp_path / "main.sf")
    assert ctx.reporter.diagnostics == []
    assert sqls(pipeline.statements) == ["SELECT 'common'"] * 3


def test_syntax_errors_in_an_included_file_are_reported_once_in_that_file(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": 'INCLUDE "bad.sf"; INCLUDE "bad.sf"; SELECT 1;',
        "bad.sf": "SELECT 1;\nLAOD t FROM s;\n",
    })  # fmt: skip
    pipeline, ctx = expand(tmp_path / "main.sf")
    diag = only(ctx.reporter.diagnostics)
    assert diag.code is Code.UNKNOWN_STATEMENT
    assert diag.span is not None
    assert ctx.sources.location(diag.span) == f"{tmp_path / 'bad.sf'}:2:1"
    assert sqls(pipeline.statements) == ["SELECT 1"]


def test_includes_inside_if_branches_are_expanded_in_every_branch(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": """
            IF ${env} = 'prod' THEN INCLUDE "prod.sf";
            ELSE IF ${env} = 'test' THEN INCLUDE "test.sf";
            ELSE INCLUDE "dev.sf"; IF true THEN INCLUDE "nested.sf"; END IF;
            END IF;
        """,
        "prod.sf": "SELECT 'prod';",
        "test.sf": "SELECT 'test';",
        "dev.sf": "SELECT 'dev';",
        "nested.sf": "SELECT 'nested';",
    })  # fmt: skip
    pipeline, ctx = expand(tmp_path / "main.sf")
    assert ctx.reporter.diagnostics == []
    assert not includes_anywhere(pipeline.statements)
    (stmt,) = pipeline.statements
    assert isinstance(stmt, ast.If)
    assert [sqls(b.body) for b in stmt.branches] == [["SELECT 'prod'"], ["SELECT 'test'"]]
    assert stmt.else_body is not None
    assert sqls(stmt.else_body) == ["SELECT 'dev'"]


def test_included_file_in_a_branch_is_parsed_even_if_inactive(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": 'IF false THEN INCLUDE "broken.sf"; END IF;',
        "broken.sf": "SOURCE s TYPE csv PARAMS {\"path\": \"x\",};",
    })  # fmt: skip
    _, ctx = expand(tmp_path / "main.sf")
    assert only(ctx.reporter.diagnostics).code is Code.JSON_TRAILING_COMMA


def test_missing_file_names_the_resolved_path(tmp_path: Path) -> None:
    write(tmp_path, {"pipelines/main.sf": 'SELECT 1;\nINCLUDE "../lib/missing.sf";'})
    pipeline, ctx = expand(tmp_path / "pipelines/main.sf")
    diag = only(ctx.reporter.diagnostics)
    assert diag.code is Code.INCLUDE_NOT_FOUND
    assert str(tmp_path / "lib" / "missing.sf") in diag.message
    assert diag.span is not None
    assert ctx.sources.text(diag.span) == '"../lib/missing.sf"'
    assert sqls(pipeline.statements) == ["SELECT 1"]


def test_directory_is_not_an_include(tmp_path: Path) -> None:
    write(tmp_path, {"main.sf": 'INCLUDE "lib";', "lib/x.sf": "SELECT 1;"})
    _, ctx = expand(tmp_path / "main.sf")
    assert only(ctx.reporter.diagnostics).code is Code.INCLUDE_NOT_FOUND


def test_cycle_shows_the_chain(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": 'INCLUDE "a.sf";',
        "a.sf": 'SELECT 1;\nINCLUDE "b.sf";',
        "b.sf": 'INCLUDE "a.sf";',
    })  # fmt: skip
    pipeline, ctx = expand(tmp_path / "main.sf")
    diag = only(ctx.reporter.diagnostics)
    assert diag.code is Code.INCLUDE_CYCLE
    a, b = tmp_path / "a.sf", tmp_path / "b.sf"
    assert diag.message == f"include cycle: {a} → {b} → {a}"
    assert diag.span is not None and ctx.sources.path(diag.span) == str(b)
    assert diag.notes == (f"{a}:2:9: includes `{b}`", f"{b}:1:9: includes `{a}`")
    assert sqls(pipeline.statements) == ["SELECT 1"]


def test_a_file_including_itself_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, {"main.sf": 'SELECT 1; INCLUDE "./main.sf";'})
    _, ctx = expand(tmp_path / "main.sf")
    diag = only(ctx.reporter.diagnostics)
    assert diag.code is Code.INCLUDE_CYCLE
    assert diag.message.count("main.sf") == 2


def test_alias_labels_the_included_file(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": 'INCLUDE "staging.sf" AS staging; INCLUDE "plain.sf";',
        "staging.sf": 'SELECT 1; INCLUDE "helpers.sf"; INCLUDE "marts.sf" AS marts;',
        "helpers.sf": "SELECT 2;",
        "marts.sf": "SELECT 3;",
        "plain.sf": "SELECT 4;",
    })  # fmt: skip
    pipeline, ctx = expand(tmp_path / "main.sf")
    assert ctx.reporter.diagnostics == []
    labels = [pipeline.labels.get(s.span.file_id) for s in pipeline.statements]
    assert labels == ["staging", "staging", "marts", None]


def test_include_path_cannot_use_variables(tmp_path: Path) -> None:
    write(tmp_path, {"main.sf": 'INCLUDE "${env}.sf";'})
    _, ctx = expand(tmp_path / "main.sf")
    diag = only(ctx.reporter.diagnostics)
    assert diag.code is Code.BAD_VARIABLE_REF
    assert "cannot use variables" in diag.message


def test_non_utf8_file_is_a_bad_encoding(tmp_path: Path) -> None:
    write(tmp_path, {"main.sf": 'INCLUDE "latin1.sf";'})
    (tmp_path / "latin1.sf").write_bytes("SELECT 'café';".encode("latin-1"))
    _, ctx = expand(tmp_path / "main.sf")
    diag = only(ctx.reporter.diagnostics)
    assert diag.code is Code.BAD_ENCODING
    assert "latin1.sf" in diag.message


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    write(tmp_path, {"main.sf": 'INCLUDE "bom.sf";'})
    (tmp_path / "bom.sf").write_bytes(b"\xef\xbb\xbfSELECT 1;")
    pipeline, ctx = expand(tmp_path / "main.sf")
    assert ctx.reporter.diagnostics == []
    assert sqls(pipeline.statements) == ["SELECT 1"]


@pytest.mark.parametrize("count", [1, 30])
def test_long_include_chains(tmp_path: Path, count: int) -> None:
    files = {"main.sf": 'INCLUDE "f0.sf";'}
    for i in range(count):
        nxt = f'INCLUDE "f{i + 1}.sf";' if i + 1 < count else ""
        files[f"f{i}.sf"] = f"SELECT {i}; {nxt}"
    write(tmp_path, files)
    pipeline, ctx = expand(tmp_path / "main.sf")
    assert ctx.reporter.diagnostics == []
    assert sqls(pipeline.statements) == [f"SELECT {i}" for i in range(count)]


def test_every_error_is_reported(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.sf": 'INCLUDE "nope1.sf"; INCLUDE "${x}.sf"; INCLUDE "loop.sf"; INCLUDE "nope2.sf";',
        "loop.sf": 'INCLUDE "loop.sf";',
    })  # fmt: skip
    _, ctx = expand(tmp_path / "main.sf")
    assert [d.code for d in ctx.reporter.diagnostics] == [
        Code.INCLUDE_NOT_FOUND,
        Code.BAD_VARIABLE_REF,
        Code.INCLUDE_CYCLE,
        Code.INCLUDE_NOT_FOUND,
    ]


def test_nul_in_an_include_path_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "main.sf").write_text('INCLUDE "a\0b.sf";\n', encoding="utf-8")
    _, ctx = expand(tmp_path / "main.sf")
    (diag,) = ctx.reporter.diagnostics
    assert diag.code is Code.INCLUDE_NOT_FOUND
    assert "NUL" in diag.message
