"""How event values compare: one hashable key per value, as EventBridge's equality sees it.

EventBridge (aws/event-ruler) compares numbers as IEEE doubles, but only numbers whose decimal text
is exactly the shortest text of their double ("comparable" numbers; `300`, `300.0` and `3e2` are
one number). A number that is not comparable, such as an account id `123456789012345678901`, is
matched by its text only. Strings never equal numbers, and `true`, `false`, `null` equal only
themselves.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

Leaf = str | int | float | bool | None


class _Literal:
    """A key for `true`, `false` and `null` that equals nothing else (unlike `True == 1`)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


TRUE: Final = _Literal("true")
FALSE: Final = _Literal("false")
NULL: Final = _Literal("null")
_EXACT_INT_LIMIT = 2**53

Key = str | float | tuple[str, str] | _Literal


def comparable(text: str) -> float | None:
    """The double a number's text stands for, or None when EventBridge cannot compare it."""
    try:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            return None
        return value if Decimal(repr(value)) == Decimal(text) else None
    except (ValueError, InvalidOperation):
        return None


def number_key(text: str) -> float | tuple[str, str]:
    """The key of a number given as JSON text: its double when comparable, else its text."""
    value = comparable(text)
    return ("number-text", text) if value is None else value


def key_of(value: Leaf) -> Key:
    """The key of a parsed event value."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        if -_EXACT_INT_LIMIT < value < _EXACT_INT_LIMIT:  # type: ignore[operator]
            return float(value)  # type: ignore[arg-type]
        return number_key(str(value))
    if value is True:
        return TRUE
    if value is False:
        return FALSE
    return NULL


def numeric(value: Leaf) -> float | None:
    """The double of an event value when it is a comparable number, else None."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        if -_EXACT_INT_LIMIT < value < _EXACT_INT_LIMIT:  # type: ignore[operator]
            return float(value)  # type: ignore[arg-type]
        return comparable(str(value))
    return None
