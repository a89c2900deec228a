"""PostgreSQL ⇄ DuckDB types: one mapping, both directions, exact or refused with a reason.

Reading (PostgreSQL → DuckDB). Rows cross as PostgreSQL's binary COPY (`COPY (...) TO STDOUT
(FORMAT binary)`, decoded into Arrow by the ADBC PostgreSQL driver), in a session with
`DateStyle=ISO`, `IntervalStyle=postgres_verbose`, `TimeZone=UTC`, `bytea_output=hex`,
`extra_float_digits=3` for the columns sent as text. `read_transfer(name, pg_type)` says, for
one column, how:
- `duckdb_type`: smallint/integer/bigint → SMALLINT/INTEGER/BIGINT; oid → UINTEGER;
  numeric(p,s) → DECIMAL(p,s) (a negative scale or a scale above the precision widened to a
  DuckDB decimal holding every value); real/double → FLOAT/DOUBLE; boolean; text, varchar,
  char, name, citext and the types whose text is their value (inet, cidr, macaddr, xml, bit,
  tsvector, geometric types, ...) → VARCHAR; date, timestamp, timestamptz, time, timetz,
  interval → DATE, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ, INTERVAL (BC dates and ±infinity
  kept); uuid → UUID; json/jsonb → JSON; bytea → BLOB; enums → VARCHAR; a domain as its base
  type; a one-dimensional array → a LIST of its element's type.
- `warning`: set when DuckDB cannot hold every value exactly: numeric without a precision, or
  with more than 38 digits, becomes DOUBLE (about 15 significant digits). A value DOUBLE cannot
  hold at all (beyond ±1.8e308, or so small it would read as 0) is an error, never ±inf or 0.
- `wire`: `Wire.BINARY` — the driver decodes the value straight into its Arrow type (integers,
  floats, boolean, text/varchar/bpchar, date, timestamp(tz), uuid, bytea: the common types,
  decoded in C++ with no text on the way); `Wire.TEXT` — PostgreSQL sends the value's text
  (its output function) and DuckDB converts it (numeric: the driver's own decimal decoding
  costs more than PostgreSQL's text; arrays, intervals, json, and every rarer type).
- `server`: what PostgreSQL selects (arrays as JSON arrays of their elements' text).
- `convert`: the DuckDB expression from the wire value to the column's value; a value it
  cannot convert (a timestamp past DuckDB's year 294247, a multi-dimensional array) fails the
  read with the column's name, its PostgreSQL type and the value. The driver adds PostgreSQL's
  2000-01-01 epoch to dates and timestamps without a check, so ±infinity (and timestamps past
  DuckDB's range) arrive wrapped far below any real value: `convert` turns the two infinities
  back into DuckDB's and refuses the rest.
Every other type (composite, range, money, ...) is `Unsupported`, with a help that says how to
cast it in a `query`.

Writing (DuckDB → PostgreSQL) is `write_types.write_transfer`.

`duckdb_equivalent(pg_type)` is the DuckDB type of a PostgreSQL column (for comparing an
existing target with the rows written to it, with `sqlflowc.schema.widens`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

from sqlglot import exp, parse_one

__all__ = [
    "PgType",
    "ReadTransfer",
    "Unsupported",
    "Wire",
    "WriteTransfer",
    "decode_numeric_typmod",
    "duckdb_equivalent",
    "fill",
    "read_transfer",
    "sql_template",
]

MAX_DECIMAL_DIGITS = 38


class Wire(enum.Enum):
    """How a value crosses the binary COPY: decoded by the driver, or as text for DuckDB."""

    BINARY = "binary"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class PgType:
    """A column type as PostgreSQL's catalog describes it.

    `name` is `format_type(...)` (`numeric(12,2)`, `timestamp with time zone`, `mood[]`);
    `base` the `pg_type.typname` after domains are resolved (`numeric`, `timestamptz`);
    `typmod` the type modifier (-1: none); `typtype` `b` base, `e` enum, `c` composite,
    `r`/`m` range, `p` pseudo; `element` the element type of an array.
    """

    name: str
    base: str
    typmod: int = -1
    typtype: str = "b"
    element: PgType | None = None


@dataclass(frozen=True, slots=True)
class ReadTransfer:
    """How one PostgreSQL column reaches DuckDB (see the module docstring)."""

    name: str
    pg_type: PgType
    duckdb_type: str
    wire: Wire
    server: exp.Expr  # over the column, in PostgreSQL's dialect
    convert: exp.Expr | None  # over the wire value, in DuckDB's dialect
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class WriteTransfer:
    """How one DuckDB column reaches PostgreSQL."""

    name: str
    duckdb_type: str
    pg_type: str
    csv: exp.Expr  # what DuckDB prints for it, over the column


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A column whose type has no exact counterpart on the other side."""

    name: str
    type: str
    reason: str
    help: str


