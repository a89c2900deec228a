"""Unused variables: a `--var`/`--vars` name that nothing uses is a warning (`UNUSED_VARIABLE`),
with "did you mean" when it is close to a name the pipeline uses (`--var min_totl=60` for
`${min_total}`): a misspelt variable would otherwise be silently ignored.

Requires: the surface pipeline with its INCLUDEs expanded and its IF branches still all there
(`expand_includes`, before `fold_conditionals`).
Ensures: the statements unchanged; `Pipeline.used_variables` holds every name used (and
`lower_program` hands it on to the program). The driver adds `unused_warnings` (one per unused
command-line variable, in name order) when the compilation succeeds: after errors, a close
name in the pipeline is more likely the misspelt one, and the error about it says so.

A variable is used when anything names it, active or not:
- a `${name}` in any statement of the pipeline or of its includes, in any IF branch (also one
  that is not taken with these values), in SQL bodies, JSON parameters, EXPORT targets and
  options, SET values, and inside quoted condition literals (`'${env}' == 'prod'`);
- a variable or bare name in an IF condition;
- the name a SET assigns (the command line overrides that SET);
- a `${name}` anywhere in the profile (its `variables:` and `connections:`).

>>> from sqlflowc.api import compile_context, parse
>>> ctx = compile_context()
>>> text = "IF ${env|dev} == 'prod' THEN SELECT ${lim}; END IF;"
>>> used = record_used_variables(parse(text, sources=ctx.sources), ctx).used_variables
>>> sorted(used), unused_warnings(["lim", "limit"], used)[0].message
(['env', 'lim'], 'unused variable `limit`, did you mean `lim`?')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, assert_never

from sqlflowc.diagnostics import Code, Diagnostic, Reporter
from sqlflowc.ir import ast
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.unknown_variables import statement_refs
from sqlflowc.suggest import closest
from sqlflowc.syntax.varref import expand, make_template, split_ref

__all__ = ["record_used_variables", "unused_warnings", "used_variables"]


def record_used_variables(pipeline: ast.Pipeline, ctx: PassContext) -> ast.Pipeline:
    """The pipeline with every name used in `used_variables` (see the module docstring)."""
    used = used_variables(pipeline.statements, [ctx.profile_vars, ctx.connections])
    return replace(pipeline, used_variables=frozenset(used))


def unused_warnings(given: Iterable[str], used: Iterable[str]) -> list[Diagnostic]:
    """The UNUSED_VARIABLE warnings for the names of `given` not in `used`."""
    reporter = Reporter()
    used_names = sorted(set(used))
    for name in sorted(set(given) - set(used_names)):
        close = closest(name, used_names)
        reporter.warning(
            Code.UNUSED_VARIABLE,
            f"unused variable `{name}`" + (f", did you mean `{close}`?" if close else ""),
            help=(
                f"pass --var {close}=... instead"
                if close
                else "no statement, IF condition or SET of the pipeline, its includes or the "
                "profile uses it; remove it"
            ),
        )
    return reporter.diagnostics


def used_variables(
    statements: Iterable[ast.Statement], profile: Iterable[Mapping[str, Any]] = ()
) -> set[str]:
    """Every variable name the statements (all branches) and the profile's values use."""
    used: set[str] = set()
    stack = list(statements)
    while stack:
        stmt = stack.pop()
        used.update(ref.name for ref in statement_refs(stmt))
        match stmt:
            case ast.Set():
                used.add(stmt.name.value)
            case ast.If():
                for branch in stmt.branches:
                    used.update(_condition_names(branch.condition))
                    stack.extend(branch.body)
                stack.extend(stmt.else_body or ())
            case _:
                pass
    for values in profile:
        _profile_names(values, used)
    return used


def _condition_names(cond: ast.Condition) -> set[str]:
    names: set[str] = set()
    stack: list[ast.Condition] = [cond]
    while stack:
        node = stack.pop()
        match node:
            case ast.VarRef() | ast.BareName():
                names.add(node.name)
            case ast.Literal(value=str() as text) if "${" in text:
                template = make_template(text, node.span, Reporter())
                names.update(ref.name for ref in template.refs)
            case ast.Literal():
                pass
            case ast.Compare():
                stack += [node.left, node.right]
            case ast.And() | ast.Or():
                stack += node.operands
            case ast.InList():
                stack += [node.operand, *node.options]
            case ast.Not():
                stack.append(node.operand)
            case ast.Paren():
                stack.append(node.inner)
            case _:
                assert_never(node)
    return names


def _profile_names(value: Any, out: set[str]) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str) and "${" in item:

            def record(inner: str) -> str:
                out.add(split_ref(inner).name.strip())
                return ""

            expand(item, record)
