"""The S3 connector's compile-time face: `SOURCE s TYPE S3 PARAMS {...}` and `EXPORT ... TYPE S3`.

An S3 source is a CSV, PARQUET or JSON source whose path is on S3, written the way the earlier
releases (and most tools) write it:

- where: `uri` (`s3://bucket/key`, globs allowed), or `bucket` with `key` (an object or a glob)
  or `path_prefix` (every object of the format below the prefix, hive directories included);
- what: `format` (alias `file_format`): `csv`, `parquet` or `json` — or JSON's own layouts
  `newline_delimited` and `array` — else the key's extension (`.csv`, `.tsv`, `.parquet`,
  `.json`, `.jsonl`, `.ndjson`, before any `.gz`/`.zst`);
- the credentials (`S3Credentials`: a profile connection of `type: s3`) and every parameter of
  the format's local connector (`delimiter`, `columns`, `null_values`, ...).

`file_source(params)` turns them into the file connector's type and parameters (`path` = the
S3 URI); checks, parsing, the plan (a run-time read) and the run all go through that connector,
so an S3 source behaves exactly as the same files would locally. An EXPORT `TYPE S3` takes
`format` (else the target's extension), `partition_by` and the format's export options.
Nothing here imports s3fs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sqlflowc.connectors.base import Connector, source_site
from sqlflowc.connectors.files.base import FileConnector, FileExportOptions
from sqlflowc.connectors.params import ParamSite, check_params
from sqlflowc.connectors.registry import get_connector
from sqlflowc.connectors.s3.params import S3Credentials, is_s3
from sqlflowc.diagnostics import Code, Reporter
from sqlflowc.source import Span
from sqlflowc.validation import validate

if TYPE_CHECKING:
    from sqlflowc.ir import program  # annotations only: the IR is the compiler's

__all__ = ["S3Connector", "S3ExportOptions", "S3Params", "file_export", "file_source"]

FORMATS = ("csv", "parquet", "json")
JSON_LAYOUTS = ("newline_delimited", "array")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
_COMPRESSED = (".gz", ".gzip", ".zst", ".zstd")
_OWN = frozenset({"uri", "bucket", "key", "path_prefix", "format", "file_format"})
Format = Literal["csv", "parquet", "json", "newline_delimited", "array", "auto"]


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Params(S3Credentials):
    """What `sqlflowc connect list` shows for S3 (the format's parameters come on top)."""

    uri: str | None = None
    bucket: str | None = None
    key: str | None = None
    path_prefix: str | None = None
    format: Format | None = None
    file_format: Literal["csv", "parquet", "json"] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class S3ExportOptions(FileExportOptions):
    """`EXPORT ... TYPE S3 OPTIONS {...}`: the format and its options."""

    format: Literal["csv", "parquet", "json"] | None = None
    file_format: Literal["csv", "parquet", "json"] | None = None
    header: bool | None = None
    delimiter: str | None = None
    quote: str | None = None
    date_format: str | None = None
    compression: str | None = None
    row_group_size: int | None = None


class S3Error(ValueError):
    """S3 parameters that name no object or no format; `key` is the parameter to point at."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def format_of(location: str) -> str | None:
    """`csv`, `parquet` or `json` from a key's extension (compression suffixes skipped)."""
    name = location.rsplit("/", 1)[-1].lower()
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    return _EXTENSIONS.get(Path(name).suffix)


def file_source(params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The file connector type and its parameters for S3 source `params` (module docstring);
    raises `S3Error` when they name no object or no format."""
    uri, bucket = params.get("uri"), params.get("bucket")
    key, prefix = params.get("key"), params.get("path_prefix")
    if uri is not None and (bucket is not None or key is not None or prefix is not None):
        raise S3Error("give `uri`, or `bucket` with `key` or `path_prefix`, not both", "uri")
    if uri is not None:
        if not isinstance(uri, str) or not is_s3(uri):
            raise S3Error("`uri` must be an s3://bucket/key URI", "uri")
        location = uri
    elif isinstance(bucket, str) and bucket.strip("/"):
        if key is not None and prefix is not None:
            raise S3Error("give `key` or `path_prefix`, not both", "path_prefix")
        rest = key if isinstance(key, str) else f"{prefix.strip('/')}/" if prefix else ""
        if not isinstance(rest, str) or not rest:
            raise S3Error("give `key` (an object or a glob) or `path_prefix` with `bucket`")
        location = f"s3://{bucket.strip('/')}/{rest.lstrip('/')}"
    else:
        raise S3Error("give `uri` (s3://bucket/key), or `bucket` with `key` or `path_prefix`")
    chosen = params.get("file_format") or params.get("format")
    given = {k: v for k, v in params.items() if k not in _OWN}
    if isinstance(chosen, str) and chosen.lower() in JSON_LAYOUTS:
        given["format"] = chosen.lower()
        chosen = "json"
    if chosen is None or (isinstance(chosen, str) and chosen.lower() == "auto"):
        chosen = format_of(location)
        if chosen is None:
            raise S3Error(
                f"cannot tell the format of `{location}`: give `format` (csv, parquet or json)",
                "uri" if uri is not None else None,
            )
    if not isinstance(chosen, str) or chosen.lower() not in FORMATS:
        raise S3Error("`format` must be csv, parquet or json", "format")
    return chosen.upper(), {**given, "path": location}


def file_export(target: str, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The file export type and its options for an EXPORT `TYPE S3` to `target`."""
    chosen = options.get("file_format") or options.get("format") or format_of(target)
    if not isinstance(chosen, str) or chosen.lower() not in FORMATS:
        raise S3Error(
            f"cannot tell the format to write `{target}` in: give `format` (csv, parquet or json)",
            "format",
        )
    given = {
        k: v
        for k, v in options.items()
        if k not in ("format", "file_format") and (v is not None or k == "connection")
    }
    return chosen.upper(), given


def _files(type_name: str) -> FileConnector:
    connector = get_connector(type_name)
    assert isinstance(connector, FileConnector), f"{type_name} is a built-in file connector"
    return connector


class S3Connector(Connector):
    """`SOURCE s TYPE S3 PARAMS {"uri": "s3://lake/events/*.parquet", "connection": "lake"}`."""

    name: ClassVar[str] = "S3"
    description: ClassVar[str] = (
        "CSV, Parquet or JSON objects on S3 or any S3-protocol store (MinIO); an export target"
    )
    params_schema: ClassVar[type[Any]] = S3Params
    export_schema: ClassVar[type[Any] | None] = S3ExportOptions
    runtime_class: ClassVar[str | None] = "sqlflowc.connectors.s3.runtime:S3Runtime"

    def check(
        self,
        source: program.Source,
        project_dir: Path,
        reporter: Reporter,
        *,
        produced: bool = False,
    ) -> None:
        site = source_site(self.name, source)
        try:
            kind, given = file_source(source.params)
        except S3Error as err:
            span = site.value_span(err.key) if err.key else source.span
            reporter.error(Code.BAD_CONNECTOR_PARAM, f"S3 source `{source.name}`: {err}", span)
            return
        files = _files(kind)
        where = "uri" if "uri" in source.params else "bucket"
        spans = {**source.param_spans, "path": source.param_spans.get(where, source.span)}
        site = ParamSite(
            code=site.code,
            owner=f"S3 source `{source.name}` ({kind} objects)",
            noun=site.noun,
            span=site.span,
            value_spans=spans,
            key_spans=site.key_spans,
            unknown_label=site.unknown_label,
        )
        obsolete = {name: files.obsolete_help(name, source) for name in files.obsolete_params}
        params = check_params(files.params_schema, given, site, reporter, obsolete=obsolete)
        if params is not None:
            files.check_parsed(params, source, project_dir, reporter)

    def location(self, params: Mapping[str, Any], project_dir: Path) -> str | None:
        try:
            return str(file_source(params)[1]["path"])
        except S3Error:
            return None  # reported by `check`

    def parse(self, params: Mapping[str, Any]) -> Any:
        """The format's file parameters; a connection's fields alone (no object named, as
        `sqlflowc connect test` has them, a `bucket` at most) give `S3Params`."""
        if not any(params.get(k) is not None for k in ("uri", "key", "path_prefix")):
            return validate(S3Params, dict(params))
        kind, given = file_source(params)
        return _files(kind).parse(given)

    def check_target(
        self, target: str, options: Mapping[str, Any], span: Span, reporter: Reporter
    ) -> None:
        """An `s3://` target, and options valid for the format it is written in."""
        if not is_s3(target):
            reporter.error(
                Code.BAD_EXPORT,
                f"an S3 export goes to an s3://bucket/key URI, not `{target}`",
                span,
                help="write TO 's3://bucket/path/file.parquet'",
            )
            return
        try:
            kind, given = file_export(target, options)
        except S3Error as err:
            reporter.error(Code.BAD_EXPORT, str(err), span)
            return
        files = _files(kind)
        files.check_target(target, given, span, reporter)
        try:
            files.parse_export(given)
        except ValueError as err:
            reporter.error(Code.BAD_EXPORT, f"S3 export as {kind}: {err}", span)
