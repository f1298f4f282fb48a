"""Issue 13, item 8: matching is bounded for any event within the size limits. A rule with fields in arrays
nested three deep and an event of 40 x 40 x 7 such arrays (112 KB) took over a minute in PutEvents and
TestEventPattern: array consistency (fields in one event array match within one element of it) was decided
by trying combinations of values, once for every value that made the rule a candidate. It is now decided
over the event's shape, per array element, once per event and rule branch; the answers stay the
reference interpreter's (`reference.py`, which tries every combination), here on hand-made cases and on
random small events whose arrays and dotted keys spell the pattern's own paths. The bound is counted in steps
(places visited), not timed; `bench/nested_arrays.py` measures the time."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from trailbridge.patterns import Matcher, compile_pattern, consistency, reference
from trailbridge.patterns import matcher as matcher_module
from trailbridge.patterns.compiler import compile_branches
from trailbridge.patterns.event import PathTrie, extract_places
from trailbridge.patterns.matcher import _condition
from trailbridge.runtime import Trailbridge

RULE = {"source": ["s"], "detail": {"a": {"x": [0], "b": {"y": [0], "c": {"z": [0]}}}}}


def nested(n1: int, n2: int, n3: int, z: Callable[[int, int, int], int], y: Callable[[int], int] = lambda j: 0) -> Any:
    """detail = {"a": [{"x": 0, "b": [{"y": .., "c": [{"z": ..} * n3]} * n2]} * n1]}, as an event."""
    detail = {
        "a": [
            {"x": 0, "b": [{"y": y(j), "c": [{"z": z(i, j, k)} for k in range(n3)]} for j in range(n2)]}
            for i in range(n1)
        ]
    }
    return {
        "version": "0",
        "id": "1",
        "detail-type": "t",
        "source": "s",
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def every_z(i: int, j: int, k: int) -> int:
    return 0


def last_z(n1: int, n2: int, n3: int) -> Callable[[int, int, int], int]:
    return lambda i, j, k: 0 if (i, j, k) == (n1 - 1, n2 - 1, n3 - 1) else 1


def crossed_z(i: int, j: int, k: int) -> int:
    return 0 if j % 2 else 1  # with crossed_y: z is 0 only in the elements where y is not


def crossed_y(j: int) -> int:
    return j % 2


# -- bounded: counted steps ------------------------------------------------------------------------


def test_a_branch_is_decided_once_per_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every z = 0 of the event (1,008 here) makes the rule a candidate; the consistency check runs once."""
    calls = 0
    match = matcher_module.match

    def counting_match(*args: Any) -> Any:
        *rest, decide = args

        def counted(*inner: Any) -> Any:
            nonlocal calls
            calls += 1
            return decide(*inner)

        return match(*rest, counted)

    monkeypatch.setattr(matcher_module, "match", counting_match)
    matcher = Matcher()
    matcher.add("r", RULE)
    assert matcher.matches(orjson.dumps(nested(12, 12, 7, every_z))) == {"r"}
    assert calls == 1


