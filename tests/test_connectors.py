"""Connectors and export formats against real files and a real DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sqlflowc.connectors import check_export, check_source, connector_names, get_connector, registry
from sqlflowc.connectors.files.runtime import copy_options
from sqlflowc.diagnostics import Code, Reporter, Severity, render_text
from sqlflowc.ir import program
from sqlflowc.source import SourceMap, Span
from sqlflowc.sqlbuild import sql_identifier, sql_string

# -- helpers -------------------------------------------------------------------------------------


def make_source(
    connector: str, params: dict[str, Any], sources: SourceMap | None = None, name: str = "src"
) -> tuple[program.Source, SourceMap]:
    """A Source as the binder makes it: the statement's text registered, each param spanned."""
    sources = sources if sources is not None else SourceMap()
    body = json.dumps(params)
    text = f"-- test\nSOURCE {name} TYPE {connector} PARAMS {body};\n"
    fid = sources.add(f"pipeline_{len(body)}_{name}.sf", text)
    spans = {}
    for key in params:
        start = text.index(json.dumps(key) + ":")
        spans[key] = Span(fid, start, start + len(json.dumps(key)))
    src = program.Source(
        name=name,
        connector=connector,
        params=params,
        span=Span(fid, text.index("SOURCE"), len(text) - 1),
        param_spans=spans,
    )
    return src, sources


def check(
    connector: str, params: dict[str, Any], project: Path
) -> tuple[Reporter, program.Source, SourceMap]:
    src, sources = make_source(connector, params)
    reporter = Reporter()
    check_source(src, project, reporter)
    return reporter, src, sources


def load(connector: str, params: dict[str, Any], project: Path) -> tuple[list[Any], list[Any]]:
    """Validate cleanly, then run the connector's query: (rows, DESCRIBE rows)."""
    reporter, _, _ = check(connector, params, project)
    assert not reporter.has_errors, reporter.diagnostics
    c = get_connector(connector)
    assert c is not None
    sql = c.scan_sql(params, project)
    with duckdb.connect() as con:
        return con.execute(sql).fetchall(), con.execute(f"DESCRIBE {sql}").fetchall()


def types_of(describe: list[Any]) -> dict[str, str]:
    return {row[0]: row[1] for row in describe}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


_MEMORY = duckdb.connect()  # one in-memory database for the property test


# -- quoting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["plain", "it's", "''", "back\\slash", "tab\there", "ü €"])
def test_sql_string_round_trips_through_duckdb(value: str) -> None:
    with duckdb.connect() as con:
        assert con.execute(f"SELECT {sql_string(value)}").fetchall() == [(value,)]


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00")))
def test_sql_string_round_trips_any_text(value: str) -> None:
    assert _MEMORY.execute(f"SELECT {sql_string(value)}").fetchall() == [(value,)]


def test_sql_identifier_round_trips_through_duckdb() -> None:
    name = 'odd "name" here'
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT 1 AS {sql_identifier(name)}").description
    assert rows is not None and rows[0][0] == name


# -- registry -----------------------------------------------------------------------------------


def test_builtins_case_insensitive() -> None:
    assert {"CSV", "JSON", "PARQUET"} <= set(connector_names())
    for spelling in ("csv", "Csv", "CSV"):
        c = get_connector(spelling)
        assert c is not None and c.name == "CSV"
    assert get_connector("postgres") is None or "POSTGRES" in connector_names()
    assert get_connector("nope") is None


def test_builtins_are_the_declared_entry_points_and_conform() -> None:
    """A built-in is looked up without listing the entry points and without the conformance
    check a plugin gets: `registry.BUILTINS` must be what sqlflowc declares, and each one must
    pass that check."""
    import tomllib

    from sqlflowc.connectors.conformance import connector_problems

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["entry-points"]
    assert {
        name.upper(): value for name, value in declared[registry.ENTRY_POINT_GROUP].items()
    } == registry.BUILTINS
    for name in registry.BUILTINS:
        connector = get_connector(name)
        assert connector is not None and connector.name == name
        assert connector_problems(connector, name) == []


def test_unknown_connector_suggests(tmp_path: Path) -> None:
    reporter, src, _ = check("CVS", {"path": "x.csv"}, tmp_path)
    [d] = reporter.diagnostics
    assert d.code is Code.UNKNOWN_CONNECTOR
    assert "CVS" in d.message and d.help == "did you mean `CSV`?"
    assert d.span == src.span
    assert "CSV, JSON, PARQUET" in d.notes[0]


