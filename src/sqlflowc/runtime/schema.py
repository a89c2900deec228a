"""Schema compatibility between the data a load writes and the table it writes to (§5.2-5.3).

Pure functions over DuckDB type names as `DESCRIBE` prints them; no database access, so the
compile-time check (`passes/check_schemas.py`) and the executor (`runtime/load_modes.py`) share
one set of rules and one wording.

Contract of `compare(table, source, target, policy, keys=...)`:
- Columns match **by name**, case-insensitively (as DuckDB resolves identifiers); order never
  matters.
- A source column the target lacks is a `SCHEMA_EXTRA_COLUMN` problem under `strict`; under
  `evolve` it becomes an `ADD COLUMN` (nullable) in `SchemaDiff.add`.
- A target column the source lacks is filled with its DEFAULT or NULL; when it is NOT NULL
  without a DEFAULT that is a `SCHEMA_MISSING_COLUMN` problem under either policy.
- Types: the source type must be the target type or safely widen to it (`widens`). When the
  target's type safely widens to a common type that holds both, that is a `SCHEMA_NARROWING`
  problem under `strict` and an `ALTER COLUMN ... TYPE` in `SchemaDiff.alter` under `evolve`.
  Anything else is `SCHEMA_TYPE_MISMATCH` under either policy.
- Every key column must exist in the source and, unless the target is being created, in the
  target (`KEY_COLUMN_MISSING`).
`by_column_problem` checks an INCREMENTAL `BY` column: a DATE or TIMESTAMP column of the query.
Each problem names the table, the column, both types, and what to change.

Safe widenings (`widens(a, b)`: every value of `a` is exactly a value of `b`): the signed and
unsigned integer ladders (TINYINT → SMALLINT → INTEGER → BIGINT → HUGEINT; an unsigned type also
into any strictly wider signed one); integers into DECIMAL(p, s) with p - s digits to spare and
into FLOAT/DOUBLE where the mantissa holds them (≤ 16 bits into FLOAT, ≤ 32 into DOUBLE);
FLOAT → DOUBLE; DECIMAL(p, s) → DECIMAL(p', s') when s' ≥ s and p' - s' ≥ p - s; DATE →
TIMESTAMP (and its second/millisecond variants); TIMESTAMP_S → TIMESTAMP_MS → TIMESTAMP; a
column of type NULL (an untyped `NULL` literal) into anything. Nothing widens into VARCHAR:
turning numbers into text is a change of meaning, not a widening.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlflowc.diagnostics import Code

__all__ = [
    "TIME_TYPES",
    "Column",
    "Policy",
    "Problem",
    "SchemaDiff",
    "by_column_problem",
    "common_type",
    "compare",
    "normalize_type",
    "widens",
]

Policy = Literal["strict", "evolve"]

# name → (bits, signed)
_INTEGERS: dict[str, tuple[int, bool]] = {
    "TINYINT": (8, True),
    "SMALLINT": (16, True),
    "INTEGER": (32, True),
    "BIGINT": (64, True),
    "HUGEINT": (128, True),
    "UTINYINT": (8, False),
    "USMALLINT": (16, False),
    "UINTEGER": (32, False),
    "UBIGINT": (64, False),
    "UHUGEINT": (128, False),
}
# Decimal digits needed to hold every value of an integer type.
_DIGITS = {8: 3, 16: 5, 32: 10, 64: 20, 128: 39}
_SIGNED_BY_BITS = {bits: name for name, (bits, signed) in _INTEGERS.items() if signed}
_ALIASES = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT8": "BIGINT",
    "INT2": "SMALLINT",
    "INT1": "TINYINT",
    "LONG": "BIGINT",
    "SHORT": "SMALLINT",
    "INT128": "HUGEINT",
    "UINT128": "UHUGEINT",
    "REAL": "FLOAT",
    "FLOAT4": "FLOAT",
    "FLOAT8": "DOUBLE",
    "NUMERIC": "DECIMAL",
    "TEXT": "VARCHAR",
    "STRING": "VARCHAR",
    "BPCHAR": "VARCHAR",
    "CHAR": "VARCHAR",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "TIMESTAMP_US": "TIMESTAMP",
    '"NULL"': "NULL",
}
# Timestamp precisions, coarse to fine; each widens into the finer ones up to microseconds.
_TIMESTAMPS = ("TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP")
_MAX_DECIMAL = 38
# What an INCREMENTAL `BY` column may be.
TIME_TYPES = frozenset(
    {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ"}
)


@dataclass(frozen=True, slots=True)
class Column:
    """One column as DuckDB describes it; `default` is the DEFAULT expression, if any."""

    name: str
    type: str
    nullable: bool = True
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """One incompatibility: `column` is None for problems of the whole table."""

    code: Code
    message: str
    help: str
    column: str | None = None


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """The verdict: problems (nothing may be written), else what `evolve` changes first."""

    problems: tuple[Problem, ...] = ()
    add: tuple[Column, ...] = ()
    alter: tuple[Column, ...] = ()  # the column with its new type
    missing: tuple[str, ...] = ()  # target columns the source does not carry

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Decimal:
    precision: int
    scale: int


def normalize_type(text: str) -> str:
    """DuckDB's canonical spelling of a simple type (`int` → `INTEGER`, `numeric(9,2)` →
    `DECIMAL(9,2)`); nested and other types are returned upper-cased, spaces collapsed."""
    upper = " ".join(text.strip().upper().split())
    base, paren, rest = upper.partition("(")
    base = base.strip()
    base = _ALIASES.get(base, base)
    if paren and base in {"DECIMAL", "VARCHAR"}:
        if base == "VARCHAR":
            return "VARCHAR"  # DuckDB ignores a VARCHAR length
        args = rest.rstrip(")").replace(" ", "")
        return f"DECIMAL({args})" if "," in args else f"DECIMAL({args},0)"
    if base == "DECIMAL" and not paren:
        return "DECIMAL(18,3)"  # DuckDB's default
    return base + (paren + rest if paren else "")


def _decimal(t: str) -> _Decimal | None:
    if not t.startswith("DECIMAL("):
        return None
    try:
        p, s = (int(x) for x in t[len("DECIMAL(") : -1].split(","))
    except ValueError:
        return None
    return _Decimal(p, s)


def widens(source: str, target: str) -> bool:
    """True when every value of type `source` is exactly representable in type `target`."""
    a, b = normalize_type(source), normalize_type(target)
    if a == b or a == "NULL":
        return True
    if a in _INTEGERS:
        bits, signed = _INTEGERS[a]
        if b in _INTEGERS:
            bits_b, signed_b = _INTEGERS[b]
            if signed == signed_b:
                return bits_b >= bits
            return signed_b and not signed and bits_b > bits
        dec = _decimal(b)
        if dec is not None:
            return dec.precision - dec.scale >= _DIGITS[bits]
        return (b == "FLOAT" and bits <= 16) or (b == "DOUBLE" and bits <= 32)
    if a == "FLOAT":
        return b == "DOUBLE"
    da, db = _decimal(a), _decimal(b)
    if da is not None and db is not None:
        return db.scale >= da.scale and db.precision - db.scale >= da.precision - da.scale
    if a == "DATE":
        return b in _TIMESTAMPS
    if a in _TIMESTAMPS and b in _TIMESTAMPS:
        return _TIMESTAMPS.index(b) >= _TIMESTAMPS.index(a)
    return False


def common_type(source: str, target: str) -> str | None:
    """The narrowest type both widen into, when one exists (`INTEGER`, `UINTEGER` → `BIGINT`;
    `DECIMAL(10,4)`, `DECIMAL(12,2)` → `DECIMAL(14,4)`); None when there is none."""
    a, b = normalize_type(source), normalize_type(target)
    if widens(a, b):
        return b
    if widens(b, a):
        return a
    if a in _INTEGERS and b in _INTEGERS:
        need = max(_INTEGERS[a][0], _INTEGERS[b][0]) * 2  # a signed type strictly wider
        return _SIGNED_BY_BITS.get(need)
    da = _decimal(a) or (_int_as_decimal(a) if a in _INTEGERS else None)
    db = _decimal(b) or (_int_as_decimal(b) if b in _INTEGERS else None)
    if da is not None and db is not None:
        scale = max(da.scale, db.scale)
        digits = max(da.precision - da.scale, db.precision - db.scale)
        if digits + scale <= _MAX_DECIMAL:
            return f"DECIMAL({digits + scale},{scale})"
    return None


def _int_as_decimal(t: str) -> _Decimal:
    return _Decimal(_DIGITS[_INTEGERS[t][0]], 0)


def compare(
    table: str,
    source: Sequence[Column],
    target: Sequence[Column] | None,
    policy: Policy,
    *,
    keys: Iterable[str] = (),
) -> SchemaDiff:
    """Check writing `source` into `target` (None: the target does not exist yet)."""
    problems: list[Problem] = []
    src = {c.name.lower(): c for c in source}
    for key in keys:
        if key.lower() not in src:
            problems.append(_missing_key(table, key, "the source", source))
        elif target is not None and key.lower() not in {c.name.lower() for c in target}:
            problems.append(_missing_key(table, key, f"table `{table}`", target))
    if target is None:
        return SchemaDiff(problems=tuple(problems))
    tgt = {c.name.lower(): c for c in target}
    add: list[Column] = []
    alter: list[Column] = []
    for col in source:
        have = tgt.get(col.name.lower())
        if have is None:
            if policy == "evolve" and normalize_type(col.type) != "NULL":
                add.append(Column(col.name, col.type))
            else:
                problems.append(_extra_column(table, col, policy))
            continue
        if widens(col.type, have.type):
            continue
        wider = common_type(col.type, have.type)
        if wider is None:
            problems.append(_mismatch(table, col, have))
        elif policy == "evolve":
            alter.append(Column(have.name, wider, have.nullable, have.default))
        else:
            problems.append(_narrowing(table, col, have, wider))
    missing = tuple(c.name for c in target if c.name.lower() not in src)
    for name in missing:
        have = tgt[name.lower()]
        if not have.nullable and have.default is None:
            problems.append(
                Problem(
                    Code.SCHEMA_MISSING_COLUMN,
                    f"column `{have.name}` of table `{table}` is {have.type} NOT NULL, "
                    "but the source has no such column",
                    f"select a value for `{have.name}` in the query, or give the column a "
                    f"DEFAULT (`ALTER TABLE {table} ALTER COLUMN {have.name} SET DEFAULT ...`)",
                    have.name,
                )
            )
    return SchemaDiff(problems=tuple(problems), add=tuple(add), alter=tuple(alter), missing=missing)


def _names(columns: Sequence[Column]) -> str:
    """The column names for a help: `` `a`, `b` ``, or `none`."""
    return ", ".join(f"`{c.name}`" for c in columns) or "none"


def _missing_key(table: str, key: str, where: str, columns: Sequence[Column]) -> Problem:
    return Problem(
        Code.KEY_COLUMN_MISSING,
        f"key column `{key}` of table `{table}` is not a column of {where}",
        f"the key columns must be in both the source and the table; {where} has: {_names(columns)}",
        key,
    )


def _extra_column(table: str, col: Column, policy: Policy) -> Problem:
    if normalize_type(col.type) == "NULL":
        return Problem(
            Code.SCHEMA_EXTRA_COLUMN,
            f"table `{table}` has no column `{col.name}`, and the source's `{col.name}` has no "
            "type (it is an untyped NULL)",
            f"cast it in the query (`CAST(NULL AS VARCHAR) AS {col.name}`) or drop it",
            col.name,
        )
    help = (
        f"drop `{col.name}` from the query, add it with `ALTER TABLE {table} ADD COLUMN "
        f"{col.name} {col.type}`"
    )
    if policy == "strict":
        help += ", or run with `--schema-policy evolve` to add it automatically"
    return Problem(
        Code.SCHEMA_EXTRA_COLUMN,
        f"table `{table}` has no column `{col.name}` ({col.type} in the source)",
        help,
        col.name,
    )


def _mismatch(table: str, col: Column, have: Column) -> Problem:
    return Problem(
        Code.SCHEMA_TYPE_MISMATCH,
        f"column `{col.name}` of table `{table}` is {have.type}, but the source's is "
        f"{col.type}, which does not convert to {have.type} without loss",
        f"cast it in the query (`CAST({col.name} AS {have.type})`), or rebuild the table "
        "with `MODE REPLACE`",
        col.name,
    )


def _narrowing(table: str, col: Column, have: Column, wider: str) -> Problem:
    return Problem(
        Code.SCHEMA_NARROWING,
        f"column `{col.name}` of table `{table}` is {have.type}, narrower than the source's "
        f"{col.type}",
        f"cast it in the query (`CAST({col.name} AS {have.type})`), or run with "
        f"`--schema-policy evolve` to widen the column to {wider}",
        col.name,
    )


def by_column_problem(table: str, by: str, source: Sequence[Column]) -> Problem | None:
    """The problem with an INCREMENTAL `BY` column, if any: it must be a DATE or TIMESTAMP
    column of the query."""
    col = next((c for c in source if c.name.lower() == by.lower()), None)
    if col is None:
        return Problem(
            Code.KEY_COLUMN_MISSING,
            f"INCREMENTAL BY column `{by}` is not a column of the query for `{table}`",
            f"select `{by}` in the query, or name one of its columns in `BY` ({_names(source)})",
            by,
        )
    if normalize_type(col.type) not in TIME_TYPES:
        return Problem(
            Code.INCREMENTAL_COLUMN_TYPE,
            f"INCREMENTAL BY column `{col.name}` of `{table}` is {col.type}; it must be a DATE "
            "or TIMESTAMP",
            f"cast it in the query (`CAST({col.name} AS TIMESTAMP) AS {col.name}`)",
            col.name,
        )
    return None