def places_in(value: Any) -> int:
    """Objects, arrays and values of the event: a bound on the places the check can visit."""
    if isinstance(value, dict):
        return 1 + sum(places_in(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(places_in(v) for v in value)
    return 1


@pytest.mark.parametrize(
    ("z", "y", "expected"),
    [(last_z(40, 40, 7), lambda j: 0, {"r"}), (crossed_z, crossed_y, set()), (every_z, lambda j: 0, {"r"})],
    ids=["only-the-last-z", "z-never-beside-y", "every-z"],
)
def test_the_check_visits_each_place_at_most_once(
    monkeypatch: pytest.MonkeyPatch, z: Callable[[int, int, int], int], y: Callable[[int], int], expected: set[str]
) -> None:
    steps = 0
    visit, settled = consistency._Branch.visit, consistency._Branch.settled

    def counted_visit(self: Any, *args: Any) -> Any:
        nonlocal steps
        steps += 1
        return visit(self, *args)

    def counted_settled(self: Any, *args: Any) -> Any:
        nonlocal steps
        steps += 1
        return settled(self, *args)

    monkeypatch.setattr(consistency._Branch, "visit", counted_visit)
    monkeypatch.setattr(consistency._Branch, "settled", counted_settled)
    event = nested(40, 40, 7, z, y)
    matcher = Matcher()
    matcher.add("r", RULE)
    assert matcher.matches(orjson.dumps(event)) == expected
    assert 0 < steps <= places_in(event)  # 40 x 1,600 x 11,200 combinations before


# -- the service's paths: PutEvents and TestEventPattern on the issue's events ------------------------
# (bench/nested_arrays.py times them against moto and the enumeration; the steps above are the bound)


def test_put_events_and_test_event_pattern_decide_the_issues_events() -> None:
    big, test, crossed = (
        nested(40, 40, 7, every_z),
        nested(30, 30, 10, every_z),
        nested(40, 40, 7, crossed_z, crossed_y),
    )
    with Trailbridge(None) as tb:
        events = tb.events()
        events.put_rule(Name="r", EventPattern=json.dumps(RULE))
        answer = events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": json.dumps(big["detail"])}])
        assert answer["FailedEntryCount"] == 0
        for event, expected in ((test, True), (big, True), (crossed, False)):
            answer = events.test_event_pattern(EventPattern=json.dumps(RULE), Event=json.dumps(event))
            assert answer["Result"] is expected


# -- the same answers as the reference ---------------------------------------------------------------

A_XY = {"a": {"x": [0], "b": {"y": [0]}}}
CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    (A_XY, {"a": [{"x": 1, "b": [{"y": 1}]}, {"x": 0, "b": [{"y": 1}, {"y": 0}]}]}, True),
    (A_XY, {"a": [{"x": 0, "b": [{"y": 1}]}, {"x": 1, "b": [{"y": 0}]}]}, False),
    (A_XY, {"a": [{"x": 0}, {"b": [{"y": 0}]}]}, False),
    (A_XY, {"a": {"x": 0, "b": [{"y": 1}, {"y": 0}]}}, True),
    (RULE["detail"], {"a": [{"x": 0, "b": [{"y": 0, "c": [{"z": 1}]}, {"y": 1, "c": [{"z": 0}]}]}]}, False),
    (RULE["detail"], {"a": [{"x": 0, "b": [{"y": 0, "c": [{"z": 1}]}, {"y": 0, "c": [{"z": 2}, {"z": 0}]}]}]}, True),
    (RULE["detail"], {"a": [{"x": 1, "b": [{"y": 0, "c": [{"z": 0}]}]}, {"x": 0, "b": [{"y": 0}]}]}, False),
    ({"a": {"x": [1], "y": [2]}}, {"a": [{"x": [0, 1], "y": [2, 3]}]}, True),
    ({"a": {"x": [1], "y": [2]}}, {"a": [{"x": [0, 1], "y": [3]}, {"y": 2}]}, False),
    ({"a": {"x": [0], "y": [0]}}, {"a": [[{"x": 0}], [{"y": 0}]]}, False),
    ({"a": {"x": [0], "y": [0]}}, {"a": [[{"x": 0}, {"y": 0}]]}, False),
    ({"a": {"x": [0], "y": [0]}}, {"a": [[{"x": 0, "y": 0}], [{"x": 1}]]}, True),
    ({"a": [0], "a.b": [1]}, {"a": [0, {"b": 1}]}, False),
    ({"a": [0], "a.b": [1]}, {"a": [0, {"b": 1}], "a.b": 1}, True),
    # keys with dots: one path, several arrays (any element of each), or values beside an array
    ({"a.b": {"x": [0], "y": [0]}}, {"a.b": [{"x": 0}], "a": {"b": [{"y": 0}]}}, True),
    ({"a.b": {"x": [0], "y": [0]}}, {"a.b": [{"x": 0}, {"y": 0}]}, False),
    ({"a": {"x": [0], "y": [0]}}, {"a": [{"y": 0, "x": 1}], "a.x": 0}, True),
    ({"a": {"x": [0], "y": [0], "z": [0]}}, {"a": [{"x": 0, "y": 1}, {"y": 0}], "a.y": 1, "a.z": [0]}, False),
    ({"a": {"b": {"x": [0], "y": [0]}}}, {"a": [{"b.x": 0, "b": [{"y": 1}]}, {"b": [{"y": 0}], "b.x": 0}]}, True),
    ({"a": {"b": {"x": [0], "y": [0]}}}, {"a": [{"b.x": 0, "b": [{"y": 1}]}, {"b": [{"y": 0}], "b.x": 1}]}, False),
    # exists, anything-but and $or within elements
    ({"a": {"x": [0], "y": [{"exists": False}]}}, {"a": [{"x": 0}, {"y": 0}]}, False),
    ({"a": {"x": [0], "y": [{"exists": True}]}}, {"a": [{"x": 0}, {"y": 0}]}, False),
    ({"a": {"x": [1], "y": [{"anything-but": "q"}]}}, {"a": [{"x": 0, "y": "p"}, {"x": 1, "y": "q"}]}, False),
    ({"a": {"x": [0], "y": [{"anything-but": "q"}]}}, {"a": [{"x": 0, "y": "p"}, {"x": 1, "y": "q"}]}, True),
    (
        {"a": {"x": [1]}, "$or": [{"a": {"y": [0]}}, {"a": {"z": [0]}}]},
        {"a": [{"x": 1, "y": 1}, {"z": 0, "y": 0}]},
        False,
    ),
    ({"a": {"x": [1]}, "$or": [{"a": {"y": [0]}}, {"a": {"z": [0]}}]}, {"a": [{"x": 1, "z": 0}, {"y": 0}]}, True),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), CASES, ids=range(len(CASES)))
