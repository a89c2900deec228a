"""What `sqlflowc udf list` and `sqlflowc udf info NAME` show (the CLI only prints it).

`list`: one line per UDF — name, kind (scalar, vectorized or table), signature, module and the
first line of its docstring — or the same as JSON. `info`: the full signature, each parameter's
SQL and Python types and NULL behaviour, the docstring, `file:line`, and how to call it.
A name given to `info` is looked up like a SQL call: the qualified name, a dotted suffix, or
the bare name; an unknown or ambiguous name is a diagnostic (with "did you mean").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.suggest import closest
from sqlflowc.text_table import format_table
from sqlflowc.udf import UdfKind
from sqlflowc.udf.discovery import PACKAGE, UdfCatalog
from sqlflowc.udf.signature import Udf

__all__ = ["find_udf", "project_for_udfs", "render_info", "render_list", "udf_json"]


def project_for_udfs(start: Path) -> Path:
    """The project around `start`: the nearest ancestor holding `python_udfs/`, `profiles/` or
    `sqlflow.yml`, else `start` itself."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (
            (directory / PACKAGE).is_dir()
            or (directory / "profiles").is_dir()
            or (directory / "sqlflow.yml").is_file()
        ):
            return directory
    return start


def kind_of(udf: Udf) -> str:
    if udf.kind is UdfKind.TABLE:
        return "table"
    return "vectorized" if udf.vectorized else "scalar"


def udf_json(udf: Udf, project_dir: Path | None = None) -> dict[str, Any]:
    """A UDF as plain data (what `--format json` prints)."""
    out: dict[str, Any] = {
        "name": udf.name,
        "qualified_name": udf.qualified,
        "kind": kind_of(udf),
        "signature": udf.signature(),
        "module": udf.module,
        "file": _shown_path(udf.file, project_dir),
        "line": udf.line,
        "doc": udf.first_doc_line,
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "python_type": p.annotation,
                "optional": p.optional,
                **({"default": _jsonable(p.default)} if p.has_default else {}),
            }
            for p in udf.params
        ],
    }
    if udf.kind is UdfKind.SCALAR:
        out["return_type"] = udf.return_type
    else:
        out["input"] = "pandas.DataFrame" if udf.pandas_input else "pyarrow.Table"
        out["output_schema"] = dict(udf.output_schema) if udf.output_schema is not None else None
        out["required_columns"] = list(udf.required_columns)
    return out


def render_list(catalog: UdfCatalog, project_dir: Path) -> str:
    """An aligned table of the project's UDFs, or a note when there are none."""
    if not catalog.udfs:
        return f"no Python UDFs in {_shown_path(str(project_dir / PACKAGE), None)}\n"
    head = ("NAME", "KIND", "SIGNATURE", "MODULE", "DESCRIPTION")
    rows = [(u.name, kind_of(u), u.signature(), u.module, u.first_doc_line) for u in catalog.udfs]
    lines = format_table(head, rows)
    count = len(catalog.udfs)
    lines.append(f"\n{count} UDF{'s' * (count != 1)} in {_shown_path(str(project_dir), None)}")
    return "\n".join(lines) + "\n"


def find_udf(catalog: UdfCatalog, name: str) -> Udf:
    """The one UDF `name` means; CompileError (SF0801 unknown, SF0803 ambiguous) otherwise."""
    found = catalog.lookup(name) or catalog.bare(name)
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(f"`{u.qualified}`" for u in found)
        raise CompileError(
            [
                Diagnostic(
                    Code.AMBIGUOUS_UDF,
                    f"`{name}` could be any of {listed}",
                    help=f"name one in full, e.g. `sqlflowc udf info {found[0].qualified}`",
                )
            ]
        )
    choices = [u.qualified for u in catalog.udfs] + [u.name for u in catalog.udfs]
    close = closest(name, choices)
    if close is not None:
        hint = f"did you mean `{close}`?"
    elif catalog.udfs:
        hint = "`sqlflowc udf list` shows the project's UDFs"
    else:
        hint = f"this project has no UDFs: put modules in {PACKAGE}/"
    raise CompileError([Diagnostic(Code.UNKNOWN_UDF, f"unknown UDF `{name}`", help=hint)])


def render_info(udf: Udf) -> str:
    """Everything about one UDF, for a person."""
    lines = [
        f"{udf.qualified}  ({kind_of(udf)} UDF)",
        "",
        f"  signature   {udf.signature()}",
        f"  defined at  {_shown_path(udf.file, None)}:{udf.line}",
        f"  module      {udf.module}",
    ]
    if udf.kind is UdfKind.SCALAR:
        lines.append(f"  returns     {udf.return_type}")
    else:
        lines.append(
            "  input       "
            + ("pandas.DataFrame" if udf.pandas_input else "pyarrow.Table")
            + f" (parameter `{udf.table_param}`)"
        )
        if udf.output_schema is not None:
            lines.append("  output      " + ", ".join(f"{c} {t}" for c, t in udf.output_schema))
        else:
            lines.append("  output      as returned (no output_schema declared: not checked)")
        if udf.required_columns:
            lines.append("  requires    " + ", ".join(udf.required_columns))
    if udf.params:
        lines += ["", "  parameters"]
        width = max(len(p.name) for p in udf.params)
        for p in udf.params:
            text = f"    {p.name.ljust(width)}  {p.type or 'any literal'}"
            if p.annotation:
                text += f"  (Python: {p.annotation})"
            if p.has_default:
                text += f"  default {p.default!r}"
            if udf.kind is UdfKind.SCALAR:
                text += "  NULL → None" if p.optional else "  NULL → result NULL"
            lines.append(text)
    lines += ["", "  call it in SQL"]
    args = ", ".join(p.name for p in udf.params if not p.has_default)
    if udf.kind is UdfKind.TABLE:
        extra = f", {args}" if args else ""
        lines.append(f"    SELECT * FROM {udf.name}(table_name{extra})")
        lines.append(f'    SELECT * FROM PYTHON_FUNC("{udf.qualified}", table_name{extra})')
    else:
        lines.append(f"    SELECT {udf.name}({args}) FROM ...")
        sep = ", " if args else ""
        lines.append(f'    SELECT PYTHON_FUNC("{udf.qualified}"{sep}{args}) FROM ...')
    if udf.doc.strip():
        lines += ["", *("  " + line if line else "" for line in udf.doc.strip().splitlines())]
    return "\n".join(lines) + "\n"


def _shown_path(path: str, project_dir: Path | None) -> str:
    base = project_dir if project_dir is not None else Path.cwd()
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive
        return path


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
