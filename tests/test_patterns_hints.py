"""`patterns.hints`: lint hints beside EventBridge's error, each with the pattern corrected where one fix is clear."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.corpora import load_json
from trailbridge.patterns import PatternError, compile_pattern
from trailbridge.patterns.hints import Hint, hints

RUN_INSTANCES = load_json("cloudtrail", "traildiscover", "events", "EC2", "RunInstances.json.cloudtrail")
STRATUS = load_json("cloudtrail", "stratus-red-team", "aws.execution.ec2-launch-unusual-instances.json")
RECORDS: list[dict[str, Any]] = [*RUN_INSTANCES, *STRATUS]  # two RunInstances, two AssumeRole
WALKTHROUGH = {
    "source": ["aws.ec2"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventName": ["RunInstances"],
        "requestParameters": {"instancesSet": {"items": [{"instanceType": ["t2.micro"]}]}},
    },
}


def only(pattern: Any) -> Hint:
    found = hints(pattern)
    assert len(found) == 1, found
    if found[0].corrected is not None:
        compile_pattern(found[0].corrected)  # a correction is a valid pattern
    return found[0]


def test_array_of_objects_hint_beside_aws_error() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(WALKTHROUGH)
    assert str(caught.value) == "Event pattern is not valid. Reason: Unrecognized match type instanceType"
    hint = only(WALKTHROUGH)
    assert hint.path == "detail.requestParameters.instancesSet.items"
    assert hint.message == (
        "array elements are matched by writing the object without brackets: the pattern names the fields of the "
        "elements of items as if they were fields of items itself, and matches when one element has them: write "
        '"items": {"instanceType": ["t2.micro"]}'
    )
    assert json.loads(hint.corrected or "")["detail"]["requestParameters"] == {
        "instancesSet": {"items": {"instanceType": ["t2.micro"]}}
    }


def test_recorded_calls_say_where_the_field_is() -> None:
    found = hints(WALKTHROUGH, RECORDS)
    assert len(found) == 2
    recorded = found[1]
    assert recorded.message == (
        "recorded RunInstances calls (2) have no detail.requestParameters.instancesSet.items.instanceType; they "
        "carry instanceType at detail.requestParameters.instanceType (2 of 2)"
    )
    corrected = json.loads(recorded.corrected or "")
    assert corrected["detail"] == {"eventName": ["RunInstances"], "requestParameters": {"instanceType": ["t2.micro"]}}
    assert compile_pattern(corrected).matches(
        {"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail", "detail": RUN_INSTANCES[0]}
    )


def test_recorded_calls_of_other_names_are_not_looked_at() -> None:
    pattern = {"detail": {"eventName": ["AssumeRole"], "requestParameters": {"instanceType": ["t2.micro"]}}}
    assert hints(pattern, RECORDS) == []
    pattern["detail"]["eventName"] = ["NoSuchCall"]
    assert hints(pattern, RECORDS) == []


def test_recorded_events_are_read_by_their_detail_and_or_fields_get_no_correction() -> None:
    events = [{"detail-type": "AWS API Call via CloudTrail", "detail": r} for r in RUN_INSTANCES]
    pattern = {"detail": {"$or": [{"instanceType": ["t2.micro"]}, {"eventName": ["RunInstances"]}]}}
    (hint,) = hints(pattern, events)
    assert hint.path == "detail.instanceType"
    assert "they carry instanceType at detail.requestParameters.instanceType" in hint.message
    assert hint.corrected is None


def test_bare_value_hint() -> None:
    with pytest.raises(PatternError, match='"source" must be an object or an array'):
        compile_pattern({"source": "aws.ec2"})
    hint = only({"source": "aws.ec2"})
    assert hint.message == 'match values are listed in an array: write "source": ["aws.ec2"]'
    assert hint.corrected == '{"source": ["aws.ec2"]}'


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("prefixes", "prefix"),
        ("Prefix", "prefix"),
        ("equal-ignore-case", "equals-ignore-case"),
        ("equals_ignore_case", "equals-ignore-case"),
        ("anything_but", "anything-but"),
        ("wildcards", "wildcard"),
        ("starts-with", "prefix"),
        ("endsWith", "suffix"),
    ],
)
def test_misspelled_operator_hint(written: str, meant: str) -> None:
    with pytest.raises(PatternError, match=f"Unrecognized match type {written}"):
        compile_pattern({"detail": {"eventName": [{written: "Run"}]}})
    hint = only({"detail": {"eventName": [{written: "Run"}]}})
    assert hint.message == f'"{written}" is not an operator; did you mean "{meant}"?'
    assert hint.corrected == json.dumps({"detail": {"eventName": [{meant: "Run"}]}})


def test_misspelled_inner_operator_hint() -> None:
    hint = only({"eventName": [{"anything-but": {"prefixes": ["Get"]}}], "source": ["x"]})
    assert hint.message == '"prefixes" is not one of anything-but\'s forms; did you mean "prefix"?'
    assert hint.corrected == '{"eventName": [{"anything-but": {"prefix": ["Get"]}}], "source": ["x"]}'
    assert only({"a": [{"prefix": {"equals_ignore_case": "x"}}]}).corrected == (
        '{"a": [{"prefix": {"equals-ignore-case": "x"}}]}'
    )


def test_unknown_operator_lists_the_operators() -> None:
    hint = only({"a": [{"foo": "bar"}]})
    assert hint.message.startswith('"foo" is not an operator; the operators are exactly, prefix, suffix, numeric')
    assert hint.corrected is None


def test_numeric_given_as_string_hint() -> None:
    with pytest.raises(PatternError, match="Value of > must be numeric"):
        compile_pattern({"size": [{"numeric": [">", "100"]}]})
    hint = only({"size": [{"numeric": [">", "100"]}]})
    assert hint.message == "numeric compares numbers: write 100 without quotes"
    assert hint.corrected == '{"size": [{"numeric": [">", 100]}]}'
    assert len(hints({"size": [{"numeric": [">", "0", "<=", "2e3"]}]})) == 2


def test_exists_given_as_string_hint() -> None:
    hint = only({"errorCode": [{"exists": "false"}]})
    assert hint.corrected == '{"errorCode": [{"exists": false}]}'


def test_detail_type_spelled_another_way_hint() -> None:
    pattern = {"detailType": ["AWS API Call via CloudTrail"]}
    compile_pattern(pattern)  # valid, but never matches an event
    hint = only(pattern)
    assert hint.message == 'the event\'s field is "detail-type", not "detailType": this pattern never matches'
    assert hint.corrected == '{"detail-type": ["AWS API Call via CloudTrail"]}'
    assert only({"Source": ["aws.ec2"]}).corrected == '{"source": ["aws.ec2"]}'


def test_record_field_outside_detail_hint() -> None:
    assert hints({"eventName": ["OrderPlaced"]}) == []  # not a pattern for AWS's events: its events may have one
    hint = only({"source": ["aws.ec2"], "eventName": ["RunInstances"], "detail": {"errorCode": [{"exists": False}]}})
    assert hint.message.startswith("in the events CloudTrail delivers to EventBridge, eventName is inside detail")
    assert json.loads(hint.corrected or "") == {
        "source": ["aws.ec2"],
        "detail": {"errorCode": [{"exists": False}], "eventName": ["RunInstances"]},
    }


def test_good_or_unreadable_patterns_have_no_hints() -> None:
    assert hints(WALKTHROUGH | {"detail": {"eventName": ["RunInstances"]}}, RECORDS) == []
    assert hints("{not json") == []
    assert hints("[1]") == []


def test_as_dict() -> None:
    assert only({"source": "x"}).as_dict() == {
        "message": 'match values are listed in an array: write "source": ["x"]',
        "path": "source",
        "corrected": '{"source": ["x"]}',
    }
    assert (
        only({"source": "x"}).text()
        == 'hint: match values are listed in an array: write "source": ["x"]\n  {"source": ["x"]}'
    )
