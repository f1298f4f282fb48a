"""Input, InputPath and InputTransformer: what a target receives."""

from __future__ import annotations

import orjson
import pytest

from trailbridge.errors import InvalidInputError
from trailbridge.transform import InputContext, TransformError, compile_path, compile_target_input

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


@pytest.mark.parametrize(
    "given",
    [
        {"Input": "{}", "InputPath": "$.detail"},
        {"Input": "{}", "InputTransformer": {"InputTemplate": "x"}},
        {"InputPath": "$", "InputTransformer": {"InputTemplate": "x"}, "Input": "{}"},
    ],
)
def test_only_one_of_the_three(given: dict[str, object]) -> None:
    # AWS's message (recorded): "Only one of Input, InputPath, or InputTransformer must be provided for target <id>."
    with pytest.raises(InvalidInputError) as info:
        render(**given)
    assert info.value.message == "Only one of Input, InputPath, or InputTransformer must be provided for target t1."


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
    out = orjson.loads(transform('{"raw": <tags>, "num": <n>, "numtext": "n=<n>", "s": "<instance>"}'))
    assert out == {"raw": {"a": 'b"c'}, "num": 5, "numtext": "n=5", "s": "i-0123456789"}


@pytest.mark.parametrize(
    "template",
    ['{"payload": "<payload>"}', '{"text": "tags=<tags>"}', '["<list>"]', '{"ok": <n>, "bad": "<payload>"}'],
)
def test_object_or_list_inside_quotes_is_not_json(template: str) -> None:
    # As AWS: the value's JSON text is written between the quotes, the output is not JSON, nothing is delivered.
    paths = {"payload": "$.detail.payload", "tags": "$.detail.tags", "list": "$.resources", "n": "$.detail.n"}
    event = {**EVENT, "detail": {**EVENT["detail"], "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}}}
    compiled = compile_target_input(
        {"Id": "t1", "Arn": "a", "InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    )
    with pytest.raises(TransformError) as info:
        compiled.render(event, orjson.dumps(event), CONTEXT)
    assert info.value.message.startswith("InputTemplate for target t1 did not give valid JSON for this event: <")
    assert "inside quotes held an object or list" in info.value.message


def test_object_or_list_without_strings_inside_quotes_stays_json() -> None:
    # The same JSON text between the quotes, which is a valid string when it holds no quote marks.
    paths = {"empty": "$.detail.empty", "none": "$.detail.none", "numbers": "$.detail.numbers"}
    event = {**EVENT, "detail": {"empty": {}, "none": [], "numbers": [1, 2]}}
    template = '["<empty>", "<none>", "<numbers>"]'
    compiled = compile_target_input(
        {"Id": "t1", "Arn": "a", "InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    )
    assert compiled.render(event, orjson.dumps(event), CONTEXT) == b'["{}","[]","[1,2]"]'


def test_plain_text_template_takes_values_as_text() -> None:
    assert transform("<instance> is <state> (<n>)") == "i-0123456789 is RUNNING (5)"


def test_plain_text_template_writes_objects_and_lists_without_quotes() -> None:
    # Recorded from AWS: {acc_id:0a787ecb-4015,sf_id:baz}, [HIGH], [ACTIVE,INACTIVE].
    detail = {"payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}, "one": ["HIGH"], "two": ["ACTIVE", "INACTIVE"]}
    detail |= {"nested": {"a": [1, True, None, {"b": "c"}], "d": 2.5}}
    event = {**EVENT, "detail": detail}
    paths = {name: f"$.detail.{name}" for name in detail}
    template = "payload <payload> one <one> two <two> nested <nested>"
    compiled = compile_target_input(
        {"Id": "t1", "Arn": "a", "InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    )
    assert compiled.render(event, orjson.dumps(event), CONTEXT).decode() == (
        "payload {acc_id:0a787ecb-4015,sf_id:baz} one [HIGH] two [ACTIVE,INACTIVE] nested {a:[1,true,null,{b:c}],d:2.5}"
    )
    quoted = transform('"tags: <tags>"')
    assert quoted == '"tags: {a:b"c}"'


def test_missing_paths() -> None:
    # As AWS (recorded): a path that finds nothing, unquoted in a JSON template, is delivered as "".
    paths = {"gone": "$.detail.nothing", "state": "$.detail.state"}
    assert transform('{"a": <gone>, "b": "x<gone>y", "c": <state>}', paths) == '{"a":"","b":"xy","c":"RUNNING"}'
    assert transform("[<gone>, <state>]", paths) == '["","RUNNING"]'
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
