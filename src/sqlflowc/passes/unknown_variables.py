"""Unknown variables: every use of an unset variable is collected while a pass walks the program
(`fold_conditionals`, `lower_program`), then reported as one `UNKNOWN_VARIABLE` diagnostic
per name, at its first use, with the other uses as notes and a hint: where the variable is set
when that SET does not come before the use, a close name in scope, or how to pass it.

A helper for the passes, like `variables.py`: a use through a profile variable is reported as
the unset variable that profile variable refers to; a variable whose SET failed is not reported
again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, assert_never

from sqlflowc.diagnostics import Code, Diagnostic, Reporter
from sqlflowc.ir import ast
from sqlflowc.passes.context import PassContext
from sqlflowc.source import Span
from sqlflowc.suggest import closest
from sqlflowc.syntax.varref import make_template

if TYPE_CHECKING:
    from sqlflowc.passes.variables import Scope

_UNSET_LABEL = "not set by --var, the profile, a SET, the environment or a default"


def statement_refs(stmt: ast.Statement) -> list[ast.VarRef]:
    """The `${...}` references of one statement, in order (IF bodies are not entered)."""
    match stmt:
        case ast.SourceDecl():
            return _json_refs(stmt.params)
        case ast.SourceFromProfile():
            return _json_refs(stmt.options) if stmt.options is not None else []
        case ast.CreateTable() | ast.CreateView():
            return list(stmt.query.refs)
        case ast.Export():
            query = list(stmt.query.refs) if stmt.query is not None else []
            options = _json_refs(stmt.options) if stmt.options is not None else []
            return [*query, *stmt.uri_template.refs, *options]
        case ast.SqlStatement():
            return list(stmt.sql.refs)
        case ast.Set(value=ast.VarRef() as ref):
            return [ref]
        case ast.Set(value=ast.Literal(value=str() as text) as lit) if "${" in text:
            return list(make_template(text, lit.span, Reporter()).refs)
        case ast.Set() | ast.Load() | ast.Include() | ast.If():
            return []
        case _:
            assert_never(stmt)


def _json_refs(node: ast.JsonValue) -> list[ast.VarRef]:
    match node:
        case ast.JsonObject():
            return [ref for pair in node.pairs for ref in _json_refs(pair.value)]
        case ast.JsonArray():
            return [ref for item in node.items for ref in _json_refs(item)]
        case ast.JsonString():
            return list(node.template.refs)
        case ast.VarRef():
            return [node]
        case ast.Literal():
            return []
        case _:
            assert_never(node)


def set_sites(statements: tuple[ast.Statement, ...]) -> dict[str, Span]:
    """The first SET of each variable anywhere (also in IF branches), for "set later" hints."""
    sites: dict[str, Span] = {}
    stack = list(reversed(statements))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.Set):
            sites.setdefault(stmt.name.value, stmt.span)
        elif isinstance(stmt, ast.If):
            bodies = [b.body for b in stmt.branches] + [stmt.else_body or ()]
            for body in reversed(bodies):
                stack.extend(reversed(body))
    return sites


class UnknownVariables:
    """Collects uses of unset variables; reports one diagnostic per name at its first use."""

    def __init__(self) -> None:
        self._uses: dict[str, list[tuple[Span, str]]] = {}

    def add(self, ref: ast.VarRef, where: str = "") -> None:
        self.add_name(ref.name, ref.span, where)

    def add_name(self, name: str, span: Span, where: str = "") -> None:
        self._uses.setdefault(name, []).append((span, where))

    def missing(self, ref: ast.VarRef, scope: Scope, where: str = "") -> None:
        """Record a reference that did not resolve: the variable itself is unset, or a
        profile variable it names refers to one. A variable whose SET failed is skipped."""
        if scope.is_broken(ref.name):
            return
        inner = scope.profile_missing(ref.name)
        for name in inner:
            self.add_name(name, ref.span, f"profile variable `{ref.name}`")
        if not inner:
            self.add(ref, where)

    def add_other_uses(self, statements: tuple[ast.Statement, ...]) -> None:
        """Also list the uses of the names collected so far in `statements` (up to their SET)."""
        pending = set(self._uses)
        for stmt in statements:
            for ref in statement_refs(stmt):
                if ref.name in pending and ref.default is None:
                    self.add(ref)
            if isinstance(stmt, ast.Set):
                pending.discard(stmt.name.value)

    def report(self, ctx: PassContext, scope: Scope, sites: Mapping[str, Span]) -> None:
        if not self._uses:
            return  # (listing every name would make the environment's names an input)
        candidates = scope.names()
        for name, uses in self._uses.items():
            (first, where), *others = uses
            notes: list[str] = []
            if where:
                notes.append(f"used by {where}")
            for span, other_where in others:
                at = f" ({other_where})" if other_where else ""
                notes.append(f"also used at {ctx.sources.location(span)}{at}")
            helps: list[str] = []
            if name in sites:
                helps.append(
                    f"`{name}` is set at {ctx.sources.location(sites[name])}, which does not "
                    "come before this use in the active code"
                )
            close = closest(name, [c for c in candidates if c != name])
            if close is not None:
                helps.append(f"did you mean `{close}`?")
            if not helps:
                helps.append(f"pass it with `--var {name}=...` or write `${{{name}|default}}`")
            ctx.reporter.add(
                Diagnostic(
                    Code.UNKNOWN_VARIABLE,
                    f"unknown variable `{name}`",
                    first,
                    label=_UNSET_LABEL,
                    help="; ".join(helps),
                    notes=tuple(notes),
                )
            )
