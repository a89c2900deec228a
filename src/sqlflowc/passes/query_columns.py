"""The column references of one query, resolved against the relations it reads (for
`check_columns`).

`resolve_columns(tree, relations)` qualifies a copy of the sqlglot tree with
`sqlglot.optimizer.qualify_columns` against a `MappingSchema` of `relations` (table key → its
column names, in order) and returns every reference that names no column (`unknown`) or a
column of two sources (`ambiguous`), each with its character offsets in the text the tree was
parsed from, and the query's output column names (None when DuckDB's names for them cannot be
known: an expression without an alias, `COLUMNS(...)`, a star over an unknown source, a name
given twice).

Silence is the rule wherever the answer is not certain: a reference is reported only when every
source it could come from is known — a table of `relations`, or a CTE or subquery whose output
names are known. A source that is not (a table `relations` does not hold, a table function such
as `read_csv(...)`, `UNNEST`, a PIVOT), a `NATURAL` join, a name that may be a struct field or a
table used as a row value, DuckDB's `rowid`, an INCREMENTAL `@start_dt` macro and anything
sqlglot cannot qualify leave the reference unreported. Names compare case-insensitively, quoted
or not, as DuckDB's do.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT nmae FROM customers", dialect="duckdb")
>>> found = resolve_columns(tree, {"customers": ("id", "name")})
>>> [(p.kind, p.name, p.start, p.end, p.candidates) for p in found.problems]
[('unknown', 'nmae', 7, 11, ('id', 'name'))]
>>> resolve_columns(tree.copy(), {}).problems
()
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.optimizer.qualify_tables import qualify_tables
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from sqlflowc.names import key_parts, parts_key

__all__ = ["ColumnProblem", "Resolved", "resolve_columns"]

# sqlglot logs what it cannot qualify; silence is the answer here.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_DIALECT = "duckdb"
# Names DuckDB resolves without a source column: every table's row id; the INCREMENTAL macros
# (`@start_dt`, which sqlglot reads as `ABS(start_dt)`).
_PSEUDO = frozenset({"rowid"})
_MACROS = frozenset({"start_dt", "end_dt", "start_date", "end_date"})


@dataclass(frozen=True, slots=True)
class ColumnProblem:
    """A reference that resolves to no column (`unknown`) or to several (`ambiguous`).

    `start`/`end` are offsets of the name (quotes included) in the parsed text; `sources` are
    the relations it was looked for in, each as `(alias, table key)` (lower-cased; the key is
    None for a CTE or subquery), `candidates` the column names it could have meant (original
    spelling), for a "did you mean".
    """

    kind: Literal["unknown", "ambiguous"]
    name: str
    start: int
    end: int
    qualifier: str | None
    sources: tuple[tuple[str, str | None], ...]
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resolved:
    """What `resolve_columns` found: the problems, and the output column names (or None)."""

    problems: tuple[ColumnProblem, ...]
    outputs: tuple[str, ...] | None


_NOTHING = Resolved((), None)


def resolve_columns(tree: exp.Expr, relations: Mapping[str, Sequence[str]]) -> Resolved:
    """Resolve every column reference of query `tree` against `relations`; see the module
    docstring. `tree` itself is not changed."""
    if not isinstance(tree, exp.Query):
        return _NOTHING
    mapping: dict[str, Any] = {}  # schema → table → column → type
    spelling: dict[str, str] = {}
    for key, columns in relations.items():
        schema, table = key_parts(key)
        mapping.setdefault(schema.lower(), {})[table.lower()] = {c: "UNKNOWN" for c in columns}
        spelling.update({c.lower(): c for c in columns})
    query = tree.copy()
    try:
        normalize_identifiers(query, dialect=_DIALECT)
        qualify_tables(query, db="main", dialect=_DIALECT)
        qualify_columns(
            query,
            MappingSchema(mapping, dialect=_DIALECT),
            allow_partial_qualification=True,
            dialect=_DIALECT,
        )
        scopes = traverse_scope(query)
    except (SqlglotError, KeyError, ValueError, AttributeError, TypeError, RecursionError):
        # sqlglot cannot qualify this query (a shape it does not model): say nothing of it.
        return _NOTHING
    known: dict[str, set[str]] = {
        f"{schema}.{table}": {c.lower() for c in columns}
        for schema, tables in mapping.items()
        for table, columns in tables.items()
    }
    outputs: dict[int, tuple[str, ...] | None] = {}
    problems: dict[int, ColumnProblem] = {}
    for scope in scopes:  # inner scopes first: a name is reported where it is written
        columns_of = _sources(scope, known, outputs)
        outer_known = _outer_complete(scope, known, outputs)
        for problem in _check(scope, columns_of, outer_known, spelling):
            problems.setdefault(problem.start, problem)
        outputs[id(scope.expression)] = None if scope.pivots else _outputs(scope.expression)
    root = traverse_scope(query)[-1] if scopes else None
    return Resolved(
        tuple(sorted(problems.values(), key=lambda p: p.start)),
        None if root is None or root.pivots else _outputs(query),
    )


def _sources(
    scope: Scope, known: Mapping[str, set[str]], outputs: Mapping[int, tuple[str, ...] | None]
) -> dict[str, set[str] | None]:
    """Each source of the scope (by alias) → its column names, or None when not known."""
    found: dict[str, set[str] | None] = {}
    for alias, source in scope.sources.items():
        if isinstance(source, exp.Table):
            ok = isinstance(source.this, exp.Identifier) and not source.args.get("pivots")
            key = f"{source.db.lower()}.{source.name.lower()}"
            found[alias] = known.get(key) if ok else None
        elif isinstance(source, Scope):
            names = outputs.get(id(source.expression))
            found[alias] = {n.lower() for n in names} if names is not None else None
        else:
            found[alias] = None
    return found


def _check(
    scope: Scope,
    columns_of: Mapping[str, set[str] | None],
    outer_known: bool,
    spelling: Mapping[str, str],
) -> list[ColumnProblem]:
    if scope.pivots or any(j.args.get("kind") == "NATURAL" for j in _joins(scope)):
        return []
    complete = all(c is not None for c in columns_of.values())
    struct_names = set().union(*(c for c in columns_of.values() if c is not None))
    aliases = {
        s.alias.lower()
        for s in _selects(scope)
        if isinstance(s, exp.Alias) and s.args["alias"].meta.get("start") is not None
    }
    problems: list[ColumnProblem] = []
    for column in scope.columns:
        ident = column.this
        if not isinstance(ident, exp.Identifier) or column.find_ancestor(exp.Lambda):
            continue
        name = ident.name.lower()
        start, end = ident.meta.get("start"), ident.meta.get("end")
        if start is None or end is None or name in _PSEUDO:
            continue
        qualifier = column.table.lower()
        if len(column.parts) > 2:
            continue  # db.table.column or a struct path: not ours to judge
        if qualifier:
            cols = columns_of.get(qualifier)
            if cols is None or name in cols or qualifier in struct_names:
                continue  # unknown source, an outer query's alias, or a struct's field
            problems.append(
                _problem("unknown", ident, qualifier, [qualifier], sorted(cols), scope, spelling)
            )
            continue
        if name in _MACROS or name in aliases:
            continue
        having = [alias for alias, cols in columns_of.items() if cols is not None and name in cols]
        if len(having) > 1:
            problems.append(_problem("ambiguous", ident, None, having, [], scope, spelling))
        elif not having and complete and outer_known:
            candidates = sorted(struct_names | aliases)
            problems.append(
                _problem("unknown", ident, None, list(columns_of), candidates, scope, spelling)
            )
    return problems


def _problem(
    kind: Literal["unknown", "ambiguous"],
    ident: exp.Identifier,
    qualifier: str | None,
    aliases: list[str],
    candidates: list[str],
    scope: Scope,
    spelling: Mapping[str, str],
) -> ColumnProblem:
    start, end = int(ident.meta["start"]), int(ident.meta["end"]) + 1
    sources: list[tuple[str, str | None]] = []
    for alias in aliases:
        source = scope.sources.get(alias)
        table = source if isinstance(source, exp.Table) else None
        key = None if table is None else parts_key([table.db, table.name])
        sources.append((alias, key))
    return ColumnProblem(
        kind=kind,
        name=ident.name,
        start=start,
        end=end,
        qualifier=qualifier,
        sources=tuple(sources),
        candidates=tuple(spelling.get(c, c) for c in candidates),
    )


def _outer_complete(
    scope: Scope, known: Mapping[str, set[str]], outputs: Mapping[int, tuple[str, ...] | None]
) -> bool:
    """Whether every enclosing query's sources are known (sqlglot has then looked for a
    correlated reference in them already)."""
    outer = scope.parent
    while outer is not None:
        if outer.pivots or any(c is None for c in _sources(outer, known, outputs).values()):
            return False
        outer = outer.parent
    return True


def _joins(scope: Scope) -> list[exp.Join]:
    expression = scope.expression
    return list(expression.args.get("joins") or []) if isinstance(expression, exp.Select) else []


def _selects(scope: Scope) -> list[exp.Expr]:
    expression = scope.expression
    return list(expression.selects) if isinstance(expression, exp.Select) else []


def _outputs(query: exp.Expr) -> tuple[str, ...] | None:
    """The output column names DuckDB gives a qualified query, or None when unsure."""
    while isinstance(query, exp.SetOperation):
        query = query.left
    if isinstance(query, exp.Subquery):
        return _outputs(query.this)
    if not isinstance(query, exp.Select):
        return None
    names: list[str] = []
    for select in query.selects:
        if _unexpanded_star(select) or _calls_columns(select):
            return None
        if isinstance(select, exp.Alias):
            written = select.args["alias"].meta.get("start") is not None
            if not written and not _is_column(select.this):
                return None  # DuckDB names it after the expression's text
            names.append(select.alias)
        elif isinstance(select, exp.Column):
            names.append(select.name)
        else:
            return None
    if len({n.lower() for n in names}) != len(names):
        return None  # DuckDB renames duplicates
    return tuple(names)


def _is_column(node: exp.Expr) -> bool:
    """A column, or the COALESCE sqlglot writes for a column of a USING join."""
    if isinstance(node, exp.Coalesce):
        return all(isinstance(a, exp.Column) for a in (node.this, *node.expressions))
    return isinstance(node, exp.Column)


def _unexpanded_star(node: exp.Expr) -> bool:
    """A `*` (or `t.*`, `s.*`) left in a select: not an argument, as in `count(*)`."""
    return any(not isinstance(star.parent, exp.Func) for star in node.find_all(exp.Star))


def _calls_columns(node: exp.Expr) -> bool:
    return any(f.name.upper() == "COLUMNS" for f in node.find_all(exp.Anonymous))
