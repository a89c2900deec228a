"""Check, at compile time, that APPEND/MERGE/INCREMENTAL loads fit their target tables.

Requires: an ordered program (`bind`, `check_connectors` and `build_dag` ran without errors).
Ensures, reporting and never raising: every load whose source schema and target schema are both
knowable is checked by `sqlflowc.schema.check_load` under the compilation's schema policy, and each
problem is reported at the statement's MODE clause with its SF07xx code — the same verdict the
executor would reach before writing anything. MERGE keys and the INCREMENTAL `BY` column are
checked too. Nothing is reported when a schema cannot be known: the run checks again — except
that a load into a table whose schema the catalog could not read (`Unknown`: a project database
locked by another process, unreadable) gets warning SF0708 (once per table): its target's schema
was not read and is checked when the pipeline runs.

Where schemas come from: `ctx.catalog` (a `sqlflowc.schema.catalog.Catalog`, built by the
driver) gives the tables that exist before the run and the columns each source gives (connector
schema discovery, metadata only); this pass opens no database and reads no source itself. The
pipeline is replayed, in program order, on an empty in-memory DuckDB database, used only to type
SQL: a table written earlier in the pipeline exists there with the columns its query or source
gives (`CREATE TABLE ... AS SELECT * FROM (query) LIMIT 0`, or the source's columns); a table the
pipeline has not written yet is created, columns only, from the catalog when it knows it. Plain
DDL (`CREATE TABLE t (...)`, `ALTER TABLE`, `DROP`, `CREATE SCHEMA`) is replayed as written;
DML changes no schema; any other statement makes the tables it writes unknown, and any other
ordering barrier (whose effects are unknown) ends the replay. A query that cannot be described
(an unknown table, a UDF, a remote file) and a source the catalog does not know make their
target unknown. Nothing is written anywhere.

DuckDB is imported only when the program has a non-REPLACE load.

>>> from sqlflowc.api import compile_context, parse, to_ordered, to_program, to_resolved
>>> from sqlflowc.schema import Column
>>> from sqlflowc.schema.catalog import MappingCatalog
>>> catalog = MappingCatalog({"t": [Column("id", "INTEGER")]})
>>> ctx = compile_context(catalog=catalog)
>>> text = "CREATE TABLE t MODE APPEND AS SELECT 1 AS id, 'x' AS name;"
>>> prog = to_program(parse(text, sources=ctx.sources), ctx)
>>> _ = check_schemas(to_ordered(to_resolved(prog, ctx), ctx, checks=()), ctx)
>>> [d.code.value for d in ctx.reporter.diagnostics]
['SF0701']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlglot import exp

from sqlflowc.diagnostics import Code
from sqlflowc.ir import program as ir
from sqlflowc.names import key_parts, table_key
from sqlflowc.passes.context import PassContext
from sqlflowc.schema import (
    Column,
    SchemaDiff,
    by_column_problem,
    check_load,
    watermark_column_problem,
)
from sqlflowc.schema.catalog import Known, Unknown
from sqlflowc.sqlbuild import loads as sql
from sqlflowc.sqlbuild.macros import bind_macros

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"})
# Macro values for describing an INCREMENTAL query: any valid value types it the same.
_SAMPLE = {
    "start_dt": "2000-01-01",
    "end_dt": "2000-01-02",
    "start_date": "2000-01-01",
    "end_date": "2000-01-02",
}


P = TypeVar("P", bound=ir.BoundProgram)


def check_schemas(prog: P, ctx: PassContext) -> P:
    """Report schema incompatibilities of loads whose schemas are knowable."""
    if not replays(prog):
        return prog
    import duckdb

    replay = _Replay(duckdb.connect(":memory:"), ctx)
    try:
        for stmt, bound in prog.bound():
            if not replay.step(stmt, bound):
                break
    finally:
        replay.close()
    return prog


def replays(prog: ir.Program) -> bool:
    """Whether `check_schemas` replays `prog`: it has a load with a mode other than REPLACE."""
    return any(
        isinstance(s, ir.Load | ir.CreateTable) and not isinstance(s.mode, ir.Replace)
        for s in prog.statements
    )


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _table(key: str) -> exp.Table:
    schema, name = key_parts(key)
    return exp.table_(_ident(name), db=_ident(schema))


def _quoted(key: str) -> str:
    return _table(key).sql(dialect="duckdb")


def _ddl(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb")


def _create_schema(key: str) -> str:
    return _ddl(exp.Create(this=_ident(key_parts(key)[0]), kind="SCHEMA", exists=True))


def _create_view(key: str, query: str) -> str:
    return _ddl(
        exp.Create(this=_table(key), kind="VIEW", replace=True, expression=exp.Var(this=query))
    )


def _create_table(key: str, columns: list[Column]) -> str:
    """`CREATE TABLE key (c type [NOT NULL] [DEFAULT expr], ...)`, types and defaults as
    DuckDB printed them."""
    defs = []
    for c in columns:
        constraints = (
            [] if c.nullable else [exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())]
        )
        if c.default is not None:
            constraints.append(
                exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=exp.Var(this=c.default)))
            )
        defs.append(
            exp.ColumnDef(this=_ident(c.name), kind=exp.Var(this=c.type), constraints=constraints)
        )
    return _ddl(exp.Create(this=exp.Schema(this=_table(key), expressions=defs), kind="TABLE"))


def _drop(kind: str, key: str) -> str:
    return _ddl(exp.Drop(tables=[_table(key)], kind=kind, exists=True))


class _Replay:
    """The in-memory stand-in of the target database, statement by statement."""

    def __init__(self, con: Connection, ctx: PassContext) -> None:
        self.con = con
        self.ctx = ctx
        self.touched: set[str] = set()  # defined, dropped or made unknown by the pipeline
        self.unknown: set[str] = set()
        self.from_catalog: dict[str, str] = {}  # copied from the catalog → where it was read
        self.views: set[str] = set()
        self.unreadable: dict[str, Unknown] = {}  # tables the catalog could not read
        self.not_checked: set[str] = set()  # tables warned about (SF0708)

    def close(self) -> None:
        self.con.close()

    # ------------------------------------------------------------------ statements

    def step(self, stmt: ir.Statement, bound: ir.Binding) -> bool:
        """Replay one statement; False when nothing after it can be known."""
        match stmt:
            case ir.Load():
                source = stmt.source
                found = self.ctx.catalog.source(source.name, source.connector, source.params)
                columns = list(found.columns) if isinstance(found, Known) else None
                self._write(
                    stmt.table,
                    columns,
                    lambda key: self._create(key, columns),
                    stmt.mode,
                    from_source=True,
                )
            case ir.CreateTable():
                self._prepare(bound.reads)
                text = stmt.query.text
                params: dict[str, str] = {}
                if isinstance(stmt.mode, ir.Incremental):
                    text, used = bind_macros(text)
                    params = {m: _SAMPLE[m] for m in used}
                columns = self._describe(text, params)
                self._write(
                    stmt.table, columns, lambda key: self._define(key, text, params), stmt.mode
                )
            case ir.CreateView():
                self._prepare(bound.reads)
                key = table_key(stmt.view)
                self.touched.add(key)
                if self._run(_create_view(key, stmt.query.text)):
                    self.unknown.discard(key)
                    self.views.add(key)
                else:
                    self._forget(key)
            case ir.Export():
                pass
            case ir.SqlStatement():
                return self._sql(stmt, bound)
            case ir.TableUdf():
                self._forget(table_key(stmt.target))
            case _:
                raise AssertionError(stmt)
        return True

    def _sql(self, stmt: ir.SqlStatement, bound: ir.Binding) -> bool:
        tree = bound.tree
        if bound.barrier:
            # `CREATE SCHEMA` touches no table; any other barrier may change anything.
            schema = isinstance(tree, exp.Create) and str(tree.args.get("kind")).upper() == "SCHEMA"
            return schema and self._run(stmt.sql.text)
        self._prepare(bound.reads | bound.writes)
        if stmt.verb.upper() in _DML:
            return True
        replayable = (
            isinstance(tree, exp.Create)
            and str(tree.args.get("kind")).upper() == "TABLE"
            and tree.args.get("expression") is None
        ) or isinstance(tree, exp.Alter | exp.Drop)
        for key in bound.writes:
            self.touched.add(key)
        if replayable and self._run(stmt.sql.text):
            for key in bound.writes:
                self.unknown.discard(key)
                self.views.discard(key)
        else:
            for key in bound.writes:
                self._forget(key)
        return True

    def _write(
        self,
        table: str,
        source: list[Column] | None,
        define: Callable[[str], bool],
        mode: ir.LoadMode,
        *,
        from_source: bool = False,
    ) -> None:
        """Replay writing rows with columns `source` (None: unknown) into `table`; `define`
        creates the table here as the statement would (`from_source`: a `LOAD`)."""
        key = table_key(table)
        if isinstance(mode, ir.Replace):
            self.touched.add(key)
            if source is None or not define(key):
                self._forget(key)
            return
        self._prepare([key])
        if source is None:
            self._forget(key)  # the run checks
            return
        if key in self.views:
            self.ctx.reporter.error(
                Code.TARGET_NOT_A_TABLE,
                f"`{table}` is a view; a load writes a table",
                mode.span,
                label=f"writes `{table}`, a view defined earlier in the pipeline",
                help="load into another name",
            )
            return
        target = None if key in self.unknown else self._columns(key)
        unreadable = (
            self.unreadable.get(key) if target is None and key not in self.touched else None
        )
        if key in self.unknown or unreadable is not None:
            # The table's schema is unknown (or it may exist in a database that could not be
            # read): check only what does not depend on it, the source's keys and BY column.
            if unreadable is not None and key not in self.not_checked:
                self.not_checked.add(key)
                self.ctx.reporter.warning(
                    Code.SCHEMA_NOT_CHECKED,
                    f"the schema of `{table}` in {unreadable.origin} could not be read; "
                    "it will be checked at run time",
                    mode.span,
                    label=f"writes `{table}`",
                    help="the database is in use by another process (or unreadable); "
                    "compile again when it is free to check this load now",
                    notes=(unreadable.reason,) if unreadable.reason else (),
                )
            self._report(table, source, None, mode, "", from_source=from_source)
            self._forget(key)
            return
        where = self._where(key)
        diff = self._report(table, source, target, mode, where, from_source=from_source)
        self.touched.add(key)
        if not diff.ok:
            self._forget(key)
        elif target is None:
            if not define(key):
                self._forget(key)
        else:
            changes = [sql.alter_type(_quoted(key), c) for c in diff.alter]
            changes += [sql.add_column(_quoted(key), c) for c in diff.add]
            if not all(self._run(change) for change in changes):
                self._forget(key)

    def _report(
        self,
        table: str,
        source: list[Column],
        target: list[Column] | None,
        mode: ir.Append | ir.Merge | ir.Incremental,
        where: str,
        *,
        from_source: bool = False,
    ) -> SchemaDiff:
        """Report every problem of writing `source` into `target` at the MODE clause."""
        keys = () if isinstance(mode, ir.Append) else tuple(k.value for k in mode.keys)
        diff = check_load(table, source, target, self.ctx.schema_policy, keys=keys)
        problems = list(diff.problems)
        if isinstance(mode, ir.Incremental) and from_source:
            lookback = str(mode.lookback.value) if mode.lookback is not None else None
            mark = watermark_column_problem(table, mode.by.value, source, lookback=lookback)
            problems.extend([mark] if mark is not None else [])
        elif isinstance(mode, ir.Incremental):
            by = by_column_problem(table, mode.by.value, source)
            problems.extend([by] if by is not None else [])
        for p in problems:
            self.ctx.reporter.error(
                p.code, p.message, mode.span, label=f"writes `{table}`{where}", help=p.help
            )
        return dataclasses.replace(diff, problems=tuple(problems))

    def _where(self, key: str) -> str:
        if key in self.from_catalog:
            return f", as it is in {self.from_catalog[key]}"
        return ", a table of this pipeline" if key in self.touched else ""

    # ------------------------------------------------------------------ the catalog

    def _prepare(self, keys: Iterable[str]) -> None:
        """Make the tables `keys` name available: copy them from the catalog when the
        pipeline has not written them yet."""
        for key in keys:
            if key not in self.touched and key not in self.from_catalog:
                self._copy(key)

    def _copy(self, key: str) -> None:
        if key in self.unreadable:
            return
        found = self.ctx.catalog.table(key)
        if isinstance(found, Unknown):
            self.unreadable[key] = found
        elif isinstance(found, Known) and self._create(key, list(found.columns)):
            self.from_catalog[key] = found.origin

    def _columns(self, key: str) -> list[Column] | None:
        schema, name = key_parts(key)
        rows = self._query(
            "SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
            "WHERE database_name = 'memory' AND lower(schema_name) = ? AND lower(table_name) = ? "
            "ORDER BY column_index",
            [schema, name],
        )
        if not rows:
            return None
        return [Column(str(r[0]), str(r[1]), bool(r[2]), r[3]) for r in rows]

    def _create(self, key: str, columns: list[Column] | None) -> bool:
        """Create table `key` here with `columns` (as a load from a known source would)."""
        if columns is None:
            return False
        self._run(_create_schema(key))
        ok = self._run(_create_table(key, columns))
        if ok:
            self.unknown.discard(key)
            self.views.discard(key)
        return ok

    def _define(self, key: str, query: str, params: dict[str, str]) -> bool:
        self._run(_create_schema(key))
        ok = self._run(sql.empty_table(_quoted(key), query), params)
        if ok:
            self.unknown.discard(key)
            self.views.discard(key)
        return ok

    def _forget(self, key: str) -> None:
        self.touched.add(key)
        self.unknown.add(key)
        self.views.discard(key)
        for kind in ("TABLE", "VIEW"):
            self._run(_drop(kind, key))

    def _describe(self, query: str, params: dict[str, str]) -> list[Column] | None:
        rows = self._query(sql.describe_query(query), params)
        if rows is None:
            return None
        return [Column(str(r[0]), str(r[1]), r[2] != "NO", r[4]) for r in rows]

    # ------------------------------------------------------------------ DuckDB

    def _run(self, statement: str, params: dict[str, str] | None = None) -> bool:
        return self._query(statement, params) is not None

    def _query(self, statement: str, params: Any = None) -> list[Any] | None:
        import duckdb

        try:
            result = self.con.execute(statement, params) if params else self.con.execute(statement)
            return result.fetchall()
        except duckdb.Error:
            return None
