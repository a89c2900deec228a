"""Build the dependency graph of a bound program (docs/language.md, "Ordering").

Requires: a `ResolvedProgram` (`bind` and `resolve_udfs` have run: reads/writes known).
Ensures: an `OrderedProgram`, whose `deps[i]` lists, in ascending order, the statements that
statement `i` must run after: every earlier statement it shares a table with by read-after-write,
write-after-write or write-after-read; every earlier statement when it is a barrier (and every
later one runs after a barrier). Reading a view counts as reading what the view reads
(transitively); a view whose definition reaches itself is a cycle (SF0501). A table read but
never written by the pipeline gets a warning (it may already exist in the database), with "did
you mean" when close to one that is written. A body sqlglot could not parse (`OPAQUE`) gets a
warning that it is a barrier (SF0402). Writing a table named like the tool's own
(`names.is_reserved`: `_sqlflow_state`, ...) is an error (SF0505). Only the direct
(non-redundant) edges are kept.

>>> from sqlflowc.api import compile_context, parse, to_program, to_resolved
>>> ctx = compile_context()
>>> text = "CREATE TABLE a AS SELECT 1 AS x; CREATE TABLE b AS SELECT 2 AS y; "
>>> text += "CREATE TABLE c AS SELECT * FROM a, b;"
>>> prog = to_resolved(to_program(parse(text, sources=ctx.sources), ctx), ctx)
>>> build_dag(prog, ctx).deps
((), (), (0, 1))
"""

from __future__ import annotations

import bisect
import dataclasses
import glob
import os
from pathlib import Path

from sqlglot import exp

from sqlflowc.connectors.locations import export_location, may_read, source_location
from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.names import is_reserved, parts_key, table_key
from sqlflowc.passes.context import PassContext
from sqlflowc.source import Span
from sqlflowc.suggest import closest


def build_dag(prog: ir.ResolvedProgram, ctx: PassContext) -> ir.OrderedProgram:
    """Compute `deps` for every statement, in one forward pass (`_Dag`)."""
    _warn_opaque(prog, ctx)
    dag = _Dag(ctx)
    files = _Files(prog)
    deps: list[tuple[int, ...]] = []
    all_writes: list[frozenset[str]] = []
    for i, (stmt, found) in enumerate(prog.bound()):
        writes = files.writes(stmt, found)
        all_writes.append(writes)
        deps.append(dag.add(i, stmt, found, writes, files.reads(stmt, found)))
    _reject_reserved(prog, all_writes, ctx)
    _warn_unknown_tables(prog, all_writes, ctx)
    fields = {f.name: getattr(prog, f.name) for f in dataclasses.fields(ir.ResolvedProgram)}
    return ir.OrderedProgram(**fields, deps=_reduce(deps))


def _warn_opaque(prog: ir.BoundProgram, ctx: PassContext) -> None:
    """SF0402 at each body sqlglot could not parse: it runs as written, as a barrier."""
    for stmt, found in prog.bound():
        sql = ir.sql_body(stmt)
        if sql is None or found.tree is not ir.OPAQUE:
            continue
        ctx.reporter.warning(
            Code.SQL_OPAQUE,
            "sqlglot cannot analyse this statement; it runs as written, as an ordering barrier",
            sql.span_of(0, min(len(sql.text), len(sql.text.split("\n", 1)[0]))),
            help="its table dependencies are unknown, so it runs after everything "
            "before it and before everything after it",
        )


