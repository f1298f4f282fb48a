"""The wire layer against botocore, both ways: botocore's serializer -> our parser gives the same parameters;
our serializer -> botocore's parser gives the same values, errors included. Then a fuzz of every built
operation's request body against a live server: always an answer below 500, and stored state intact
(400 examples; FUZZ_EXAMPLES=4000 for a longer search)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.server import Server
from trailbridge.aws.wire import WireError, json_service, parse_request, serialize_error, serialize_response
from trailbridge.services.operations import handlers
from trailbridge.services.sqs import QUERY_ERROR_CODES

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)

REQUESTS = [
    ("events", "PutEvents", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "Time": WHEN}]}),
    (
        "events",
        "PutTargets",
        {
            "Rule": "r",
            "Targets": [
                {
                    "Id": "t",
                    "Arn": "arn:aws:sqs:us-east-1:123456789012:q",
                    "InputTransformer": {"InputPathsMap": {"a": "$.detail.a"}, "InputTemplate": '{"a": <a>}'},
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120},
                    "HttpParameters": {"HeaderParameters": {"h": "v"}, "PathParameterValues": ["x"]},
                }
            ],
        },
    ),
    ("events", "ListRules", {"NamePrefix": "a", "Limit": 5, "NextToken": "tok"}),
    (
        "sqs",
        "SendMessage",
        {
            "QueueUrl": "http://localhost:4566/123456789012/q",
            "MessageBody": "hi",
            "DelaySeconds": 3,
            "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
        },
    ),
    ("sqs", "ReceiveMessage", {"QueueUrl": "u", "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]}),
]

RESPONSES = [
    (
        "events",
        "DescribeEventBus",
        {"Name": "b", "Arn": "arn:aws:events:us-east-1:1:event-bus/b", "CreationTime": WHEN, "LastModifiedTime": WHEN},
    ),
    (
        "events",
        "PutEvents",
        {"FailedEntryCount": 1, "Entries": [{"EventId": "1"}, {"ErrorCode": "X", "ErrorMessage": "m"}]},
    ),
    (
        "sqs",
        "ReceiveMessage",
        {
            "Messages": [
                {
                    "MessageId": "m",
                    "ReceiptHandle": "r",
                    "MD5OfBody": "x",
                    "Body": "b",
                    "Attributes": {"SentTimestamp": "1"},
                    "MessageAttributes": {"k": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}},
                }
            ]
        },
    ),
    ("events", "TestEventPattern", {"Result": False}),
]


@pytest.mark.parametrize(("service", "operation", "params"), REQUESTS, ids=[r[1] for r in REQUESTS])
def test_botocore_serializer_to_our_parser(service: str, operation: str, params: dict[str, Any]) -> None:
    model = json_service(service).operation(operation)
    request = create_serializer("json").serialize_to_request(params, model)
    assert parse_request(model, request["body"]) == params


@pytest.mark.parametrize(("service", "operation", "result"), RESPONSES, ids=[r[1] for r in RESPONSES])
def test_our_serializer_to_botocore_parser(service: str, operation: str, result: dict[str, Any]) -> None:
    model = json_service(service).operation(operation)
    body = serialize_response(model, {**result, "NotInTheModel": 1})
    parsed = create_parser("json").parse({"status_code": 200, "headers": {}, "body": body}, model.output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == result


@pytest.mark.parametrize("blob", ["not base64!", "\u0080"])
def test_a_bad_blob_is_a_serialization_error(blob: str) -> None:
    model = json_service("sqs").operation("SendMessage")
    body = json.dumps(
        {"QueueUrl": "u", "MessageBody": "m", "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": blob}}}
    )
    with pytest.raises(WireError) as caught:
        parse_request(model, body.encode())
    assert caught.value.code == "SerializationException" and caught.value.status == 400


@pytest.mark.parametrize(
    ("service", "code", "expected"),
    [
        ("events", "ResourceNotFoundException", "ResourceNotFoundException"),
        ("sqs", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"),
    ],
)
def test_errors_parse_as_boto3_shows_them(service: str, code: str, expected: str) -> None:
    spoken = json_service(service, QUERY_ERROR_CODES if service == "sqs" else None)
    response = {
        "status_code": 400,
        "headers": spoken.error_headers(code, 400),
        "body": serialize_error(spoken, code, "m"),
    }
    parsed = create_parser("json").parse(response, None)
    assert parsed["Error"]["Code"] == expected and parsed["Error"]["Message"] == "m"


# -- fuzzing --------------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _value(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that often fit the shape and often do not."""
    if depth > 3:
        return _JSON
    if isinstance(shape, StructureShape):
        members = {name: _value(member, depth + 1) for name, member in shape.members.items()}
        required = {name: members.pop(name) for name in shape.required_members}
        fitting: st.SearchStrategy[Any] = st.fixed_dictionaries(required, optional=members)
    elif isinstance(shape, ListShape):
        fitting = st.lists(_value(shape.member, depth + 1), max_size=12)
    elif isinstance(shape, MapShape):
        fitting = st.dictionaries(st.text(max_size=10), _value(shape.value, depth + 1), max_size=3)
    elif shape.type_name == "string":
        enum = shape.metadata.get("enum")
        fitting = st.sampled_from(enum) if enum else st.text(max_size=70) | st.from_regex(r"[a-z]{1,8}", fullmatch=True)
    elif shape.type_name in ("integer", "long"):
        fitting = st.integers(-(2**40), 2**40)
    elif shape.type_name == "boolean":
        fitting = st.booleans()
    else:
        fitting = st.integers(0, 2**31) | st.text(max_size=10)
    return st.one_of(fitting, fitting, fitting, _JSON)