def test_plugin_from_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real distribution on sys.path declaring the entry point, imported lazily."""
    write(
        tmp_path / "site" / "demo_plugin.py",
        "from sqlflowc.connectors.files.json import JsonConnector\n"
        "class Lines(JsonConnector):\n"
        "    name = 'LINES'\n",
    )
    write(
        tmp_path / "site" / "demo_plugin-1.0.dist-info" / "METADATA",
        "Metadata-Version: 2.1\nName: demo-plugin\nVersion: 1.0\n",
    )
    write(
        tmp_path / "site" / "demo_plugin-1.0.dist-info" / "entry_points.txt",
        "[sqlflowc.connectors]\nlines = demo_plugin:Lines\nbroken = no_such_module:X\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry.clear_plugin_cache()
    try:
        assert "LINES" in connector_names()
        assert "demo_plugin" not in sys.modules
        c = get_connector("lines")
        assert c is not None and c.name == "LINES"
        write(tmp_path / "p" / "a.json", '{"x": 1}\n')
        reporter, _, _ = check("Lines", {"path": "a.json"}, tmp_path / "p")
        assert not reporter.diagnostics
        reporter, _, _ = check("BROKEN", {"path": "a.json"}, tmp_path / "p")
        [d] = reporter.diagnostics
        assert d.code is Code.UNKNOWN_CONNECTOR and "failed to import" in d.message
    finally:
        registry.clear_plugin_cache()
        sys.modules.pop("demo_plugin", None)


# -- CSV ----------------------------------------------------------------------------------------


def test_csv_types_dates_and_timestamps(tmp_path: Path) -> None:
    write(
        tmp_path / "data" / "orders.csv",
        "id,day,at,amount,note\n"
        "1,2024-01-31,2024-01-31 10:00:00,1.50,a\n"
        "2,2024-02-29,2024-02-29 23:59:59,2.25,b\n",
    )
    rows, describe = load("CSV", {"path": "data/orders.csv"}, tmp_path)
    types = types_of(describe)
    assert types["day"] == "DATE" and types["at"] == "TIMESTAMP"
    assert rows[0][1] == dt.date(2024, 1, 31)
    assert rows[1][2] == dt.datetime(2024, 2, 29, 23, 59, 59)


def test_csv_every_parameter(tmp_path: Path) -> None:
    write(
        tmp_path / "in.csv",
        "this line is a preamble\n"
        "id;name;day;at;score\n"
        "1;'x;y';31/01/2024;31/01/2024 10:00;NA\n"
        "2;'it\\'s';01/02/2024;01/02/2024 11:30;-\n"
        "3;plain;02/02/2024;02/02/2024 12:00;7\n",
    )
    params = {
        "path": "in.csv",
        "has_header": True,
        "delimiter": ";",
        "quote_char": "'",
        "escape_char": "\\",
        "encoding": "UTF-8",
        "null_values": ["NA", "-"],
        "skip_rows": 1,
        "columns": {"id": "INTEGER", "score": "DOUBLE"},
        "date_format": "%d/%m/%Y",
        "timestamp_format": "%d/%m/%Y %H:%M",
        "sample_size": -1,
    }
    rows, describe = load("CSV", params, tmp_path)
    assert types_of(describe) == {
        "id": "INTEGER",
        "name": "VARCHAR",
        "day": "DATE",
        "at": "TIMESTAMP",
        "score": "DOUBLE",
    }
    assert rows == [
        (1, "x;y", dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 10, 0), None),
        (2, "it's", dt.date(2024, 2, 1), dt.datetime(2024, 2, 1, 11, 30), None),
        (3, "plain", dt.date(2024, 2, 2), dt.datetime(2024, 2, 2, 12, 0), 7.0),
    ]


def test_csv_without_header_names_columns(tmp_path: Path) -> None:
    write(tmp_path / "raw.csv", "1,a\n2,b\n")
    params = {"path": "raw.csv", "header": False, "columns": {"n": "BIGINT", "s": "VARCHAR"}}
    rows, describe = load("CSV", params, tmp_path)
    assert types_of(describe) == {"n": "BIGINT", "s": "VARCHAR"}
    assert rows == [(1, "a"), (2, "b")]


def test_csv_null_values_as_string_and_latin1(tmp_path: Path) -> None:
    (tmp_path / "l1.csv").write_bytes("name,v\ncaf\xe9,N/A\n".encode("latin-1"))
    params = {"path": "l1.csv", "encoding": "latin1", "null_values": "N/A"}
    rows, _ = load("CSV", params, tmp_path)
    assert rows == [("café", None)]


def test_csv_glob_and_directory_match_by_name(tmp_path: Path) -> None:
    write(tmp_path / "parts" / "a.csv", "id,name\n1,x\n")
    write(tmp_path / "parts" / "b.csv", "name,id\ny,2\n")
    write(tmp_path / "parts" / "ignore.txt", "not csv\n")
    rows, _ = load("CSV", {"path": "parts/*.csv"}, tmp_path)
    assert sorted(rows) == [(1, "x"), (2, "y")]
    rows, _ = load("CSV", {"path": "parts"}, tmp_path)
    assert sorted(rows) == [(1, "x"), (2, "y")]


def test_csv_absolute_path(tmp_path: Path) -> None:
    f = write(tmp_path / "abs.csv", "a\n1\n")
    rows, _ = load("CSV", {"path": str(f)}, tmp_path / "elsewhere")
    assert rows == [(1,)]


def test_missing_file_points_at_path_param(tmp_path: Path) -> None:
    reporter, src, sources = check("CSV", {"path": "data/missing.csv"}, tmp_path)
    [d] = reporter.diagnostics
    assert d.code is Code.INPUT_NOT_FOUND
    assert d.span == src.param_spans["path"]
    assert str(tmp_path / "data" / "missing.csv") in d.message
    rendered = render_text([d], sources)
    assert ":2:" in rendered.splitlines()[0]


def test_missing_file_reported_with_other_errors(tmp_path: Path) -> None:
    reporter, _, _ = check("CSV", {"path": "nope.csv", "delimeter": ";"}, tmp_path)
    assert [d.code for d in reporter.diagnostics] == [
        Code.BAD_CONNECTOR_PARAM,
        Code.INPUT_NOT_FOUND,
    ]


def test_glob_matching_nothing(tmp_path: Path) -> None:
    reporter, src, _ = check("PARQUET", {"path": "out/*.parquet"}, tmp_path)
    [d] = reporter.diagnostics
    assert d.code is Code.INPUT_NOT_FOUND and "no file matches" in d.message
    assert d.span == src.param_spans["path"]


def test_unknown_param_lists_accepted(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    reporter, src, _ = check("CSV", {"path": "a.csv", "delimeter": ";"}, tmp_path)
    [d] = reporter.diagnostics
    assert d.code is Code.BAD_CONNECTOR_PARAM
    assert "`delimeter`" in d.message
    assert d.span == src.param_spans["delimeter"]
    assert d.help == "did you mean `delimiter`?"
    assert "delimiter" in d.notes[0] and "has_header" in d.notes[0] and "sample_size" in d.notes[0]


@pytest.mark.parametrize(
    ("connector", "params", "typo", "message", "meant"),
    [
        ("CSV", {"pth": "a.csv"}, "pth", ", which needs `path`", "path"),
        (
            "POSTGRES",
            {"host": "h", "dbname": "d", "tabel": "t"},
            "tabel",
            ": give exactly one of `table` (a table or view) or `query`",
            "table",
        ),
    ],
)
def test_a_misspelt_required_param_is_one_error_naming_both(
    tmp_path: Path, connector: str, params: dict[str, Any], typo: str, message: str, meant: str
) -> None:
    reporter, src, _ = check(connector, params, tmp_path)
    [d] = reporter.diagnostics
    assert d.code is Code.BAD_CONNECTOR_PARAM
    assert d.message == f"unknown parameter `{typo}` for {connector} source `src`{message}"
    assert d.span == src.param_spans[typo]
    assert d.help == f"did you mean `{meant}`?"


def test_a_misspelling_that_explains_nothing_leaves_the_other_error(tmp_path: Path) -> None:
    reporter, _, _ = check("CSV", {"delimeter": ";"}, tmp_path)
    assert sorted(d.message for d in reporter.diagnostics) == [
        "CSV source `src` needs parameter `path`",
        "unknown parameter `delimeter` for CSV source `src`",
    ]


def test_obsolete_params_warn(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    params = {"path": "a.csv", "batch_size": 1000, "engine": "pandas"}
    reporter, src, _ = check("CSV", params, tmp_path)
    assert not reporter.has_errors
    assert [(d.code, d.severity) for d in reporter.diagnostics] == [
        (Code.OBSOLETE_PARAM, Severity.WARNING)
    ] * 2
    assert reporter.diagnostics[0].span == src.param_spans["batch_size"]
    rows, _ = load("CSV", params, tmp_path)
    assert rows == [(1,)]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"has_header": "maybe"}, 'parameter `has_header` expects a boolean, got "maybe"'),
        ({"skip_rows": "x"}, 'parameter `skip_rows` expects an integer, got "x"'),
        ({"skip_rows": -1}, "parameter `skip_rows`: input should be greater than or equal to 0"),
        ({"null_values": 3}, "expects a string or a list of strings, got 3"),
        ({"columns": ["a"]}, "expects an object whose values are strings"),
        ({"delimiter": 5}, "parameter `delimiter` expects a string, got 5"),
        ({"quote_char": "ab"}, "expected a single character"),
        ({"encoding": "cp1252"}, "unsupported encoding; supported: utf-8, utf-16, latin-1"),
        ({"sample_size": 0}, "-1 for all rows"),
    ],
)
def test_wrong_types_name_param_and_value(
    tmp_path: Path, params: dict[str, Any], needle: str
) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    reporter, src, _ = check("CSV", {"path": "a.csv", **params}, tmp_path)
    [d] = reporter.diagnostics
    assert d.code is Code.BAD_CONNECTOR_PARAM
    assert needle in d.message, d.message
    [name] = params
    assert d.span == src.param_spans[name]


def test_missing_path_and_conflicting_header(tmp_path: Path) -> None:
    reporter, src, _ = check("JSON", {"format": "array"}, tmp_path)
    [d] = reporter.diagnostics
    assert "needs parameter `path`" in d.message and d.span == src.span
    write(tmp_path / "a.csv", "a\n1\n")
    reporter, _, _ = check("CSV", {"path": "a.csv", "header": True, "has_header": False}, tmp_path)
    [d] = reporter.diagnostics
    assert "disagree" in d.message


# -- PARQUET ------------------------------------------------------------------------------------


def write_parquet(path: Path, select: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(f"COPY ({select}) TO {sql_string(str(path))} (FORMAT parquet)")


def test_parquet_projection_and_glob(tmp_path: Path) -> None:
    write_parquet(tmp_path / "pq" / "1.parquet", "SELECT 1 AS id, 'a' AS name, 10.5 AS v")
    write_parquet(tmp_path / "pq" / "2.parquet", "SELECT 'b' AS name, 2 AS id, 20.5 AS v")
    rows, describe = load("PARQUET", {"path": "pq/*.parquet", "columns": ["name", "id"]}, tmp_path)
    assert [r[0] for r in describe] == ["name", "id"]
    assert sorted(rows) == [("a", 1), ("b", 2)]
    rows, _ = load("parquet", {"path": "pq", "combine_files": True}, tmp_path)
    assert len(rows) == 2 and len(rows[0]) == 3


def test_parquet_unknown_column(tmp_path: Path) -> None:
    write_parquet(tmp_path / "t.parquet", "SELECT 1 AS id, 'a' AS name")
    reporter, src, _ = check("PARQUET", {"path": "t.parquet", "columns": ["nmae"]}, tmp_path)
    [d] = reporter.diagnostics
    assert d.code is Code.BAD_CONNECTOR_PARAM and "`nmae`" in d.message
    assert d.help == "did you mean `name`?" and d.span == src.param_spans["columns"]


# -- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["auto", "newline_delimited", None])
def test_json_newline_delimited(tmp_path: Path, fmt: str | None) -> None:
    write(tmp_path / "e.json", '{"id": 1, "day": "2024-01-31"}\n{"id": 2, "day": "2024-02-01"}\n')
    params: dict[str, Any] = {"path": "e.json"} | ({"format": fmt} if fmt else {})
    rows, describe = load("JSON", params, tmp_path)
    assert rows == [(1, dt.date(2024, 1, 31)), (2, dt.date(2024, 2, 1))]
    assert types_of(describe)["day"] == "DATE"


def test_json_array_and_bad_format(tmp_path: Path) -> None:
    write(tmp_path / "a.json", '[{"id": 1}, {"id": 2}]')
    rows, _ = load("JSON", {"path": "a.json", "format": "array"}, tmp_path)
    assert rows == [(1,), (2,)]
    reporter, _, _ = check("JSON", {"path": "a.json", "format": "lines"}, tmp_path)
    [d] = reporter.diagnostics
    assert 'one of "auto", "newline_delimited", "array"' in d.message
    reporter, _, _ = check("JSON", {"path": "a.json", "encoding": "utf-8"}, tmp_path)
    assert [d.code for d in reporter.diagnostics] == [Code.OBSOLETE_PARAM]


# -- exports ------------------------------------------------------------------------------------


def export_check(fmt: str, options: dict[str, Any]) -> Reporter:
    sources = SourceMap()
    text = f"EXPORT t TO 'x' TYPE {fmt} OPTIONS {json.dumps(options)};"
    fid = sources.add("e.sf", text)
    spans = {
        k: Span(fid, text.index(json.dumps(k)), text.index(json.dumps(k)) + 3) for k in options
    }
    query = program.Sql(text="SELECT 1", display="SELECT 1", span=Span(fid, 0, 1))
    export = program.Export(
        query=query,
        uri="x",
        uri_display="x",
        format=fmt,
        options=options,
        span=Span(fid, 0, len(text)),
        option_spans=spans,
    )
    reporter = Reporter()
    check_export(export, reporter)
    return reporter


@pytest.mark.parametrize("fmt", ["CSV", "PARQUET", "JSON", "POSTGRES"])
def test_schema_drift_on_an_export_warns_and_is_ignored(fmt: str) -> None:
    options: dict[str, Any] = {"schema_drift": "fail"}
    if fmt == "POSTGRES":
        options |= {"host": "h", "dbname": "d", "table": "t"}
    [d] = export_check(fmt, options).diagnostics
    assert d.code is Code.OBSOLETE_PARAM and not d.is_error
    assert d.message == f"option `schema_drift` of {fmt} export has no effect here and is ignored"
    assert "SOURCE" in d.help
    connector = get_connector(fmt)
    assert connector is not None
    assert not hasattr(connector.parse_export(options), "schema_drift") or (
        connector.parse_export(options).schema_drift is None
    )


def test_validate_export() -> None:
    assert not export_check(
        "csv", {"header": False, "delimiter": "|", "compression": "gzip"}
    ).diagnostics
    assert not export_check("PARQUET", {"compression": "zstd", "row_group_size": 1000}).diagnostics
    assert not export_check("Json", {"compression": "none"}).diagnostics
    [d] = export_check("XLSX", {}).diagnostics
    assert d.code is Code.BAD_EXPORT and "CSV, JSON, PARQUET" in d.notes[0]
    [d] = export_check("CSV", {"delim": ";"}).diagnostics
    assert d.code is Code.BAD_EXPORT and d.help == "did you mean `delimiter`?"
    assert "date_format, delimiter, endpoint_url, header, partition_by, quote" in d.notes[0]
    [d] = export_check("PARQUET", {"row_group_size": 0}).diagnostics
    assert "row_group_size" in d.message and "greater than 0" in d.message
    [d] = export_check("PARQUET", {"compression": "zip"}).diagnostics
    assert "one of" in d.message


def options(fmt: str, given: dict[str, Any]) -> str:
    connector = get_connector(fmt)
    assert connector is not None
    return copy_options(connector.parse_export(given))


def test_copy_options_text() -> None:
    assert options("csv", {}) == "(FORMAT csv, HEADER true, DELIMITER ',')"
    assert options("CSV", {"header": False, "quote": "'", "date_format": "%d/%m/%Y"}) == (
        "(FORMAT csv, HEADER false, DELIMITER ',', QUOTE '''', DATEFORMAT '%d/%m/%Y')"
    )
    assert options("parquet", {"compression": "none", "row_group_size": 5}) == (
        "(FORMAT parquet, COMPRESSION 'uncompressed', ROW_GROUP_SIZE 5)"
    )
    assert options("json", {"compression": "gzip"}) == "(FORMAT json, COMPRESSION 'gzip')"


# -- CSV detected once ---------------------------------------------------------------------------

_SNIFF_CASES = {
    "quoted": ('a,b,c\n1,"x, y",2024-01-31\n2,"say ""hi""",2024-02-01\n', {}),
    "semicolons": ("a;b\n1;2.5\n3;4\n", {"delimiter": ";"}),
    "timestamps": ("t,n\n2024-01-31 10:00:00,1\n2024-02-01 11:30:00,\n", {}),
    "header only": ("a,b\n", {}),
    "duplicate names": ("a,a,\n1,2,3\n", {}),
    "crlf and booleans": ("a,b\r\ntrue,x\r\nfalse,\r\n", {}),
    "tabs": ("a\tb\n1\tx y\n", {"delimiter": "\t"}),
    "no header": ("01/02/2024,5\n03/04/2024,6\n", {"header": False}),
    "no header, typed": ("1,a\n2,b\n", {"header": False, "columns": {"n": "INTEGER", "s": "TEXT"}}),
    "every parameter": (
        "preamble\nid;name;day;at;score\n1;'x;y';31/01/2024;31/01/2024 10:00;NA\n"
        "2;'it\\'s';01/02/2024;01/02/2024 11:30;-\n",
        {
            "delimiter": ";",
            "quote_char": "'",
            "escape_char": "\\",
            "null_values": ["NA", "-"],
            "skip_rows": 1,
            "columns": {"id": "INTEGER"},
            "date_format": "%d/%m/%Y",
            "timestamp_format": "%d/%m/%Y %H:%M",
            "sample_size": -1,
        },
    ),
    "types override": ("a,b\n1,2\n3,4\n", {"columns": {"b": "VARCHAR"}}),
    "latin-1": ("name\ncaf\xe9\n", {"encoding": "latin-1"}),
    "one sampled row": ("a\n1\n2\n", {"sample_size": 1}),
}