class _Dag:
    """The state of the forward pass, in time linear in the program for the usual shapes.

    Each table keeps its last writer and the readers since then: a statement depends on the
    last writer of every table it touches, and — when it writes a table — on that table's
    readers since. Edges to earlier writers and readers follow transitively, so this is the
    all-pairs rule of the module docstring without comparing every pair.

    Views, without expanding every read of a view into everything under it (quadratic in a
    chain of views): a view's definition already depends on the last writers of everything its
    definition reaches. So a read of a view needs that view's writer only, unless something
    under the view was written (or redefined) since: such a view is `stale`, and a read goes
    down into it. A write marks stale every view above the written name (`above`: the views
    whose definitions read it, at any time, transitively). Who read a table through a view is
    found when the table is written, from the views above it (`view_readers`, by time).
    """

    def __init__(self, ctx: PassContext) -> None:
        self.ctx = ctx
        self.views: dict[str, tuple[int, frozenset[str]]] = {}  # name → (defined at, reads)
        self.above: dict[str, set[str]] = {}  # name → views whose definitions read it
        self.stale: set[str] = set()
        self.view_readers: dict[str, list[int]] = {}  # view → statements reading it, in order
        self.last_writer: dict[str, int] = {}
        self.readers: dict[str, list[int]] = {}
        self.since_barrier: list[int] = []
        self.last_barrier = -1

    def add(
        self,
        i: int,
        stmt: ir.Statement,
        found: ir.Binding,
        writes: frozenset[str],
        files: frozenset[str],
    ) -> tuple[int, ...]:
        """Statement `i`'s direct dependencies; records what it reads (`files`: the exported
        files it may read) and writes."""
        own = table_key(stmt.view) if isinstance(stmt, ir.CreateView) else None
        through_views = self.written(writes)
        reads = self.expand(found.reads, own, stmt.span) | files
        if found.barrier:
            direct = set(self.since_barrier) or (
                {self.last_barrier} if self.last_barrier >= 0 else set()
            )
            self.last_barrier, self.since_barrier = i, []
            self.last_writer.clear()
            self.readers.clear()
            self.stale.clear()  # every earlier write is before the barrier
        else:
            direct = {self.last_barrier} if self.last_barrier >= 0 else set()
            direct.update(self.last_writer[t] for t in reads | writes if t in self.last_writer)
            for t in writes:
                direct.update(self.readers.get(t, ()))
            direct.update(through_views)
            self.since_barrier.append(i)
            for t in writes:
                self.last_writer[t] = i
                self.readers[t] = []
            for t in reads - writes:
                self.readers.setdefault(t, []).append(i)
            for t in reads & self.views.keys():  # also a view it writes: INSERT INTO v ... v
                self.view_readers.setdefault(t, []).append(i)
        if own is not None and isinstance(stmt, ir.CreateView):
            self.views[own] = (i, found.reads)
            for r in found.reads:
                self.above.setdefault(r, set()).add(own)
            self.stale.discard(own)
        else:
            for w in writes:
                self.views.pop(w, None)  # rewritten as a table: no longer that view
        return tuple(sorted(direct))

    def written(self, writes: frozenset[str]) -> set[int]:
        """Mark the views above written names stale; the statements that read a written name
        through a view since its last write (or the last barrier)."""
        found: set[int] = set()
        for t in writes:
            since = max(self.last_writer.get(t, -1), self.last_barrier)
            stack = list(self.above.get(t, ()))
            seen: set[str] = set()
            while stack:
                view = stack.pop()
                if view in seen:
                    continue
                seen.add(view)
                self.stale.add(view)
                log = self.view_readers.get(view, [])
                found.update(log[bisect.bisect_right(log, since) :])
                stack.extend(self.above.get(view, ()))
        return found

    def expand(self, start: frozenset[str], own: str | None, span: Span) -> frozenset[str]:
        """`start` and, below each stale view in it, what that view's definition reads; a
        definition of `own` that reaches `own` is a cycle (SF0501)."""
        parent: dict[str, str | None] = {name: None for name in start}
        stack = list(start)
        while stack:
            name = stack.pop()
            if name == own:
                chain = [name]
                at = parent[name]
                while at is not None:
                    chain.append(at)
                    at = parent[at]
                _cycle(self.ctx, [own, *reversed(chain)], span)
                continue
            if name not in self.stale or name not in self.views:
                continue
            for inner in self.views[name][1]:
                if inner not in parent:
                    parent[inner] = name
                    stack.append(inner)
        return frozenset(parent)


