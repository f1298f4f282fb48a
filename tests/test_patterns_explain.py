"""`patterns.explain`: why a pattern did or did not match, agreeing with the matcher on every corpus case."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.corpora import corpus, load_json
from tests.test_patterns_properties import EVENTS, patterns, valid
from trailbridge.patterns import Explanation, PatternError, compile_pattern, explain

AWS: list[dict[str, Any]] = [
    c
    for c in load_json("event-patterns", "aws-recorded.json")["cases"]
    if c["expected"] != "error" and c.get("aws_error_code") is None
]
RULER: list[dict[str, Any]] = load_json("event-patterns", "event-ruler", "correctness-cases.json")["cases"]
CASES = AWS + RULER
PATTERNS = [c["pattern"] for c in CASES]
CORPUS_EVENTS = [c["event"] for c in CASES]


def ruler(name: str) -> str:
    return corpus("event-patterns", "event-ruler", name).read_text(encoding="utf-8")


def agrees(pattern: Any, event: Any) -> Explanation:
    """The explanation, checked against the matcher and against itself."""
    explanation = explain(pattern, event)
    assert explanation.matched is compile_pattern(pattern).matches(event)
    assert explanation.matched is any(b.matched for b in explanation.branches)
    for branch in explanation.branches:
        if branch.matched:
            assert not branch.failures and not branch.apart
        else:
            assert branch.failures or branch.apart
    json.dumps(explanation.as_dict())  # plain JSON
    return explanation


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_agrees_with_matcher_on_corpus_case(case: dict[str, Any]) -> None:
    assert agrees(case["pattern"], case["event"]).matched is (case["expected"] == "match")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=st.sampled_from(PATTERNS), event=st.sampled_from(CORPUS_EVENTS))
def test_agrees_with_matcher_on_corpus_patterns_against_other_events(pattern: str, event: str) -> None:
    agrees(pattern, event)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns(), event=EVENTS)
def test_agrees_with_matcher_on_generated_patterns(pattern: dict[str, Any], event: dict[str, Any]) -> None:
    assume(valid(pattern))
    agrees(pattern, event)


@pytest.mark.parametrize("rule", [1, 2, 3, 4])
def test_agrees_on_event_ruler_array_files(rule: int) -> None:
    for event in range(1, 5):
        agrees(ruler(f"arrayRule{rule}.json"), ruler(f"arrayEvent{event}.json"))


def test_agrees_on_event_ruler_big_event() -> None:
    assert agrees(ruler("bigEventRule.json"), ruler("bigEvent.json")).matched


def test_agrees_on_event_ruler_or_rules() -> None:
    events = [{"metricName": "CPUUtilization"}, {"source": "aws.cloudwatch", "scope": "Service"}, {"foo": "bar"}]
    for rule in json.loads(ruler("orRelationshipRules.json")):
        for event in events:
            agrees(rule, event)


EVENT = {
    "source": "aws.ec2",
    "detail-type": "AWS API Call via CloudTrail",
    "detail": {
        "eventName": "StopInstances",
        "errorCode": "AccessDenied",
        "requestParameters": {"instanceType": "t2.micro"},
        "items": [{"a": 1, "b": 2}, {"a": 3, "b": 4}],
    },
}


def test_failed_conditions_name_path_condition_as_written_and_values() -> None:
    pattern = '{"detail": {"eventName": ["RunInstances", {"prefix": "Run"}], "errorCode": [{"exists": false}]}}'
    explanation = agrees(pattern, EVENT)
    assert explanation.text() == (
        "The pattern does not match the event:\n"
        '  detail.errorCode: [{"exists": false}], but the event has "AccessDenied"\n'
        '  detail.eventName: ["RunInstances", {"prefix": "Run"}], but the event has "StopInstances"'
    )
    failure = explanation.as_dict()["branches"][0]["failures"][1]
    assert failure == {
        "path": "detail.eventName",
        "condition": '["RunInstances", {"prefix": "Run"}]',
        "present": True,
        "values": ["StopInstances"],
        "below": [],
        "elsewhere": [],
    }


def test_numbers_are_shown_as_written() -> None:
    branch = agrees('{"detail": {"items": {"a": [{"numeric": [">", 1e1]}]}}}', EVENT).branches[0]
    assert branch.conditions == {"detail.items.a": '[{"numeric": [">", 1e1]}]'}
    assert branch.failures[0].values == (1, 3)


def test_absent_field_says_so_and_where_its_key_is() -> None:
    pattern = {"detail": {"requestParameters": {"instancesSet": {"items": {"instanceType": ["t2.micro"]}}}}}
    assert agrees(pattern, EVENT).text() == (
        "The pattern does not match the event:\n"
        '  detail.requestParameters.instancesSet.items.instanceType: ["t2.micro"], but the event has no value '
        "there; detail.requestParameters.instanceType has that key"
    )


def test_an_object_where_a_value_is_asked_for() -> None:
    failure = agrees({"detail": {"requestParameters": ["x"]}}, EVENT).branches[0].failures[0]
    assert (failure.values, failure.below) == ((), ("detail.requestParameters.instanceType",))
    assert failure.text().endswith("no value there; it has an object there, with detail.requestParameters.instanceType")


def test_fields_that_match_in_different_array_elements() -> None:
    branch = agrees({"detail": {"items": {"a": [1], "b": [4]}}}, EVENT).branches[0]
    assert (branch.failures, branch.apart) == ((), ("detail.items.a", "detail.items.b"))
    assert agrees({"detail": {"items": {"a": [3], "b": [4]}}}, EVENT).matched


def test_or_branches_are_explained_one_by_one() -> None:
    pattern = {"source": ["aws.ec2"], "$or": [{"detail": {"eventName": ["RunInstances"]}}, {"detail-type": ["x"]}]}
    explanation = agrees(pattern, EVENT)
    assert explanation.text() == (
        "The pattern does not match the event: none of its 2 $or branches matches.\n"
        "Branch 1 of 2 (detail.eventName, source) does not match:\n"
        '  detail.eventName: ["RunInstances"], but the event has "StopInstances"\n'
        "Branch 2 of 2 (detail-type, source) does not match:\n"
        '  detail-type: ["x"], but the event has "AWS API Call via CloudTrail"'
    )
    pattern["$or"][1] = {"detail": {"errorCode": [{"prefix": "Access"}]}}
    explanation = agrees(pattern, EVENT)
    assert explanation.text().splitlines()[:2] == [
        "The pattern matches the event: $or branch 2 of 2 matches.",
        "Branch 1 of 2 (detail.eventName, source) does not match:",
    ]
    assert explanation.as_dict()["branches"][1] == {
        "branch": 2,
        "matched": True,
        "conditions": {"detail.errorCode": '[{"prefix": "Access"}]', "source": '["aws.ec2"]'},
        "failures": [],
        "apart": [],
    }


def test_many_values_are_cut_short_in_text_only() -> None:
    event = {"detail": {"ids": [f"i-{n}" for n in range(15)]}}
    explanation = agrees({"detail": {"ids": ["x"]}}, orjson.dumps(event))
    assert explanation.text().endswith('"i-9" (and 5 more)')
    assert len(explanation.branches[0].failures[0].values) == 15


def test_invalid_pattern_and_event_raise_as_matching_does() -> None:
    with pytest.raises(PatternError):
        explain('{"a": 1}', EVENT)
    with pytest.raises(ValueError, match="not a JSON object"):
        explain({"a": [1]}, "[1]")
