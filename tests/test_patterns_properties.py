"""Property tests: the indexed Matcher agrees with the reference interpreter, through adds and removes."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trailbridge.patterns import Matcher, PatternError, compile_pattern, reference

NAMES = st.sampled_from(["a", "b", "c", "a.b"])
STRINGS = st.sampled_from(["x", "xy", "yx", "", "X", "10.0.0.7", "2001:db8::1", "a*b", "arn:aws:s3:::b"])
NUMBERS = st.sampled_from([0, 1, 1.5, -3, 300, 300.0, 12345678901234567890])
LEAVES = st.one_of(STRINGS, NUMBERS, st.booleans(), st.none())

OPERATORS = st.one_of(
    LEAVES,
    st.builds(lambda s: {"prefix": s}, STRINGS),
    st.builds(lambda s: {"suffix": s}, STRINGS),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, STRINGS),
    st.builds(lambda s: {"equals-ignore-case": s}, STRINGS),
    st.builds(lambda s: {"wildcard": s}, st.sampled_from(["x*", "*y", "*", "a\\*b", "x*y*"])),
    st.builds(lambda s: {"anything-but": s}, st.one_of(STRINGS, st.lists(STRINGS, min_size=1, max_size=3))),
    st.builds(lambda n: {"anything-but": n}, st.one_of(st.sampled_from([0, 1, 300]), st.just([1, 1.5]))),
    st.builds(lambda s: {"anything-but": {"prefix": s}}, st.sampled_from(["x", "10."])),
    st.builds(lambda s: {"anything-but": {"wildcard": s}}, st.sampled_from(["x*", ["*y", "a*"]])),
    st.builds(lambda lo, hi: {"numeric": [">=", lo, "<", hi]}, st.sampled_from([-5, 0, 1]), st.sampled_from([2, 400])),
    st.builds(lambda n: {"numeric": ["=", n]}, st.sampled_from([0, 1.5, 300])),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda c: {"cidr": c}, st.sampled_from(["10.0.0.0/8", "2001:db8::/32"])),
)


def patterns(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.lists(OPERATORS, min_size=1, max_size=3)
    if depth == 0:
        return st.dictionaries(NAMES, leaf, min_size=1, max_size=2)
    inner = patterns(depth - 1)
    values = st.one_of(leaf, leaf, inner)
    plain = st.dictionaries(NAMES, values, min_size=1, max_size=3)
    with_or = st.builds(
        lambda base, branches: {**base, "$or": branches}, plain, st.lists(inner, min_size=2, max_size=3)
    )
    return st.one_of(plain, plain, with_or)


EVENT_VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(NAMES, children, max_size=3),
    ),
    max_leaves=12,
)
EVENTS = st.dictionaries(NAMES, EVENT_VALUES, max_size=4)


def valid(pattern: dict[str, Any]) -> bool:
    try:
        compile_pattern(pattern)
    except PatternError:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns(), event=EVENTS)
def test_single_pattern_agrees_with_reference(pattern: dict[str, Any], event: dict[str, Any]) -> None:
    assume(valid(pattern))
    compiled = compile_pattern(pattern)
    assert compiled.matches(event) == reference.matches(compiled.text, event)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(patterns(1), min_size=1, max_size=8),
    removals=st.lists(st.integers(min_value=0, max_value=7), max_size=4),
    events=st.lists(EVENTS, min_size=1, max_size=4),
)
def test_matcher_agrees_with_reference_after_adds_and_removes(
    rules: list[dict[str, Any]], removals: list[int], events: list[dict[str, Any]]
) -> None:
    rules = [r for r in rules if valid(r)]
    assume(rules)
    matcher = Matcher()
    live: dict[int, str] = {}
    for index, rule in enumerate(rules):
        matcher.add(index, rule)
        live[index] = compile_pattern(rule).text
    for index in removals:
        matcher.remove(index)
        live.pop(index, None)
    for index in removals[:2]:  # re-adding an id replaces it
        if index < len(rules):
            matcher.add(index, rules[-1 - index % len(rules)])
            live[index] = compile_pattern(rules[-1 - index % len(rules)]).text
    assert len(matcher) == len(live)
    for event in events:
        expected = {i for i, text in live.items() if reference.matches(text, event)}
        assert matcher.matches(event) == expected
