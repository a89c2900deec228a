"""What `sqlflowc udf list` and `sqlflowc udf info NAME` show (the CLI only prints it).

`list`: the UDFs grouped by module — name, kind (scalar, vectorized or table), signature and the
first line of the docstring, in lines of at most 100 characters — or the same as JSON. `info`:
the full signature, each parameter's SQL and Python types and NULL behaviour, the docstring,
`file:line`, and how to call it. A name given to `info` is looked up like a SQL call: the
qualified name, a dotted suffix, or the bare name; an unknown or ambiguous name is a diagnostic
(with "did you mean").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.suggest import closest
from sqlflowc.udf import UdfKind
from sqlflowc.udf.discovery import PACKAGE, UdfCatalog
from sqlflowc.udf.signature import Udf

__all__ = [
    "find_udf",
    "project_for_udfs",
    "projects_below",
    "render_info",
    "render_list",
    "udf_json",
    "wrap_signature",
]


def project_for_udfs(start: Path) -> Path | None:
    """The project around `start` (`profiles.nearest_project`); None outside any project."""
    from sqlflowc.profiles import nearest_project

    return nearest_project(start)


def projects_below(start: Path, limit: int = 8) -> list[str]:
    """The directories just below `start` that are projects, for a hint."""
    from sqlflowc.profiles import is_project_dir

    try:
        found = sorted(d.name for d in start.iterdir() if d.is_dir() and is_project_dir(d))
    except OSError:
        return []
    return found[:limit]


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
    """The project's UDFs grouped by module, each as name, kind and signature, then the first
    line of its docstring; every line fits in `WIDTH` characters (a long signature wraps after
    a comma, a long description is cut with `…`). Or a note when there are none."""
    if not catalog.udfs:
        return f"no Python UDFs in {_shown_path(str(project_dir / PACKAGE), None)}\n"
    udfs = sorted(catalog.udfs, key=lambda u: (u.module, u.name))
    name_w = max(len(u.name) for u in udfs)
    kind_w = max(len(kind_of(u)) for u in udfs)
    column = 2 + name_w + 2 + kind_w + 2
    if column > WIDTH - 40:  # a very long name: the signature goes below it
        column = 6
    room = WIDTH - column
    lines: list[str] = []
    for module in dict.fromkeys(u.module for u in udfs):
        lines.append(module)
        for u in (u for u in udfs if u.module == module):
            head = f"  {u.name.ljust(name_w)}  {kind_of(u).ljust(kind_w)}  "
            body = wrap_signature(u.signature(), room)
            if u.first_doc_line:
                body.append(_clip(u.first_doc_line, room))
            if len(head) > column:
                lines.append(head.rstrip())
                head = ""
            lines.append((head or " " * column) + body[0])
            lines.extend(" " * column + text for text in body[1:])
        lines.append("")
    count = len(udfs)
    lines.append(f"{count} UDF{'s' * (count != 1)} in {_shown_path(str(project_dir), None)}")
    return "\n".join(lines) + "\n"


WIDTH = 100


def wrap_signature(signature: str, width: int) -> list[str]:
    """`f(a INT, b VARCHAR) -> TABLE(x INT, ...)` in lines of at most `width` characters: the
    result on a line of its own (`  -> ...`) when it does not fit, and a parameter or column
    list broken after a comma, continued under its first item."""
    if len(signature) <= width:
        return [signature]
    call, arrow, result = signature.partition(" -> ")
    lines = _wrap_list(call, width)
    if arrow:
        last = f"{lines[-1]} -> {result}"
        if len(last) <= width:
            lines[-1] = last
        else:
            lines += _wrap_list(f"  -> {result}", width)
    return lines


def _wrap_list(text: str, width: int) -> list[str]:
    """`name(a, b, c)` broken after commas, continued under `a` (cut with `…` if one item is
    too long on its own)."""
    if len(text) <= width or "(" not in text or not text.endswith(")"):
        return [_clip(text, width)]
    head, _, inner = text.partition("(")
    items = inner[:-1].split(", ")
    hang = " " * (len(head) + 1)
    lines: list[str] = []
    line = f"{head}({items[0]}"
    for item in items[1:]:
        if len(line) + 2 + len(item) + 1 <= width:
            line += f", {item}"
        else:
            lines.append(_clip(line + ",", width))
            line = hang + item
    lines.append(_clip(line + ")", width))
    return lines


def _clip(text: str, width: int) -> str:
    """`text` cut to `width` characters with `…`, at a space when there is one near the end."""
    if len(text) <= width:
        return text
    cut = text[: max(0, width - 1)]
    space = cut.rfind(" ")
    if space >= width * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


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