def _bodies() -> st.SearchStrategy[tuple[str, bytes]]:
    choices = []
    for service, prefix in (("events", "AWSEvents"), ("sqs", "AmazonSQS")):
        spoken = json_service(service)
        for operation in sorted(handlers(service)):
            shape = spoken.operation(operation).input_shape
            body = _value(shape) if shape is not None else st.just({})
            choices.append(st.tuples(st.just(f"{prefix}.{operation}"), body.map(lambda v: json.dumps(v).encode())))
    garbage = st.tuples(st.sampled_from(["AWSEvents.PutRule", "AmazonSQS.SendMessage"]), st.binary(max_size=64))
    return st.one_of(*choices, garbage)


def _snapshot(server: Server, account: str) -> dict[str, Any]:
    events, sqs = server.client("events", account), server.client("sqs", account)
    url = sqs.get_queue_url(QueueName="sentinel")["QueueUrl"]
    rule = events.describe_rule(Name="sentinel")
    rule.pop("ResponseMetadata")
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return {"rule": rule, "targets": events.list_targets_by_rule(Rule="sentinel")["Targets"], "queue": counts}


def test_fuzzed_bodies_never_yield_5xx_and_keep_state(server: Server, account: str) -> None:
    events, sqs = server.client("events", account), server.client("sqs", account)
    url = sqs.create_queue(QueueName="sentinel")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    events.put_rule(Name="sentinel", EventPattern='{"source": ["never.sent"]}')
    events.put_targets(Rule="sentinel", Targets=[{"Id": "t", "Arn": f"arn:aws:sqs:us-east-1:{account}:sentinel"}])
    before = _snapshot(server, account)
    auth = (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0"
    )

    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")), deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(_bodies())
    def check(request: tuple[str, bytes]) -> None:
        target, body = request
        response = server.post(target, body, {"Authorization": auth})
        assert response.status < 500, (target, body, response.data)
        if response.status >= 400:
            error = json.loads(response.data)
            assert error["__type"] and error["message"], (target, body, error)

    check()
    assert _snapshot(server, account) == before
    with sqlite3.connect(f"file:{server.data / 'trailbridge.sqlite3'}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
