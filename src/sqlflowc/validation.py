"""Typed validation of plain mappings (parsed JSON or YAML) against small schemas.

A schema is a frozen dataclass whose field annotations say what each key accepts::

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Params:
        path: str
        skip_rows: Annotated[int, Ge(0)] = 0
        null_values: str | list[str] | None = None
        encoding: Annotated[str | None, Check(normalise_encoding)] = None

        def __post_init__(self) -> None:  # checks across fields: raise ValueError
            ...

`validate(Params, mapping)` returns a `Params` or raises `ValidationError`, which holds every
problem found (not just the first) as a `FieldError`: the path of the offending key, what kind of
problem it is, what was expected in words (`an integer`, `a string or a list of strings`) and the
value given. Keys without a default are required; keys the schema does not declare are errors.

Supported annotations: `str`, `int`, `float`, `bool`, `None`, `Any`, `Literal[...]`, `list[X]`,
`tuple[X, ...]` and `tuple[X, Y]`, `dict[str, X]`, unions (`X | Y`, `Optional[X]`), nested
schemas, and `Annotated[X, check, ...]` where each `Check` (`Ge`, `Gt`, `Le` or any function
wrapped in `Check`) runs, in order, on the value once it has the type `X`; a check raises
`ValueError` with a reason and may return a normalised value (`Ge`, `Gt`, `Le` word their
reasons as `Input should be greater than 0`). A schema's `__post_init__` runs last, once
every field is valid; a `ValueError` it raises is reported at the schema's own path.

Coercion is lax by default (`validation_scalars.py`, the rules pydantic's default mode has): a
boolean also accepts 0/1 and `"true"`/`"yes"`/`"off"`..., an integer accepts `true`/`false`,
integral floats and numeric strings (`" 3 "`, `"1_000"`, `"3.0"`), a number accepts integers and
numeric strings, a string accepts UTF-8 bytes; a list accepts a tuple or a set; a union tries
every member without coercion before trying them with it. `strict=True` turns every coercion
off: a boolean must be `true`/`false`, an integer must not be a boolean.

It is the one validator of the project — profiles, connector parameters, export options, plan
files — and imports nothing heavy: it sits on the compile path. `benchmarks/validation.py`
compares it, in fresh processes, with pydantic (models built deferred) and msgspec on the same
schemas: pydantic costs several times as much; msgspec about the same, but it has neither the
lax coercions nor per-field checks with these messages.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Mapping, Sequence
from typing import (
    Annotated,
    Any,
    Literal,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.validation_scalars import FAIL, SCALARS, Check, Ge, Gt, Le

__all__ = [
    "Check",
    "FieldError",
    "FieldPath",
    "FieldSpec",
    "Ge",
    "Gt",
    "Le",
    "ValidationError",
    "describe_type",
    "is_schema",
    "schema_fields",
    "schema_problems",
    "validate",
]

S = TypeVar("S")

FieldPath = tuple[str | int, ...]
ErrorKind = Literal["type", "value", "missing", "unknown"]

_NONE = type(None)


# -- errors ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem, at `path` (keys and list indexes from the validated mapping).

    - `type`: `value` is not `expected` (a description in words: `an integer`) of `annotation`
      (the annotation it failed, as declared);
    - `value`: `value` has the right type but `reason` says why it is rejected (a failed
      check, or a name that is not a string);
    - `missing`: a required key is absent (`value` is None);
    - `unknown`: a key the schema does not declare (`value` is the key; `accepted` lists the keys
      accepted at that level, sorted).
    """

    path: FieldPath
    kind: ErrorKind
    value: Any
    expected: str = ""
    reason: str = ""
    accepted: tuple[str, ...] = ()
    annotation: Any = None

    @property
    def dotted(self) -> str:
        """The path as `engine.threads` (list indexes as numbers: `columns.0`)."""
        return ".".join(str(p) for p in self.path)

    @property
    def problem(self) -> str:
        """The problem without the path or the value: `expects an integer`."""
        match self.kind:
            case "type":
                return f"expects {self.expected}"
            case "value":
                return self.reason
            case "missing":
                return "is required"
            case "unknown":
                return "is not an accepted key" + (
                    f" (accepted: {', '.join(self.accepted)})" if self.accepted else ""
                )

    def __str__(self) -> str:
        """`engine.threads` expects an integer, got 'four'` (the value as Python shows it)."""
        where = f"`{self.dotted}`" if self.path else ""
        match self.kind:
            case "type":
                return f"{where} {self.problem}, got {self.value!r}".lstrip()
            case "value" if self.path:
                return f"{where}: {self.problem}, got {self.value!r}"
            case _:
                return f"{where} {self.problem}".lstrip()


class ValidationError(ValueError):
    """Every problem found validating one mapping against `schema`."""

    def __init__(self, schema: type[Any], errors: Sequence[FieldError]) -> None:
        self.schema = schema
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


# -- schemas ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A schema field: its resolved annotation and whether the key must be given."""

    name: str
    annotation: Any
    required: bool