def test_array_consistency_cases(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    compiled = compile_pattern(pattern)
    assert reference.matches(compiled.text, event) is expected
    assert compiled.matches(event) is expected
    assert compiled.matches(orjson.dumps(event)) is expected


def test_test_event_pattern_decides_nested_arrays() -> None:
    with Trailbridge(None) as tb:
        events = tb.events()
        for event, expected in (
            (nested(8, 8, 7, last_z(8, 8, 7)), True),
            (nested(8, 8, 7, crossed_z, crossed_y), False),
        ):
            answer = events.test_event_pattern(EventPattern=json.dumps(RULE), Event=json.dumps(event))
            assert answer["Result"] is expected


SEGMENTS = ["a", "b", "c"]
TESTS: list[list[Any]] = [
    [0],
    [1],
    [0, 1],
    [{"exists": True}],
    [{"exists": False}],
    [{"anything-but": 1}],
    [{"numeric": [">", 0]}],
]


def put(rng: random.Random, into: dict[str, Any], path: list[str], leaf: int, dotted: float) -> None:
    """Put a value at the path below `into`, through new or existing arrays and objects, with keys that
    join several of the path's steps (a.b for a -> b) with probability `dotted`."""
    node, i = into, 0
    while i < len(path):
        step = rng.randint(1, len(path) - i) if rng.random() < dotted else 1
        key, i = ".".join(path[i : i + step]), i + step
        here = node.get(key)
        if i == len(path):
            if isinstance(here, list) and rng.random() < 0.7:
                here.append(leaf)
            else:
                node[key] = leaf if here is None or rng.random() < 0.5 else [leaf, rng.choice([0, 1])]
            return
        if isinstance(here, list) and rng.random() < 0.7:
            objects = [e for e in here if isinstance(e, dict)]
            if objects and rng.random() < 0.6:
                node = rng.choice(objects)
            else:
                here.append(node := {})
        elif isinstance(here, dict) and rng.random() < 0.8:
            if rng.random() < 0.3:
                node[key] = [here, node := {}]
            else:
                node = here
        else:
            fresh: dict[str, Any] = {}
            node[key] = [fresh] if rng.random() < 0.5 else fresh
            node = fresh


def random_case(rng: random.Random) -> tuple[str, dict[str, Any]]:
    paths = list({tuple(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(2, 5))})
    pattern = {".".join(p): rng.choice(TESTS) for p in paths}
    event: dict[str, Any] = {}
    dotted = rng.choice([0.0, 0.2, 0.5])
    for _ in range(rng.randint(1, 8)):
        put(rng, event, list(rng.choice(paths)), rng.choice([0, 1]), dotted)
    return compile_pattern(pattern).text, event


def test_random_nested_events_agree_with_the_reference() -> None:
    rng = random.Random(13_8)
    answers = {True: 0, False: 0}
    for _ in range(3000):
        text, event = random_case(rng)
        flat = reference.flatten(event)
        for branch in compile_branches(text):  # the check itself, on every branch, arrays or not
            trie = PathTrie()
            conditions = tuple(_condition(f, trie.add(f.path), f.anchors()) for f in branch)
            expected = reference.branch_matches(branch, flat)
            assert consistency.consistent(conditions, extract_places(event, trie)) is expected, (text, event)
            answers[expected] += 1
        assert compile_pattern(text).matches(event) is reference.matches(text, event), (text, event)
    assert min(answers.values()) > 300  # both answers are well represented


def test_a_matcher_of_many_rules_agrees_with_the_reference() -> None:
    rng = random.Random(813)
    for _ in range(200):
        cases = [random_case(rng) for _ in range(6)]
        matcher = Matcher()
        for index, (text, _) in enumerate(cases):
            matcher.add(index, text)
        for _, event in cases:
            expected = {i for i, (text, _) in enumerate(cases) if reference.matches(text, event)}
            assert matcher.matches(event) == expected
            assert matcher.matches(orjson.dumps(event)) == expected


# -- one path spelled in every way, with an array in each: the budget ----------------------------------


def spelled(fields: int, depth: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A rule of `fields` fields below a path of `depth` keys, and an event that spells the path in all
    2^(depth-1) ways (`p0.p1`, `p0` -> `p1`, ...), each an array whose elements hold one field each."""
    path = [f"p{i}" for i in range(depth)]
    rule: dict[str, Any] = {f"f{i}": [0] for i in range(fields)}
    for key in reversed(path):
        rule = {key: rule}
    event: dict[str, Any] = {}
    for cuts in range(2 ** (depth - 1)):
        keys, start = [], 0
        for i in range(1, depth):
            if cuts >> (i - 1) & 1:
                keys.append(".".join(path[start:i]))
                start = i
        keys.append(".".join(path[start:]))
        node = event
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = [{f"f{i}": 0} for i in range(fields)]
    return rule, event


def test_a_path_spelled_in_few_ways_is_decided_exactly() -> None:
    for fields, depth, expected in ((4, 3, True), (5, 3, False), (3, 2, False), (2, 2, True)):
        rule, event = spelled(fields, depth)
        text = compile_pattern(rule).text
        assert reference.matches(text, event) is expected
        assert compile_pattern(rule).matches(event) is expected


def test_a_path_spelled_in_every_way_stops_at_the_budget(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """20 fields and 16 spellings (3.5 KB) ask for C(20, 10) sets of fields: over a minute, unbounded. The
    work stops at the event's budget, and the rule does not match (with a warning)."""
    charges: list[int] = []
    spend = consistency._Branch.spend

    def counted(self: Any, work: int) -> None:
        charges.append(work)
        spend(self, work)

    monkeypatch.setattr(consistency._Branch, "spend", counted)
    rule, event = spelled(20, 5)
    matcher = Matcher()
    matcher.add("r", {"source": ["s"], "detail": rule})
    with caplog.at_level("WARNING", "trailbridge.patterns"):
        assert matcher.matches(orjson.dumps({"source": "s", "detail": event})) == set()
    assert sum(charges) > consistency.BUDGET >= sum(charges[:-1])  # what was done; the last was refused
    assert "array consistency" in caplog.text
