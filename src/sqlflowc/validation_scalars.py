"""The values `validation.validate` accepts for each scalar type, and the checks an annotation
can carry (`Annotated[int, Ge(0)]`).

Scalars are lax unless `strict`: a boolean also accepts 0/1 and `"true"`/`"yes"`/`"off"`..., an
integer accepts `true`/`false`, integral floats within 64 bits and numeric strings (`" 3 "`,
`"1_000"`, `"3.0"`), a number accepts integers and numeric strings, a string accepts UTF-8 bytes.
Each converter returns the value, or `FAIL`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["FAIL", "SCALARS", "Check", "Ge", "Gt", "Le"]

FAIL: Any = object()

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")


# -- checks ----------------------------------------------------------------------------------------


class Check:
    """A custom validator for `Annotated[X, Check(fn)]`: `fn` gets the value once it is an `X`,
    returns it (or a normalised value), or raises `ValueError` with the reason."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, value: Any) -> Any:
        return self.fn(value)

    def __repr__(self) -> str:
        return f"Check({getattr(self.fn, '__name__', self.fn)!r})"


class Ge(Check):
    """`value >= bound`."""

    __slots__ = ("bound",)

    def __init__(self, bound: float) -> None:
        self.bound = bound
        super().__init__(self._check)

    def _check(self, value: Any) -> Any:
        if not value >= self.bound:
            raise ValueError(f"Input should be greater than or equal to {self.bound}")
        return value


class Gt(Check):
    """`value > bound`."""

    __slots__ = ("bound",)

    def __init__(self, bound: float) -> None:
        self.bound = bound
        super().__init__(self._check)

    def _check(self, value: Any) -> Any:
        if not value > self.bound:
            raise ValueError(f"Input should be greater than {self.bound}")
        return value


class Le(Check):
    """`value <= bound`."""

    __slots__ = ("bound",)

    def __init__(self, bound: float) -> None:
        self.bound = bound
        super().__init__(self._check)

    def _check(self, value: Any) -> Any:
        if not value <= self.bound:
            raise ValueError(f"Input should be less than or equal to {self.bound}")
        return value


# -- scalars (each returns the value, or FAIL) ----------------------------------------------------


def _text(value: Any) -> Any:
    """A str, or UTF-8 bytes as a str (lax); else FAIL."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return FAIL
    return FAIL


def _str(value: Any, strict: bool) -> Any:
    if strict:
        return value if isinstance(value, str) else FAIL
    return _text(value)


def _bool(value: Any, strict: bool) -> Any:
    if isinstance(value, bool):
        return value
    if strict:
        return FAIL
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _text(value)
    if text is FAIL:
        return FAIL
    key = text.lower()
    return True if key in _TRUE else False if key in _FALSE else FAIL


def _int(value: Any, strict: bool) -> Any:
    if isinstance(value, bool):
        return FAIL if strict else int(value)
    if isinstance(value, int):
        return value
    if strict:
        return FAIL
    if isinstance(value, float):  # integral and within 64 bits
        return int(value) if value.is_integer() and abs(value) < 2.0**63 else FAIL
    text = _text(value)
    if text is FAIL:
        return FAIL
    text = text.strip()
    if not _INT_TEXT.fullmatch(text):
        return FAIL
    return int(text.partition(".")[0])


def _float(value: Any, strict: bool) -> Any:
    if isinstance(value, bool):
        return FAIL if strict else float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return FAIL
    if strict:
        return FAIL
    text = _text(value)
    if text is FAIL or not text.isascii():
        return FAIL
    try:
        return float(text.strip())
    except ValueError:
        return FAIL


SCALARS: dict[Any, Callable[[Any, bool], Any]] = {
    str: _str,
    bool: _bool,
    int: _int,
    float: _float,
}
