"""Texts of the command line that are not logic: `--version` and the examples `--help` shows.

`version_text()` reads the versions from the installed packages' metadata, so `--version` imports
none of them (DuckDB takes a quarter of a second to import).
"""

from __future__ import annotations

import platform

__all__ = ["EXAMPLES", "version_text"]

# The components whose versions decide how a pipeline compiles and runs.
_COMPONENTS = (("DuckDB", "duckdb"), ("sqlglot", "sqlglot"), ("lark", "lark"))


def version_text() -> str:
    """`sqlflowc 0.1.0` and, on a second line, DuckDB, sqlglot, lark and Python versions."""
    parts = [f"{label} {_version(dist)}" for label, dist in _COMPONENTS]
    python = f"Python {platform.python_version()} ({platform.python_implementation()})"
    return f"sqlflowc {_version('sqlflowc')}\n{', '.join([*parts, python])}"


def _version(dist: str) -> str:
    from importlib import metadata  # here: importing it costs `--help` 80 ms

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _examples(*lines: str) -> str:
    # `\b` keeps click from re-wrapping the lines.
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


EXAMPLES = {
    "cli": _examples(
        "sqlflowc init demo && cd demo",
        "sqlflowc run pipelines/example.sf",
        "sqlflowc check pipelines/",
        "sqlflowc COMMAND --help",
    ),
    "compile": _examples(
        "sqlflowc compile pipelines/example.sf",
        "sqlflowc compile pipelines/example.sf --var min_total=60 -o target/plan.json",
        "sqlflowc compile pipelines/example.sf --engine spark",
    ),
    "check": _examples(
        "sqlflowc check pipelines/example.sf",
        "sqlflowc check pipelines/ --profile prod",
        "sqlflowc check pipelines/ --format json",
        "sqlflowc check pipelines/ --engine spark",
    ),
    "run": _examples(
        "sqlflowc run pipelines/example.sf",
        "sqlflowc run pipelines/example.sf --var min_total=60 --db :memory:",
        "sqlflowc run pipelines/load.sf pipelines/report.sf --continue",
        "sqlflowc run pipelines/example.sf --jobs 1",
        "sqlflowc run target/plan.json",
        "sqlflowc run pipelines/example.sf --format json > target/last_run.json",
        "sqlflowc run pipelines/example.sf --engine spark",
        "sqlflowc run pipelines/example.sf --resume",
        "sqlflowc run pipelines/example.sf --metrics-out target/metrics/example.prom",
        "sqlflowc run pipelines/example.sf --resume 20260106T040553Z-3f9a1c --force",
    ),
    "runs": _examples(
        "sqlflowc runs",
        "sqlflowc runs --limit 5 --pipeline pipelines/example.sf",
        "sqlflowc runs --format json",
        "sqlflowc runs --compare --pipeline pipelines/example.sf --baseline 5",
    ),
    "report": _examples(
        "sqlflowc report",
        "sqlflowc report 20260106T040553Z-3f9a1c -o target/report.html",
    ),
    "status": _examples(
        "sqlflowc status",
        "sqlflowc status 20260106T040553Z-3f9a1c",
        "sqlflowc status 20260106T04 --format json",
        "sqlflowc status --compare",
    ),
    "fmt": _examples(
        "sqlflowc fmt pipelines/",
        "sqlflowc fmt --check pipelines/ pipelines/extra.sf",
    ),
    "graph": _examples(
        "sqlflowc graph pipelines/example.sf",
        "sqlflowc graph pipelines/example.sf --format html -o target/graph.html",
        "sqlflowc graph pipelines/example.sf --format dot | dot -Tsvg > graph.svg",
    ),
    "init": _examples("sqlflowc init demo"),
    "schema": _examples("sqlflowc schema list", "sqlflowc schema compare orders"),
    "schema list": _examples("sqlflowc schema list", "sqlflowc schema list --format json"),
    "schema show": _examples("sqlflowc schema show orders", "sqlflowc schema show orders @0"),
    "schema history": _examples("sqlflowc schema history orders"),
    "schema compare": _examples(
        "sqlflowc schema compare orders",
        "sqlflowc schema compare orders @1 @0",
        "sqlflowc schema compare orders --live",
    ),
    "schema accept": _examples("sqlflowc schema accept orders", "sqlflowc schema accept --all"),
    "connect": _examples("sqlflowc connect list", "sqlflowc connect test warehouse"),
    "connect list": _examples(
        "sqlflowc connect list",
        "sqlflowc connect list postgres",
        "sqlflowc connect list --format json",
    ),
    "connect test": _examples(
        "sqlflowc connect test warehouse",
        "sqlflowc connect test warehouse --profile prod",
        "sqlflowc connect test orders --pipeline pipelines/load.sf",
    ),
    "cache": _examples("sqlflowc cache clear", "sqlflowc run PIPELINE --no-cache"),
    "cache clear": _examples(
        "sqlflowc cache clear", "sqlflowc cache clear --project examples/quickstart"
    ),
    "udf": _examples("cd examples/python_udfs && sqlflowc udf list", "sqlflowc udf info NAME"),
    "udf list": _examples("sqlflowc udf list", "sqlflowc udf list --format json"),
    "udf info": _examples("sqlflowc udf info clean_name", "sqlflowc udf info text.clean_name"),
}
