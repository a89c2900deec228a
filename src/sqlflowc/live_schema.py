"""The schema an object has now (`sqlflowc schema compare --live`): a source asked through its
connector, from metadata only, or a table described in the project's database, read-only (or
in the Spark warehouse's Parquet files, with a Spark profile)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.api import compile_file, database_path
from sqlflowc.source import SourceMap

if TYPE_CHECKING:
    from sqlflowc.schema import Column

__all__ = ["LiveSchemaError", "live_schema"]


class LiveSchemaError(Exception):
    """The schema of an object cannot be read now (the message says why)."""


def live_schema(
    obj: str,
    *,
    project_dir: Path,
    pipeline: str | None = None,
    profile: str | None = None,
    cli_vars: Mapping[str, Any] | None = None,
    database: str | None = None,
) -> tuple[list[Column], str]:
    """The columns `obj` (`source:orders`, `table:daily`) has now, and where they were read
    (`schema compare --live`).

    A source is found in `pipeline` (compiled with `profile` and `cli_vars`) and asked for its
    schema by its connector, from metadata only; a table is described in the project's
    database, opened read-only (with a Spark profile: its Parquet files in the warehouse, read
    by DuckDB, which names Spark's types as the Spark run's snapshots do). Raises
    LiveSchemaError when it cannot be.
    """
    from sqlflowc.connectors import get_connector
    from sqlflowc.placeholders import expand
    from sqlflowc.profiles import load_profile
    from sqlflowc.schema.snapshot import split_object

    kind, name = split_object(obj)
    if kind == "table":
        prof = load_profile(project_dir, profile, SourceMap())
        if prof.engine.type == "spark" and database is None:
            return _live_spark_table(name, prof.engine.warehouse)
        return _live_table(name, database_path(project_dir, prof, database))
    if not pipeline:
        raise LiveSchemaError(f"no pipeline is known to load {obj}: give it with --pipeline")
    path = Path(pipeline)
    comp = compile_file(
        path if path.is_absolute() else project_dir / path,
        cli_vars=cli_vars,
        profile=profile,
        project_dir=project_dir,
    )
    source = next((s for n, s in comp.program.sources.items() if n.lower() == name), None)
    connector = get_connector(source.connector) if source is not None else None
    if source is None or connector is None:
        raise LiveSchemaError(f"{pipeline} declares no SOURCE {name}")
    secrets = comp.program.secrets
    params = {
        k: expand(v, secrets.get) if isinstance(v, str) else v for k, v in source.params.items()
    }
    from sqlflowc.runtime.drift import origin_of

    columns = connector.discover_schema(params, project_dir)
    if columns is None:
        raise LiveSchemaError(
            f"the {connector.name} connector cannot tell the schema of source `{source.name}` "
            "without reading its data"
        )
    return columns, origin_of(connector.name, source.params)


def _live_table(key: str, database: str) -> tuple[list[Column], str]:
    import duckdb

    from sqlflowc.runtime.table_columns import describe_table

    if database.startswith(":memory:") or not Path(database).is_file():
        raise LiveSchemaError(f"there is no database {database} to read table `{key}` from")
    try:
        with duckdb.connect(database, read_only=True) as con:
            columns = describe_table(con, key)
    except duckdb.Error as err:
        raise LiveSchemaError(f"cannot read {database}: {str(err).splitlines()[0]}") from None
    if columns is None:
        raise LiveSchemaError(f"{database} has no table `{key}`")
    return columns, f"DuckDB {database}"


def _live_spark_table(key: str, warehouse: str) -> tuple[list[Column], str]:
    """The columns of a Spark table: the schema of its Parquet files (a local warehouse)."""
    import duckdb

    from sqlflowc.names import table_key
    from sqlflowc.schema import Column

    if "://" in warehouse and not warehouse.startswith("file:"):
        raise LiveSchemaError(
            f"the Spark warehouse {warehouse} is not on this machine: table `{key}` was not "
            "read (compare with the latest snapshot instead)"
        )
    folder = Path(warehouse.removeprefix("file:")) / table_key(key)
    if not any(folder.glob("*.parquet")):
        raise LiveSchemaError(f"the Spark warehouse {warehouse} has no table `{key}`")
    pattern = str(folder / "*.parquet").replace("'", "''")
    try:
        with duckdb.connect(":memory:") as con:
            rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{pattern}')").fetchall()
    except duckdb.Error as err:
        raise LiveSchemaError(f"cannot read {folder}: {str(err).splitlines()[0]}") from None
    columns = [Column(str(r[0]), str(r[1]), r[2] != "NO") for r in rows]
    return columns, f"Spark warehouse {warehouse}"
