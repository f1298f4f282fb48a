"""JSONPath as ASL uses it: definite paths give one value, the others the list of what they found."""

from __future__ import annotations

from typing import Any

import pytest

from trailbridge.states.jsonpath import PathNotFound, compile_path, select, set_path

DOC = {
    "a": {"b": [1, 2, {"c": 3}]},
    "users": [{"name": "x", "age": 30}, {"name": "y", "age": 20}, {"name": "z"}],
    "odd key": 5,
    "it's": 6,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DOC),
        ("$.a.b[2].c", 3),
        ("$.a.b[-1]", {"c": 3}),
        ("$['odd key']", 5),
        ("$['it\\'s']", 6),
        ("$.a.b.length()", 3),
        ("$.a.b[*]", [1, 2, {"c": 3}]),
        ("$.a.b[0:2]", [1, 2]),
        ("$..c", [3]),
        ("$.users[*].name", ["x", "y", "z"]),
        ("$.users[?(@.age > 25)].name", ["x"]),
        ("$.users[?(@.name == 'y')].age", [20]),
        ("$.users[?(@.age)].name", ["x", "y"]),
        ("$.nothing[*]", []),
    ],
)
def test_select(path: str, expected: Any) -> None:
    assert select(compile_path(path), DOC) == expected


@pytest.mark.parametrize("path", ["$.missing", "$.a.b[3]", "$.a.b.c", "$.users.length().x"])
def test_a_definite_path_that_finds_nothing(path: str) -> None:
    with pytest.raises(PathNotFound):
        select(compile_path(path), DOC)


def test_roots() -> None:
    assert compile_path("$$.Execution.Id").root == "$$"
    assert compile_path("$myVar.x").root == "myVar"
    assert compile_path("$.x").root == "$"


def test_set_path_places_a_value_and_makes_objects_on_the_way() -> None:
    assert set_path({"a": 1}, compile_path("$.b.c"), 2) == {"a": 1, "b": {"c": 2}}
    assert set_path({"a": [1, 2]}, compile_path("$.a[1]"), 9) == {"a": [1, 9]}
    assert set_path("text", compile_path("$"), 1) == 1
    with pytest.raises(PathNotFound):
        set_path("text", compile_path("$.r"), 1)
