"""aws/event-ruler's own test data: correctness cases, array consistency, $or files, the big event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.corpora import corpus, load_json
from trailbridge.patterns import Matcher, PatternError, compile_pattern, reference

RULER = ("event-patterns", "event-ruler")
CORRECTNESS: list[dict[str, Any]] = load_json(*RULER, "correctness-cases.json")["cases"]


def text(name: str) -> str:
    return corpus(*RULER, name).read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CORRECTNESS, ids=[c["name"] for c in CORRECTNESS])
def test_correctness_case(case: dict[str, Any]) -> None:
    expected = case["expected"] == "match"
    assert compile_pattern(case["pattern"]).matches(case["event"]) is expected
    assert reference.matches(case["pattern"], case["event"]) is expected


# Which arrayEventN each arrayRuleN matches (array-consistent, as rulesForJSONEvent).
ARRAY_EXPECTED = {1: {1}, 2: {1}, 3: {4}, 4: {3, 4}}


@pytest.mark.parametrize("rule", sorted(ARRAY_EXPECTED))
def test_array_consistency_files(rule: int) -> None:
    matcher = Matcher()
    matcher.add(f"rule{rule}", text(f"arrayRule{rule}.json"))
    for event in range(1, 5):
        matched = matcher.matches(text(f"arrayEvent{event}.json"))
        assert (matched == {f"rule{rule}"}) is (event in ARRAY_EXPECTED[rule]), (rule, event)


def test_valid_or_rules_compile_and_route() -> None:
    rules = json.loads(text("orRelationshipRules.json"))
    matcher = Matcher()
    for index, rule in enumerate(rules):
        matcher.add(index, rule)
    assert matcher.matches({"metricName": "CPUUtilization"}) == {0}
    assert matcher.matches({"namespace": "AWS/ES"}) == {0}
    assert matcher.matches({"source": "aws.cloudwatch", "scope": "Service"}) == {2, 3}
    assert matcher.matches({"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2"}) == {0, 2}
    assert matcher.matches(
        {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1000}
    ) == {0, 2, 3}
    assert matcher.matches({"metricName": "ReadLatency", "detail": {"source": "aws.cloudwatch"}}) == {0, 1}
    assert matcher.matches({"foo": "bar"}) == set()


def test_invalid_or_rules_are_rejected() -> None:
    for rule in json.loads(text("wrongOrRelationshipRules.json")):
        with pytest.raises(PatternError):
            compile_pattern(rule)


def test_legacy_or_field_names_are_rejected_as_eventbridge_does() -> None:
    # event-ruler accepts these only in its legacy, $or-unaware compiler; EventBridge uses $or.
    reasons = []
    for rule in json.loads(text("normalRulesWithOrWording.json")):
        with pytest.raises(PatternError) as caught:
            compile_pattern(rule)
        reasons.append(caught.value.reason)
    assert reasons == [
        "cidr is Ruler reserved fieldName which cannot be used inside $or.",
        "It must be an Array followed with $or.",
        "numeric is Ruler reserved fieldName which cannot be used inside $or.",
        "numeric is Ruler reserved fieldName which cannot be used inside $or.",
    ]


def test_big_event() -> None:
    rule, event = text("bigEventRule.json"), text("bigEvent.json")
    assert compile_pattern(rule).matches(event)
    assert reference.matches(rule, event)
    assert not compile_pattern(rule.replace('"CREATE"', '"NOPE"').replace('"DELETE"', '"NOPE"')).matches(
        event.replace('"UPSERT"', '"OTHER"')
    )