_TEXT_LIKE = frozenset(
    {
        "text",
        "varchar",
        "bpchar",
        "name",
        "char",
        "citext",
        "xml",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "bit",
        "varbit",
        "tsvector",
        "tsquery",
        "pg_lsn",
        "point",
        "line",
        "lseg",
        "box",
        "path",
        "polygon",
        "circle",
        "ltree",
        "hstore",
    }
)
_WIRED: dict[str, str] = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "oid": "UINTEGER",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "bool": "BOOLEAN",
}
# The types the driver decodes exactly into their Arrow (and so DuckDB) type. Not oid (the driver
# makes it a signed int32), numeric (its decoding costs more than PostgreSQL's text), nor the
# rest, which are rarer and whose text DuckDB converts as before.
_BINARY = frozenset(
    {
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "bool",
        "text",
        "varchar",
        "bpchar",
        "date",
        "timestamp",
        "timestamptz",
        "uuid",
        "bytea",
    }
)
# Types whose cast to text is not their output function (`'10.0.0.1/32'::inet::text` keeps the
# /32 that the output drops, `"char"` gives the raw byte): their output function is called.
_OUTPUT_FUNCTIONS = {"inet": "inet_out", "cidr": "cidr_out", "char": "charout"}
_CAST = "TRY_CAST(:v AS {t})"
# PostgreSQL prints BC as a suffix (`0044-03-15 BC`, `0044-03-15 12:00:00+00 BC`, the year
# always four digits); DuckDB reads `0044-03-15 (BC)` and `0044-03-15 (BC) 12:00:00+00`, and
# reads a timestamp with PostgreSQL's suffix as the same year AD, silently — hence the CASE.
_DATE = "CASE WHEN SUFFIX(:v, ' BC') THEN TRY_CAST(LEFT(:v, 10) || ' (BC)' AS DATE) ELSE {c} END"
_TIMESTAMP = (
    "CASE WHEN SUFFIX(:v, ' BC') "
    "THEN TRY_CAST(LEFT(:v, 10) || ' (BC)' || SUBSTRING(:v, 11, LENGTH(:v) - 13) AS {t}) "
    "ELSE {c} END"
)
# DOUBLE reads an out-of-range number as ±inf and a tiny one as 0: both refused.
_DOUBLE = (
    "CASE WHEN ISINF(TRY_CAST(:v AS DOUBLE)) AND NOT :v IN ('Infinity', '-Infinity') THEN NULL "
    "WHEN TRY_CAST(:v AS DOUBLE) = 0 AND TRANSLATE(:v, '0.-', '') <> '' THEN NULL "
    "ELSE TRY_CAST(:v AS DOUBLE) END"
)
_BYTEA = "CASE WHEN STARTS_WITH(:v, '\\x') THEN TRY(UNHEX(SUBSTRING(:v, 3))) END"
# The driver's dates are days since 1970 = PostgreSQL's days since 2000 + 10957, its timestamps
# microseconds since 1970 = PostgreSQL's + 946684800000000, both added without a check: the
# infinities (INT_MAX, INT_MIN) wrap to the two values below, and timestamps past DuckDB's
# range (294247 AD) wrap too — all far below PostgreSQL's earliest value (4714-11-24 BC). Such a
# timestamp is refused with its year: its days since 1970, unwrapped, less whole 400-year cycles
# (146097 days), make a date DuckDB can hold.
_BINARY_DATE = (
    "CASE WHEN :v IS NULL THEN NULL "
    "WHEN :v - DATE '1970-01-01' >= -2440588 THEN :v "
    "WHEN :v - DATE '1970-01-01' = -2147472692 THEN CAST('infinity' AS DATE) "
    "WHEN :v - DATE '1970-01-01' = -2147472691 THEN CAST('-infinity' AS DATE) "
    "ELSE ERROR({message}) END"
)
_BINARY_TIMESTAMP = (
    "CASE WHEN :v IS NULL THEN NULL "
    "WHEN EPOCH_US(:v) >= -210866803200000000 THEN :v "
    "WHEN EPOCH_US(:v) = -9222425352054775809 THEN CAST('infinity' AS {t}) "
    "WHEN EPOCH_US(:v) = -9222425352054775808 THEN CAST('-infinity' AS {t}) "
    "ELSE ERROR({message} || CAST(YEAR(DATE '1970-01-01' + CAST({days} % 146097 AS INTEGER)) "
    "+ 400 * CAST({days} // 146097 AS BIGINT) AS VARCHAR)) END"
).replace("{days}", "((CAST(EPOCH_US(:v) AS HUGEINT) + 18446744073709551616) // 86400000000)")
_BINARY_CONVERTED: dict[str, str] = {
    "date": _BINARY_DATE,
    "timestamp": _BINARY_TIMESTAMP.replace("{t}", "TIMESTAMP"),
    "timestamptz": _BINARY_TIMESTAMP.replace("{t}", "TIMESTAMPTZ"),
}
_CONVERTED: dict[str, tuple[str, str]] = {
    "date": ("DATE", _DATE.format(c=_CAST.format(t="DATE"))),
    "timestamp": ("TIMESTAMP", _TIMESTAMP.format(t="TIMESTAMP", c=_CAST.format(t="TIMESTAMP"))),
    "timestamptz": (
        "TIMESTAMP WITH TIME ZONE",
        _TIMESTAMP.format(t="TIMESTAMPTZ", c=_CAST.format(t="TIMESTAMPTZ")),
    ),
    "time": ("TIME", _CAST.format(t="TIME")),
    "timetz": ("TIME WITH TIME ZONE", _CAST.format(t="TIMETZ")),
    "interval": ("INTERVAL", _CAST.format(t="INTERVAL")),
    "uuid": ("UUID", _CAST.format(t="UUID")),
    "json": ("JSON", _CAST.format(t="JSON")),
    "jsonb": ("JSON", _CAST.format(t="JSON")),
    "bytea": ("BLOB", _BYTEA),
}
_NOT_NULL_CHECKED = (
    "CASE WHEN :v IS NULL THEN NULL ELSE COALESCE({conv}, ERROR({message} || LEFT(:v, 80))) END"
)
_ARRAY = (
    "CASE WHEN :v IS NULL THEN NULL "
    "WHEN STARTS_WITH(:v, '[[') THEN ERROR({message}) "
    "ELSE LIST_TRANSFORM(CAST(CAST(:v AS JSON) AS VARCHAR[]), LAMBDA x : :e) END"
)


