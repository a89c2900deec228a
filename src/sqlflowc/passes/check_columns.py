"""Check, before any data moves, that every column a SQL body names exists — and only once.

Requires: a bound program (`bind`: SQL trees, reads and writes; `resolve_udfs`: table UDF steps).
Runs when `ctx.verify_sql` is set — the deeper checks of `check` and `run`: reading sources'
metadata needs DuckDB, which `compile` does not import to keep its start-up short.
Ensures, reporting and never raising: in every query of the program (CREATE TABLE/VIEW ... AS,
EXPORT, a plain SELECT) a column reference that names no column of the relations it reads is
error SF0711 and one that names a column of two of them is error SF0712, each at the column's own
`file:line:col` (through variable substitution) with a "did you mean". The program is returned
unchanged.

Where the columns come from, in program order (a replay, names only, no database):
- a table the pipeline has not written yet: `ctx.catalog.table` (the project database);
- `LOAD t FROM s`: the source's columns, `ctx.catalog.source` (connector schema discovery from
  metadata: CSV sniffing, a Parquet footer, a database catalog; else the source's accepted
  snapshot); APPEND/MERGE/INCREMENTAL into an existing table gives it the union of both;
- `CREATE TABLE/VIEW t AS query`: the query's output names, computed by sqlglot from its inputs
  (`query_columns.resolve_columns`); `CREATE TABLE t (c ...)` its column definitions;
- a table UDF step: the UDF's declared `output_schema`.

Silence wherever a schema is unknowable, never a false error: a source or table whose columns
cannot be known, a table UDF with no declared output, a raw statement that creates or alters a
table in a way not modelled here, and anything depending on them are not checked; after an
ordering barrier (a statement whose effects are unknown) nothing more is checked. A problem
found only against an accepted snapshot (the source could not be read now) is a warning: the
source may have changed since, and the run will tell.

Example (`customers` already in the project database with columns id, name):

>>> from sqlflowc.api import compile_context, parse, to_ordered, to_program, to_resolved
>>> from sqlflowc.schema import Column
>>> from sqlflowc.schema.catalog import MappingCatalog
>>> catalog = MappingCatalog({"customers": [Column("id", "INTEGER"), Column("name", "VARCHAR")]})
>>> ctx = compile_context(catalog=catalog, verify_sql=True)
>>> text = "CREATE TABLE t AS SELECT nmae FROM customers;"
>>> prog = to_program(parse(text, sources=ctx.sources), ctx)
>>> _ = check_columns(to_ordered(to_resolved(prog, ctx), ctx, checks=()), ctx)
>>> [(d.code.value, d.help) for d in ctx.reporter.diagnostics if d.is_error]
[('SF0711', 'did you mean `name`?')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlglot import exp

from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.names import table_key
from sqlflowc.passes.context import PassContext
from sqlflowc.schema.catalog import Known
from sqlflowc.source import Span
from sqlflowc.suggest import did_you_mean

if TYPE_CHECKING:
    from sqlflowc.passes.query_columns import ColumnProblem

__all__ = ["check_columns"]

_SHOWN = 8  # columns listed in a note

P = TypeVar("P", bound=ir.BoundProgram)


@dataclass(frozen=True, slots=True)
class _Relation:
    """A table's (or view's) column names, where they come from, whether only a recorded
    snapshot vouches for them, and the names (lower-cased) a source it derives from had in its
    accepted snapshot but has no more, with that source."""

    columns: tuple[str, ...]
    origin: str
    recorded: bool = False
    dropped: Mapping[str, _Upstream] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Upstream:
    """The source a dropped column was in, and the file that loads it."""

    source: str
    pipeline: str


def check_columns(prog: P, ctx: PassContext) -> P:
    """Report unknown and ambiguous column references; see the module docstring."""
    if not ctx.verify_sql:
        return prog
    replay = _Replay(ctx)
    for stmt, found in prog.bound():
        if not replay.step(stmt, found):
            break
    return prog


class _Replay:
    def __init__(self, ctx: PassContext) -> None:
        self.ctx = ctx
        # table key → its columns, or None when they cannot be known
        self.tables: dict[str, _Relation | None] = {}
        self.absent: set[str] = set()  # tables that do not exist (yet)

    def step(self, stmt: ir.Statement, found: ir.Binding) -> bool:
        """Check one statement and record what it writes; False when nothing after it can be
        known (an ordering barrier)."""
        match stmt:
            case ir.Load():
                self._load(stmt)
            case ir.CreateTable():
                made = self._query(stmt.query, found, self._line(stmt.span))
                key = table_key(stmt.table)
                if not (stmt.if_not_exists and self._lookup(key) is not None):
                    self._write(key, made, stmt.mode)
            case ir.CreateView():
                made = self._query(stmt.query, found, self._line(stmt.span))
                self._set(table_key(stmt.view), made)
            case ir.Export():
                self._query(stmt.query, found, "")
            case ir.SqlStatement():
                return self._sql(stmt, found)
            case ir.TableUdf():
                udf = self.ctx.udfs.get(stmt.udf)
                declared = udf.output_schema if udf is not None else None
                self._set(
                    table_key(stmt.target),
                    _Relation(tuple(c for c, _ in declared), f"table UDF `{stmt.udf}`")
                    if declared
                    else None,
                )
            case _:
                raise AssertionError(stmt)
        return True

    # ------------------------------------------------------------------ statements

    def _load(self, stmt: ir.Load) -> None:
        source = stmt.source
        found = self.ctx.catalog.source(source.name, source.connector, source.params)
        made = None
        if isinstance(found, Known):
            names = tuple(c.name for c in found.columns)
            now = {n.lower() for n in names}
            upstream = _Upstream(source.name, self.ctx.sources.path(stmt.span))
            made = _Relation(
                names,
                f"loaded {self._line(stmt.span)} from source `{source.name}`, as {found.origin} "
                "gives them",
                found.recorded,
                {
                    c.name.lower(): upstream
                    for c in found.accepted or ()
                    if c.name.lower() not in now
                },
            )
        self._write(table_key(stmt.table), made, stmt.mode)

    def _sql(self, stmt: ir.SqlStatement, found: ir.Binding) -> bool:
        tree = found.tree
        if found.barrier:
            # `CREATE SCHEMA` changes no table; any other barrier may change anything.
            return isinstance(tree, exp.Create) and str(tree.args.get("kind")).upper() == "SCHEMA"
        if isinstance(tree, exp.Query):
            self._query(stmt.sql, found, "")
            return True
        made: _Relation | None = None
        if isinstance(tree, exp.Create) and str(tree.args.get("kind")).upper() in {"TABLE", "VIEW"}:
            query = tree.args.get("expression")
            where = self._line(stmt.span)
            if isinstance(query, exp.Query):
                made = self._query(stmt.sql, found, where, query)
            elif isinstance(tree.this, exp.Schema):
                names = [d.name for d in tree.this.expressions if isinstance(d, exp.ColumnDef)]
                made = _Relation(tuple(names), f"created {where}") if names else None
        if stmt.verb.upper() in {"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"}:
            return True  # rows change, columns do not
        for key in found.writes:
            self._set(key, made)  # DROP, ALTER, ...: unknown from here on
        return True

    def _write(self, key: str, made: _Relation | None, mode: ir.LoadMode) -> None:
        """Record `made` written into table `key` with `mode`."""
        if made is None or isinstance(mode, ir.Replace):
            self._set(key, made)
            return
        before = self._lookup(key)
        if before is None:
            self._set(key, made if key in self.absent else None)
            return
        known = {c.lower() for c in before.columns}
        extra = tuple(c for c in made.columns if c.lower() not in known)
        self._set(
            key,
            _Relation(
                before.columns + extra,
                before.origin,
                before.recorded or made.recorded,
                {**before.dropped, **made.dropped},
            ),
        )

    def _set(self, key: str, relation: _Relation | None) -> None:
        self.tables[key] = relation
        self.absent.discard(key)

    # ------------------------------------------------------------------ relations

    def _lookup(self, key: str) -> _Relation | None:
        """What is known of table `key` now (None: unknown, or no such table)."""
        if key in self.tables or key in self.absent:
            return self.tables.get(key)  # (a key is in one of them at most)
        found = self.ctx.catalog.table(key)
        if found is None:
            self.absent.add(key)
            return None
        made = None
        if isinstance(found, Known):
            made = _Relation(tuple(c.name for c in found.columns), f"as it is in {found.origin}")
        self._set(key, made)
        return made

    def _query(
        self, sql: ir.Sql, found: ir.Binding, where: str, tree: exp.Expr | None = None
    ) -> _Relation | None:
        """Check the query of `sql` (or its part `tree`) and return its output columns."""
        # sqlglot's optimizer is imported here: `compile` never runs this pass.
        from sqlflowc.passes.query_columns import resolve_columns

        if tree is None:
            if not isinstance(found.tree, exp.Expr):
                return None
            tree = found.tree
        relations = {key: rel for key in found.reads if (rel := self._lookup(key)) is not None}
        resolved = resolve_columns(tree, {k: r.columns for k, r in relations.items()})
        recorded = any(r.recorded for r in relations.values())
        dropped = {k: v for r in relations.values() for k, v in r.dropped.items()}
        for problem in resolved.problems:
            self._report(sql, problem, relations, recorded, dropped)
        if resolved.outputs is None or resolved.problems:
            return None  # what depends on a broken query is not checked (no cascade)
        return _Relation(resolved.outputs, f"created {where}", recorded, dropped)

    def _line(self, span: Span) -> str:
        line, _ = self.ctx.sources.line_col(span)
        return f"at line {line}"

    # ------------------------------------------------------------------ diagnostics

    def _report(
        self,
        sql: ir.Sql,
        problem: ColumnProblem,
        relations: Mapping[str, _Relation],
        recorded: bool,
        dropped: Mapping[str, _Upstream],
    ) -> None:
        if any(s.secret and s.start < problem.end and problem.start < s.end for s in sql.splices):
            return  # the name is (part of) a secret's value: never shown
        written = sql.text[problem.start : problem.end]
        span = sql.span_of(problem.start, problem.end)
        names = [f"`{alias}`" for alias, _ in problem.sources]
        keys = dict.fromkeys(k for _, k in problem.sources if k is not None and k in relations)
        notes = tuple(_columns_note(key, relations[key]) for key in keys)
        if problem.kind == "ambiguous":
            qualified = " or ".join(f"`{alias}.{written}`" for alias, _ in problem.sources)
            self.ctx.reporter.error(
                Code.AMBIGUOUS_COLUMN,
                f"column `{written}` is ambiguous",
                span,
                label=f"a column of both {_both(names)}",
                help=f"qualify it: {qualified}",
                notes=notes,
            )
            return
        where = f"`{problem.qualifier}`" if problem.qualifier else _either(names)
        message = f"unknown column `{written}`"
        help = did_you_mean(problem.name, problem.candidates)
        report = self.ctx.reporter.error
        upstream = dropped.get(problem.name.lower())
        if upstream is not None:
            # Not a typo: the source had it when its schema was accepted. The run's drift
            # check judges that change by the source's `schema_drift` policy.
            report = self.ctx.reporter.warning
            message = f"column `{written}` is gone from source `{upstream.source}`"
            help = (
                f"`{upstream.source}` had it in its accepted snapshot; `sqlflowc schema compare "
                f"{upstream.source} --live --pipeline {upstream.pipeline}` shows what changed. "
                "The run stops at the source under `schema_drift: fail`, else this step fails"
            )
        elif recorded:
            report = self.ctx.reporter.warning
            help = (
                f"{help + ' ' if help else ''}the columns of a source that cannot be read now "
                "are those of its accepted snapshot; if the source has gained this column, "
                "the run will tell"
            )
        report(
            Code.UNKNOWN_COLUMN,
            message,
            span,
            label=f"not a column of {where}",
            help=help,
            notes=notes,
        )


def _columns_note(key: str, relation: _Relation) -> str:
    shown = ", ".join(relation.columns[:_SHOWN])
    more = f", ... ({len(relation.columns)} in all)" if len(relation.columns) > _SHOWN else ""
    return f"`{key}` has columns {shown}{more}; {relation.origin}"


def _both(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _either(names: list[str]) -> str:
    if not names:
        return "any table it reads"
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
