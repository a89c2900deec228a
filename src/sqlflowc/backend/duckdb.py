"""Lower an `OrderedProgram` to the plan for DuckDB.

Requires: `bind`, the checks and `build_dag` have run without errors.
Ensures: one typed step per statement (`backend/plan.py`), in program order (a topological order
of `deps`), with a stable id, the tables it reads and writes, the DuckDB SQL to run in one
transaction, and nothing secret: SQL shows `display` text, where each secret is its `${name}`
reference. Identical programs give identical plans. APPEND, MERGE and INCREMENTAL loads are
lowered by `backend/load_modes.py` (their modes carry the schema policy in force at compile
time). A load reads its source with the query the connector gives at compile time
(`Connector.scan_sql`: local files); for a connector that reads at run time (Arrow batches), the
step's SQL reads the relation named in `Load.read`, which the executor makes from the
connector's run-time face before running the step.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, assert_never

from sqlflowc.backend import plan as p
from sqlflowc.ir import program as ir
from sqlflowc.source import SourceMap, Span
from sqlflowc.sqlbuild import sql_identifier, sql_table

if TYPE_CHECKING:
    from sqlflowc.schema import Policy

_ID_CHARS = re.compile(r"[^a-z0-9]+")


def to_plan(
    prog: ir.OrderedProgram,
    sources: SourceMap,
    pipeline_path: str,
    *,
    schema_policy: Policy = "strict",
) -> p.Plan:
    """The plan for a program whose statements are all lowered."""
    project = Path(prog.project_dir)
    ids = _step_ids(prog)
    steps: list[p.Step] = []
    for i, (stmt, found) in enumerate(prog.bound()):
        envelope = _Envelope(
            id=ids[i],
            depends_on=tuple(ids[d] for d in prog.deps[i]),
            location=_location(stmt.span, sources, project),
            label=prog.labels.get(stmt.span.file_id),
            reads=tuple(sorted(found.reads)),
            writes=tuple(sorted(found.writes)),
        )
        steps.append(_lower(stmt, found, prog.udfs[i], envelope, project, schema_policy))
    return p.Plan(
        pipeline=_relative(pipeline_path, project),
        project_dir=str(project),
        steps=tuple(steps),
        variables=_shown_variables(prog.variables),
        secret_vars=tuple(sorted(prog.secrets)),
        secret_templates=dict(prog.secret_templates),
        secrets=dict(prog.secrets),
    )


def _shown_variables(variables: Mapping[str, p.JsonValue]) -> dict[str, p.JsonValue]:
    """The variables as a plan shows them: a connection string's password (a DSN set in a
    variable whose name says nothing of secrets) as `***`."""
    from sqlflowc.connectors.secrets import hide_dsn_password

    return {
        name: hide_dsn_password(value, lambda _: "***") if isinstance(value, str) else value
        for name, value in variables.items()
    }


class _Envelope(TypedDict):
    """The fields every step shares (`plan.StepBase`)."""

    id: str
    depends_on: tuple[str, ...]
    location: p.Location
    label: str | None
    reads: tuple[str, ...]
    writes: tuple[str, ...]


def _lower(
    stmt: ir.Statement,
    found: ir.Binding,
    udfs: tuple[str, ...],
    env: _Envelope,
    project: Path,
    policy: Policy,
) -> p.Step:
    from sqlflowc.backend.load_modes import lower_load

    mode: p.LoadMode
    match stmt:
        case ir.Load():
            from sqlflowc.connectors import get_connector

            connector = get_connector(stmt.source.connector)
            assert connector is not None, "check_connectors guarantees a known connector"
            scan = connector.scan_sql(stmt.source.params, project)
            read = f"_sqlflow_read_{env['id']}" if scan is None else None
            if read is not None:
                query = f"SELECT * FROM {sql_identifier(read)}"
            else:
                assert scan is not None
                query = scan if _is_query(scan) else f"SELECT * FROM {scan}"
            source = p.Source(
                name=stmt.source.name,
                connector=stmt.source.connector.lower(),
                params=dict(sorted(stmt.source.params.items())),
            )
            if isinstance(stmt.mode, ir.Replace):
                create = f"CREATE OR REPLACE TABLE {sql_table(stmt.table)} AS {query}"
                sql: tuple[str, ...] = (create,)
                mode = p.Replace()
            else:
                sql, mode = lower_load(
                    stmt.table, stmt.mode, query, env["id"], policy, from_source=True
                )
            return p.Load(**env, target=stmt.table, source=source, mode=mode, sql=sql, read=read)
        case ir.CreateTable():
            if isinstance(stmt.mode, ir.Replace):
                create = (
                    "CREATE TABLE IF NOT EXISTS"
                    if stmt.if_not_exists
                    else "CREATE OR REPLACE TABLE"
                )
                text = f"{create} {sql_table(stmt.table)} AS {stmt.query.display}"
                sql, mode = (text,), p.Replace()
            else:
                sql, mode = lower_load(stmt.table, stmt.mode, stmt.query.display, env["id"], policy)
            return p.CreateTable(**env, target=stmt.table, mode=mode, sql=sql, udfs=udfs)
        case ir.CreateView():
            create = "CREATE VIEW IF NOT EXISTS" if stmt.if_not_exists else "CREATE OR REPLACE VIEW"
            return p.CreateView(
                **env,
                view=stmt.view,
                sql=f"{create} {sql_table(stmt.view)} AS {stmt.query.display}",
                udfs=udfs,
            )
        case ir.Export():
            return p.Export(
                **env,
                uri=stmt.uri_display,
                format=_export_format(stmt.format),
                options=dict(sorted(stmt.options.items())),
                query=stmt.query.display,
                udfs=udfs,
            )
        case ir.SqlStatement():
            return p.Sql(**env, sql=stmt.sql.display, barrier=found.barrier, udfs=udfs)
        case ir.TableUdf():
            return p.TableUdf(
                **env,
                target=stmt.target,
                udf=stmt.udf,
                input=stmt.input,
                args=dict(stmt.args),
                query=f"SELECT * FROM {sql_table(stmt.input)}",
                temporary=stmt.temporary,
            )
        case _:
            assert_never(stmt)


def _export_format(name: str) -> p.ExportFormat:
    """The connector's type name, lower-case (check_connectors knows it is an export format)."""
    return name.strip().lower()


def _is_query(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in {"SELECT", "FROM", "WITH", "VALUES", "("}


def _step_ids(prog: ir.BoundProgram) -> list[str]:
    """Stable, readable, unique ids: `load_users`, `table_daily`, `export_report`, `sql_insert_t`
    (a repeated id gets `_2`, `_3`, ... in program order)."""
    seen: dict[str, int] = {}
    used: set[str] = set()
    ids: list[str] = []
    for stmt, found in prog.bound():
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
                target = sorted(found.writes)[0] if len(found.writes) == 1 else ""
                base = f"sql_{stmt.verb.lower()}_{target}" if target else f"sql_{stmt.verb.lower()}"
            case ir.TableUdf():
                base = f"table_{stmt.target}"
            case _:
                assert_never(stmt)
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


def _location(span: Span, sources: SourceMap, project: Path) -> p.Location:
    src = sources[span.file_id]
    line, col = src.line_col(span.start)
    end_line, end_col = src.line_col(span.end)
    return p.Location(_relative(src.path, project), line, col, end_line, end_col)
