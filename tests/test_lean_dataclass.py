"""`sqlflowc.lean_dataclass.dataclass` behaves as `dataclasses.dataclass` on the same class body:
construction (defaults, factories, keyword-only, `__post_init__`, the errors of a wrong call),
repr, equality, hashing, frozenness, pickling, `replace`/`asdict`/`fields`, inheritance, and
what it leaves to the standard decorator."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from dataclasses import InitVar, field
from typing import Any

import pytest

from sqlflowc.lean_dataclass import dataclass as lean

OPTIONS = [
    {},
    {"frozen": True},
    {"slots": True},
    {"frozen": True, "slots": True},
    {"frozen": True, "slots": True, "kw_only": True},
    {"eq": False},
    {"repr": False, "frozen": True},
]


def _pair(options: dict[str, Any], tag: str) -> tuple[type, type]:
    """The same class body through both decorators, each a module-level name (for pickle)."""
    made = []
    for deco, side in ((dataclasses.dataclass, "Std"), (lean, "Lean")):

        class Point:
            """A point."""

            x: int
            label: str = "p"
            tags: list[str] = field(default_factory=list)
            cache: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

        name = f"{side}{tag}"
        Point.__name__ = Point.__qualname__ = name
        cls = deco(**options)(Point)
        globals()[name] = cls
        made.append(cls)
    return made[0], made[1]


def _text(value: object) -> str:
    """The text without what differs between the pair: class names and addresses."""
    return re.sub(r"(Std|Lean)\d+|0x[0-9a-f]+", "C", str(value))


def _outcome(call: Any) -> tuple[str, str]:
    """What a call returns (its repr) or raises (the error's kind and text; for too many
    positional arguments the kind only: Python words that one in several ways)."""
    try:
        value = call()
    except Exception as err:  # noqa: BLE001 - the kind and text of the error are compared
        return type(err).__name__, "" if "were given" in str(err) else _text(err)
    return "ok", _text(repr(value))


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_same_behaviour_as_the_standard_decorator(options: dict[str, Any]) -> None:
    std, lean_cls = _pair(options, str(OPTIONS.index(options)))
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {"x": 1}),
        ((), {"x": 1, "label": "q", "tags": ["a"]}),
        ((1,), {}),
        ((1, "q", ["t"], {"k": 1}), {}),
        ((1, "q", [], {}, 5), {}),
        ((1,), {"x": 2}),
        ((), {}),
        ((), {"label": "q"}),
        ((), {"x": 1, "nope": 2}),
    ]
    for args, kwargs in calls:
        assert _outcome(lambda c=lean_cls, a=args, k=kwargs: c(*a, **k)) == _outcome(
            lambda c=std, a=args, k=kwargs: c(*a, **k)
        ), (args, kwargs)
    a, b = lean_cls(x=1, tags=["t"]), lean_cls(x=1, tags=["t"], cache={"k": 1})
    sa, sb = std(x=1, tags=["t"]), std(x=1, tags=["t"], cache={"k": 1})
    assert (a == b, a != b, a == lean_cls(x=2)) == (sa == sb, sa != sb, sa == std(x=2))
    assert (a == sa) is False  # another class: never equal
    assert _text(repr(a)) == _text(repr(sa))
    assert (lean_cls.__hash__ is None) == (std.__hash__ is None)
    if std.__hash__ is not None and options.get("frozen"):
        frozen_a = lean_cls(x=1, tags=("t",))  # type: ignore[arg-type]
        assert hash(frozen_a) == hash(std(x=1, tags=("t",)))
    assert _outcome(lambda: setattr(a, "x", 5)) == _outcome(lambda: setattr(sa, "x", 5))
    assert _outcome(lambda: delattr(a, "label")) == _outcome(lambda: delattr(sa, "label"))
    assert [f.name for f in dataclasses.fields(lean_cls)] == [
        f.name for f in dataclasses.fields(std)
    ]
    assert lean_cls.__match_args__ == std.__match_args__
    assert getattr(lean_cls, "__slots__", None) == getattr(std, "__slots__", None)
    c = lean_cls(x=3, tags=["t"])
    assert dataclasses.asdict(c) == dataclasses.asdict(std(x=3, tags=["t"]))
    assert dataclasses.replace(c, label="r").label == "r"
    for copied in (pickle.loads(pickle.dumps(c)), copy.deepcopy(c), copy.copy(c)):
        assert type(copied) is lean_cls
        assert (copied.x, copied.label, copied.tags) == (3, "p", ["t"])
        if options.get("eq", True):
            assert copied == c


def test_post_init_inheritance_and_methods_of_its_own() -> None:
    @lean(frozen=True, slots=True, kw_only=True)
    class Base:
        """A base."""

        n: int = 0

        def __post_init__(self) -> None:
            object.__setattr__(self, "n", self.n + 1)

    @lean(frozen=True, slots=True, kw_only=True)
    class Child(Base):
        """A child."""

        name: str = "c"

        def __repr__(self) -> str:
            return "mine"

    child = Child(n=1, name="x")
    assert (child.n, child.name, repr(child)) == (2, "x", "mine")
    assert [f.name for f in dataclasses.fields(Child)] == ["n", "name"]
    assert child == Child(n=1, name="x") and hash(child) == hash(Child(n=1, name="x"))
    assert child != Base(n=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        child.n = 3  # type: ignore[misc]

    @lean(frozen=True)
    class Hashed:
        """Its own hash."""

        v: int

        def __hash__(self) -> int:
            return 7

    assert hash(Hashed(1)) == 7

    class Loose(Hashed):  # not a dataclass: attributes other than the fields may be set
        pass

    loose = Loose(1)
    loose.extra = 2  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        loose.v = 3  # type: ignore[misc]


def test_what_the_standard_decorator_still_does() -> None:
    @lean(order=True, frozen=True)
    class Ordered:
        """Ordered."""

        v: int

    assert Ordered(1) < Ordered(2)

    @lean
    class WithInitVar:
        """With an InitVar."""

        v: int
        seed: InitVar[int] = 0

        def __post_init__(self, seed: int) -> None:
            self.v += seed

    assert WithInitVar(1, 2).v == 3

    @lean
    class NoDoc:
        v: int

    assert NoDoc.__doc__ == "NoDoc(v: 'int')"  # the standard decorator's text
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @lean
        class Misordered:
            """A field without a default after one with."""

            a: int = 0
            b: int  # type: ignore[misc]


def test_either_decorator_s_classes_inherit_from_the_other_s() -> None:
    @lean(frozen=True, slots=True, kw_only=True)
    class LeanBase:
        """Lean, frozen."""

        a: int = 1

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class StdChild(LeanBase):
        """Standard, frozen, on a lean base."""

        b: int = 2

    @lean(frozen=True, kw_only=True)
    class LeanGrandchild(StdChild):
        """Lean again."""

        c: int = 3

    grandchild = LeanGrandchild(a=5)
    assert (grandchild.a, grandchild.b, grandchild.c) == (5, 2, 3)
    assert grandchild == LeanGrandchild(a=5) and hash(grandchild) == hash(LeanGrandchild(a=5))
    assert LeanGrandchild.__dataclass_params__.frozen  # type: ignore[attr-defined]
    for obj in (StdChild(), grandchild):
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.a = 0  # type: ignore[misc]
    assert copy.deepcopy(grandchild) == grandchild

    @lean
    class Mutable:
        """Lean, not frozen."""

        a: int = 1

    for deco in (dataclasses.dataclass, lean):
        with pytest.raises(TypeError, match="cannot inherit frozen dataclass from a non-frozen"):
            deco(frozen=True)(type("Frozen", (Mutable,), {"__doc__": "x"}))
        with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen"):
            deco(type("Thawed", (LeanBase,), {"__doc__": "x"}))


def test_fields_outside_init_and_keyword_only_markers() -> None:
    made = []
    for deco in (dataclasses.dataclass, lean):

        @deco(frozen=True, slots=True)
        class Mixed:
            """Positional, then keyword-only after the marker; fields not in `__init__`."""

            a: int
            counted: list[int] = field(default_factory=list, init=False)
            unset: int = field(init=False)
            b: int = field(default=2, kw_only=True)
            _: dataclasses.KW_ONLY
            c: str = "c"

        made.append(Mixed)
    std, lean_cls = made
    for cls in made:
        obj = cls(1, c="z", b=3)
        assert (obj.a, obj.b, obj.c, obj.counted) == (1, 3, "z", [])
        assert not hasattr(obj, "unset")
    assert _outcome(lambda: lean_cls(1, 2)) == _outcome(lambda: std(1, 2))
    assert _outcome(lambda: lean_cls(1, counted=[1])) == _outcome(lambda: std(1, counted=[1]))
    assert lean_cls.__match_args__ == std.__match_args__
