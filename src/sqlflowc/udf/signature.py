"""A UDF's SQL signature, read from its Python signature and its decorator's options.

Python annotation → DuckDB type: `int` BIGINT, `float` DOUBLE, `str` VARCHAR, `bool` BOOLEAN,
`datetime.date` DATE, `datetime.datetime` TIMESTAMP, `datetime.time` TIME,
`decimal.Decimal` DECIMAL(38, 10), `bytes` BLOB; `Optional[T]` / `T | None` is T and means the
function is called with `None` for a NULL argument (otherwise a NULL argument gives a NULL
result without calling it). An unannotated parameter with a default takes its default's type.
`param_types=` / `return_type=` (DuckDB type names) override the annotations. Anything else is
a `UdfDefinitionError` naming the function and the parameter.

A table UDF's first parameter receives the input table (a pandas DataFrame when annotated as
one, else a pyarrow Table); its other parameters take literal arguments from the SQL call.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlflowc.udf import UdfKind, UdfOptions

__all__ = ["Param", "Udf", "UdfDefinitionError", "describe"]

DECIMAL = "DECIMAL(38,10)"

_TYPES: Mapping[object, str] = {
    int: "BIGINT",
    float: "DOUBLE",
    str: "VARCHAR",
    bool: "BOOLEAN",
    datetime.date: "DATE",
    datetime.datetime: "TIMESTAMP",
    datetime.time: "TIME",
    decimal.Decimal: DECIMAL,
    bytes: "BLOB",
}
_NAMES = {t.__name__: name for t, name in _TYPES.items() if isinstance(t, type)}
_NAMES.update({"Decimal": DECIMAL, "date": "DATE", "datetime": "TIMESTAMP"})


class UdfDefinitionError(Exception):
    """A UDF whose signature cannot be mapped to SQL; `param` names the culprit, if any."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Param:
    """One SQL-visible parameter. `type` is a DuckDB type name (None: untyped table argument)."""

    name: str
    type: str | None
    optional: bool = False
    has_default: bool = False
    default: Any = field(default=None, compare=False)
    annotation: str = ""


@dataclass(frozen=True, slots=True)
class Udf:
    """A discovered UDF.

    `qualified` is `<module>.<name>` (e.g. `python_udfs.text.clean`), the name it is registered
    under in DuckDB; `name` is its bare SQL name. For a table UDF `params` are the parameters
    after the table, `output_schema` the declared columns (DuckDB type names, normalised).
    """

    name: str
    qualified: str
    kind: UdfKind
    module: str
    params: tuple[Param, ...]
    return_type: str | None
    file: str
    line: int
    doc: str = ""
    vectorized: bool = False
    output_schema: tuple[tuple[str, str], ...] | None = None
    required_columns: tuple[str, ...] = ()
    pandas_input: bool = False
    table_param: str = ""
    function: Callable[..., Any] = field(default=print, compare=False, repr=False)

    @property
    def min_args(self) -> int:
        return sum(1 for p in self.params if not p.has_default)

    @property
    def max_args(self) -> int:
        return len(self.params)

    @property
    def first_doc_line(self) -> str:
        return self.doc.strip().splitlines()[0].strip() if self.doc.strip() else ""

    def signature(self) -> str:
        """`clean(text VARCHAR) -> VARCHAR`; `outliers(TABLE, z DOUBLE := 3.0) -> TABLE(...)`."""
        parts = ["TABLE"] if self.kind is UdfKind.TABLE else []
        for p in self.params:
            text = f"{p.name} {p.type}" if p.type else p.name
            if p.has_default:
                text += f" := {p.default!r}"
            parts.append(text)
        if self.kind is UdfKind.SCALAR:
            result = str(self.return_type)
        elif self.output_schema is not None:
            result = "TABLE(" + ", ".join(f"{c} {t}" for c, t in self.output_schema) + ")"
        else:
            result = "TABLE"
        return f"{self.name}({', '.join(parts)}) -> {result}"