@cache
def sql_template(sql: str) -> exp.Expr:
    """A DuckDB expression template with `:name` placeholders, parsed once."""
    return parse_one(sql, dialect="duckdb")


def fill(sql: str, v: exp.Expr, **more: exp.Expr) -> exp.Expr:
    """The template `sql` with `:v` replaced by `v` (and `:name` by `more[name]`)."""
    return exp.replace_placeholders(sql_template(sql).copy(), v=v, **more)


def decode_numeric_typmod(typmod: int) -> tuple[int, int] | None:
    """(precision, scale) of `numeric(p,s)` from its type modifier; None for plain numeric."""
    if typmod < 4:
        return None
    packed = typmod - 4
    precision = (packed >> 16) & 0xFFFF
    scale = ((packed & 0x7FF) ^ 1024) - 1024  # an 11-bit signed scale (PostgreSQL 15+)
    return precision, scale


def _decimal_for(precision: int, scale: int) -> str | None:
    """The DuckDB DECIMAL holding every numeric(p,s) value, or None past 38 digits."""
    digits_scale = max(scale, 0)
    total = max(precision - scale, 0) + digits_scale
    if total > MAX_DECIMAL_DIGITS:
        return None
    return f"DECIMAL({max(total, 1)},{digits_scale})"


def _scalar(pg: PgType) -> tuple[str, str | None, str | None] | Unsupported:
    """(DuckDB type, conversion template over :v, warning) of a non-array type sent as text;
    the template is None when the text is the value."""
    base = pg.base
    if pg.typtype == "e" or base in _TEXT_LIKE:
        return "VARCHAR", None, None
    if base in _WIRED:
        duck = _WIRED[base]
        return duck, _CAST.format(t=duck), None
    if base in _CONVERTED:
        duck, template = _CONVERTED[base]
        return duck, template, None
    if base == "numeric":
        numeric = decode_numeric_typmod(pg.typmod)
        decimal = _decimal_for(*numeric) if numeric is not None else None
        if decimal is not None:
            return decimal, _CAST.format(t=decimal), None
        why = (
            "numeric without a precision"
            if numeric is None
            else f"numeric with {numeric[0]} digits (DuckDB's DECIMAL holds at most 38)"
        )
        warning = f"{why} is read as DOUBLE (about 15 significant digits)"
        return "DOUBLE", _DOUBLE, warning
    kinds = {"c": "composite type", "r": "range type", "m": "multirange type", "p": "pseudo-type"}
    return Unsupported("", pg.name, f"{kinds.get(pg.typtype, 'type')} `{pg.name}`", "")


