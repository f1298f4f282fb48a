"""The 18 intrinsic functions, each with AWS's documented examples and its argument checks."""

from __future__ import annotations

from typing import Any

import pytest

from trailbridge.states import intrinsics
from trailbridge.states.errors import INTRINSIC_FAILURE, StatesError


class FixedEntropy:
    def uuid(self) -> str:
        return "ca4c1140-dcc1-40cd-ad05-7b4aa23df4a8"

    def random(self, start: int, end: int, seed: int | None) -> int:
        return start if seed is None else start + seed % (end - start)


INPUT = {"a": 1, "s": "x,y", "arr": [1, 2, 2, 3], "obj": {"k": "v"}}


def call(text: str) -> Any:
    def resolve(path: str) -> Any:
        return INPUT[path.removeprefix("$.")]

    return intrinsics.evaluate(intrinsics.parse(text), resolve, FixedEntropy())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('Hello, my name is {}.', 'Ana')", "Hello, my name is Ana."),
        ("States.Format('{} and {}', $.a, $.obj)", "1 and {k=v}"),
        ("States.Format('literal \\{\\} and {}', null)", "literal {} and null"),
        ("States.StringToJson('{\"number\": 20}')", {"number": 20}),
        ("States.JsonToString($.obj)", '{"k":"v"}'),
        ("States.Array('Foo', 2020, $.obj, null)", ["Foo", 2020, {"k": "v"}, None]),
        ("States.ArrayPartition(States.Array(1,2,3,4,5), 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayContains($.arr, 3)", True),
        ("States.ArrayContains($.arr, 9)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayGetItem($.arr, 3)", 3),
        ("States.ArrayLength($.arr)", 4),
        ("States.ArrayUnique($.arr)", [1, 2, 3]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('input data', 'SHA-1')", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("States.JsonMerge($.obj, States.StringToJson('{\"b\": 2}'), false)", {"k": "v", "b": 2}),
        ("States.MathRandom(1, 999)", 1),
        ("States.MathRandom(1, 10, 4)", 5),
        ("States.MathAdd(111, -1)", 110),
        ("States.MathAdd(1.5, -2.5)", 0),
        ("States.StringSplit($.s, ',')", ["x", "y"]),
        ("States.StringSplit('This.is+a,test=string', '.+,=')", ["This", "is", "a", "test", "string"]),
        ("States.UUID()", "ca4c1140-dcc1-40cd-ad05-7b4aa23df4a8"),
    ],
)
def test_intrinsic(text: str, expected: Any) -> None:
    assert call(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', 'one')",
        "States.StringToJson('not json')",
        "States.ArrayPartition($.arr, 0)",
        "States.ArrayRange(1, 2, 0)",
        "States.ArrayRange(0, 2000, 1)",
        "States.ArrayGetItem($.arr, 4)",
        "States.ArrayLength($.obj)",
        "States.Base64Decode('***')",
        "States.Hash('x', 'SHA-999')",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.MathRandom(5, 5)",
        "States.MathAdd('1', 2)",
        "States.NoSuchFunction()",
        "States.Format('unclosed",
    ],
)
def test_intrinsic_failure(text: str) -> None:
    with pytest.raises(StatesError) as caught:
        call(text)
    assert caught.value.error == INTRINSIC_FAILURE


def test_nested_calls_and_paths_with_brackets() -> None:
    parsed = intrinsics.parse("States.ArrayLength(States.Array($['a'], $.s))")
    assert intrinsics.evaluate(parsed, lambda p: 7, FixedEntropy()) == 2
