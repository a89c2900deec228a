"""Evaluate IF conditions at compile time and keep only the active branches.

Requires: no `ast.Include` (run `expand_includes` first).
Ensures: no `ast.If`; the statements of each active branch stand in place of their IF, in program
order; SET statements are kept (`lower_program` consumes them).

The walk follows program order and tracks the SETs of active code, so a SET inside an active
branch affects later conditions and a SET in an inactive branch does not. Inactive branches are
not looked at (nothing in them is validated). In an `ELSE IF` chain the first true condition
wins and the later conditions are not evaluated; when a condition cannot be evaluated (an error
was reported) no branch of that IF is kept, but the remaining conditions are still checked so
every error is reported.

The evaluator is a `match` over the condition nodes — never Python's `eval` or `ast`:
- operands: literals, `${name}` / `${name|default}`, a bare word naming a variable (any other
  bare word is `BARE_WORD`, suggesting to quote it), parenthesised conditions;
- loose values: a number-like value (also the text "10") compares numerically with another;
  `true`/`false` in any case, string or boolean, compare as booleans; null equals only null;
  everything else compares as text (equality across kinds compares the text forms);
- ordering (`<`, `<=`, `>`, `>=`) needs two numbers or two strings: anything else is
  `BAD_COMPARISON`; a lone value must be boolean-like, else `NOT_BOOLEAN`;
- `AND`/`OR` short-circuit evaluation, but the side that is skipped is still checked for unset
  variables and bare words, so a typo cannot hide behind a false condition. It is not checked
  for type errors, which depend on values that were not needed.
Unset variables in conditions are reported once per name, at the first use in a condition, with
every other use in the kept statements as notes. Errors in SET values are left to
`lower_program` (a condition using such a SET's variable is skipped silently: no branch kept).
Conditions nested deeper than `MAX_DEPTH` are rejected rather than evaluated.

>>> from sqlflowc.api import compile_context, parse
>>> ctx = compile_context(cli_vars={"env": "prod"})
>>> text = "IF ${env} == 'prod' THEN CREATE TABLE p AS SELECT 1; "
>>> text += "ELSE CREATE TABLE d AS SELECT 2; END IF;"
>>> [s.table.sql for s in fold_conditionals(parse(text, sources=ctx.sources), ctx).statements]
['p']
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import assert_never

from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.ir import ast
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.unknown_variables import UnknownVariables, set_sites
from sqlflowc.passes.variables import (
    NUMBER,
    Scope,
    Value,
    assign_set,
    splice,
    value_text,
)
from sqlflowc.suggest import closest
from sqlflowc.syntax.varref import make_template

MAX_DEPTH = 200


def fold_conditionals(pipeline: ast.Pipeline, ctx: PassContext) -> ast.Pipeline:
    """The pipeline with each IF replaced by the statements of its active branch."""
    folder = _Folder(ctx, Scope.from_context(ctx), UnknownVariables())
    statements = folder.block(pipeline.statements)
    folder.unknown.add_other_uses(statements)
    folder.unknown.report(ctx, folder.scope, set_sites(pipeline.statements))
    decided = {n: v.data for n, v in folder.scope.used.items() if not v.secret}
    return replace(pipeline, statements=statements, decided={**pipeline.decided, **decided})


@dataclass(frozen=True, slots=True)
class _Loose:
    """A value classified by the loose rules: kind is number, boolean, null or string."""

    kind: str
    data: bool | int | float | str | None
    text: str
    shown: str


def _loose(value: Value) -> _Loose:
    shown = "***" if value.secret else _quote(value)
    data = value.data
    if data is None:
        return _Loose("null", None, "null", shown)
    if isinstance(data, bool):
        return _Loose("boolean", data, value_text(data), shown)
    if isinstance(data, int | float):
        return _Loose("number", data, value_text(data), shown)
    text = data if isinstance(data, str) else value_text(data)
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return _Loose("boolean", stripped.lower() == "true", text, shown)
    if NUMBER.fullmatch(stripped):
        number = int(stripped) if stripped.lstrip("+-").isdigit() else float(stripped)
        return _Loose("number", number, text, shown)
    return _Loose("string", text, text, shown)


def _quote(value: Value) -> str:
    return f"'{value.data}'" if isinstance(value.data, str) else value_text(value.data)


def _equal(a: _Loose, b: _Loose) -> bool:
    if a.kind == "null" or b.kind == "null":
        return a.kind == b.kind
    if a.kind == b.kind and a.kind in ("number", "boolean"):
        return a.data == b.data
    return a.text == b.text


class _Folder:
    def __init__(self, ctx: PassContext, scope: Scope, unknown: UnknownVariables) -> None:
        self.ctx = ctx
        self.scope = scope
        self.unknown = unknown

    # -------------------------------------------------------------- statements

    def block(self, statements: tuple[ast.Statement, ...]) -> tuple[ast.Statement, ...]:
        out: list[ast.Statement] = []
        for stmt in statements:
            match stmt:
                case ast.If():
                    out.extend(self.fold_if(stmt))
                case ast.Set():
                    # Errors in a SET's value are reported by lower_program, with every use.
                    assign_set(stmt, self.scope, UnknownVariables(), Reporter())
                    out.append(stmt)
                case ast.Include():
                    self.ctx.reporter.error(
                        Code.INTERNAL,
                        "internal compiler error: INCLUDE reached fold_conditionals; please report",
                        stmt.span,
                    )
                case (
                    ast.SourceDecl()
                    | ast.SourceFromProfile()
                    | ast.Load()
                    | ast.CreateTable()
                    | ast.CreateView()
                    | ast.Export()
                    | ast.SqlStatement()
                ):
                    out.append(stmt)
                case _:
                    assert_never(stmt)
        return tuple(out)

    def fold_if(self, stmt: ast.If) -> tuple[ast.Statement, ...]:
        determined = True
        for branch in stmt.branches:
            if not determined:
                self.check(branch.condition)
                continue
            result = self.evaluate(branch.condition)
            if result is None:
                determined = False
            elif result:
                return self.block(branch.body)
        if determined and stmt.else_body is not None:
            return self.block(stmt.else_body)
        return ()

    # -------------------------------------------------------------- conditions

    def evaluate(self, cond: ast.Condition) -> bool | None:
        """A condition's truth, or None when it cannot be evaluated (errors reported)."""
        if _depth(cond) > MAX_DEPTH:
            self.ctx.reporter.error(
                Code.SYNTAX_ERROR,
                f"condition is nested more than {MAX_DEPTH} levels deep",
                cond.span,
                label="too deeply nested",
                help="split it with SET statements or nested IFs",
            )
            return None
        return self.truth(cond)

    def truth(self, cond: ast.Condition) -> bool | None:
        match cond:
            case ast.Compare():
                left, right = self.value(cond.left), self.value(cond.right)
                if left is None or right is None:
                    return None
                return self.compare(cond, _loose(left), _loose(right))
            case ast.InList():
                subject = self.value(cond.operand)
                options = [self.value(o) for o in cond.options]
                if subject is None or any(o is None for o in options):
                    return None
                found = any(_equal(_loose(subject), _loose(o)) for o in options if o is not None)
                return found != cond.negated
            case ast.Not():
                inner = self.truth(cond.operand)
                return None if inner is None else not inner
            case ast.And() | ast.Or():
                stop = isinstance(cond, ast.Or)  # the value that decides alone
                known = True
                for i, operand in enumerate(cond.operands):
                    value = self.truth(operand)
                    if value is stop:
                        for rest in cond.operands[i + 1 :]:
                            self.check(rest)  # not evaluated, still checked
                        return stop if known else None
                    known = known and value is not None
                return not stop if known else None
            case ast.Paren():
                return self.truth(cond.inner)
            case ast.Literal() | ast.VarRef() | ast.BareName():
                return self.lone(cond)
            case _:
                assert_never(cond)

    def lone(self, operand: ast.Literal | ast.VarRef | ast.BareName) -> bool | None:
        value = self.value(operand)
        if value is None:
            return None
        loose = _loose(value)
        if loose.kind == "boolean":
            return bool(loose.data)
        what = "`" + self.ctx.sources.text(operand.span) + "`"
        self.ctx.reporter.error(
            Code.NOT_BOOLEAN,
            f"{what} is not a condition: its value {loose.shown} is not true or false",
            operand.span,
            label="a lone value must be true or false",
            help=f"compare it, e.g. `{self.ctx.sources.text(operand.span)} == ...`",
        )
        return None

    def compare(self, cond: ast.Compare, a: _Loose, b: _Loose) -> bool | None:
        match cond.op:
            case ast.CompareOp.EQ:
                return _equal(a, b)
            case ast.CompareOp.NE:
                return not _equal(a, b)
            case ast.CompareOp.LT | ast.CompareOp.LE | ast.CompareOp.GT | ast.CompareOp.GE:
                pass
            case _:
                assert_never(cond.op)
        if a.kind != b.kind or a.kind not in ("number", "string"):
            self.ctx.reporter.error(
                Code.BAD_COMPARISON,
                f"cannot order {a.kind} {a.shown} against {b.kind} {b.shown}",
                cond.span,
                label=f"`{cond.raw_op or cond.op.value}` needs two numbers or two strings",
                help="use `=` or `!=` to compare values of different kinds"
                if a.kind != b.kind
                else f"{a.kind} values have no order; use `=` or `!=`",
            )
            return None
        if isinstance(a.data, int | float) and isinstance(b.data, int | float):
            sign = (a.data > b.data) - (a.data < b.data)
        else:
            sign = (a.text > b.text) - (a.text < b.text)
        return {
            ast.CompareOp.LT: sign < 0,
            ast.CompareOp.LE: sign <= 0,
            ast.CompareOp.GT: sign > 0,
            ast.CompareOp.GE: sign >= 0,
        }[cond.op]

    def value(self, operand: ast.Operand) -> Value | None:
        """An operand's value, or None when it has none (an error was reported)."""
        match operand:
            case ast.Literal(value=str() as text) if "${" in text:
                # `'${env|dev}' == 'prod'` (the earlier releases' style): the reference inside
                # the quotes is substituted like one in a SET string.
                template = make_template(text, operand.span.inner(), self.ctx.reporter)
                spliced = splice(template, self.scope, self.unknown)
                if spliced is None:
                    return None
                return Value(data=spliced.text, text=spliced.text, secret=spliced.secret)
            case ast.Literal():
                return Value(data=operand.value, text=value_text(operand.value))
            case ast.VarRef():
                found = self.scope.lookup(operand)
                if found is None:
                    self.unknown.missing(operand, self.scope)
                return found
            case ast.BareName():
                found = self.scope.get(operand.name)
                if found is None and self.scope.profile_missing(operand.name):
                    ref = ast.VarRef(name=operand.name, raw=operand.name, span=operand.span)
                    self.unknown.missing(ref, self.scope)
                elif found is None and not self.scope.is_broken(operand.name):
                    self.bare_word(operand)
                return found
            case ast.Paren():
                inner = operand.inner
                if isinstance(inner, ast.Literal | ast.VarRef | ast.BareName | ast.Paren):
                    return self.value(inner)
                truth = self.truth(operand.inner)
                return None if truth is None else Value(data=truth, text=value_text(truth))
            case _:
                assert_never(operand)

    def bare_word(self, word: ast.BareName) -> None:
        close = closest(word.name, self.scope.names())
        hint = (
            f"did you mean the variable `{close}`, or the text '{word.name}'?"
            if close is not None
            else f"did you mean '{word.name}'? (text must be quoted)"
        )
        self.ctx.reporter.error(
            Code.BARE_WORD,
            f"`{word.name}` is not a variable",
            word.span,
            label="a bare word names a variable; text must be quoted",
            help=hint,
        )

    def check(self, cond: ast.Condition) -> None:
        """Report unset variables and bare words in a condition that is not evaluated."""
        stack: list[ast.Condition] = [cond]
        while stack:  # left to right, so errors come in source order
            node = stack.pop()
            if isinstance(node, ast.VarRef | ast.BareName) or (
                isinstance(node, ast.Literal) and isinstance(node.value, str) and "${" in node.value
            ):
                self.value(node)
            stack.extend(reversed(_children(node)))


def _depth(cond: ast.Condition) -> int:
    """How deeply a condition nests (computed without recursion): a flat `a AND b AND c` is
    one level, however long."""
    deepest = 0
    stack: list[tuple[ast.Condition, int]] = [(cond, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(child, depth + 1) for child in _children(node)]
    return deepest


def _children(node: ast.Condition) -> tuple[ast.Condition, ...]:
    """A condition's operands, in source order."""
    match node:
        case ast.Compare():
            return (node.left, node.right)
        case ast.And() | ast.Or():
            return node.operands
        case ast.InList():
            return (node.operand, *node.options)
        case ast.Not():
            return (node.operand,)
        case ast.Paren():
            return (node.inner,)
        case ast.Literal() | ast.VarRef() | ast.BareName():
            return ()
        case _:
            assert_never(node)
