"""EXPORT formats: compile-time checks of `TYPE x OPTIONS {...}` and the DuckDB COPY options.

Formats (§5.6), case-insensitive:
- `CSV`: `header` (default true), `delimiter`, `quote`, `date_format`, `compression`
  (`none`, `gzip`, `zstd`, `auto`);
- `PARQUET`: `compression` (`uncompressed`/`none`, `snappy`, `gzip`, `zstd`, `brotli`, `lz4`,
  `lz4_raw`), `row_group_size` (a positive integer);
- `JSON` (newline-delimited): `compression`. The CSV-only `header`, `delimiter` and `quote`,
  which the earlier releases accepted on JSON exports (and ignored), are accepted with warning
  `OBSOLETE_PARAM` and ignored.

`validate_export` reports an unknown format or option (listing the accepted ones) as
`BAD_EXPORT` at the option's key, and a wrong value at the value; it never raises.
`copy_options` turns valid options into the parenthesised option list of
`COPY (query) TO 'file' (...)` (ignored options left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from sqlflowc.diagnostics import Code, Diagnostic, Reporter, Severity
from sqlflowc.runtime.connectors.base import sql_string
from sqlflowc.source import Span
from sqlflowc.suggest import did_you_mean
from sqlflowc.validation import Check, Gt, ValidationError, describe_type, schema_fields, validate

_TEXT_COMPRESSION = Literal["none", "gzip", "zstd", "auto"]


def _delimiter(value: str) -> str:
    if not value:
        raise ValueError("the delimiter must not be empty")
    return value


def _quote(value: str | None) -> str | None:
    if value is not None and len(value) > 1:
        raise ValueError("expected a single character")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    """Options of one export format (a schema for `sqlflowc.validation`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvOptions(_Options):
    header: bool = True
    delimiter: Annotated[str, Check(_delimiter)] = ","
    quote: Annotated[str | None, Check(_quote)] = None
    date_format: str | None = None
    compression: _TEXT_COMPRESSION | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParquetOptions(_Options):
    compression: (
        Literal["uncompressed", "none", "snappy", "gzip", "zstd", "brotli", "lz4", "lz4_raw"] | None
    ) = None
    row_group_size: Annotated[int, Gt(0)] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonOptions(_Options):
    compression: _TEXT_COMPRESSION | None = None


FORMATS: dict[str, type[_Options]] = {
    "CSV": CsvOptions,
    "PARQUET": ParquetOptions,
    "JSON": JsonOptions,
}

# Options of the earlier releases that have no effect for a format here: accepted with a warning.
IGNORED: dict[str, frozenset[str]] = {
    "JSON": frozenset({"header", "delimiter", "quote"}),  # CSV-only; JSON lines have none
}


def validate_export(
    format: str,
    options: Mapping[str, Any],
    option_spans: Mapping[str, Span],
    span: Span,
    reporter: Reporter,
    *,
    key_spans: Mapping[str, Span] | None = None,
) -> None:
    """Report an unknown format, unknown options (at the key: `key_spans`, else the value's
    span) and bad option values (at the value: `option_spans`) (compile time)."""

    def key_span(name: str) -> Span:
        return (key_spans or {}).get(name) or option_spans.get(name, span)

    model = FORMATS.get(format.strip().upper())
    if model is None:
        names = sorted(FORMATS)
        reporter.add(
            Diagnostic(
                Code.BAD_EXPORT,
                f"unknown export format `{format}`",
                span,
                Severity.ERROR,
                help=did_you_mean(format, names),
                notes=(f"export formats: {', '.join(names)}",),
            )
        )
        return
    fields = schema_fields(model)
    accepted = sorted(fields)
    ignored = IGNORED.get(format.strip().upper(), frozenset())
    known: dict[str, Any] = {}
    for name, value in options.items():
        if name in fields:
            known[name] = value
            continue
        if name in ignored:
            reporter.warning(
                Code.OBSOLETE_PARAM,
                f"option `{name}` of a {format.upper()} export has no effect here and is ignored "
                "(it is an option of CSV exports)",
                key_span(name),
                help=f"remove `{name}`",
            )
            continue
        listing = ", ".join(accepted) if accepted else "none"
        reporter.add(
            Diagnostic(
                Code.BAD_EXPORT,
                f"unknown option `{name}` for {format.upper()} export",
                key_span(name),
                Severity.ERROR,
                help=did_you_mean(name, accepted),
                notes=(f"accepted options: {listing}",),
            )
        )
    try:
        validate(model, known)
    except ValidationError as err:
        reported: set[str] = set()
        for e in err.errors:
            name = str(e.path[0]) if e.path else ""
            if name in reported:
                continue
            reported.add(name)
            detail = (
                f"expects {describe_type(fields[name].annotation)}"
                if e.kind == "type" and name
                else e.problem
            )
            reporter.error(
                Code.BAD_EXPORT,
                f"{format.upper()} export option `{name}` {detail}, got {known.get(name)!r}",
                option_spans.get(name, span),
            )


def copy_options(format: str, options: Mapping[str, Any]) -> str:
    """The COPY option list for validated options: `(FORMAT csv, HEADER true, DELIMITER ',')`."""
    key = format.strip().upper()
    model = FORMATS[key]
    ignored = IGNORED.get(key, frozenset())
    # ValidationError (a ValueError) for invalid options
    parsed = validate(model, {k: v for k, v in options.items() if k not in ignored})
    parts = [f"FORMAT {key.lower()}"]
    match parsed:
        case CsvOptions():
            parts.append(f"HEADER {'true' if parsed.header else 'false'}")
            parts.append(f"DELIMITER {sql_string(parsed.delimiter)}")
            if parsed.quote is not None:
                parts.append(f"QUOTE {sql_string(parsed.quote)}")
            if parsed.date_format is not None:
                parts.append(f"DATEFORMAT {sql_string(parsed.date_format)}")
            if parsed.compression is not None:
                parts.append(f"COMPRESSION {sql_string(parsed.compression)}")
        case ParquetOptions():
            if parsed.compression is not None:
                codec = "uncompressed" if parsed.compression == "none" else parsed.compression
                parts.append(f"COMPRESSION {sql_string(codec)}")
            if parsed.row_group_size is not None:
                parts.append(f"ROW_GROUP_SIZE {parsed.row_group_size}")
        case JsonOptions():
            if parsed.compression is not None:
                parts.append(f"COMPRESSION {sql_string(parsed.compression)}")
        case _:
            raise AssertionError(f"no COPY options for {key}")
    return "(" + ", ".join(parts) + ")"