def read_transfer(name: str, pg: PgType, wire_name: str = "v") -> ReadTransfer | Unsupported:
    """How column `name` of type `pg` is read (see the module docstring); `convert` reads the
    wire value from column `wire_name`."""
    column = exp.column(exp.to_identifier(name, quoted=True))
    wire_value = exp.column(exp.to_identifier(wire_name, quoted=True))
    server: exp.Expr
    if pg.element is not None:
        element = _scalar(pg.element)
        if isinstance(element, Unsupported) or pg.element.element is not None:
            return _refuse(name, pg, f"array of {pg.element.name}")
        duck, template, warning = element
        x = exp.column("x")
        element_value = x if template is None else fill(_checked(name, pg, duck, template), x)
        message = (
            f'column "{name}" ({pg.name}): multi-dimensional arrays cannot be read; '
            "unnest them in a `query`"
        )
        array = fill(_ARRAY.format(message=_sql_string(message)), wire_value, e=element_value)
        if pg.element.base == "bpchar":  # a cast to text[] would trim the padding
            json: exp.Expr = exp.func("to_json", column)
        else:
            text_array = exp.DataType.build("text[]", dialect="postgres")
            json = exp.func("to_json", exp.Cast(this=column, to=text_array))
        server = exp.Cast(this=json, to=exp.DataType.build("text", dialect="postgres"))
        return ReadTransfer(name, pg, f"{duck}[]", Wire.TEXT, server, array, warning)
    scalar = _scalar(pg)
    if isinstance(scalar, Unsupported):
        return _refuse(name, pg, scalar.reason)
    duck, template, warning = scalar
    if pg.typtype != "e" and pg.base in _BINARY:
        # A domain arrives as its base type: PostgreSQL describes the column so.
        binary = _BINARY_CONVERTED.get(pg.base)
        message = _sql_string(
            f'column "{name}" ({pg.name}): cannot read as {duck}: '
            "a value past DuckDB's range, in the year "
        )
        convert = None if binary is None else fill(binary.format(message=message), wire_value)
        return ReadTransfer(name, pg, duck, Wire.BINARY, column, convert, warning)
    text = exp.DataType.build("text", dialect="postgres")
    if pg.base in _OUTPUT_FUNCTIONS:
        server = exp.Cast(this=exp.func(_OUTPUT_FUNCTIONS[pg.base], column), to=text)
    else:
        server = exp.Cast(this=column, to=text)
    convert = None if template is None else fill(_checked(name, pg, duck, template), wire_value)
    return ReadTransfer(name, pg, duck, Wire.TEXT, server, convert, warning)


def _checked(name: str, pg: PgType, duck: str, template: str) -> str:
    """`template` failing with the column's name instead of yielding NULL."""
    message = _sql_string(f'column "{name}" ({pg.name}): cannot read as {duck}: ')
    return _NOT_NULL_CHECKED.format(conv=template, message=message)


def _refuse(name: str, pg: PgType, what: str) -> Unsupported:
    return Unsupported(
        name,
        pg.name,
        f"DuckDB has no exact counterpart for the {what}",
        f'cast it in a `query`: `SELECT "{name}"::text AS "{name}", ...` (or ::json)',
    )


def _sql_string(text: str) -> str:
    return str(exp.Literal.string(text).sql(dialect="duckdb"))


def duckdb_equivalent(pg: PgType) -> str | None:
    """The DuckDB type a column of type `pg` reads as; None when it is not readable."""
    transfer = read_transfer("c", pg)
    return None if isinstance(transfer, Unsupported) else transfer.duckdb_type