class _Files:
    """Files as tables: an EXPORT writes `file:<location>`, and a LOAD whose source may read
    that location (`connectors.locations.may_read`) reads it, as does SQL naming it (`FROM
    'out/t.csv'`, `read_parquet('out/*.parquet')`); so reading what an earlier EXPORT wrote
    runs after it, and a later EXPORT over it waits for the read; two exports to one file are
    ordered like two writes of one table."""

    def __init__(self, prog: ir.Program) -> None:
        self.project = Path(prog.project_dir)
        self.written = {
            export_location(stmt.uri, self.project)
            for stmt in prog.statements
            if isinstance(stmt, ir.Export)
        }

    def writes(self, stmt: ir.Statement, found: ir.Binding) -> frozenset[str]:
        if isinstance(stmt, ir.Export):
            return frozenset({"file:" + export_location(stmt.uri, self.project)})
        return found.writes

    def reads(self, stmt: ir.Statement, found: ir.Binding) -> frozenset[str]:
        if not self.written:
            return frozenset()
        if isinstance(stmt, ir.Load):
            pattern = source_location(stmt.source, self.project)
            patterns = [pattern] if pattern is not None else []
        else:
            patterns = self.in_sql(found.tree)
        return frozenset("file:" + w for w in self.written for p in patterns if may_read(p, w))

    def in_sql(self, tree: exp.Expr | ir.Opaque | None) -> list[str]:
        """The files a SQL body reads itself: `FROM 'out/t.csv'`, and every string argument of
        a table function (`read_csv('out/*.csv')`) — relative to the project directory, where
        the run's DuckDB looks for them."""
        if not isinstance(tree, exp.Expr):
            return []
        found: list[str] = []
        for table in tree.find_all(exp.Table):
            if isinstance(table.this, exp.Identifier):
                if table.this.quoted and any(c in table.name for c in "/\\.*"):
                    found.append(self.located(table.name))
            elif table.this is not None:
                found.extend(
                    self.located(lit.this)
                    for lit in table.this.find_all(exp.Literal)
                    if lit.is_string
                )
        return found

    def located(self, path: str) -> str:
        if "://" in path or os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(glob.escape(str(self.project)), path))


def _cycle(ctx: PassContext, chain: list[str], span: Span) -> None:
    shown = " → ".join(c for c in chain if c)
    ctx.reporter.error(
        Code.DEPENDENCY_CYCLE,
        f"views depend on each other in a cycle: {shown}",
        span,
        label="this definition closes the cycle",
        help="a view cannot read itself, directly or through other views",
    )


def _reject_reserved(prog: ir.BoundProgram, writes: list[frozenset[str]], ctx: PassContext) -> None:
    """A statement may not write a table named like the tool's own (`_sqlflow_state`, ...)."""
    for (stmt, found), names in zip(prog.bound(), writes, strict=True):
        for name in sorted(n for n in names if is_reserved(n)):
            match stmt:
                case ir.Load() | ir.CreateTable() | ir.CreateView():
                    span = stmt.target_span or stmt.span
                case _:
                    span = _reference_span(stmt, found, name)
            ctx.reporter.error(
                Code.RESERVED_TABLE,
                f"table name `{name}` is reserved for sqlflowc's own tables",
                span,
                label="names starting with `_sqlflow_` or `__sqlflowc_` are reserved",
                help="rename the table; sqlflowc keeps its incremental state in `_sqlflow_state`",
            )


def _warn_unknown_tables(
    prog: ir.BoundProgram, writes: list[frozenset[str]], ctx: PassContext
) -> None:
    written = {w for ws in writes for w in ws if not w.startswith("file:")}
    seen: set[str] = set()
    for stmt, found in prog.bound():
        for name in sorted(found.reads):
            if name in written or name in seen:
                continue
            seen.add(name)
            close = closest(name, sorted(written), cutoff=0.75)
            ctx.reporter.warning(
                Code.UNKNOWN_TABLE,
                f"table `{name}` is not created by this pipeline",
                _reference_span(stmt, found, name),
                label="read here",
                help=f"did you mean `{close}`?"
                if close
                else "fine if it already exists in the database",
            )


def _reference_span(stmt: ir.Statement, found: ir.Binding, name: str) -> Span:
    """Where `stmt` names table `name` (from sqlglot's token positions), else the statement."""
    sql = ir.sql_body(stmt)
    if sql is None or not isinstance(found.tree, exp.Expr):
        return stmt.span
    for table in found.tree.find_all(exp.Table):
        meta = table.this.meta if isinstance(table.this, exp.Identifier) else {}
        if parts_key([p.name for p in table.parts]) == name and "start" in meta and "end" in meta:
            return sql.span_of(int(meta["start"]), int(meta["end"]) + 1)
    return stmt.span


def _reduce(deps: list[tuple[int, ...]]) -> tuple[tuple[int, ...], ...]:
    """Drop edges implied by others (transitive reduction; the graph is ordered by index).

    `reach[i]` is a bit set of every statement `i` runs after, directly or not.
    """
    reach: list[int] = []
    out: list[tuple[int, ...]] = []
    for ds in deps:
        implied = 0
        for d in ds:
            implied |= reach[d]
        out.append(tuple(d for d in ds if not (implied >> d) & 1))
        for d in ds:
            implied |= 1 << d
        reach.append(implied)
    return tuple(out)
