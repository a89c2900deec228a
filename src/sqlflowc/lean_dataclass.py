"""`dataclass` for the types a cached `sqlflowc run` loads: the standard library's decorator,
without generating code.

`dataclasses.dataclass` writes the source of each method it adds (`__init__`, `__repr__`,
`__eq__`, `__hash__`, a frozen class's `__setattr__`/`__delattr__`) and compiles it with
`exec`, several times per class: 0.3-0.8 ms a class, 20-30 ms of a cached run's start-up for
the ~70 classes it imports (about half of what that run costs over a raw DuckDB script). Here
the standard decorator still makes the class a dataclass (its fields, `__dataclass_fields__`,
slots, `__match_args__`, `fields()`, `replace()`, `asdict()` work as always), asked to add no
method; the methods are closures over the class's field names, made without compiling
anything, behaving as the generated ones do: the same `__init__` arguments, defaults, default
factories and `__post_init__`; the same `repr`, equality (same class, the compared fields as a
tuple), hash (frozen and `eq`: of the hashed fields), `FrozenInstanceError` on assigning or
deleting a field of a frozen instance, and pickling of frozen classes with slots. A method the
class defines itself is kept, as the standard decorator keeps it.

Type checkers see `dataclasses.dataclass` itself (the names are the same). What this does not
do (`order`, `unsafe_hash`, `InitVar`, a class without a docstring, any newer option) goes to
the standard decorator. `__dataclass_params__` says what was asked for (frozen or not...), so
either decorator's dataclasses may inherit from the other's as before; a frozen class whose
base is a frozen dataclass has the standard decorator's `__setattr__`/`__delattr__` (asked
for frozen, it checks its bases as it does).
"""

from __future__ import annotations

import abc
import dataclasses
import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__all__ = ["dataclass"]

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:

    def dataclass(
        cls: type | None = None,
        /,
        *,
        init: bool = True,
        repr: bool = True,
        eq: bool = True,
        order: bool = False,
        unsafe_hash: bool = False,
        frozen: bool = False,
        match_args: bool = True,
        kw_only: bool = False,
        slots: bool = False,
        **other: Any,
    ) -> Any:
        """`dataclasses.dataclass`, its methods made without generating code (module doc)."""

        def wrap(cls: type) -> type:
            if order or unsafe_hash or other or not _plain(cls, frozen):
                return dataclasses.dataclass(  # type: ignore[no-any-return]
                    cls,
                    init=init,
                    repr=repr,
                    eq=eq,
                    order=order,
                    unsafe_hash=unsafe_hash,
                    frozen=frozen,
                    match_args=match_args,
                    kw_only=kw_only,
                    slots=slots,
                    **other,
                )
            return _make(cls, init, repr, eq, frozen, match_args, kw_only, slots)

        return wrap if cls is None else wrap(cls)


def _plain(cls: type, frozen: bool) -> bool:
    """Whether the class needs nothing this module leaves to the standard decorator."""
    own = cls.__dict__
    if not own.get("__doc__"):  # the standard decorator writes the signature there
        return False
    if frozen and ("__setattr__" in own or "__delattr__" in own):  # it refuses: let it say so
        return False
    annotations = own.get("__annotations__") or getattr(cls, "__annotations__", None) or {}
    return not any("InitVar" in str(annotation) for annotation in annotations.values())


def _make(
    cls: type,
    init: bool,
    repr_: bool,
    eq: bool,
    frozen: bool,
    match_args: bool,
    kw_only: bool,
    slots: bool,
) -> type:
    own = cls.__dict__
    body_hash = own.get("__hash__", dataclasses.MISSING)
    explicit_hash = not (
        body_hash is dataclasses.MISSING or (body_hash is None and "__eq__" in own)
    )
    kept = {name for name in ("__init__", "__repr__", "__eq__", "__getstate__") if name in own}
    kept |= {"__setstate__"} & set(own)
    # A frozen class with dataclass bases: the standard decorator checks that they are frozen
    # too (or refuses) and adds the frozen methods; otherwise it adds no method at all.
    as_frozen = frozen and any("__dataclass_params__" in base.__dict__ for base in cls.__mro__[1:])
    made: type = dataclasses.dataclass(
        cls,
        init=False,
        repr=False,
        eq=False,
        frozen=as_frozen,
        match_args=match_args,
        kw_only=kw_only,
        slots=slots,
    )
    fields = dataclasses.fields(made)
    names = tuple(f.name for f in fields)
    methods: dict[str, Callable[..., Any] | None] = {}
    if init:
        methods["__init__"] = _init(made, fields, frozen)
    if repr_:
        methods["__repr__"] = _repr(tuple(f.name for f in fields if f.repr))
    if eq:
        methods["__eq__"] = _eq(tuple(f.name for f in fields if f.compare))
        if not explicit_hash:
            hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
            methods["__hash__"] = _hash(hashed) if frozen else None
    if frozen and not as_frozen:
        methods["__setattr__"], methods["__delattr__"] = _frozen(made, names)
        if slots:
            methods["__getstate__"], methods["__setstate__"] = _slots_state(names)
    for name, method in methods.items():
        if name in kept:
            continue
        if method is not None:
            method.__qualname__ = f"{made.__qualname__}.{name}"
            method.__module__ = made.__module__
        setattr(made, name, method)
    params = made.__dataclass_params__  # type: ignore[attr-defined]
    params.init, params.repr, params.eq, params.frozen = init, repr_, eq, frozen
    abc.update_abstractmethods(made)
    return made


