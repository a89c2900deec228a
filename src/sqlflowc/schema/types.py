"""DuckDB types: canonical spelling and safe widening, the rules every schema check shares.

Pure functions over DuckDB type names as `DESCRIBE` prints them; no database access.

Safe widenings (`widens(a, b)`: every value of `a` is exactly a value of `b`): the signed and
unsigned integer ladders (TINYINT → SMALLINT → INTEGER → BIGINT → HUGEINT; an unsigned type also
into any strictly wider signed one); integers into DECIMAL(p, s) with p - s digits to spare and
into FLOAT/DOUBLE where the mantissa holds them (≤ 16 bits into FLOAT, ≤ 32 into DOUBLE);
FLOAT → DOUBLE; DECIMAL(p, s) → DECIMAL(p', s') when s' ≥ s and p' - s' ≥ p - s; DATE →
TIMESTAMP (and its second/millisecond variants); TIMESTAMP_S → TIMESTAMP_MS → TIMESTAMP; a
column of type NULL (an untyped `NULL` literal) into anything. Nothing widens into VARCHAR:
turning numbers into text is a change of meaning, not a widening.

>>> normalize_type("numeric(9, 2)")
'DECIMAL(9,2)'
>>> widens("INTEGER", "BIGINT"), widens("BIGINT", "INTEGER")
(True, False)
>>> common_type("INTEGER", "UINTEGER")
'BIGINT'
"""

from __future__ import annotations

import functools

from sqlflowc.lean_dataclass import dataclass

__all__ = [
    "INTEGER_TYPES",
    "TIME_TYPES",
    "common_type",
    "is_watermark_type",
    "normalize_type",
    "widens",
]

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
INTEGER_TYPES = frozenset(_INTEGERS)  # DuckDB's integer types, signed and unsigned
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


def is_watermark_type(text: str) -> bool:
    """Whether a `LOAD ... MODE INCREMENTAL BY` column may be of type `text`: a number, a date
    or timestamp, or text — values that order the same way in every database."""
    t = normalize_type(text)
    if t == "TIMESTAMP_NS":  # the mark travels as a microsecond timestamp: the last row again
        return False
    return (
        t in TIME_TYPES
        or t in _INTEGERS
        or t in {"FLOAT", "DOUBLE", "VARCHAR"}
        or (t.startswith("DECIMAL("))
    )


@dataclass(frozen=True, slots=True)
class _Decimal:
    """`DECIMAL(precision, scale)`."""

    precision: int
    scale: int


@functools.lru_cache(maxsize=1024)
def normalize_type(text: str) -> str:
    """DuckDB's canonical spelling of a simple type (`int` → `INTEGER`, `numeric(9,2)` →
    `DECIMAL(9,2)`); nested and other types are returned upper-cased, spaces collapsed.
    Memoized (a pure function of the text: a schema capture asks for the same few types
    thousands of times)."""
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