def describe(func: Callable[..., Any], options: UdfOptions, module: str, file: str) -> Udf:
    """The `Udf` for a decorated function; raises UdfDefinitionError when it cannot be typed."""
    fname = getattr(func, "__name__", "<function>")
    name = options.name or fname
    if not name.isidentifier():
        raise UdfDefinitionError(f"UDF name `{name}` of `{fname}` is not an SQL identifier")
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as err:
        raise UdfDefinitionError(f"cannot read the signature of `{fname}`: {err}") from None
    hints = _annotations(func)
    params = list(sig.parameters.values())
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise UdfDefinitionError(
                f"parameter `{p.name}` of UDF `{fname}`: `*args`/`**kwargs` cannot be called "
                "from SQL",
                p.name,
            )
    code = getattr(func, "__code__", None)
    line = int(getattr(code, "co_firstlineno", 1) or 1)
    doc = inspect.getdoc(func) or ""
    common: dict[str, Any] = {
        "name": name,
        "qualified": f"{module}.{name}",
        "module": module,
        "file": file,
        "line": line,
        "doc": doc,
        "function": func,
    }
    if options.kind is UdfKind.TABLE:
        return _table(fname, params, hints, options, common)
    return _scalar(fname, params, hints, sig, options, common)


def _scalar(
    fname: str,
    params: list[inspect.Parameter],
    hints: Mapping[str, object],
    sig: inspect.Signature,
    options: UdfOptions,
    common: dict[str, Any],
) -> Udf:
    explicit = options.param_types
    if explicit is not None and len(explicit) != len(params):
        raise UdfDefinitionError(
            f"UDF `{fname}` has {len(params)} parameter(s) but `param_types` lists {len(explicit)}"
        )
    out: list[Param] = []
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY:
            raise UdfDefinitionError(
                f"parameter `{p.name}` of UDF `{fname}` is keyword-only; SQL passes arguments "
                "by position",
                p.name,
            )
        annotation = hints.get(p.name, inspect.Parameter.empty)
        shown = _shown(annotation)
        if explicit is not None:
            sql_type, optional = _check_type_name(explicit[i], fname, p.name), False
            if annotation is not inspect.Parameter.empty:
                optional = _split_optional(annotation)[1]
        elif annotation is inspect.Parameter.empty:
            if p.default is inspect.Parameter.empty or p.default is None:
                raise UdfDefinitionError(
                    f"parameter `{p.name}` of UDF `{fname}` has no type annotation "
                    "(annotate it, e.g. `x: float`, or pass `param_types=`)",
                    p.name,
                )
            sql_type, optional = _sql_type(type(p.default), fname, p.name)
            shown = type(p.default).__name__
        else:
            sql_type, optional = _sql_type(annotation, fname, p.name)
        out.append(_param(p, sql_type, shown, optional))
    if options.return_type is not None:
        return_type = _check_type_name(options.return_type, fname, None)
    else:
        annotation = hints.get("return", sig.return_annotation)
        if annotation is inspect.Parameter.empty or annotation is None:
            raise UdfDefinitionError(
                f"the return type of UDF `{fname}` is not annotated "
                "(annotate it, e.g. `-> str`, or pass `return_type=`)"
            )
        return_type, _ = _sql_type(annotation, fname, None)
    return Udf(
        kind=UdfKind.SCALAR,
        params=tuple(out),
        return_type=return_type,
        vectorized=options.vectorized,
        **common,
    )


