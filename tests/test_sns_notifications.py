"""trailbridge.topics.notifications: a notification's keys in SNS's order, the text SNS writes it as (as SQS
bodies from AWS show it), and the per-protocol messages of `MessageStructure=json`."""

from __future__ import annotations

import pytest

from trailbridge.topics.notifications import (
    MessageStructureError,
    message_for,
    per_protocol,
    timestamp,
    unsigned,
    written,
)


def test_a_notification_is_written_as_sns_writes_it() -> None:
    notification = unsigned(
        message_id="m-1",
        topic_arn="arn:aws:sns:us-east-1:111111111111:t",
        subject=None,
        message='{"a": "b/c"}',
        sent=1_700_000_000.5,
        unsubscribe_url="https://example/?Action=Unsubscribe",
        attributes={
            "Command": {"DataType": "String", "StringValue": "process"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
        },
    )
    assert list(notification) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert written(notification) == (
        "{\n"
        '  "Type" : "Notification",\n'
        '  "MessageId" : "m-1",\n'
        '  "TopicArn" : "arn:aws:sns:us-east-1:111111111111:t",\n'
        '  "Message" : "{\\"a\\": \\"b/c\\"}",\n'
        '  "Timestamp" : "2023-11-14T22:13:20.500Z",\n'
        '  "UnsubscribeURL" : "https://example/?Action=Unsubscribe",\n'
        '  "MessageAttributes" : {\n'
        '    "Command" : {"Type":"String","Value":"process"},\n'
        '    "blob" : {"Type":"Binary","Value":"AgME"}\n'
        "  }\n"
        "}"
    )


def test_a_subject_comes_before_the_message() -> None:
    notification = unsigned(
        message_id="m", topic_arn="t", subject="s", message="x", sent=0, unsubscribe_url="u", attributes={}
    )
    assert list(notification)[3:5] == ["Subject", "Message"] and "MessageAttributes" not in notification
    assert timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_message_structure_json() -> None:
    messages = per_protocol('{"default": "d", "sqs": "q", "lambda": {"n": 1}}')
    assert (message_for(messages, "sqs"), message_for(messages, "http"), messages["lambda"]) == ("q", "d", '{"n":1}')
    for text, reason in [
        ('{"sqs": "x"}', "No default entry in JSON message body"),
        ('{"default": "x"} }', "JSON message body failed to parse"),
        ('["default"]', "JSON message body failed to parse"),
    ]:
        with pytest.raises(MessageStructureError, match=reason):
            per_protocol(text)
