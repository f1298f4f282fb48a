"""Choice rules of JSONPath states: every comparison operator, And/Or/Not and the type tests.

A comparison of a value of the wrong type is false, not an error (AWS: "StringEquals against a number
is false"); a Variable path that selects nothing is States.Runtime, except under IsPresent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from trailbridge.states import jsonpath
from trailbridge.states.errors import runtime
from trailbridge.states.payload import Scope
from trailbridge.states.timestamps import parse_timestamp


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsString": lambda v: isinstance(v, str),
    "IsNumeric": _number,
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: isinstance(v, str) and parse_timestamp(v) is not None,
}

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: bool(a == b),
    "LessThan": lambda a, b: bool(a < b),
    "GreaterThan": lambda a, b: bool(a > b),
    "LessThanEquals": lambda a, b: bool(a <= b),
    "GreaterThanEquals": lambda a, b: bool(a >= b),
}

COMPARISONS = frozenset(
    f"{kind}{order}{suffix}"
    for kind in ("String", "Numeric", "Timestamp")
    for order in _ORDER
    for suffix in ("", "Path")
) | {"BooleanEquals", "BooleanEqualsPath", "StringMatches", "IsPresent", *_TYPES}


def matches(rule: dict[str, Any], scope: Scope) -> bool:
    if "And" in rule:
        return all(matches(sub, scope) for sub in rule["And"])
    if "Or" in rule:
        return any(matches(sub, scope) for sub in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], scope)
    operator = next(key for key in rule if key in COMPARISONS)
    return _compare(operator, rule, scope)


def _compare(operator: str, rule: dict[str, Any], scope: Scope) -> bool:
    variable = rule["Variable"]
    found, value = _lookup(scope, variable)
    if operator == "IsPresent":
        return found is rule[operator]
    if not found:
        raise runtime(f"Invalid path '{variable}': The choice state's condition path references an invalid value.")
    expected = rule[operator]
    if operator in _TYPES:
        return _TYPES[operator](value) is expected
    if operator.endswith("Path"):
        present, expected = _lookup(scope, expected)
        if not present:
            raise runtime(
                f"Invalid path '{rule[operator]}': The choice state's condition path references an invalid value."
            )
        operator = operator[:-4]
    return _test(operator, value, expected)


def _lookup(scope: Scope, text: str) -> tuple[bool, Any]:
    try:
        value = scope.select(text)
    except jsonpath.PathNotFound:
        return False, None
    if isinstance(value, list) and not jsonpath.compile_path(text).definite and not value:
        return False, None
    return True, value


def _test(operator: str, value: Any, expected: Any) -> bool:
    if operator == "BooleanEquals":
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    if operator == "StringMatches":
        return isinstance(value, str) and isinstance(expected, str) and _wildcard(expected).fullmatch(value) is not None
    kind, order = re.match(r"(String|Numeric|Timestamp)(.*)", operator).groups()  # type: ignore[union-attr]
    if kind == "String":
        ok = isinstance(value, str) and isinstance(expected, str)
        return ok and _ORDER[order](value, expected)
    if kind == "Numeric":
        return _number(value) and _number(expected) and _ORDER[order](value, expected)
    left, right = _stamp(value), _stamp(expected)
    return left is not None and right is not None and _ORDER[order](left, right)


def _stamp(value: Any) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


def _wildcard(pattern: str) -> re.Pattern[str]:
    pieces = re.split(r"(\\\\|\\\*|\*)", pattern)
    text = "".join(".*" if p == "*" else re.escape(p[1:]) if p in ("\\\\", "\\*") else re.escape(p) for p in pieces)
    return re.compile(text, re.DOTALL)