def _table(
    fname: str,
    params: list[inspect.Parameter],
    hints: Mapping[str, object],
    options: UdfOptions,
    common: dict[str, Any],
) -> Udf:
    if options.vectorized or options.param_types is not None:
        raise UdfDefinitionError(f"table UDF `{fname}` takes no `vectorized`/`param_types`")
    if not params or params[0].kind is params[0].KEYWORD_ONLY:
        raise UdfDefinitionError(
            f"table UDF `{fname}` must take the input table as its first parameter"
        )
    first = params[0]
    pandas_input = _is_dataframe(hints.get(first.name, inspect.Parameter.empty))
    extra: list[Param] = []
    for p in params[1:]:
        if p.kind is p.POSITIONAL_ONLY:
            raise UdfDefinitionError(
                f"parameter `{p.name}` of table UDF `{fname}` is positional-only", p.name
            )
        annotation = hints.get(p.name, inspect.Parameter.empty)
        sql_type: str | None = None
        if annotation is not inspect.Parameter.empty:
            try:
                sql_type = _sql_type(annotation, fname, p.name)[0]
            except UdfDefinitionError:
                sql_type = None  # literal arguments are passed as Python values anyway
        extra.append(_param(p, sql_type, _shown(annotation)))
    schema = None
    if options.output_schema is not None:
        schema = tuple(
            (str(col), _check_type_name(str(typ), fname, None, column=str(col)))
            for col, typ in options.output_schema
        )
        if not schema:
            raise UdfDefinitionError(f"`output_schema` of table UDF `{fname}` is empty")
        seen: set[str] = set()
        for col, _ in schema:
            if col.lower() in seen:
                raise UdfDefinitionError(
                    f"`output_schema` of table UDF `{fname}` lists column `{col}` twice"
                )
            seen.add(col.lower())
    return Udf(
        kind=UdfKind.TABLE,
        params=tuple(extra),
        return_type=None,
        output_schema=schema,
        required_columns=options.required_columns,
        pandas_input=pandas_input,
        table_param=first.name,
        **common,
    )


def _param(p: inspect.Parameter, sql_type: str | None, shown: str, optional: bool = False) -> Param:
    has_default = p.default is not inspect.Parameter.empty
    return Param(
        name=p.name,
        type=sql_type,
        optional=optional,
        has_default=has_default,
        default=p.default if has_default else None,
        annotation=shown,
    )


def _annotations(func: Callable[..., Any]) -> dict[str, object]:
    """Annotations with strings evaluated where possible (one bad name spoils only itself)."""
    try:
        return dict(inspect.get_annotations(func, eval_str=True))
    except Exception:  # noqa: BLE001 - any error evaluating user annotations; retry one by one
        raw = dict(inspect.get_annotations(func))
    namespace = dict(getattr(func, "__globals__", {}))
    out: dict[str, object] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            # Evaluated like `eval_str=True` does; a failure keeps the text, reported if used.
            with contextlib.suppress(Exception):
                value = eval(value, namespace)
        out[key] = value
    return out


def _split_optional(annotation: object) -> tuple[object, bool]:
    """(T, True) for `Optional[T]` / `T | None`, else (annotation, False)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return annotation, optional
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        if text.startswith("Optional[") and text.endswith("]"):
            return text[len("Optional[") : -1], True
        parts = text.split("|")
        if "None" in parts and len(parts) == 2:
            return next(p for p in parts if p != "None"), True
    return annotation, False


def _sql_type(annotation: object, fname: str, param: str | None) -> tuple[str, bool]:
    base, optional = _split_optional(annotation)
    found = _TYPES.get(base) if not isinstance(base, str) else _NAMES.get(base.split(".")[-1])
    if found is None:
        where = f"parameter `{param}`" if param else "the return type"
        raise UdfDefinitionError(
            f"{where} of UDF `{fname}` has type `{_shown(annotation)}`, which has no SQL type; "
            "use int, float, str, bool, date, datetime, time, Decimal or bytes "
            "(optionally Optional[...]), or pass an explicit type",
            param,
        )
    return found, optional


def _check_type_name(name: str, fname: str, param: str | None, column: str | None = None) -> str:
    """A DuckDB type name, normalised by DuckDB (`int` → INTEGER)."""
    import duckdb

    try:
        return str(duckdb.sqltype(name))
    except (duckdb.Error, TypeError, ValueError, RuntimeError) as err:
        where = (
            f"column `{column}` in `output_schema`"
            if column
            else f"parameter `{param}`"
            if param
            else "`return_type`"
        )
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UdfDefinitionError(
            f"{where} of UDF `{fname}`: `{name}` is not a DuckDB type ({first})", param
        ) from None


def _is_dataframe(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.split(".")[-1] == "DataFrame"
    return getattr(annotation, "__name__", "") == "DataFrame" and str(
        getattr(annotation, "__module__", "")
    ).startswith("pandas")


def _shown(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
