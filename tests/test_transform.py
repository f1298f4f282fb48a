"""Input, InputPath and InputTransformer: what a target receives."""

from __future__ import annotations

import orjson
import pytest

from trailbridge.errors import InvalidInputError
from trailbridge.transform import InputContext, compile_path, compile_target_input

EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "n": 5, "tags": {"a": 'b"c'}, "list": [1, 2]},
}
CONTEXT = InputContext("arn:aws:events:us-east-2:123456789012:rule/example", "example", 1_447_277_394.5)
PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state", "n": "$.detail.n", "tags": "$.detail.tags"}


def render(**target) -> str:
    compiled = compile_target_input({"Id": "t1", "Arn": "a", **target})
    return compiled.render(EVENT, orjson.dumps(EVENT), CONTEXT).decode()


def transform(template: str, paths: dict[str, str] | None = None) -> str:
    return render(InputTransformer={"InputPathsMap": PATHS if paths is None else paths, "InputTemplate": template})


def test_whole_event_by_default() -> None:
    assert orjson.loads(render()) == EVENT


def test_constant_input() -> None:
    assert render(Input='{"fixed": true}') == '{"fixed": true}'
    with pytest.raises(InvalidInputError, match="Input for target t1 is not valid JSON"):
        render(Input="{nope")


def test_input_path() -> None:
    assert orjson.loads(render(InputPath="$.detail")) == EVENT["detail"]
    assert render(InputPath="$.detail.state") == '"RUNNING"'
    assert render(InputPath="$.resources[0]") == '"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"'
    assert render(InputPath="$.detail.list[*]") == "[1,2]"
    assert render(InputPath="$") == orjson.dumps(EVENT).decode()


def test_only_one_of_the_three() -> None:
    with pytest.raises(InvalidInputError, match="more than one"):
        render(Input="{}", InputPath="$.detail")


def test_aws_documented_examples() -> None:
    # The examples of the EventBridge user guide's "Input transform examples" table.
    assert transform('"instance <instance> is in <state>"') == '"instance i-0123456789 is in RUNNING"'
    assert transform('{"instance": <instance>, "state": <state>}') == '{"instance":"i-0123456789","state":"RUNNING"}'
    assert orjson.loads(transform('{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}')) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "Transformed": "Yes",
    }
    assert transform('"<aws.events.rule-name> triggered"') == '"example triggered"'
    mixed = transform('{"s": "instance \\"<instance>\\" is in <state>"}')
    assert orjson.loads(mixed) == {"s": 'instance "i-0123456789" is in RUNNING'}


def test_quoting_inside_and_outside_strings() -> None:
    out = orjson.loads(transform('{"raw": <tags>, "text": "tags=<tags>", "num": <n>, "numtext": "n=<n>"}'))
    assert out == {"raw": {"a": 'b"c'}, "text": 'tags={"a":"b\\"c"}', "num": 5, "numtext": "n=5"}


def test_plain_text_template_takes_values_as_text() -> None:
    assert transform("<instance> is <state> (<n>)") == "i-0123456789 is RUNNING (5)"


def test_missing_paths() -> None:
    paths = {"gone": "$.detail.nothing", "state": "$.detail.state"}
    assert transform('{"a": <gone>, "b": "x<gone>y", "c": <state>}', paths) == '{"a":null,"b":"xy","c":"RUNNING"}'
    assert transform("value: <gone>.", paths) == "value: ."


def test_predefined_variables() -> None:
    out = orjson.loads(
        transform(
            '{"arn": <aws.events.rule-arn>, "at": <aws.events.event.ingestion-time>, "e": <aws.events.event>, "j": <aws.events.event.json>}'
        )
    )
    assert out["arn"] == CONTEXT.rule_arn
    assert out["at"] == "2015-11-11T21:29:54.500Z"
    assert "detail" not in out["e"] and out["e"]["detailType"] == EVENT["detail-type"]
    assert out["j"] == EVENT


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<unknown>", "InputTemplate for target t1 contains invalid placeholder unknown."),
        (
            '"<aws.events.event>"',
            "InputTemplate for target t1 contains placeholder aws.events.event valid only for JSON template.",
        ),
        (
            '{"a": "<aws.events.event.json>"}',
            "contains placeholder aws.events.event.json valid only for JSON template.",
        ),
        ('{"a": <state>', "is not valid JSON"),
    ],
)
def test_template_errors(template: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        transform(template)
    assert message in info.value.message


@pytest.mark.parametrize("path", ["detail", "$.detail..x", "$.detail['x']", "$.a[x]"])
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a valid JSONPath"):
        compile_path(path)
    with pytest.raises(InvalidInputError, match="Invalid InputPath for target t1"):
        render(InputPath=path)
