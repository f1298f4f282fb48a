"""Choice rules: every comparison operator, its Path form, And/Or/Not, and the type tests."""

from __future__ import annotations

from typing import Any

import pytest

from trailbridge.states import choice
from trailbridge.states.errors import RUNTIME, StatesError
from trailbridge.states.payload import Scope

INPUT = {
    "s": "banana",
    "n": 5,
    "f": 2.5,
    "b": True,
    "t": "2024-01-02T03:04:05Z",
    "null": None,
    "other": {"s": "apple", "n": 5, "b": True, "t": "2024-01-02T03:04:05+00:00"},
}


def holds(rule: dict[str, Any]) -> bool:
    return choice.matches(rule, Scope(INPUT, {}, {"v": 5}, entropy=None))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.s", "StringEquals": "banana"}, True),
        ({"Variable": "$.s", "StringLessThan": "cherry"}, True),
        ({"Variable": "$.s", "StringGreaterThan": "apple"}, True),
        ({"Variable": "$.s", "StringLessThanEquals": "banana"}, True),
        ({"Variable": "$.s", "StringGreaterThanEquals": "bananas"}, False),
        ({"Variable": "$.s", "StringEqualsPath": "$.other.s"}, False),
        ({"Variable": "$.s", "StringGreaterThanPath": "$.other.s"}, True),
        ({"Variable": "$.n", "StringEquals": "5"}, False),
        ({"Variable": "$.s", "StringMatches": "ban*"}, True),
        ({"Variable": "$.s", "StringMatches": "*n\\*"}, False),
        ({"Variable": "$.n", "NumericEquals": 5}, True),
        ({"Variable": "$.n", "NumericEquals": 5.0}, True),
        ({"Variable": "$.f", "NumericLessThan": 3}, True),
        ({"Variable": "$.f", "NumericGreaterThan": 3}, False),
        ({"Variable": "$.n", "NumericLessThanEquals": 5}, True),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 6}, False),
        ({"Variable": "$.n", "NumericEqualsPath": "$.other.n"}, True),
        ({"Variable": "$.n", "NumericLessThanPath": "$.f"}, False),
        ({"Variable": "$.s", "NumericEquals": 5}, False),
        ({"Variable": "$.b", "NumericEquals": 1}, False),
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"Variable": "$.b", "BooleanEqualsPath": "$.other.b"}, True),
        ({"Variable": "$.n", "BooleanEquals": True}, False),
        ({"Variable": "$.t", "TimestampEquals": "2024-01-02T03:04:05Z"}, True),
        ({"Variable": "$.t", "TimestampEqualsPath": "$.other.t"}, True),
        ({"Variable": "$.t", "TimestampLessThan": "2024-01-02T03:04:06Z"}, True),
        ({"Variable": "$.t", "TimestampGreaterThan": "2025-01-01T00:00:00Z"}, False),
        ({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-02T03:04:05Z"}, True),
        ({"Variable": "$.t", "TimestampGreaterThanEquals": "2024-01-02T04:04:05+01:00"}, True),
        ({"Variable": "$.s", "TimestampEquals": "2024-01-02T03:04:05Z"}, False),
        ({"Variable": "$.missing", "IsPresent": False}, True),
        ({"Variable": "$.s", "IsPresent": True}, True),
        ({"Variable": "$.null", "IsNull": True}, True),
        ({"Variable": "$.s", "IsString": True}, True),
        ({"Variable": "$.n", "IsNumeric": True}, True),
        ({"Variable": "$.b", "IsNumeric": True}, False),
        ({"Variable": "$.b", "IsBoolean": True}, True),
        ({"Variable": "$.t", "IsTimestamp": True}, True),
        ({"Variable": "$.s", "IsTimestamp": False}, True),
        ({"Variable": "$v", "NumericEquals": 5}, True),
        ({"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.b", "BooleanEquals": True}]}, True),
        ({"Or": [{"Variable": "$.n", "NumericEquals": 4}, {"Variable": "$.b", "BooleanEquals": False}]}, False),
        ({"Not": {"Variable": "$.s", "StringEquals": "apple"}}, True),
    ],
)
def test_rule(rule: dict[str, Any], expected: bool) -> None:
    assert holds(rule) is expected


def test_a_missing_variable_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as caught:
        holds({"Variable": "$.missing", "StringEquals": "x"})
    assert caught.value.error == RUNTIME
    assert "Invalid path '$.missing'" in (caught.value.cause or "")
