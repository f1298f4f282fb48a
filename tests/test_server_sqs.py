"""boto3's SQS client against `trailbridge serve`: the queue operations issue 4 names."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Server


def error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]


def test_queue_lifecycle(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    assert url == f"{server.url.replace('127.0.0.1', 'localhost')}/{account}/jobs"
    assert sqs.create_queue(QueueName="jobs")["QueueUrl"] == url  # same name, no attributes: the same queue
    exists = error(sqs.create_queue, QueueName="jobs", Attributes={"VisibilityTimeout": "10"})
    assert exists["Code"] == "QueueAlreadyExists"
    assert sqs.get_queue_url(QueueName="jobs")["QueueUrl"] == url
    sqs.create_queue(QueueName="other")
    assert sqs.list_queues(QueueNamePrefix="jo")["QueueUrls"] == [url]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:{account}:jobs"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="jobs")
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert caught.value.response["Error"]["Message"] == "The specified queue does not exist."


def test_set_queue_attributes_validates(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5", "MessageRetentionPeriod": "60"})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds", "MessageRetentionPeriod"])
    assert got["Attributes"] == {"DelaySeconds": "5", "MessageRetentionPeriod": "60"}
    bad = error(sqs.set_queue_attributes, QueueUrl=url, Attributes={"VisibilityTimeout": "50000"})
    assert bad == {
        "Code": "InvalidAttributeValue",
        "Message": "Invalid value for the parameter VisibilityTimeout.",
        "QueryErrorCode": "InvalidAttributeValue",
        "Type": "Sender",
    }
    assert error(sqs.set_queue_attributes, QueueUrl=url, Attributes={"QueueArn": "x"})["Code"] == "InvalidAttributeName"
    assert error(sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": "true"})["Code"] == (
        "InvalidAttributeName"
    )


def test_send_receive_delete_with_attributes(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    attributes = {
        "kind": {"DataType": "String", "StringValue": "order"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "n": {"DataType": "Number", "StringValue": "7"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes=attributes)
    assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    message = sqs.receive_message(
        QueueUrl=url,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
        VisibilityTimeout=30,
    )["Messages"][0]
    assert message["Body"] == "hello" and message["MessageId"] == sent["MessageId"]
    assert message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01"
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["Attributes"] == {"ApproximateReceiveCount": "1"}
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # in flight
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["kind"])["Messages"][0]
    assert set(again["MessageAttributes"]) == {"kind"}
    stale = error(sqs.delete_message, QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert stale["Code"] == "ReceiptHandleIsInvalid"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_batches_report_partial_failures(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "two", "DelaySeconds": 0},
            {"Id": "c", "MessageBody": "bad \x01 character"},
        ],
    )
    assert [s["Id"] for s in sent["Successful"]] == ["a", "b"]
    assert sent["Failed"] == [
        {"Id": "c", "SenderFault": True, "Code": "InvalidMessageContents", "Message": sent["Failed"][0]["Message"]}
    ]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    entries = [{"Id": "x", "ReceiptHandle": messages[0]["ReceiptHandle"]}, {"Id": "y", "ReceiptHandle": "nope"}]
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert deleted["Successful"] == [{"Id": "x"}]
    assert deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    duplicate = error(sqs.send_message_batch, QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}] * 2)
    assert duplicate["Code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    many = [{"Id": str(i), "MessageBody": "m"} for i in range(11)]
    assert error(sqs.send_message_batch, QueueUrl=url, Entries=many)["Code"] == (
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    )


def test_long_polling_wakes_on_send(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sender = threading.Timer(0.5, lambda: server.client("sqs", account).send_message(QueueUrl=url, MessageBody="x"))
    sender.start()
    started = time.monotonic()
    answer = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    waited = time.monotonic() - started
    sender.join()
    assert answer["Messages"][0]["Body"] == "x"
    assert 0.3 < waited < 5
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert time.monotonic() - started >= 0.9


def test_delay_purge_and_counts(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"] == {
        "ApproximateNumberOfMessages": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["now"]
    sqs.purge_queue(QueueUrl=url)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "0"


def test_redrive_policy_moves_messages_to_the_dead_letter_queue(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert sqs.receive_message(QueueUrl=dlq)["Messages"][0]["Body"] == "poison"
    missing = json.dumps({"deadLetterTargetArn": dlq_arn + "-gone", "maxReceiveCount": 2})
    refused = error(sqs.set_queue_attributes, QueueUrl=url, Attributes={"RedrivePolicy": missing})
    assert refused["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_receive_parameter_ranges(server: Server, account: str) -> None:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    bad = error(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11)
    assert bad["Code"] == "InvalidParameterValue"
    assert bad["Message"] == (
        "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
    )
    assert error(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=21)["Code"] == "InvalidParameterValue"