def is_schema(tp: Any) -> bool:
    """Whether `tp` is a schema (a dataclass type)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


_FIELDS: dict[type[Any], Mapping[str, FieldSpec]] = {}


def schema_fields(schema: type[Any]) -> Mapping[str, FieldSpec]:
    """The fields of a schema in declaration order (base classes first)."""
    known = _FIELDS.get(schema)
    if known is not None:
        return known
    if not is_schema(schema):
        raise TypeError(f"{schema!r} is not a schema (a dataclass)")
    hints = get_type_hints(schema, include_extras=True)
    out: dict[str, FieldSpec] = {}
    for f in dataclasses.fields(schema):
        if not f.init:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out[f.name] = FieldSpec(f.name, hints[f.name], required)
    _FIELDS[schema] = out
    return out


def schema_problems(schema: Any) -> list[str]:
    """Why `schema` cannot be validated against (not a dataclass, an annotation that cannot be
    resolved or is not supported); empty when it can. For schemas written by others (plugins)."""
    if not is_schema(schema):
        return [f"{getattr(schema, '__name__', repr(schema))} is not a dataclass"]
    try:
        specs = schema_fields(schema)
    except Exception as err:  # noqa: BLE001 - evaluating someone else's annotations
        return [f"its annotations cannot be resolved ({type(err).__name__}: {err})"]
    problems = []
    for spec in specs.values():
        bad = _unsupported(spec.annotation)
        if bad is not None:
            problems.append(f"field `{spec.name}` has an unsupported annotation: {bad!r}")
    return problems


def _unsupported(tp: Any) -> Any:
    """The first part of annotation `tp` that `validate` does not support, or None."""
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is Any or tp is None or tp is _NONE or tp in SCALARS:
        return None
    if origin is Annotated:
        return _unsupported(args[0])
    if origin is Literal:
        ok = all(a is None or type(a) in SCALARS for a in args)
        return None if ok else tp
    if origin is dict and args and args[0] is not str:
        return tp
    if origin in (Union, types.UnionType, list, tuple, dict):
        found = (_unsupported(a) for a in args if a is not Ellipsis)
        return next((f for f in found if f is not None), None)
    if tp in (list, tuple, dict) or is_schema(tp):
        return None if not is_schema(tp) or not schema_problems(tp) else tp
    return tp


def validate(schema: type[S], data: Any, *, strict: bool = False) -> S:
    """`data` as an instance of `schema`; raises ValidationError listing every problem."""
    errors: list[FieldError] = []
    result = _schema(schema, data, (), strict, errors)
    if errors:
        raise ValidationError(schema, errors)
    return cast(S, result)


# -- the validators --------------------------------------------------------------------------------

_Fail = FAIL  # returned (with errors appended) when a value is rejected


def _validate(tp: Any, value: Any, path: FieldPath, strict: bool, errors: list[FieldError]) -> Any:
    """The validated value, or `_Fail` after appending to `errors`."""
    if tp is Any:
        return value
    if tp is None or tp is _NONE:
        return None if value is None else _type_error(tp, value, path, errors)
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *metadata = get_args(tp)
        result = _validate(inner, value, path, strict, errors)
        if result is _Fail:
            return _Fail
        for check in metadata:
            if isinstance(check, Check):
                try:
                    result = check(result)
                except ValueError as err:
                    errors.append(FieldError(path, "value", value, reason=str(err)))
                    return _Fail
        return result
    if origin in (Union, types.UnionType):
        return _union(tp, value, path, strict, errors)
    if origin is Literal:
        for option in get_args(tp):
            if type(value) is type(option) and value == option:
                return value
        return _type_error(tp, value, path, errors)
    if origin is list or tp is list:
        return _sequence(tp, value, path, strict, errors, list)
    if origin is tuple or tp is tuple:
        return _sequence(tp, value, path, strict, errors, tuple)
    if origin is dict or tp is dict:
        return _mapping(tp, value, path, strict, errors)
    if is_schema(tp):
        return _schema(tp, value, path, strict, errors)
    scalar = SCALARS.get(tp)
    if scalar is None:
        raise TypeError(f"unsupported annotation in a schema: {tp!r}")
    result = scalar(value, strict)
    return _type_error(tp, value, path, errors) if result is _Fail else result


def _type_error(tp: Any, value: Any, path: FieldPath, errors: list[FieldError]) -> object:
    errors.append(FieldError(path, "type", value, expected=describe_type(tp), annotation=tp))
    return _Fail


def _union(tp: Any, value: Any, path: FieldPath, strict: bool, errors: list[FieldError]) -> Any:
    members = get_args(tp)
    if value is None and _NONE in members:
        return None
    members = tuple(m for m in members if m is not _NONE)
    if len(members) == 1:
        return _validate(members[0], value, path, strict, errors)
    # Smart unions: a value of exactly a member's type wins, then the first member
    # that accepts it without coercion, then the first that accepts it with coercion.
    if type(value) in members and type(value) in SCALARS:
        return value
    failures: list[list[FieldError]] = []
    for lax in (False, True) if not strict else (False,):
        failures = []
        for member in members:
            attempt: list[FieldError] = []
            result = _validate(member, value, path, not lax, attempt)
            if result is not _Fail:
                return result
            failures.append(attempt)
    # A member whose shape matched (its failure is inside the value, or a failed check) says
    # more than "expects X or Y"; otherwise report the union as a whole.
    for attempt in failures:
        if any(e.path != path or e.kind != "type" for e in attempt):
            errors.extend(attempt)
            return _Fail
    return _type_error(tp, value, path, errors)


def _sequence(
    tp: Any,
    value: Any,
    path: FieldPath,
    strict: bool,
    errors: list[FieldError],
    kind: type[list[Any]] | type[tuple[Any, ...]],
) -> Any:
    if not isinstance(value, list | tuple | set | frozenset) or (
        strict and isinstance(value, set | frozenset)
    ):
        return _type_error(tp, value, path, errors)
    args = get_args(tp)
    items = list(value)
    if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(items) != len(args):
            n = len(args)
            reason = f"expected {n} item{'s' if n != 1 else ''}, not {len(items)}"
            errors.append(FieldError(path, "value", value, reason=reason))
            return _Fail
        item_types: Sequence[Any] = args
    else:
        item_types = [args[0] if args else Any] * len(items)
    out: list[Any] = []
    failed = False
    for i, (item_tp, item) in enumerate(zip(item_types, items, strict=True)):
        result = _validate(item_tp, item, (*path, i), strict, errors)
        failed = failed or result is _Fail
        out.append(result)
    if failed:
        return _Fail
    return out if kind is list else tuple(out)


def _mapping(tp: Any, value: Any, path: FieldPath, strict: bool, errors: list[FieldError]) -> Any:
    if not isinstance(value, Mapping):
        return _type_error(tp, value, path, errors)
    args = get_args(tp)
    key_tp, value_tp = args if args else (Any, Any)
    out: dict[Any, Any] = {}
    failed = False
    for key, item in value.items():
        name = _validate(key_tp, key, (*path, key), strict, [])
        if name is _Fail:
            reason = f"names must be {_plural(key_tp)}"
            errors.append(FieldError((*path, key), "value", key, reason=reason))
            failed = True
            continue
        result = _validate(value_tp, item, (*path, key), strict, errors)
        failed = failed or result is _Fail
        out[name] = result
    return _Fail if failed else out


def _schema(
    tp: type[Any], value: Any, path: FieldPath, strict: bool, errors: list[FieldError]
) -> Any:
    if not isinstance(value, Mapping):
        return _type_error(tp, value, path, errors)
    fields = schema_fields(tp)
    before = len(errors)
    kwargs: dict[str, Any] = {}
    for name, spec in fields.items():
        if name in value:
            result = _validate(spec.annotation, value[name], (*path, name), strict, errors)
            if result is not _Fail:
                kwargs[name] = result
        elif spec.required:
            errors.append(FieldError((*path, name), "missing", None))
    for key in value:
        if key not in fields:
            errors.append(FieldError((*path, key), "unknown", key, accepted=tuple(sorted(fields))))
    if len(errors) > before:
        return _Fail
    try:
        return tp(**kwargs)
    except ValueError as err:
        errors.append(FieldError(path, "value", value, reason=str(err)))
        return _Fail


# -- describing types ------------------------------------------------------------------------------

_SCALAR_NAMES = {
    bool: ("a boolean", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    _NONE: ("null", "nulls"),
}


def describe_type(tp: Any) -> str:
    """A reader's description of an annotation: `a boolean`, `a list of strings`,
    `a string or a list of strings`, `one of "auto", "array"`."""
    return _describe(tp, plural=False)


def _plural(tp: Any) -> str:
    return _describe(tp, plural=True)


def _describe(tp: Any, *, plural: bool) -> str:
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is Any:
        return "values" if plural else "any value"
    if tp is None:
        tp = _NONE
    if origin is Annotated:
        return _describe(args[0], plural=plural)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a, plural=plural) for a in args if a is not _NONE)
    if origin is Literal:
        options = ", ".join(json.dumps(a) for a in args)
        return f"values among {options}" if plural else f"one of {options}"
    if origin in (list, tuple) or tp in (list, tuple):
        head = "lists" if plural else "a list"
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            items = ", ".join(describe_type(a) for a in args)
            return f"{head} of {len(args)} items ({items})"
        return f"{head} of {_plural(args[0])}" if args and args[0] is not Any else head
    if origin is dict or tp is dict:
        head = "objects" if plural else "an object"
        if not args or args[1] is Any:
            return head if plural else f"{head} (a mapping of names to values)"
        return f"{head} whose values are {_plural(args[1])}"
    if is_schema(tp):
        keys = ", ".join(sorted(schema_fields(tp)))
        return f"{'objects' if plural else 'an object'} with keys {keys}"
    if tp in _SCALAR_NAMES:
        return _SCALAR_NAMES[tp][1 if plural else 0]
    return str(getattr(tp, "__name__", tp))