def _init(
    cls: type, fields: tuple[dataclasses.Field[Any], ...], frozen: bool
) -> Callable[..., None]:
    missing = dataclasses.MISSING
    positional = tuple(f.name for f in fields if f.init and not f.kw_only)
    accepted = frozenset(f.name for f in fields if f.init)
    steps = tuple((f.name, f.init, f.default, f.default_factory) for f in fields)
    _check_defaults(cls, fields)
    assign = object.__setattr__ if frozen else setattr
    post_init = hasattr(cls, "__post_init__")
    where = f"{cls.__qualname__}.__init__()"
    required = sum(1 for f in fields if f.name in positional and _no_default(f))
    takes = f"{len(positional) + 1} positional argument{'s' * (len(positional) > 0)}"
    if required < len(positional):
        takes = f"from {required + 1} to {len(positional) + 1} positional arguments"

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        given = kwargs
        if args:
            if len(args) > len(positional):
                raise TypeError(f"{where} takes {takes} but {len(args) + 1} were given")
            given = dict(zip(positional, args, strict=False))
            for name, value in kwargs.items():
                if name in given:
                    raise TypeError(f"{where} got multiple values for argument {name!r}")
                given[name] = value
        if not accepted.issuperset(kwargs):
            unexpected = next(name for name in kwargs if name not in accepted)
            raise TypeError(f"{where} got an unexpected keyword argument {unexpected!r}")
        absent = []
        for name, in_init, default, factory in steps:
            if in_init and name in given:
                value = given[name]
            elif default is not missing:
                value = default
            elif factory is not missing:
                value = factory()
            elif in_init:
                absent.append(name)
                continue
            else:
                continue
            assign(self, name, value)
        if absent:
            raise TypeError(f"{where} missing {_required(absent, positional)}")
        if post_init:
            self.__post_init__()

    return __init__


def _required(absent: list[str], positional: tuple[str, ...]) -> str:
    """`1 required positional argument: 'a'`, as Python words a call missing arguments (the
    positional ones first)."""
    named = [name for name in absent if name in positional] or absent
    kind = "positional" if named[0] in positional else "keyword-only"
    quoted = [repr(name) for name in named]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
    return f"{len(named)} required {kind} argument{'s' * (len(named) != 1)}: {listed}"


def _check_defaults(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> None:
    """What the standard decorator refuses when it writes `__init__`: a positional argument
    without a default after one with a default."""
    seen_default = False
    for f in fields:
        if not f.init or f.kw_only:
            continue
        has_default = not _no_default(f)
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default


def _no_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _eq(names: tuple[str, ...]) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
        return NotImplemented

    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, n) for n in names))

    return __hash__


def _frozen(
    cls: type, names: tuple[str, ...]
) -> tuple[Callable[[Any, str, Any], None], Callable[[Any, str], None]]:
    frozen_error = dataclasses.FrozenInstanceError
    owner: type[Any] = cls

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is owner or name in names:
            raise frozen_error(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is owner or name in names:
            raise frozen_error(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)

    return __setattr__, __delattr__


def _slots_state(
    names: tuple[str, ...],
) -> tuple[Callable[[Any], list[Any]], Callable[[Any, list[Any]], None]]:
    """What pickling a frozen instance with slots needs (it cannot set attributes)."""

    def __getstate__(self: Any) -> list[Any]:
        return [getattr(self, name) for name in names]

    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=False):
            object.__setattr__(self, name, value)

    return __getstate__, __setstate__
