"""Lower a bound, ordered `Program` to the plan for DuckDB.

Requires: `bind`, the checks and `build_dag` have run without errors.
Ensures: one `Step` per statement, in program order (a topological order of `deps`), with a
stable id, the DuckDB SQL to run in one transaction, and nothing secret: SQL shows `display`
text, where each secret is its `${name}` reference. Identical programs give identical plans.
APPEND, MERGE and INCREMENTAL loads are lowered by `backend/load_modes.py` (their steps carry
the schema policy in force at compile time).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.backend.plan import Location, Plan, Step, StepKind
from sqlflowc.ir import program as ir
from sqlflowc.source import SourceMap, Span

if TYPE_CHECKING:
    from sqlflowc.schema import Policy

_ID_CHARS = re.compile(r"[^a-z0-9]+")


def to_plan(
    prog: ir.Program, sources: SourceMap, pipeline_path: str, *, schema_policy: Policy = "strict"
) -> Plan:
    """The plan for a program whose statements are all lowered."""
    project = Path(prog.project_dir)
    ids = _step_ids(prog.statements)
    steps: list[Step] = []
    for i, stmt in enumerate(prog.statements):
        kind, target, sql, details = _lower(stmt, project, ids[i], schema_policy)
        steps.append(
            Step(
                id=ids[i],
                kind=kind,
                target=target,
                depends_on=tuple(ids[d] for d in prog.deps[i]) if prog.deps else (),
                sql=sql,
                location=_location(stmt.span, sources, project),
                label=prog.labels.get(stmt.span.file_id),
                details=details,
                udfs=_udfs(stmt),
            )
        )
    return Plan(
        pipeline=_relative(pipeline_path, project),
        project_dir=str(project),
        steps=tuple(steps),
        variables=dict(prog.variables),
        secret_vars=tuple(sorted(prog.secrets)),
        secrets=dict(prog.secrets),
    )


def _lower(
    stmt: ir.Statement, project: Path, step_id: str, policy: Policy
) -> tuple[StepKind, str | None, tuple[str, ...], Mapping[str, Any]]:
    from sqlflowc.backend.load_modes import lower_load

    match stmt:
        case ir.Load():
            from sqlflowc.runtime.connectors.registry import get_connector

            connector = get_connector(stmt.source.connector)
            assert connector is not None, "check_connectors guarantees a known connector"
            scan = connector.scan_sql(stmt.source.params, project)
            query = scan if _is_query(scan) else f"SELECT * FROM {scan}"
            source = {"source": stmt.source.name, "connector": stmt.source.connector.lower()}
            if not isinstance(stmt.mode, ir.Replace):
                load_sql, load = lower_load(stmt.table, stmt.mode, query, step_id, policy)
                return StepKind.LOAD, stmt.table, load_sql, {**source, **load}
            return (
                StepKind.LOAD,
                stmt.table,
                (f"CREATE OR REPLACE TABLE {stmt.table} AS {query}",),
                {**source, "mode": "replace"},
            )
        case ir.CreateTable():
            if not isinstance(stmt.mode, ir.Replace):
                load_sql, load = lower_load(
                    stmt.table, stmt.mode, stmt.query.display, step_id, policy
                )
                return StepKind.CREATE_TABLE, stmt.table, load_sql, load
            create = (
                "CREATE TABLE IF NOT EXISTS" if stmt.if_not_exists else "CREATE OR REPLACE TABLE"
            )
            return (
                StepKind.CREATE_TABLE,
                stmt.table,
                (f"{create} {stmt.table} AS {stmt.query.display}",),
                {"mode": "replace", "if_not_exists": True}
                if stmt.if_not_exists
                else {"mode": "replace"},
            )
        case ir.CreateView():
            create = "CREATE VIEW IF NOT EXISTS" if stmt.if_not_exists else "CREATE OR REPLACE VIEW"
            return (
                StepKind.CREATE_VIEW,
                stmt.view,
                (f"{create} {stmt.view} AS {stmt.query.display}",),
                {},
            )
        case ir.Export():
            return (
                StepKind.EXPORT,
                stmt.uri_display,
                (stmt.query.display,),
                {
                    "uri": stmt.uri_display,
                    "format": stmt.format.lower(),
                    "options": dict(sorted(stmt.options.items())),
                },
            )
        case ir.SqlStatement():
            target = sorted(stmt.writes)[0] if len(stmt.writes) == 1 else None
            details: dict[str, Any] = {"barrier": True} if stmt.barrier else {}
            return StepKind.SQL, target, (stmt.sql.display,), details
        case ir.TableUdf():
            return (
                StepKind.TABLE_UDF,
                stmt.target,
                (f"SELECT * FROM {stmt.input}",),
                {"udf": stmt.udf, "input": stmt.input, "args": dict(stmt.args)},
            )
        case _:
            raise AssertionError(stmt)


def _udfs(stmt: ir.Statement) -> tuple[str, ...]:
    """The Python UDFs a statement's step needs registered."""
    match stmt:
        case ir.CreateTable() | ir.CreateView() | ir.Export():
            return stmt.query.udfs
        case ir.SqlStatement():
            return stmt.sql.udfs
        case ir.TableUdf():
            return (stmt.udf,)
        case ir.Load():
            return ()
        case _:
            raise AssertionError(stmt)


def _is_query(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in {"SELECT", "FROM", "WITH", "VALUES", "("}


def _step_ids(statements: tuple[ir.Statement, ...]) -> list[str]:
    """Stable, readable, unique ids: `load_users`, `table_daily`, `export_report`, `sql_insert_t`
    (a repeated id gets `_2`, `_3`, ... in program order)."""
    seen: dict[str, int] = {}
    used: set[str] = set()
    ids: list[str] = []
    for stmt in statements:
        match stmt:
            case ir.Load():
                base = f"load_{stmt.table}"
            case ir.CreateTable():
                base = f"table_{stmt.table}"
            case ir.CreateView():
                base = f"view_{stmt.view}"
            case ir.Export():
                stem = Path(stmt.uri_display.rstrip("/")).name.split(".")[0] or "output"
                base = f"export_{stem}"
            case ir.SqlStatement():
                target = sorted(stmt.writes)[0] if len(stmt.writes) == 1 else ""
                base = f"sql_{stmt.verb.lower()}_{target}" if target else f"sql_{stmt.verb.lower()}"
            case ir.TableUdf():
                base = f"table_{stmt.target}"
            case _:
                raise AssertionError(stmt)
        base = _ID_CHARS.sub("_", base.lower()).strip("_")
        candidate = base
        while candidate in used:
            seen[base] = seen.get(base, 1) + 1
            candidate = f"{base}_{seen[base]}"
        used.add(candidate)
        ids.append(candidate)
    return ids


@functools.lru_cache(maxsize=256)
def _relative(path: str, project: Path) -> str:
    """`path` relative to the project when inside it (resolved once per file, not per step)."""
    try:
        return Path(path).resolve().relative_to(project.resolve()).as_posix()
    except ValueError:
        return path


def _location(span: Span, sources: SourceMap, project: Path) -> Location:
    src = sources[span.file_id]
    line, col = src.line_col(span.start)
    end_line, end_col = src.line_col(span.end)
    return Location(_relative(src.path, project), line, col, end_line, end_col)