@pytest.mark.parametrize("case", list(_SNIFF_CASES))
def test_csv_sniffed_once_reads_what_the_scan_reads(tmp_path: Path, case: str) -> None:
    """A CSV file's schema capture asks DuckDB's sniffer once, and the load reads the file with
    what it found (`FileRuntime.sniffed_scan`): the same columns as the scan's DESCRIBE and the
    same rows as the scan, whatever the dialect and the options."""
    from sqlflowc.connectors.files.runtime import FileRuntime
    from sqlflowc.connectors.runtime import ReadRequest

    text, options = _SNIFF_CASES[case]
    encoding = "latin-1" if options.get("encoding") == "latin-1" else "utf-8"
    (tmp_path / "in.csv").write_text(text, encoding=encoding, newline="")
    connector = get_connector("CSV")
    assert connector is not None
    params = connector.parse({"path": "in.csv", **options})
    runtime = connector.runtime()
    assert isinstance(runtime, FileRuntime)
    with duckdb.connect() as con:
        sniffed = runtime.sniffed_scan(params, ReadRequest(project_dir=tmp_path, connection=con))
        scan = connector.scan_parsed(params, tmp_path)
        if case == "no header, typed":  # the sniffer refuses types it would not detect
            assert sniffed is None
            return
        assert (
            sniffed is not None and sniffed.scan == scan and "auto_detect=false" in sniffed.pinned
        )
        assert runtime.discover_schema(
            params, ReadRequest(project_dir=tmp_path, connection=con)
        ) == (sniffed.columns)
        assert con.execute(sniffed.pinned).fetchall() == con.execute(scan).fetchall()


def test_csv_sniffed_once_only_for_one_local_file(tmp_path: Path) -> None:
    from sqlflowc.connectors.files.runtime import FileRuntime
    from sqlflowc.connectors.runtime import ReadRequest

    write(tmp_path / "d" / "a.csv", "x\n1\n")
    write(tmp_path / "d" / "b.csv", "x\n2\n")
    connector = get_connector("CSV")
    assert connector is not None
    runtime = connector.runtime()
    assert isinstance(runtime, FileRuntime)
    with duckdb.connect() as con:
        request = ReadRequest(project_dir=tmp_path, connection=con)
        for path in ("d/*.csv", "d", "d/missing.csv"):
            assert runtime.sniffed_scan(connector.parse({"path": path}), request) is None
        assert runtime.sniffed_scan(connector.parse({"path": "d/a.csv"}), request) is not None
