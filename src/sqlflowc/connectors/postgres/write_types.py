"""DuckDB → PostgreSQL types, the write direction of `types`.

Writing (DuckDB → PostgreSQL). `write_transfer(name, duckdb_type)` gives the PostgreSQL type a
new table's column gets and the DuckDB expression DuckDB's CSV writer prints for it:
BOOLEAN → boolean; TINYINT/SMALLINT/UTINYINT → smallint; INTEGER/USMALLINT → integer;
BIGINT/UINTEGER → bigint; UBIGINT → numeric(20,0); HUGEINT/UHUGEINT → numeric(39,0);
DECIMAL(p,s) → numeric(p,s); FLOAT → real; DOUBLE → double precision; VARCHAR/ENUM → text;
BLOB → bytea (printed `\\x` + hex); DATE, TIME, TIMETZ, TIMESTAMP (and _S, _MS),
TIMESTAMPTZ, INTERVAL, UUID → their PostgreSQL namesakes; JSON, STRUCT, MAP → jsonb;
BIT → varbit; a LIST of a scalar → an array of its type (printed as an array literal).
TIMESTAMP_NS (PostgreSQL keeps microseconds), nested lists and unions are `Unsupported`.
"""

from __future__ import annotations

from sqlglot import exp

from sqlflowc.connectors.postgres.types import Unsupported, WriteTransfer, fill, sql_template

__all__ = ["write_transfer"]

_TO_PG: dict[str, str] = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "UTINYINT": "smallint",
    "INTEGER": "integer",
    "USMALLINT": "integer",
    "BIGINT": "bigint",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "HUGEINT": "numeric(39,0)",
    "UHUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BLOB": "bytea",
    "DATE": "date",
    "TIME": "time",
    "TIME WITH TIME ZONE": "timetz",
    "TIMETZ": "timetz",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMPTZ": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
    "BIT": "varbit",
    '"NULL"': "text",
    "NULL": "text",
}
_PG_ARRAY_ELEMENT = (
    "CASE WHEN x IS NULL THEN 'NULL' "
    "ELSE '\"' || REPLACE(REPLACE({text}, '\\', '\\\\'), '\"', '\\\"') || '\"' END"
)
_PG_ARRAY = "'{{' || ARRAY_TO_STRING(LIST_TRANSFORM(:v, LAMBDA x : {element}), ',') || '}}'"


def _split_list(duck: str) -> str | None:
    """The element type of a DuckDB LIST or ARRAY type (`INTEGER[]`, `INTEGER[3]`), else None."""
    if not duck.endswith("]"):
        return None
    depth = 0
    for i in range(len(duck) - 1, -1, -1):
        ch = duck[i]
        if ch == "]":
            depth += 1
        elif ch == "[":
            depth -= 1
            if depth == 0:
                return duck[:i]
    return None


def _scalar_to_pg(duck: str) -> tuple[str, str] | None:
    """(PostgreSQL type, CSV template over :v) of a non-list DuckDB type, or None."""
    upper = " ".join(duck.upper().split())
    if upper in _TO_PG:
        template = "'\\x' || HEX(:v)" if upper == "BLOB" else ":v"
        if upper == "BIT":
            template = "CAST(:v AS VARCHAR)"
        return _TO_PG[upper], template
    if upper.startswith(("DECIMAL(", "NUMERIC(")):
        inner = upper[upper.index("(") + 1 : -1].replace(" ", "")
        return f"numeric({inner})", ":v"
    if upper.startswith("ENUM("):
        return "text", "CAST(:v AS VARCHAR)"
    if upper.startswith(("STRUCT(", "MAP(")):
        return "jsonb", "CAST(TO_JSON(:v) AS VARCHAR)"
    return None


def write_transfer(name: str, duck: str) -> WriteTransfer | Unsupported:
    """How column `name` of DuckDB type `duck` is written (see the module docstring)."""
    column = exp.column(exp.to_identifier(name, quoted=True))
    element = _split_list(duck)
    if element is None:
        scalar = _scalar_to_pg(duck)
        if scalar is None:
            return _refuse_duck(name, duck)
        pg, template = scalar
        return WriteTransfer(name, duck, pg, fill(template, column))
    scalar = _scalar_to_pg(element) if _split_list(element) is None else None
    if scalar is None or scalar[0] == "jsonb":
        return _refuse_duck(name, duck)
    pg, template = scalar
    text = sql_template(template if template != ":v" else "CAST(:v AS VARCHAR)")
    element_text = exp.replace_placeholders(text.copy(), v=exp.column("x"))
    element_sql = _PG_ARRAY_ELEMENT.format(text=element_text.sql(dialect="duckdb"))
    array = fill(_PG_ARRAY.format(element=element_sql), column)
    return WriteTransfer(name, duck, f"{pg}[]", array)


def _refuse_duck(name: str, duck: str) -> Unsupported:
    upper = duck.upper()
    if upper == "TIMESTAMP_NS":
        reason = "PostgreSQL keeps timestamps to the microsecond; TIMESTAMP_NS would be rounded"
        help = f'cast it: `CAST("{name}" AS TIMESTAMP)`'
    elif _split_list(duck) is not None:
        reason = f"{duck} has no PostgreSQL array counterpart (nested lists, structs in lists)"
        help = f'convert it to JSON: `TO_JSON("{name}")`'
    else:
        reason = f"{duck} has no PostgreSQL counterpart"
        help = f'cast it to a supported type, e.g. `CAST("{name}" AS VARCHAR)`'
    return Unsupported(name, duck, reason, help)
