"""FIFO queues over the wire: boto3's SQS client against `trailbridge serve` (its checksums of the bodies it
sent, AWS's error codes as boto3 shows them, the system attributes it asks for)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Server


def error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return dict(caught.value.response["Error"])


def test_a_fifo_queue_through_boto3(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    refused = error(sqs.create_queue, QueueName="jobs", Attributes={"FifoQueue": "true"})
    assert (refused["Code"], refused["Type"]) == ("InvalidParameterValue", "Sender")
    url = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    missing = error(sqs.send_message, QueueUrl=url, MessageBody="x")
    assert (missing["Code"], missing["Message"]) == (
        "MissingParameter",
        "The request must contain the parameter MessageGroupId.",
    )
    first = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="1")
    duplicate = sqs.send_message(QueueUrl=url, MessageBody="one!", MessageGroupId="g", MessageDeduplicationId="1")
    assert duplicate["MessageId"] == first["MessageId"]  # and boto3 took its MD5OfMessageBody for "one!"
    sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="g", MessageDeduplicationId="2")
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "three", "MessageGroupId": "h", "MessageDeduplicationId": "3"},
            {"Id": "b", "MessageBody": "four", "MessageGroupId": "h"},
        ],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["a"] and batch["Failed"][0]["Code"] == "InvalidParameterValue"
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId", "SequenceNumber"]
    )["Messages"]
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in got] == [("one", "g"), ("two", "g"), ("three", "h")]
    assert got[0]["Attributes"]["SequenceNumber"] == first["SequenceNumber"]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None  # both groups held
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["FifoQueue", "DeduplicationScope"])
    assert attributes["Attributes"] == {"FifoQueue": "true", "DeduplicationScope": "queue"}
